"""Parity checks: does nam_rs give the same output as a reference (the PyTorch trainer, or a render)?

The contract is the project's own: ``max |Δ| ≤ tol · max(1, max |ref|)`` over every sample from
sample 0 (no warm-up skipped), ``tol = 1e-5`` by default. Both sides start from the model's
prewarmed state: nam_rs runs ``model.render(x)``; the trainer runs its full-file forward, which
pads a WaveNet with ``receptive_field - 1`` zeros, and an LSTM is fed ``model.prewarm_samples``
zeros first (NAM Core's prewarm), as ``tests/fixtures/make_fixtures.py`` does.

>>> report = nam_rs.testing.compare("amp.nam", "trainer")        # doctest: +SKIP
>>> nam_rs.testing.assert_parity("amp.nam", "amp_core.npy", "di.npy")  # in a pytest test  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf  # type: ignore[import-untyped]
from numpy.typing import NDArray

from nam_rs._core import Model
from nam_rs._errors import NamError

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNAL_RATE",
    "ParityReport",
    "TrainerFailedError",
    "TrainerUnavailableError",
    "assert_parity",
    "compare",
    "parity_signal",
]

DEFAULT_TOLERANCE = 1e-5
"""Relative tolerance of the parity contract (times ``max(1, max |ref|)``)."""

SIGNAL_RATE = 48000
"""Sample rate :func:`parity_signal` is laid out for (the models' usual rate)."""

Signal = NDArray[Any] | str | os.PathLike[str]


class TrainerUnavailableError(NamError, ImportError):
    """``reference="trainer"`` needs the PyTorch trainer (``pip install neural-amp-modeler``)."""


class TrainerFailedError(NamError, RuntimeError):
    """The installed trainer cannot rebuild or run this file (its loader lags the file format)."""


@dataclass(frozen=True)
class ParityReport:
    """The result of :func:`compare`."""

    max_abs_error: float
    """Largest ``|nam_rs - reference|`` over all samples."""
    tolerance: float
    """The absolute bound used: ``relative_tolerance · max(1, max |ref|)``."""
    relative_tolerance: float
    esr: float
    """Error-to-signal ratio ``Σ(y - ref)² / Σ ref²`` (the trainer's ESR; 0 for identical signals)."""
    first_divergence: int | None
    """First sample whose error exceeds ``tolerance`` (None when the check passes)."""
    worst_sample: int
    """Sample with the largest error."""
    samples: int
    reference: str
    """What was compared against: ``trainer``, a file name, or ``array``."""

    @property
    def passed(self) -> bool:
        return self.first_divergence is None

    def summary(self) -> str:
        """A few lines for a terminal or an assertion message."""
        verdict = "PASS" if self.passed else "FAIL"
        first = "none" if self.first_divergence is None else str(self.first_divergence)
        return (
            f"{verdict}: {self.samples} samples against {self.reference}\n"
            f"  max abs error {self.max_abs_error:.3e} at sample {self.worst_sample} "
            f"(tolerance {self.tolerance:.3e} = {self.relative_tolerance:g} x max(1, peak))\n"
            f"  ESR {self.esr:.3e}\n"
            f"  first diverging sample: {first}"
        )


def parity_signal(sample_rate: int = SIGNAL_RATE) -> NDArray[np.float32]:
    """The default parity input: 1 s, deterministic (no random generator), float32.

    Layout at ``sample_rate`` (fractions of a second): 0.05 silence; 0.5 log sine sweep 20 Hz →
    min(20 kHz, 0.45 · rate) whose amplitude rises from -40 dBFS to 0 dBFS (every level, every
    band); 0.2 uniform white noise at ±0.3 from a 32-bit linear congruential generator (seed 1,
    a = 1664525, c = 1013904223); an impulse of 0.9; silence to the end. Save it with
    ``np.save`` to render a reference elsewhere.
    """
    rate = int(sample_rate)
    if rate < 1000:
        raise ValueError(f"sample_rate must be at least 1000 Hz, not {sample_rate}")
    x = np.zeros(rate, dtype=np.float64)
    start, length = rate // 20, rate // 2
    t = np.arange(length) / rate
    f0, f1, duration = 20.0, min(20_000.0, 0.45 * rate), length / rate
    k = math.log(f1 / f0)
    phase = 2 * np.pi * f0 * duration / k * (np.exp(t / duration * k) - 1.0)
    level = 10.0 ** ((-40.0 + 40.0 * t / duration) / 20.0)
    fade = np.minimum(1.0, np.minimum(np.arange(length), np.arange(length)[::-1]) / 64.0)
    x[start : start + length] = level * np.sin(phase) * fade
    start += length
    length = rate // 5
    state, values = 1, np.empty(length)
    for n in range(length):
        state = (1664525 * state + 1013904223) % 2**32
        values[n] = state / 2**31 - 1.0
    x[start : start + length] = 0.3 * values
    x[start + length + rate // 20] = 0.9
    return x.astype(np.float32)


def _mono(signal: NDArray[Any], what: str) -> NDArray[np.float64]:
    array = np.asarray(signal, dtype=np.float64)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise ValueError(f"{what} must be one channel (shape (n,)), not shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinity")
    return array


def _read_signal(source: Signal, what: str) -> tuple[NDArray[np.float64], str]:
    """An array, a .npy file, or an audio file (read as float64, so float WAVs are exact)."""
    if isinstance(source, np.ndarray):
        return _mono(source, what), "array"
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"no such {what} file: {path}")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"cannot read {path} as a .npy array: {exc}") from None
    else:
        try:
            array, _ = sf.read(path, dtype="float64")
        except RuntimeError as exc:  # soundfile's LibsndfileError
            raise ValueError(f"cannot read {path} as audio: {exc}") from None
    return _mono(array, f"{what} {path.name}"), path.name


