"""A small typed usage example; ``mypy --strict`` must accept it (checks the stubs from a user's side)."""

from __future__ import annotations

import nam_rs
import numpy as np
from numpy.typing import NDArray


def reamp(path: str, di: NDArray[np.float32]) -> NDArray[np.float32]:
    model: nam_rs.Model = nam_rs.load(path, fast_tanh=False, limits={"max_weights": 1_000_000})
    out: NDArray[np.float32] = model.process(di)
    model.process(di, out=di)
    model.reset()
    rate: float | None = model.sample_rate
    field: int = model.receptive_field
    assert rate is None or (rate > 0 and field >= 1)
    twin = model.copy()
    return twin.render(out)


def safe_load(text: str) -> nam_rs.Model | None:
    try:
        return nam_rs.loads(text)
    except nam_rs.UnsupportedModelError:
        return None
    except nam_rs.NamError:
        raise
