"""Real-time processing from Python: an audio-callback object with gains, xrun counts and glitch-free model swaps.

``LiveProcessor`` is what an audio callback (``sounddevice``, ``pyaudio``, …) calls once per block. Everything it
needs is allocated up front, so a callback makes no array allocations: the input channel is copied into a
preallocated contiguous float32 buffer, processed in place by the model, scaled and written to every output
channel. Control happens from any other thread, taking effect at the next block boundary:

* ``input_gain_db`` / ``output_gain_db``: plain attribute stores, read once per block.
* ``swap(new_model)``: load the new model on your thread, hand it over; the callback picks it up at the next
  block and crossfades old -> new over ``crossfade_samples`` by running both models during the fade (into a
  second preallocated buffer). The old model is released later, on the thread that calls ``swap`` or
  ``collect``, never freed inside the callback.

>>> live = LiveProcessor(nam_rs.load("amp.nam"), max_block=1024)            # doctest: +SKIP
>>> stream = sounddevice.Stream(channels=(1, 2), callback=live.callback)    # doctest: +SKIP
>>> live.swap(nam_rs.load("other.nam"), crossfade_samples=4800)            # any thread  # doctest: +SKIP

Host rate != model rate: pass ``host_sample_rate``. When the host runs at N x the model's rate (N >= 2 an
integer) the processor runs the model with every dilation multiplied by N (exact, no latency); otherwise, or for
models where that does not apply (LSTM, a post-stack head with kernel > 1), a streaming resampler in the Rust core
(``latency`` host samples, fixed). ``rate_conversion`` says which ("none", "dilation" or "resample").

See ``examples/live_amp.py``.
"""

from __future__ import annotations

import math
import os
from collections import deque
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from nam_rs._core import HostRateModel, Model
from nam_rs.levels import db_to_gain

__all__ = ["DEFAULT_CROSSFADE_SAMPLES", "HostRateModel", "LiveProcessor"]

DEFAULT_CROSSFADE_SAMPLES = 2048  # about 43 ms at 48 kHz: long enough to hide the new model's cold start


