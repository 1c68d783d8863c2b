"""Render audio files through a model: streaming, resampling, level calibration, atomic writes.

Channel rule: every channel of the file goes through its own ``model.copy()``, independently. A mono
model on a stereo file gives a stereo result (what reamping a dual-mic or stereo DI expects); pass
``mix="mono"`` to average the channels first and write a mono file instead.

Memory stays bounded whatever the file length: the file is read, processed, resampled and written
in blocks. The model core is block-size independent, so without resampling or gain the output is
bit-for-bit ``model.render(x)`` of the whole signal.
"""

from __future__ import annotations

import math
import os
import secrets
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import soundfile as sf  # type: ignore[import-untyped]
import soxr  # type: ignore[import-untyped]
from numpy.typing import NDArray

from nam_rs import levels
from nam_rs._core import Model

__all__ = [
    "ASSUMED_SAMPLE_RATE",
    "DEFAULT_BLOCK_FRAMES",
    "RenderReport",
    "SampleRateWarning",
    "render_file",
]

ASSUMED_SAMPLE_RATE = 48000.0
"""Rate assumed for models whose file does not say (the trainer's default for most captures)."""

DEFAULT_BLOCK_FRAMES = 65536
"""Frames read, processed and written per step: bounds memory, large enough to amortise overhead."""

# Subtypes that store floats: anything else is integer PCM, where out-of-range samples are clipped
# here (explicitly, rather than relying on the libsndfile/soundfile version's clipping setting).
_FLOAT_SUBTYPES = frozenset({"FLOAT", "DOUBLE", "VORBIS", "OPUS"})
_FORMAT_ALIASES = {"AIF": "AIFF", "OGA": "OGG", "OPUS": "OGG"}


class SampleRateWarning(UserWarning):
    """The model does not state its sample rate, so the render assumed one (48 kHz)."""


@dataclass(frozen=True)
class RenderReport:
    """What :func:`render_file` did: rates, gains and the level of what it wrote."""

    input_path: Path
    output_path: Path
    file_sample_rate: int
    """The input file's rate, which is also the output's."""
    model_sample_rate: float
    """The rate the model ran at (its own, ``sample_rate=``, or the assumed 48 kHz)."""
    resampled: bool
    frames: int
    """Frames written (always the input's frame count)."""
    channels: int
    """Channels written (the input's, or 1 with ``mix="mono"``)."""
    subtype: str
    input_gain_db: float
    """Calibration plus ``input_gain_db``, applied before the model."""
    output_gain_db: float
    """Loudness normalisation, applied after the model."""
    peak: float
    """Largest absolute output sample (linear, before any clipping to the integer format)."""
    rms: float
    """Root mean square of the output over all channels (linear)."""
    clipped: int
    """Samples clipped to ±1 because the output subtype is integer PCM."""
    seconds: float
    """Wall time of the render."""
    realtime_factor: float
    """Seconds of audio rendered per second of wall time."""

    @property
    def peak_dbfs(self) -> float:
        return levels.gain_to_db(self.peak)

    def summary(self) -> str:
        """One line for a terminal: frames, rates, gains, peak and speed."""
        rates = f"{self.file_sample_rate} Hz"
        if self.resampled:
            rates += f" (resampled to {self.model_sample_rate:g} Hz for the model)"
        clip = f", {self.clipped} clipped" if self.clipped else ""
        return (
            f"{self.output_path}: {self.frames} frames x {self.channels} ch, {rates}, {self.subtype}, "
            f"gain in {self.input_gain_db:+.2f} dB out {self.output_gain_db:+.2f} dB, "
            f"peak {self.peak_dbfs:.2f} dBFS{clip}, {self.realtime_factor:.1f}x realtime"
        )


class _Chain:
    """Gain → resample up → one model per channel → resample down → gain, fed block by block."""

    def __init__(
        self, model: Model, channels: int, file_rate: float, model_rate: float, g_in_db: float, g_out_db: float
    ):
        self.models = [model.copy() for _ in range(channels)]
        self.resampled = file_rate != model_rate
        self.up: Any = None
        self.down: Any = None
        if self.resampled:
            self.up = soxr.ResampleStream(file_rate, model_rate, channels, dtype="float32", quality="HQ")
            self.down = soxr.ResampleStream(model_rate, file_rate, channels, dtype="float32", quality="HQ")
        self.g_in = np.float32(levels.db_to_gain(g_in_db))
        self.g_out = np.float32(levels.db_to_gain(g_out_db))

    def __call__(self, block: NDArray[np.float32], last: bool = False) -> NDArray[np.float32]:
        """``block`` is ``(frames, channels)``; returns the output available so far (all of it when last)."""
        if self.g_in != 1.0:
            block = block * self.g_in
        if self.up is not None:
            block = self.up.resample_chunk(np.ascontiguousarray(block), last=last)
        planar = np.array(block.T, dtype=np.float32, order="C")
        for row, model in zip(planar, self.models, strict=True):
            model.process(row, out=row)
        out: NDArray[np.float32] = np.ascontiguousarray(planar.T)
        if self.down is not None:
            out = self.down.resample_chunk(out, last=last)
        if self.g_out != 1.0:
            out *= self.g_out
        return out


