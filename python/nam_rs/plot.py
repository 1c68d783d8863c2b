"""One-page picture of a model: sweep spectrogram, harmonic spectra at three drives, transfer curve.

Needs matplotlib (``pip install 'nam-rs[plot]'``). The figure is built with matplotlib's object API on an Agg
canvas, so it works headless and never switches the backend of an interactive session.

>>> fig = nam_rs.plot.summary("amp.nam", "report.png")  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

import nam_rs
from nam_rs._core import Model

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_SAMPLE_RATE", "DRIVES_DBFS", "summary"]

DEFAULT_SAMPLE_RATE = 48_000.0  # used when the model has no rate and none is given (most captures are 48 kHz)
DRIVES_DBFS = (-24.0, -12.0, 0.0)  # input sine peaks of the harmonic spectra
SWEEP_DBFS = -12.0  # a typical DI peak: loud enough to distort most captures, not all of them flat out
SWEEP_SECONDS = 4.0
SWEEP_LOW_HZ = 20.0
HARMONIC_HZ = 1000.0  # the usual distortion test tone
HARMONIC_SECONDS = 0.5  # analysed window: 2 Hz bins, so 1 kHz and its harmonics sit on exact bins
SETTLE_SECONDS = 0.25  # rendered before each analysed window, so filters and DC have settled
_LABELLED_HARMONICS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20)  # the others are marked, but labels would overlap
TRANSFER_HZ = 100.0  # slow enough for a guitar amp's low end, above most input coupling corners
TRANSFER_PERIODS = 3  # plotted after settling; a static waveshaper draws one line, memory draws loops
STFT_SIZE, STFT_HOP = 4096, 768
SPECTROGRAM_ROWS = 240
DYNAMIC_RANGE_DB = 100.0
_MISSING_MATPLOTLIB = "nam_rs.plot needs matplotlib: pip install 'nam-rs[plot]'"
_DRIVE_COLORS = ("#4c72b0", "#dd8452", "#c44e52")


def summary(
    model: Model | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    sample_rate: float | None = None,
) -> Figure:
    """Plot how a model colours and distorts: (a) the spectrogram of its response to a log sine sweep,
    (b) the spectrum of a 1 kHz sine at -24, -12 and 0 dBFS with its harmonics marked (and THD),
    (c) its transfer curve, output against input over 100 Hz sines at the same drives.

    Every signal is rendered with ``model.render`` (fresh prewarmed state; a loaded model's streaming state is
    untouched).

    Args:
        model: a loaded model or the path of a .nam file.
        path: where to save the figure as PNG (nothing is saved when None).
        sample_rate: the rate to analyse at; default the model's, else 48 kHz (noted in the title).

    Returns:
        The matplotlib Figure (three axes), for showing in a notebook or further editing.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: ``sample_rate`` is not a positive finite number.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(_MISSING_MATPLOTLIB, name="matplotlib") from exc

    if not isinstance(model, Model):
        model = nam_rs.load(model)
    rate_note = ""
    if sample_rate is None:
        sample_rate = model.sample_rate
        if sample_rate is None:
            sample_rate, rate_note = DEFAULT_SAMPLE_RATE, " (no rate in the file: 48 kHz assumed)"
    if not (math.isfinite(sample_rate) and sample_rate > 0):
        raise ValueError(f"sample_rate must be a positive number, got {sample_rate!r}")

    fig = Figure(figsize=(12, 9), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=(1.0, 1.0), width_ratios=(1.6, 1.0))
    _sweep_spectrogram(fig, fig.add_subplot(grid[0, :]), model, sample_rate)
    _harmonic_spectra(fig.add_subplot(grid[1, 0]), model, sample_rate)
    _transfer_curve(fig.add_subplot(grid[1, 1]), model, sample_rate)
    fig.suptitle(_title(model, sample_rate) + rate_note, fontsize=13, fontweight="bold")
    if path is not None:
        fig.savefig(os.fspath(path), format="png", dpi=100)
    return fig


def _title(model: Model, sample_rate: float) -> str:
    name = model.metadata.get("name")
    parts = [str(name) if name else model.architecture, f"{model.architecture} {model.version}"]
    parts.append(f"{sample_rate / 1000:g} kHz")
    parts.append(f"receptive field {model.receptive_field} samples")
    if model.loudness is not None:
        parts.append(f"loudness {model.loudness:.1f} dB")
    return " · ".join(parts)