class LiveProcessor:
    """Process a live stream block by block through a model (see the module docstring for the threading rules).

    Args:
        model: the model to start with, or a ``.nam`` path to load. Without rate conversion its streaming state is
            used and advanced; with one, the processor runs its own copy built for the host rate.
        host_sample_rate: the stream's rate in Hz; None (the default) means the model's own rate.
        max_block: the largest block processed in one go; longer callback blocks are processed in pieces of
            this size (same output, since processing is block-independent).
        input_channel: which input channel feeds the (mono) model.
        input_gain_db: gain before the model, in dB.
        output_gain_db: gain after the model, in dB.
        crossfade_samples: default length of a :meth:`swap` crossfade.
    """

    def __init__(
        self,
        model: Model | str | os.PathLike[str],
        *,
        host_sample_rate: float | None = None,
        max_block: int = 4096,
        input_channel: int = 0,
        input_gain_db: float = 0.0,
        output_gain_db: float = 0.0,
        crossfade_samples: int = DEFAULT_CROSSFADE_SAMPLES,
    ) -> None:
        if max_block < 1:
            raise ValueError(f"max_block must be at least 1, got {max_block}")
        if input_channel < 0:
            raise ValueError(f"input_channel must be >= 0, got {input_channel}")
        if not isinstance(model, Model):
            import nam_rs

            model = nam_rs.load(model)
        if host_sample_rate is not None and not (math.isfinite(host_sample_rate) and host_sample_rate > 0):
            raise ValueError(f"host_sample_rate must be a positive number of Hz, got {host_sample_rate!r}")
        self._host_sample_rate = None if host_sample_rate is None else float(host_sample_rate)
        self._model = model
        self._stage = self._stage_for(model)  # None: the model runs as is
        self.input_channel = input_channel
        self.crossfade_samples = _check_crossfade(crossfade_samples)
        self._input_gain_db = self._output_gain_db = 0.0
        self._input_gain = self._output_gain = 1.0
        self.input_gain_db = input_gain_db
        self.output_gain_db = output_gain_db
        self._buffer = np.zeros(max_block, dtype=np.float32)  # the live model's input, then its output
        self._fade_buffer = np.zeros(max_block, dtype=np.float32)  # the outgoing model during a crossfade
        # The incoming model's weight per sample; float32 like the audio, so no mixed-type (buffered) arithmetic.
        self._fade_weight = np.zeros(max_block, dtype=np.float32)
        self._sample_index = np.arange(max_block, dtype=np.float32)
        # The latest swap() not yet picked up: (model, its host-rate stage or None, crossfade).
        self._pending: deque[tuple[Model, HostRateModel | None, int]] = deque(maxlen=1)
        self._retired: deque[tuple[Model, HostRateModel | None]] = deque()  # released by the control thread
        self._outgoing: tuple[Model, HostRateModel | None] | None = None
        self._fade_position = self._fade_length = 0
        self.blocks = 0
        self.frames = 0
        self.xruns = 0
        self.swaps = 0

    # ---------------------------------------------------------------------------------------------------------
    # Control (any thread)
    # ---------------------------------------------------------------------------------------------------------

    @property
    def model(self) -> Model:
        """The model the callback runs now (during a crossfade: the incoming one; with rate conversion, the model its
        host-rate copy was built from)."""
        return self._model

    @property
    def max_block(self) -> int:
        return len(self._buffer)

    @property
    def host_sample_rate(self) -> float | None:
        """The stream's rate given at construction (None: the model's own)."""
        return self._host_sample_rate

    @property
    def rate_conversion(self) -> Literal["none", "dilation", "resample"]:
        """How the current model meets the host rate: as is, dilations x N, or the resampler."""
        stage = self._stage
        return "none" if stage is None else stage.rate_conversion

    @property
    def latency(self) -> int:
        """Host samples the rate conversion delays the output by (0 unless resampling)."""
        stage = self._stage
        return 0 if stage is None else stage.latency

    def _stage_for(self, model: Model) -> HostRateModel | None:
        """The host-rate runner for ``model``, or None when the model runs as is (built off the audio thread)."""
        host = self._host_sample_rate
        if host is None or host == (model.sample_rate or 48_000.0):
            return None
        return HostRateModel(model, host)

    @property
    def input_gain_db(self) -> float:
        return self._input_gain_db

    @input_gain_db.setter
    def input_gain_db(self, db: float) -> None:
        self._input_gain = _gain(db)  # one float store: the callback sees the old or the new gain, never a mix
        self._input_gain_db = float(db)

    @property
    def output_gain_db(self) -> float:
        return self._output_gain_db

    @output_gain_db.setter
    def output_gain_db(self, db: float) -> None:
        self._output_gain = _gain(db)
        self._output_gain_db = float(db)

    @property
    def swapping(self) -> bool:
        """True while a swap waits for the next block or its crossfade runs."""
        return bool(self._pending) or self._outgoing is not None

    def swap(self, model: Model, *, crossfade_samples: int | None = None) -> None:
        """Switch to ``model`` at the next block boundary, crossfading over ``crossfade_samples`` (default: the
        processor's ``crossfade_samples``; 0 switches at once). Call from a control thread with a freshly loaded
        (or reset) model, which the processor then owns. A swap requested while another is still pending
        replaces it; one requested during a crossfade starts when that fade ends.

        With ``host_sample_rate`` set, the new model may have any rate: its rate conversion is built here.

        Raises:
            ValueError: without ``host_sample_rate``, the models' sample rates differ; or a bad crossfade length.
        """
        outgoing = self._outgoing
        if model is self._model or (outgoing is not None and model is outgoing[0]):
            raise ValueError("swap() needs a different Model object (use model.copy() for the same capture)")
        rates = (self._model.sample_rate, model.sample_rate)
        if self._host_sample_rate is None and None not in rates and rates[0] != rates[1]:
            raise ValueError(
                f"the new model runs at {rates[1]:g} Hz, the current one at {rates[0]:g} Hz "
                "(give the processor a host_sample_rate to convert)"
            )
        fade = self.crossfade_samples if crossfade_samples is None else _check_crossfade(crossfade_samples)
        stage = self._stage_for(model)
        self.collect()
        self._pending.append((model, stage, fade))

    def collect(self) -> None:
        """Release the models faded out so far (done by :meth:`swap` too; call it from a control thread)."""
        while self._retired:
            self._retired.popleft()

    # ---------------------------------------------------------------------------------------------------------
    # Audio thread
    # ---------------------------------------------------------------------------------------------------------

    def callback(
        self, indata: NDArray[np.float32], outdata: NDArray[np.float32], frames: int, time: Any, status: Any
    ) -> None:
        """``sounddevice.Stream(callback=...)`` signature; see :meth:`process_block`."""
        self.process_block(indata, outdata, status)

    def process_block(self, indata: NDArray[np.float32], outdata: NDArray[np.float32], status: Any = None) -> None:
        """Process one block: ``indata`` (frames, input channels), ``outdata`` (frames, output channels), both
        float32. A truthy ``status`` (the callback's xrun flags) counts one xrun."""
        if status:
            self.xruns += 1
        self.blocks += 1
        frames = len(outdata)
        step = len(self._buffer)
        for start in range(0, frames, step):
            stop = min(frames, start + step)
            self._process(indata[start:stop, self.input_channel], outdata[start:stop])
        self.frames += frames

    def _process(self, source: NDArray[np.float32], target: NDArray[np.float32]) -> None:
        n = len(source)
        buffer = self._buffer[:n]
        np.multiply(source, self._input_gain, out=buffer)
        if self._outgoing is None and self._pending:
            self._begin_swap()
        outgoing = self._outgoing
        if outgoing is not None:
            fading = self._fade_buffer[:n]
            fading[:] = buffer
            _run(outgoing[0], outgoing[1], fading)
        _run(self._model, self._stage, buffer)
        if outgoing is not None:
            self._crossfade(buffer, self._fade_buffer[:n])
        buffer *= self._output_gain
        target[:] = buffer[:, np.newaxis]

    def _begin_swap(self) -> None:
        incoming, stage, fade = self._pending.popleft()
        self._outgoing = (self._model, self._stage)
        self._model, self._stage = incoming, stage
        self._fade_position, self._fade_length = 0, fade
        self.swaps += 1
        if fade == 0:
            self._end_swap()

    def _crossfade(self, incoming: NDArray[np.float32], outgoing: NDArray[np.float32]) -> None:
        """incoming <- outgoing + w (incoming - outgoing), w a raised cosine from 0 to exactly 1 at the fade end.
        Equal-gain (not equal-power): both models see the same input, so their outputs are correlated."""
        m = min(len(incoming), self._fade_length - self._fade_position)
        weight = self._fade_weight[:m]
        np.add(self._sample_index[:m], self._fade_position + 1, out=weight)
        weight *= math.pi / self._fade_length
        np.cos(weight, out=weight)
        weight *= -0.5
        weight += 0.5
        head = incoming[:m]
        head -= outgoing[:m]
        head *= weight
        head += outgoing[:m]
        self._fade_position += m
        if self._fade_position >= self._fade_length:
            self._end_swap()

    def _end_swap(self) -> None:
        outgoing, self._outgoing = self._outgoing, None
        if outgoing is not None:
            self._retired.append(outgoing)  # freed by the control thread (collect), not here

    def __repr__(self) -> str:
        return (
            f"LiveProcessor(max_block={self.max_block}, rate_conversion={self.rate_conversion!r}, "
            f"latency={self.latency}, blocks={self.blocks}, frames={self.frames}, "
            f"xruns={self.xruns}, swaps={self.swaps}, input_gain_db={self.input_gain_db:g}, "
            f"output_gain_db={self.output_gain_db:g})"
        )


def _run(model: Model, stage: HostRateModel | None, buffer: NDArray[np.float32]) -> None:
    """Process ``buffer`` in place at the host rate."""
    if stage is None:
        model.process(buffer, out=buffer)
    else:
        stage.process(buffer)


def _gain(db: float) -> float:
    if not math.isfinite(db):
        raise ValueError(f"gain must be a finite number of dB, got {db!r}")
    return db_to_gain(db)


def _check_crossfade(samples: int) -> int:
    if samples < 0:
        raise ValueError(f"crossfade_samples must be >= 0, got {samples}")
    return int(samples)