class _Sink:
    """Writes exactly ``frames`` frames (trimming the resampler's tail), measuring as it goes."""

    def __init__(self, writer: Any, frames: int, clip: bool):
        self.writer, self.frames, self.clip = writer, frames, clip
        self.written = self.clipped = 0
        self.peak = self.square_sum = 0.0

    def write(self, block: NDArray[np.float32]) -> None:
        block = block[: max(self.frames - self.written, 0)]
        if not block.size:
            return
        self.peak = max(self.peak, float(np.abs(block).max()))
        self.square_sum += float(np.square(block, dtype=np.float64).sum())
        if self.clip:
            self.clipped += int(np.count_nonzero(np.abs(block) > 1.0))
            block = np.clip(block, -1.0, 1.0)
        self.writer.write(block)
        self.written += len(block)

    def pad(self) -> None:
        """Silence up to ``frames``, in case the resampler's flushed output came up short."""
        if self.written < self.frames:
            self.write(np.zeros((self.frames - self.written, self.writer.channels), np.float32))

    @property
    def rms(self) -> float:
        samples = self.written * int(self.writer.channels)
        return math.sqrt(self.square_sum / samples) if samples else 0.0


def _resolve_model(model_or_path: Model | str | os.PathLike[str]) -> Model:
    if isinstance(model_or_path, Model):
        return model_or_path
    from nam_rs import load  # here: nam_rs imports this module

    return load(model_or_path)


def _model_rate(model: Model, sample_rate: float | None) -> float:
    if sample_rate is not None:
        if not (math.isfinite(sample_rate) and sample_rate > 0):
            raise ValueError(f"sample_rate must be a positive number of Hz, not {sample_rate!r}")
        return float(sample_rate)
    if model.sample_rate is not None:
        return model.sample_rate
    warnings.warn(
        f"the model does not state its sample rate: assuming {ASSUMED_SAMPLE_RATE:g} Hz "
        "(pass sample_rate= to say otherwise)",
        SampleRateWarning,
        stacklevel=3,
    )
    return ASSUMED_SAMPLE_RATE


def _output_format(path: Path) -> str:
    ext = path.suffix[1:].upper()
    fmt = _FORMAT_ALIASES.get(ext, ext)
    if fmt not in sf.available_formats():
        raise ValueError(f"cannot tell the audio format from the name {path.name!r}: use .wav, .flac, .aiff or .ogg")
    return fmt


def _output_subtype(fmt: str, requested: str | None, input_subtype: str) -> str:
    """The requested subtype, else the input's, else 24-bit PCM, else the format's default."""
    if requested is not None:
        requested = requested.upper()
        if not sf.check_format(fmt, requested):
            choices = ", ".join(sorted(sf.available_subtypes(fmt)))
            raise ValueError(f"subtype {requested} cannot be written to a {fmt} file (choose from {choices})")
        return requested
    for candidate in (input_subtype, "PCM_24"):
        if sf.check_format(fmt, candidate):
            return candidate
    return str(sf.default_subtype(fmt))


def _level_gains(
    model: Model, normalize: bool | float | None, calibrate: bool | float, extra_db: float
) -> tuple[float, float]:
    if calibrate is False:
        g_in = 0.0
    else:
        interface = levels.DEFAULT_INTERFACE_DBU if calibrate is True else float(calibrate)
        g_in = levels.input_gain_db(model, interface)
    if normalize is None or normalize is False:
        g_out = 0.0
    else:
        target = levels.DEFAULT_TARGET_LOUDNESS if normalize is True else float(normalize)
        g_out = levels.output_gain_db(model, target)
    return g_in + float(extra_db), g_out


def _progress_bar(enabled: bool | None, total: int, desc: str) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped]  # lazily: only renders need it

    if enabled is None:
        enabled = sys.stderr is not None and sys.stderr.isatty()
    return tqdm(total=total or None, desc=desc, unit="frame", unit_scale=True, disable=not enabled, file=sys.stderr)


# libsndfile's SFC_SET_ADD_PEAK_CHUNK: float WAV/AIFF files otherwise get a PEAK chunk stamped with the
# wall-clock time, so rendering the same input twice would not give byte-identical files.
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def _no_peak_chunk(writer: sf.SoundFile) -> None:
    sf._snd.sf_command(writer._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)