def _db(x: NDArray[Any], floor: float = 1e-12) -> NDArray[np.float64]:
    return np.asarray(20.0 * np.log10(np.maximum(np.abs(x), floor)), dtype=np.float64)


def _log_sweep(sample_rate: float) -> tuple[NDArray[np.float32], float]:
    """Exponential sweep from SWEEP_LOW_HZ to 0.95 Nyquist with 10 ms fades; returns it and its top frequency."""
    n = round(SWEEP_SECONDS * sample_rate)
    high = 0.95 * sample_rate / 2
    t = np.arange(n) / sample_rate
    rate = math.log(high / SWEEP_LOW_HZ)
    phase = 2 * np.pi * SWEEP_LOW_HZ * SWEEP_SECONDS / rate * np.expm1(t / SWEEP_SECONDS * rate)
    fade = np.minimum(1.0, np.minimum(t, SWEEP_SECONDS - t) / 0.01)
    return (10 ** (SWEEP_DBFS / 20) * fade * np.sin(phase)).astype(np.float32), high


def _sweep_spectrogram(fig: Figure, ax: Axes, model: Model, sample_rate: float) -> None:
    sweep, high = _log_sweep(sample_rate)
    y = model.render(sweep).astype(np.float64)
    y -= y.mean()  # a model's small DC offset would otherwise leak over the lowest bins of the log axis
    window = np.hanning(STFT_SIZE)
    frames = np.lib.stride_tricks.sliding_window_view(y, STFT_SIZE)[::STFT_HOP]
    # Scaled so that a full-scale sine reads 0 dBFS.
    power = _db(np.fft.rfft(frames * window, axis=1).T * 2.0 / window.sum())
    # Log-spaced rows, each the loudest bin it covers (thin harmonic lines stay visible); a few hundred rows
    # instead of thousands of linear bins keeps the image light. Rows narrower than a bin repeat it.
    edges = np.geomspace(SWEEP_LOW_HZ, sample_rate / 2, SPECTROGRAM_ROWS + 1)
    bins = np.minimum(np.floor(edges / (sample_rate / STFT_SIZE) + 0.5).astype(int), power.shape[0] - 1)
    rows = np.stack([power[lo : max(hi, lo + 1)].max(axis=0) for lo, hi in itertools.pairwise(bins)])
    times = (np.arange(frames.shape[0] + 1) * STFT_HOP + (STFT_SIZE - STFT_HOP) / 2) / sample_rate
    top = float(rows.max())
    mesh = ax.pcolormesh(
        times,
        edges,
        rows,
        shading="flat",
        cmap="magma",
        vmin=top - DYNAMIC_RANGE_DB,
        vmax=top,
        rasterized=True,
    )
    ax.set_yscale("log")
    ax.set_ylim(SWEEP_LOW_HZ, sample_rate / 2)
    ax.set_xlim(0, len(sweep) / sample_rate)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title(
        f"(a) Response to a log sine sweep, {SWEEP_LOW_HZ:g} Hz to {high / 1000:.1f} kHz at {SWEEP_DBFS:g} dBFS "
        "(curves above the sweep are its harmonics; DC removed)",
        loc="left",
    )
    fig.colorbar(mesh, ax=ax, label="level (dBFS)", pad=0.01)


