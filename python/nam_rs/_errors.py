"""Exception and warning classes. Defined in Python (so they can inherit from ValueError as well as
NamError); the Rust extension raises them through ``pyo3::import_exception!``."""

from __future__ import annotations

__all__ = [
    "NamBusyError",
    "NamError",
    "NamFormatError",
    "NamInternalError",
    "NamLimitError",
    "NamVersionError",
    "NamVersionWarning",
    "UnsupportedModelError",
]


class NamError(Exception):
    """Base class of every error nam_rs raises about a model or its use."""


class NamFormatError(NamError, ValueError):
    """The file is not a valid .nam: bad JSON, a missing key, a wrong type or value, wrong weight count."""


class NamVersionError(NamError, ValueError):
    """The file's version is malformed or outside what NAM Core 0.5.5 accepts (0.5.0 to 0.7.x)."""


class UnsupportedModelError(NamError):
    """The file is valid but uses a feature this version of nam_rs cannot run yet; the message names it."""


class NamLimitError(NamError, ValueError):
    """The file asks for more than a resource limit allows (checked before allocating); see ``limits=``."""


class NamBusyError(NamError, RuntimeError):
    """The model is being processed by another thread. Give each thread its own ``model.copy()``."""


class NamInternalError(NamError, RuntimeError):
    """A bug in nam_rs (a Rust panic caught at the boundary). Please report it with the file that caused it."""


class NamVersionWarning(UserWarning):
    """The file's version is newer than the newest this library knows (0.7.x with x > 0); it loads anyway."""
