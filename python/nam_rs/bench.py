"""How fast a model runs here: ``nam_rs.bench.run`` and the ``nam-rs bench`` command.

The model streams a guitar-like signal (plucked notes, not silence: idle models can be faster or
slower than busy ones) in blocks of ``buffer`` frames with ``model.process(x, out=x)``, the call a
real-time host makes. Time is measured in rounds of many blocks and the median round is reported,
so a burst of load on a shared machine moves one round, not the result. The single-core FP32
multiply-add peak is measured right before and after (``nam_rs._core._fma_peak_gflops``) to say
what share of the machine the model uses in this run.

``threads=N`` runs N independent streams, each on its own ``model.copy()`` and Python thread (the
GIL is released during processing), and reports their aggregate throughput.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import nam_rs
from nam_rs._core import Model, _fma_peak_gflops

__all__ = ["BenchReport", "guitar_signal", "run"]

# Rate assumed for the real-time factor of a model whose file states none (most captures are 48k).
DEFAULT_SAMPLE_RATE = 48_000.0
# A round of blocks lasts about this share of ``seconds``, so that there are ~20 rounds to take the
# median of; never fewer than MIN_ROUNDS rounds, even past ``seconds``.
_ROUND_SHARE = 0.05
MIN_ROUNDS = 3
# Seconds of the peak measurement before and after: a tenth of the budget, within these bounds.
_PEAK_SECONDS = (0.05, 1.0)


@dataclass(frozen=True)
class BenchReport:
    """The result of :func:`run`. Times are medians over rounds; rates are aggregate over threads."""

    model: str
    architecture: str
    sample_rate: float
    sample_rate_assumed: bool
    macs_per_sample: int
    buffer: int
    threads: int
    rounds: int
    frames_per_round: int
    ns_per_sample: float
    """Wall time per sample of all streams together (per stream when ``threads`` is 1)."""
    stream_ns_per_sample: float
    """Wall time per sample of one stream (each thread's own time, median over threads)."""
    realtime_factor: float
    """Seconds of audio processed per second, all streams together."""
    gflops: float
    """``2 · macs_per_sample`` FLOP per sample at ``ns_per_sample``."""
    peak_gflops_before: float
    peak_gflops_after: float
    peak_gflops: float
    """The larger of the two: the FP32 FMA peak of ``threads`` cores running together."""
    peak_percent: float

    def as_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (what ``nam-rs bench --json`` prints)."""
        return asdict(self)

    def summary(self) -> str:
        """A few human-readable lines."""
        rate = f"{self.sample_rate:g} Hz" + (" (assumed: the file states none)" if self.sample_rate_assumed else "")
        if self.threads == 1:
            streams, together, cores = "1 thread", "", "single-core "
        else:
            streams = (
                f"{self.threads} threads, independent streams (one model.copy() each); "
                f"{self.stream_ns_per_sample:.1f} ns/sample per stream"
            )
            together, cores = ", all streams together", f"{self.threads}-thread "
        return "\n".join(
            [
                f"model:      {self.model} ({self.architecture}, {self.macs_per_sample} MACs/sample, {rate})",
                f"buffer:     {self.buffer} frames; {streams}",
                f"time:       {self.ns_per_sample:.1f} ns/sample{together} "
                f"(median of {self.rounds} rounds of {self.frames_per_round} frames)",
                f"real time:  {self.realtime_factor:.1f}x at {self.sample_rate:g} Hz{together}",
                f"compute:    {self.gflops:.2f} GFLOP/s = {self.peak_percent:.1f}% of the {cores}FP32 FMA peak "
                f"({self.peak_gflops:.1f} GFLOP/s; {self.peak_gflops_before:.1f} before, "
                f"{self.peak_gflops_after:.1f} after)",
            ]
        )


def guitar_signal(frames: int, sample_rate: float, seed: int = 0) -> NDArray[np.float32]:
    """A deterministic guitar-like DI signal: plucked notes (E2 to E5, decaying harmonics, random
    velocity), a new note every 0.15 to 0.5 s over the last one's tail, peaking near 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / sample_rate
    signal = np.zeros(frames)
    start = 0.0
    while start < frames / sample_rate:
        onset = int(start * sample_rate)
        tail = t[onset:] - t[onset]
        pitch = 82.41 * 2.0 ** (rng.integers(0, 37) / 12)
        velocity = rng.uniform(0.2, 1.0)
        for harmonic in range(1, 9):
            frequency = pitch * harmonic
            if frequency >= sample_rate / 2:
                break
            # Higher harmonics die faster, as on a string.
            decay = np.exp(-tail * (2.0 + 1.5 * harmonic))
            signal[onset:] += velocity / harmonic * decay * np.sin(2 * np.pi * frequency * tail + rng.uniform(0, 6.3))
        start += rng.uniform(0.15, 0.5)
    signal += rng.normal(0.0, 1e-4, frames)  # pickup hiss (-80 dB): never exact silence
    peak = float(np.max(np.abs(signal))) if frames else 0.0
    return (signal * (0.5 / peak if peak > 0 else 1.0)).astype(np.float32)


def _peak(threads: int, seconds: float) -> float:
    """The FMA peak of ``threads`` cores measured together (shared cores show up as such)."""
    results = [0.0] * threads

    def measure(i: int) -> None:
        results[i] = _fma_peak_gflops(seconds)

    workers = [threading.Thread(target=measure, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(results)


class _Stream:
    """One model copy with its input and output buffers, cut into block views once."""

    def __init__(self, model: Model, source: NDArray[np.float32], frames: int, buffer: int) -> None:
        ci, co = model.num_input_channels, model.num_output_channels
        self.model = model
        self.source = source if ci == 1 and co == 1 else np.repeat(source[:, None], ci, axis=1)
        self.input = np.empty((frames, *self.source.shape[1:]), np.float32)
        # In place whenever the channel counts allow it (what a host does).
        self.output = self.input if ci == co else np.empty((frames, co), np.float32)
        self.blocks = [(self.input[i : i + buffer], self.output[i : i + buffer]) for i in range(0, frames, buffer)]
        self.times = (0, 0)

    def refill(self, start: int) -> None:
        """Copy the next stretch of the source signal in (the last round overwrote it)."""
        index = (start + np.arange(len(self.input))) % len(self.source)
        np.take(self.source, index, axis=0, out=self.input)

    def run(self) -> None:
        process = self.model.process
        t0 = time.perf_counter_ns()
        for x, out in self.blocks:
            process(x, out=out)
        self.times = (t0, time.perf_counter_ns())


def _check_positive(name: str, value: float, integer: bool) -> None:
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive, not {value}")


def run(
    model_or_path: Model | str | os.PathLike[str],
    *,
    buffer: int = 64,
    seconds: float = 10.0,
    threads: int = 1,
) -> BenchReport:
    """Benchmark a model (a loaded one is not disturbed: the streams are copies) for about
    ``seconds`` plus the peak measurements (a tenth of that each, 0.05 to 1 s).

    Raises:
        ValueError, TypeError: a non-positive or non-integer ``buffer``/``threads``, or bad ``seconds``.
        FileNotFoundError, nam_rs.NamError: the path cannot be loaded.
    """
    _check_positive("buffer", buffer, integer=True)
    _check_positive("threads", threads, integer=True)
    _check_positive("seconds", seconds, integer=False)
    if isinstance(model_or_path, Model):
        model, name = model_or_path, "<model>"
    else:
        model, name = nam_rs.load(model_or_path), Path(model_or_path).name
    sample_rate = model.sample_rate or DEFAULT_SAMPLE_RATE
    peak_seconds = min(max(seconds / 10, _PEAK_SECONDS[0]), _PEAK_SECONDS[1])
    # One second of audio (at least one block), walked through round after round.
    signal = guitar_signal(max(buffer, round(sample_rate)), sample_rate)

    # Size a round from a warm-up pass: ~_ROUND_SHARE of the budget, whole blocks.
    probe = _Stream(model.copy(), signal, buffer * max(1, 4096 // buffer), buffer)
    probe.refill(0)
    probe.run()
    ns_per_frame = max(1, probe.times[1] - probe.times[0]) / len(probe.input)
    blocks_per_round = max(1, int(seconds * _ROUND_SHARE * 1e9 / (ns_per_frame * buffer)))
    frames = blocks_per_round * buffer
    streams = []
    for _ in range(threads):
        copy = model.copy()
        if threads > 1:
            copy.gil_threshold = 1  # let the streams run in parallel, whatever the block size
        streams.append(_Stream(copy, signal, frames, buffer))

    peak_before = _peak(threads, peak_seconds)
    rounds = _timed_rounds(streams, seconds)
    peak_after = _peak(threads, peak_seconds)

    round_ns = [max(t[1] for t in r) - min(t[0] for t in r) for r in rounds]
    stream_ns = [float(np.median([t[1] - t[0] for t in r])) for r in rounds]
    ns_per_sample = float(np.median(round_ns)) / (frames * threads)
    peak = max(peak_before, peak_after)
    gflops = 2 * model.macs_per_sample / ns_per_sample
    return BenchReport(
        model=name,
        architecture=model.architecture,
        sample_rate=float(sample_rate),
        sample_rate_assumed=model.sample_rate is None,
        macs_per_sample=model.macs_per_sample,
        buffer=buffer,
        threads=threads,
        rounds=len(rounds),
        frames_per_round=frames,
        ns_per_sample=ns_per_sample,
        stream_ns_per_sample=float(np.median(stream_ns)) / frames,
        realtime_factor=1e9 / sample_rate / ns_per_sample,
        gflops=gflops,
        peak_gflops_before=peak_before,
        peak_gflops_after=peak_after,
        peak_gflops=peak,
        peak_percent=100 * gflops / peak if peak > 0 else math.nan,
    )


def _timed_rounds(streams: list[_Stream], seconds: float) -> list[list[tuple[int, int]]]:
    """Runs rounds on one thread per stream, started together, until ``seconds`` have passed (and
    at least MIN_ROUNDS); returns each round's (start, end) ns per stream."""
    # Three rendezvous per round: go/stop decided, inputs refilled, round finished.
    barrier = threading.Barrier(len(streams) + 1)
    stop = False
    failures: list[BaseException] = []

    def worker(stream: _Stream) -> None:
        try:
            for r in itertools.count():
                barrier.wait()
                if stop:
                    return
                stream.refill(r * len(stream.input))
                barrier.wait()
                stream.run()
                barrier.wait()
        except threading.BrokenBarrierError:
            pass
        except BaseException as exc:  # re-raised on the calling thread
            failures.append(exc)
            barrier.abort()

    def rendezvous() -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            for t in workers:
                t.join()
            raise failures[0] if failures else RuntimeError("a benchmark thread stopped") from None

    workers = [threading.Thread(target=worker, args=(s,), daemon=True) for s in streams]
    for t in workers:
        t.start()
    rounds: list[list[tuple[int, int]]] = []
    deadline = time.perf_counter() + seconds
    while True:
        stop = len(rounds) >= MIN_ROUNDS and time.perf_counter() >= deadline
        rendezvous()
        if stop:
            break
        rendezvous()
        rendezvous()
        rounds.append([s.times for s in streams])
    for t in workers:
        t.join()
    return rounds