def _sine(freq: float, peak_dbfs: float, seconds: float, sample_rate: float) -> NDArray[np.float32]:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return (10 ** (peak_dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _harmonic_spectra(ax: Axes, model: Model, sample_rate: float) -> None:
    settle = round(SETTLE_SECONDS * sample_rate)
    window_length = round(HARMONIC_SECONDS * sample_rate)
    window = np.blackman(window_length)  # sidelobes under -58 dB: harmonics 60 dB down stay visible
    freqs = np.fft.rfftfreq(window_length, 1.0 / sample_rate)
    harmonics = [k * HARMONIC_HZ for k in range(1, math.ceil(sample_rate / 2 / HARMONIC_HZ))]
    bins = [int(np.argmin(np.abs(freqs - f))) for f in harmonics]
    floor = 0.0
    for drive, color in zip(DRIVES_DBFS, _DRIVE_COLORS, strict=True):
        y = model.render(_sine(HARMONIC_HZ, drive, SETTLE_SECONDS + HARMONIC_SECONDS, sample_rate))
        segment = y[settle : settle + window_length].astype(np.float64)
        # Peak amplitude of a sine centred on a bin: |X| * 2 / sum(window).
        spectrum = _db(np.fft.rfft((segment - segment.mean()) * window) * 2.0 / window.sum())
        levels = spectrum[bins]
        amplitudes = 10 ** (levels / 20)
        thd = 100.0 * math.sqrt(float(np.sum(amplitudes[1:] ** 2))) / max(float(amplitudes[0]), 1e-12)
        label = f"{drive:+g} dBFS in: {levels[0]:+.1f} dBFS out, THD {thd:.1f}%"
        ax.plot(freqs[1:], spectrum[1:], color=color, lw=0.8, alpha=0.85, label=label)
        ax.plot(harmonics, levels, "o", color=color, ms=4)
        floor = min(floor, float(np.min(levels)))
    for k, f in enumerate(harmonics, start=1):
        ax.axvline(f, color="0.6", lw=0.5, ls=":", zorder=0)
        if k in _LABELLED_HARMONICS:
            ax.annotate(f"H{k}", (f, 1.0), xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlim(HARMONIC_HZ / 2, sample_rate / 2)
    ax.set_ylim(max(floor - 20.0, -140.0), 10.0)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("level (dBFS)")
    title = f"(b) Spectrum of a {HARMONIC_HZ / 1000:g} kHz sine at three drives (dots: H1 and its harmonics)"
    ax.set_title(title, loc="left", pad=16)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(True, which="both", alpha=0.25)


def _transfer_curve(ax: Axes, model: Model, sample_rate: float) -> None:
    """Output against input for one slow sine per drive. The output is advanced by its fundamental's phase lag
    (an amp's coupling capacitors and tone stack shift the phase, which alone would draw an ellipse), so what
    remains is the waveshaping: the slope is the gain, flattening is compression, a lopsided curve is
    asymmetric (even-harmonic) clipping and loops are the model's memory."""
    period = sample_rate / TRANSFER_HZ
    settle = round(SETTLE_SECONDS * sample_rate)
    analysed = round(TRANSFER_PERIODS * period)
    ax.axhline(0.0, color="0.7", lw=0.6)
    ax.axvline(0.0, color="0.7", lw=0.6)
    ax.plot([-1, 1], [-1, 1], color="0.6", lw=0.8, ls="--", label="unity (a wire)")
    peak = 0.0
    for drive, color in zip(DRIVES_DBFS, _DRIVE_COLORS, strict=True):
        x = _sine(TRANSFER_HZ, drive, (settle + analysed) / sample_rate + 1.0 / TRANSFER_HZ, sample_rate)
        y = model.render(x).astype(np.float64)
        t = np.arange(settle, settle + analysed) / sample_rate
        fundamental = np.sum(y[settle : settle + analysed] * np.exp(-2j * np.pi * TRANSFER_HZ * t))
        # The input is sin(2 pi f t), so the output's fundamental phase minus -pi/2 is the lag (in (-P/2, P/2]).
        lag = round(-(np.angle(fundamental) + np.pi / 2) / (2 * np.pi) % 1.0 * period)
        if lag > period / 2:
            lag -= round(period)
        start = settle + lag
        segment_x, segment_y = x[settle : settle + round(period)], y[start : start + round(period)]
        label = f"{drive:+g} dBFS (lag {lag} samples)"
        ax.plot(segment_x, segment_y, color=color, lw=1.3, label=label)
        peak = max(peak, float(np.max(np.abs(segment_y))))
    ax.set_xlim(-1.05, 1.05)
    limit = max(1.05, 1.05 * peak)
    ax.set_ylim(-limit, limit)
    ax.set_xlabel("input (full scale = 1)")
    ax.set_ylabel("output (full scale = 1)")
    ax.set_title(f"(c) Transfer curve: {TRANSFER_HZ:g} Hz sines,\noutput advanced by its phase lag", loc="left")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, alpha=0.25)
