"""Fits the odd polynomial nam-rs uses for tanh on |x| < SPLIT (src/math.rs).

tanh(x) ≈ x + x³·P(x²) there; above SPLIT, tanh is computed from exp. A weighted least-squares
fit on Chebyshev nodes in float64; prints Rust constants and the fit's max relative error.
Run: python tools/fit_tanh.py
"""

from __future__ import annotations

import numpy as np

SPLIT = 0.625
DEGREE = 6  # P has terms y^0 .. y^(DEGREE-1) with y = x²


def main() -> None:
    k = np.arange(4000)
    x = SPLIT * (0.5 + 0.5 * np.cos(np.pi * (k + 0.5) / len(k)))  # Chebyshev nodes on (0, SPLIT)
    y = x * x
    target = (np.tanh(x) - x) / (x**3)  # P(y)
    design = np.stack([y**j for j in range(DEGREE)], axis=1)
    # Relative error of tanh is what matters: weight by x³/tanh(x).
    w = x**3 / np.tanh(x)
    coef, *_ = np.linalg.lstsq(design * w[:, None], target * w, rcond=None)
    fine = np.linspace(1e-6, SPLIT, 200001)
    approx = fine + fine**3 * np.polyval(coef[::-1], fine * fine)
    print(f"max relative error on (0, {SPLIT}): {np.max(np.abs(approx / np.tanh(fine) - 1)):.3e}")
    for j, c in enumerate(coef):
        print(f"const P{j}: f32 = {float(np.float32(c))!r};")


if __name__ == "__main__":
    main()
