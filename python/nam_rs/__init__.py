"""nam_rs: run Neural Amp Modeler (.nam) models fast and exactly, without PyTorch.

>>> import numpy as np, nam_rs
>>> model = nam_rs.load("amp.nam")          # doctest: +SKIP
>>> y = model.process(x)                    # doctest: +SKIP
>>> model.process(x, out=x)                 # in place, GIL released  # doctest: +SKIP
>>> nam_rs.render_file(model, "di.wav", "wet.wav", normalize=True)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Literal

from nam_rs import batch, testing
from nam_rs._core import DEFAULT_GIL_THRESHOLD, Model, _load, _loads
from nam_rs._errors import (
    NamBusyError,
    NamError,
    NamFormatError,
    NamInternalError,
    NamLimitError,
    NamVersionError,
    NamVersionWarning,
    UnsupportedModelError,
)
from nam_rs.audio import RenderReport, SampleRateWarning, render_file
from nam_rs.levels import LevelWarning, db_to_gain, input_gain_db, output_gain_db

__all__ = [
    "DEFAULT_GIL_THRESHOLD",
    "LevelWarning",
    "Model",
    "NamBusyError",
    "NamError",
    "NamFormatError",
    "NamInternalError",
    "NamLimitError",
    "NamVersionError",
    "NamVersionWarning",
    "RenderReport",
    "SampleRateWarning",
    "UnsupportedModelError",
    "batch",
    "db_to_gain",
    "input_gain_db",
    "load",
    "loads",
    "output_gain_db",
    "render_file",
    "testing",
]

__version__ = "0.1.0"


def _finish(model: Model, gil_threshold: int | None) -> Model:
    for message in model.warnings:
        warnings.warn(message, NamVersionWarning, stacklevel=3)
    if gil_threshold is not None:
        model.gil_threshold = gil_threshold
    return model


def load(
    path: str | os.PathLike[str],
    *,
    fast_tanh: bool = False,
    limits: Mapping[str, int] | None = None,
    gil_threshold: int | None = None,
    portable_kernels: bool = False,
    semantics: Literal["core", "trainer"] = "core",
    linear_implementation: Literal["auto", "direct", "fft"] | None = None,
) -> Model:
    """Load a .nam file into a ready-to-run, prewarmed model.

    Args:
        path: the .nam file.
        fast_tanh: use NAM Core's fast tanh approximation instead of exact tanh (off: exact output).
        limits: raise resource limits for trusted files, e.g. ``{"max_weights": 100_000_000}``.
        gil_threshold: frames from which ``process`` releases the GIL (default ``DEFAULT_GIL_THRESHOLD``).
        portable_kernels: run the baseline x86-64 kernels even on an AVX2 CPU (the default FMA kernels
            round each multiply-add once, so they agree within 1e-6 of the peak, not bit for bit; for
            comparisons and benchmarks).
        semantics: ``"core"`` computes what NAM Core (the plugin) plays; ``"trainer"`` what the PyTorch
            trainer computed for the same file where the two disagree (Linear tap order, Hardtanh bounds,
            residual path, FiLM defaults, LSTM start state) and accepts the trainer-only activations
            Softsigmoid, ELU and GELU. See docs/compatibility.md.
        linear_implementation: run a Linear model's FIR in the ``"direct"`` form or as a partitioned
            ``"fft"`` (same output within float rounding); ``"auto"`` is NAM Core's rule (FFT above 256
            taps); None uses the file's own ``implementation``.

    Raises:
        FileNotFoundError: the file does not exist.
        NamFormatError, NamVersionError, UnsupportedModelError, NamLimitError: the file cannot be run.
        ValueError: an unknown keyword value (``semantics``, ``linear_implementation``, ``limits``).
    """
    model = _load(
        os.fspath(path),
        fast_tanh=fast_tanh,
        portable_kernels=portable_kernels,
        limits=dict(limits) if limits else None,
        semantics=semantics,
        linear_implementation=linear_implementation,
    )
    return _finish(model, gil_threshold)


def loads(
    data: str | bytes,
    *,
    fast_tanh: bool = False,
    limits: Mapping[str, int] | None = None,
    gil_threshold: int | None = None,
    portable_kernels: bool = False,
    semantics: Literal["core", "trainer"] = "core",
    linear_implementation: Literal["auto", "direct", "fft"] | None = None,
) -> Model:
    """Load a model from the JSON text of a .nam file (str or bytes); same options as :func:`load`."""
    model = _loads(
        data,
        fast_tanh=fast_tanh,
        portable_kernels=portable_kernels,
        limits=dict(limits) if limits else None,
        semantics=semantics,
        linear_implementation=linear_implementation,
    )
    return _finish(model, gil_threshold)