def _model_source(model: Model | str | os.PathLike[str]) -> tuple[Model, dict[str, Any]]:
    """The loaded model and its .nam document (the trainer rebuilds from the document)."""
    if isinstance(model, Model):
        source = model.__reduce__()[1][0]  # the JSON the model was loaded from
        return model, json.loads(source)
    from nam_rs import load  # here: nam_rs imports this module

    path = Path(model)
    loaded = load(path)
    return loaded, json.loads(path.read_bytes())


def _trainer_render(document: dict[str, Any], model: Model, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The PyTorch trainer's output for ``x``, started like NAM Core (see the module docstring)."""
    try:
        import torch  # type: ignore[import-not-found, unused-ignore]
        from nam.models import init_from_nam  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise TrainerUnavailableError(
            f"reference 'trainer' needs the PyTorch trainer ({exc}); install it with "
            "'pip install neural-amp-modeler', or pass a reference render (.npy or .wav) instead"
        ) from None
    if _has_prelu(document.get("config")):
        # It would run, but wrongly: neural-amp-modeler 0.13's init_from_nam drops per-channel slopes.
        raise TrainerFailedError("the trainer's loader cannot rebuild PReLU activations: compare with a render")
    signal = x.astype(np.float32)
    try:
        net = init_from_nam(document).eval()
        with torch.no_grad():
            if document.get("architecture") == "LSTM":
                padded = np.concatenate([np.zeros(model.prewarm_samples, np.float32), signal])
                y = net(torch.from_numpy(padded), pad_start=False).numpy()[-len(signal) :]
            else:
                y = net(torch.from_numpy(signal), pad_start=True).numpy()
    except Exception as exc:  # the trainer's own errors: its loader lags the format (legacy forms, A2 parts)
        raise TrainerFailedError(
            f"the PyTorch trainer cannot run this file ({type(exc).__name__}: {exc}); compare with a render instead"
        ) from exc
    return np.asarray(y, dtype=np.float64).reshape(-1)


def _has_prelu(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("type") == "PReLU" or node.get("name") == "PReLU" or any(map(_has_prelu, node.values()))
    return isinstance(node, list) and any(map(_has_prelu, node))


def compare(
    model: Model | str | os.PathLike[str],
    reference: Signal,
    input: Signal | None = None,
    *,
    tol: float = DEFAULT_TOLERANCE,
) -> ParityReport:
    """Run ``input`` through nam_rs and compare with ``reference``.

    Args:
        model: a loaded :class:`Model` (left untouched) or a .nam path.
        reference: the expected output: an array, a ``.npy`` file, an audio file (``.wav`` …), or
            ``"trainer"`` to compute it with the PyTorch trainer (``nam`` package) when installed.
        input: the input signal: an array, a ``.npy`` or an audio file (one channel), taken sample
            for sample (no resampling); default :func:`parity_signal` at the model's rate (48 kHz
            if it states none).
        tol: relative tolerance of the contract ``max |Δ| ≤ tol · max(1, max |ref|)``.

    Raises:
        TrainerUnavailableError: ``reference="trainer"`` without the trainer installed.
        FileNotFoundError, ValueError: a missing or unreadable file, or signals of different lengths.
    """
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a non-negative number, not {tol!r}")
    loaded, document = _model_source(model)
    if input is None:
        x = parity_signal(round(loaded.sample_rate or SIGNAL_RATE)).astype(np.float64)
    else:
        x, _ = _read_signal(input, "input")
    if isinstance(reference, str) and reference == "trainer":
        ref, label = _trainer_render(document, loaded, x), "the PyTorch trainer"
    else:
        ref, label = _read_signal(reference, "reference")
    if len(ref) != len(x):
        raise ValueError(f"the reference has {len(ref)} samples but the input has {len(x)}")
    y = loaded.render(x.astype(np.float32)).astype(np.float64)
    error = np.abs(y - ref)
    bound = tol * max(1.0, float(np.abs(ref).max(initial=0.0)))
    over = np.flatnonzero(error > bound)
    signal_energy = float(np.sum(ref * ref))
    error_energy = float(np.sum((y - ref) ** 2))
    if signal_energy > 0:
        esr = error_energy / signal_energy
    else:
        esr = 0.0 if error_energy == 0 else math.inf
    return ParityReport(
        max_abs_error=float(error.max(initial=0.0)),
        tolerance=bound,
        relative_tolerance=tol,
        esr=esr,
        first_divergence=int(over[0]) if over.size else None,
        worst_sample=int(error.argmax()) if error.size else 0,
        samples=len(x),
        reference=label,
    )


def assert_parity(
    model: Model | str | os.PathLike[str],
    reference: Signal,
    input: Signal | None = None,
    *,
    tol: float = DEFAULT_TOLERANCE,
) -> ParityReport:
    """:func:`compare`, raising ``AssertionError`` with the report's summary when the check fails."""
    report = compare(model, reference, input, tol=tol)
    if not report.passed:
        raise AssertionError(report.summary())
    return report