def _temp_path(output: Path) -> Path:
    """A new file next to ``output`` (same filesystem, so ``os.replace`` is atomic); mode per umask."""
    while True:
        tmp = output.with_name(f".{output.name}.{secrets.token_hex(4)}.part")
        try:
            with open(tmp, "xb"):
                return tmp
        except FileExistsError:
            continue


def render_file(
    model_or_path: Model | str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    sample_rate: float | None = None,
    resample: bool = True,
    normalize: bool | float | None = None,
    calibrate: bool | float = False,
    input_gain_db: float = 0.0,
    subtype: str | None = None,
    mix: Literal["channels", "mono"] = "channels",
    progress: bool | None = None,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
) -> RenderReport:
    """Render an audio file (WAV, FLAC, AIFF, OGG, …) through a model into another file.

    Args:
        model_or_path: a loaded :class:`Model` (its own state is untouched) or a .nam path.
        sample_rate: the model's rate in Hz, overriding its metadata (needed for models without one;
            those otherwise run at 48 kHz with a :class:`SampleRateWarning`).
        resample: when the file's rate differs from the model's, resample (soxr "HQ") up to the
            model's rate and back; ``False`` makes a mismatch a ``ValueError`` instead.
        normalize: ``None``/``False`` off, ``True`` to -18 dB, a number to that loudness (dB):
            output gain ``target - model.loudness`` (see :func:`nam_rs.levels.output_gain_db`).
        calibrate: ``False`` off, ``True`` for a 12 dBu interface, a number for that interface's
            dBu at 0 dBFS: input gain ``interface_dbu - model.input_level_dbu``.
        input_gain_db: extra input gain (dB), added to the calibration.
        subtype: output sample format, e.g. ``"PCM_24"``; default the input's (else 24-bit PCM,
            else the output format's default). The output format follows the output's extension.
        mix: ``"channels"`` renders every channel independently; ``"mono"`` averages them first.
        progress: a tqdm bar on stderr; ``None`` shows one only when stderr is a terminal.
        block_frames: frames per step (memory bound); the result does not depend on it.

    The output has the input's rate and exact frame count, and appears atomically: it is written to
    a temporary file in the same directory and renamed at the end, so a failed or interrupted
    render leaves any previous output untouched and no partial file behind.
    """
    if mix not in ("channels", "mono"):
        raise ValueError(f"mix must be 'channels' or 'mono', not {mix!r}")
    if block_frames < 1:
        raise ValueError(f"block_frames must be at least 1, not {block_frames}")
    source, target = Path(input_path), Path(output_path)
    if not source.is_file():
        raise FileNotFoundError(f"no such input file: {source}")
    model = _resolve_model(model_or_path)
    start = time.perf_counter()
    tmp: Path | None = None
    try:
        with sf.SoundFile(source) as reader:
            file_rate, in_channels, frames = int(reader.samplerate), int(reader.channels), int(reader.frames)
            model_rate = _model_rate(model, sample_rate)
            if file_rate != model_rate and not resample:
                raise ValueError(
                    f"{source} is at {file_rate} Hz but the model runs at {model_rate:g} Hz "
                    "(allow resampling, or convert the file first)"
                )
            fmt = _output_format(target)
            out_subtype = _output_subtype(fmt, subtype, str(reader.subtype))
            out_channels = 1 if mix == "mono" else in_channels
            g_in_db, g_out_db = _level_gains(model, normalize, calibrate, input_gain_db)
            chain = _Chain(model, out_channels, file_rate, model_rate, g_in_db, g_out_db)
            tmp = _temp_path(target)
            with (
                sf.SoundFile(tmp, "w", file_rate, out_channels, out_subtype, format=fmt) as writer,
                _progress_bar(progress, frames, source.name) as bar,
            ):
                _no_peak_chunk(writer)
                sink = _Sink(writer, frames, clip=out_subtype not in _FLOAT_SUBTYPES)
                while len(block := reader.read(block_frames, dtype="float32", always_2d=True)):
                    if out_channels < in_channels:
                        block = block.mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
                    sink.write(chain(block))
                    bar.update(len(block))
                if chain.resampled:
                    sink.write(chain(np.zeros((0, out_channels), np.float32), last=True))
                sink.pad()
        os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - start
    return RenderReport(
        input_path=source,
        output_path=target,
        file_sample_rate=file_rate,
        model_sample_rate=model_rate,
        resampled=chain.resampled,
        frames=sink.written,
        channels=out_channels,
        subtype=out_subtype,
        input_gain_db=g_in_db,
        output_gain_db=g_out_db,
        peak=sink.peak,
        rms=sink.rms,
        clipped=sink.clipped,
        seconds=seconds,
        realtime_factor=(sink.written / file_rate) / seconds if seconds > 0 else math.inf,
    )
