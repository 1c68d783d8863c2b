"""Type stubs of the Rust extension (checked with ``python -m mypy.stubtest nam_rs``)."""

import os
from typing import TYPE_CHECKING, Any, Literal, final

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_GIL_THRESHOLD", "HostRateModel", "Model", "_fma_peak_gflops", "_load", "_loads", "_unpickle"]

DEFAULT_GIL_THRESHOLD: int
_FAILPOINTS: bool

@final
class HostRateModel:
    """``model`` run at ``host_sample_rate``: as is when the rates match, with every dilation multiplied by N when
    the host rate is N x the model's (exact, no latency; not for LSTMs or a post-stack head with kernel > 1), else
    through a streaming resampler with a fixed ``latency``. Built from the model's file (its own copy)."""

    def __new__(cls, model: Model, host_sample_rate: float) -> HostRateModel: ...
    def process(self, buffer: NDArray[np.float32]) -> None:
        """Process a 1-D C-contiguous float32 array of host-rate samples in place (allocation-free; any length,
        output independent of how the stream is split)."""
    def reset(self) -> None:
        """Back to the start state: model prewarmed, resampler empty (allocation-free)."""
    @property
    def latency(self) -> int:
        """Host samples between an input sample and the output it causes (0 unless resampling)."""
    @property
    def rate_conversion(self) -> Literal["none", "dilation", "resample"]: ...
    @property
    def dilation_factor(self) -> int:
        """N when the dilations were multiplied by N, else 1."""
    @property
    def host_sample_rate(self) -> float: ...
    @property
    def model_sample_rate(self) -> float:
        """The model's own rate (48 kHz when its file does not say)."""

@final
class Model:
    """A loaded .nam model with its streaming state (prewarmed on load)."""

    def process(self, x: NDArray[Any], out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        """Process ``x``: shape ``(n,)`` for mono models, else ``(frames, num_input_channels)`` giving
        ``(frames, num_output_channels)``; ``out`` may be ``x`` itself when the channel counts agree."""
    def __call__(self, x: NDArray[Any], out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        """Same as :meth:`process`."""
    def process_sample(self, x: float) -> float:
        """Process one sample."""
    def render(self, x: NDArray[Any], *, threads: int = 1) -> NDArray[np.float32]:
        """Render a whole signal (shapes as for :meth:`process`) from the prewarmed start state; the
        streaming state is untouched. ``threads > 1`` renders overlapping chunks in parallel, bit-identical
        to one thread (recurrent models render serially)."""
    def reset(self) -> None:
        """Return to the prewarmed start state (allocation-free)."""
    def prewarm(self) -> None:
        """NAM Core's prewarm: feed silence from the current state."""
    def copy(self) -> Model:
        """A new model sharing the weights, in the prewarmed start state."""
    def __copy__(self) -> Model: ...
    def __deepcopy__(self, memo: Any, /) -> Model: ...
    def __reduce__(self) -> tuple[Any, tuple[bytes, bool, bool, dict[str, int], int, str, str | None]]:
        """Pickle support: the source JSON and load options (the model unpickles prewarmed)."""
    @property
    def slimmable_size(self) -> float | None:
        """Slimmable size in [0, 1]; None when the model is not slimmable. The setter is a lock-free atomic
        store, usable from any thread; the size is applied at the start of the next processing call."""
    @slimmable_size.setter
    def slimmable_size(self, size: float) -> None: ...
    @property
    def slimmable_breakpoints(self) -> list[float]: ...
    @property
    def slimmable_crossfade(self) -> int:
        """Samples of crossfade when the slimmable size changes (0: switch at once)."""
    @slimmable_crossfade.setter
    def slimmable_crossfade(self, samples: int) -> None: ...
    @property
    def nonfinite_count(self) -> int:
        """Input samples that were NaN or infinite (processed as 0) since loading."""
    @property
    def poisoned(self) -> bool:
        """Whether an internal error left the state untrustworthy (cleared by :meth:`reset`)."""
    @property
    def architecture(self) -> str: ...
    @property
    def semantics(self) -> Literal["core", "trainer"]:
        """``"core"`` or ``"trainer"``: whose reading of the file this model computes (the load keyword)."""
    @property
    def version(self) -> str: ...
    @property
    def sample_rate(self) -> float | None: ...
    @property
    def macs_per_sample(self) -> int:
        """Multiply-adds per sample of the model as built (a container: its active sub-model)."""
    def plot(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Figure:
        """:func:`nam_rs.plot.summary` of this model (needs the ``plot`` extra)."""
    @property
    def receptive_field(self) -> int: ...
    @property
    def prewarm_samples(self) -> int: ...
    @property
    def num_input_channels(self) -> int: ...
    @property
    def num_output_channels(self) -> int: ...
    @property
    def num_weights(self) -> int: ...
    @property
    def metadata(self) -> dict[str, Any]: ...
    @property
    def loudness(self) -> float | None: ...
    @property
    def input_level_dbu(self) -> float | None: ...
    @property
    def output_level_dbu(self) -> float | None: ...
    @property
    def gain(self) -> float | None: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def gil_threshold(self) -> int: ...
    @gil_threshold.setter
    def gil_threshold(self, frames: int) -> None: ...

def _load(
    path: str,
    *,
    fast_tanh: bool = False,
    portable_kernels: bool = False,
    limits: dict[str, int] | None = None,
    semantics: str = "core",
    linear_implementation: str | None = None,
) -> Model: ...
def _loads(
    data: str | bytes,
    *,
    fast_tanh: bool = False,
    portable_kernels: bool = False,
    limits: dict[str, int] | None = None,
    semantics: str = "core",
    linear_implementation: str | None = None,
) -> Model: ...
def _unpickle(
    data: bytes,
    fast_tanh: bool,
    portable_kernels: bool,
    limits: dict[str, int],
    gil_threshold: int,
    semantics: str,
    linear_implementation: str | None,
) -> Model: ...
def _fma_peak_gflops(seconds: float) -> float:
    """Single-core FP32 multiply-add peak in GFLOP/s (2 FLOP per FMA), measured for ``seconds``
    with the GIL released."""
