"""Make the demo model and DI clip shipped in ``python/nam_rs/data/`` (and the expected render for the tests).

The "amp" is synthetic, so the demo needs no recordings and no licences: a tube-like chain of

    input coupling high-pass (80 Hz) -> mid-hump peaking EQ (+9 dB at 900 Hz) -> 20 dB drive
    -> asymmetric tanh (a biased tanh: even and odd harmonics, like a single-ended triode)
    -> output high-pass (70 Hz, removes the bias' DC) -> speaker-ish 2nd-order low-pass (4.5 kHz) -> level.

Training input is generated too, in the spirit of NAM's capture signal: plucked-string notes, chords and palm
mutes over the guitar's range at many velocities (additive synthesis: inharmonic partials whose decay shortens
with frequency, a pluck-position comb and a pick noise burst), plus log sine sweeps, amplitude ramps of sines
(they teach the static transfer curve) and a little noise. Validation audio and the demo clip use other seeds
and other notes. A small WaveNet (the trainer's A1 "feather" shape) is trained with the trainer's own
LightningModule, dataset and loss (MSE + the trainer's pre-emphasised MSE; lr and schedule as its standard
recipe), for a fixed number of epochs on one CPU thread, keeping the checkpoint with the best validation ESR.

Writes:

* ``python/nam_rs/data/demo.nam``: exported by the trainer (its loudness/gain metadata), plus name, gear and
  ``training.validation_esr``.
* ``python/nam_rs/data/demo_di.flac``: the DI clip, 16-bit mono FLAC at 48 kHz.
* ``tests/fixtures/expected/demo.npy``: the trainer's forward pass (CPU, eval, no grad, ``pad_start``: zeros in
  front = NAM Core's prewarmed start) over the clip as decoded from the FLAC; the first ``EXPECTED_SAMPLES``.

Run from the repository root with the trainer's virtualenv (``pip install neural-amp-modeler``; made with 0.13.0,
torch 2.15.0): ``python tools/make_demo.py``. About 6 minutes on one core. Nothing here runs in CI.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import soundfile as sf
import torch
from nam.data import Dataset
from nam.models.metadata import GearType, ToneType, UserMetadata
from nam.train.lightning_module import LightningModule
from scipy import signal
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "python" / "nam_rs" / "data"
EXPECTED_PATH = ROOT / "tests" / "fixtures" / "expected" / "demo.npy"
SAMPLE_RATE = 48_000
EXPECTED_SAMPLES = 24_000  # 0.5 s of the trainer's render of the clip, for the parity test
TRAIN_SEED, VALIDATION_SEED, CLIP_SEED, TORCH_SEED = 11, 22, 33, 44
TRAIN_NOTE_SECONDS, VALIDATION_NOTE_SECONDS = 40.0, 8.0
EPOCHS = int(os.environ.get("NAM_RS_DEMO_EPOCHS", "6"))
BATCH_SIZE, NY = 4, 8192
CLIP_PEAK = 10 ** (-3 / 20)  # the demo clip peaks at -3 dBFS, like a hot DI

# The synthetic amp.
INPUT_HIGHPASS_HZ = 80.0
MID_HUMP_HZ, MID_HUMP_DB, MID_HUMP_Q = 900.0, 9.0, 0.8
DRIVE_DB = 20.0
TANH_BIAS = 0.3  # shifts the operating point: asymmetric clipping
OUTPUT_HIGHPASS_HZ, OUTPUT_LOWPASS_HZ = 70.0, 4500.0
OUTPUT_LEVEL = 0.4

# A1 "feather": two Tanh arrays, 8 and 4 channels, kernel 3 (trainer <= 0.12 presets).
FEATHER = [
    {"input_size": 1, "condition_size": 1, "channels": 8, "head": {"out_channels": 4, "kernel_size": 1, "bias": False},
     "kernel_size": 3, "dilations": [1, 2, 4, 8, 16, 32, 64], "activation": "Tanh"},
    {"input_size": 8, "condition_size": 1, "channels": 4, "head": {"out_channels": 1, "kernel_size": 1, "bias": True},
     "kernel_size": 3, "dilations": [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512], "activation": "Tanh"},
]  # fmt: skip
# The trainer's LightningModule config: MSE plus its pre-emphasised MSE; validation by ESR.
MODULE_CONFIG: dict[str, Any] = {
    "net": {"name": "WaveNet", "config": {"layers_configs": FEATHER, "head_scale": 0.02}},
    "loss": {"val_loss": "esr", "pre_emph_weight": 1.0, "pre_emph_coef": 0.85},
    "optimizer": {"lr": 0.004},
    "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.95}},
}


# --------------------------------------------------------------------------------------------------------------------
# The synthetic amp
# --------------------------------------------------------------------------------------------------------------------


def peaking_eq(freq: float, gain_db: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """RBJ Audio-EQ-Cookbook peaking biquad (b, a)."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * freq / SAMPLE_RATE
    alpha = math.sin(w0) / (2 * q)
    b = np.array([1 + alpha * amp, -2 * math.cos(w0), 1 - alpha * amp])
    a = np.array([1 + alpha / amp, -2 * math.cos(w0), 1 - alpha / amp])
    return b / a[0], a / a[0]


def amp(x: np.ndarray) -> np.ndarray:
    """The "amp" the demo model imitates (float64 in and out, causal, deterministic)."""
    y = signal.lfilter(*signal.butter(1, INPUT_HIGHPASS_HZ, "highpass", fs=SAMPLE_RATE), x)
    y = signal.lfilter(*peaking_eq(MID_HUMP_HZ, MID_HUMP_DB, MID_HUMP_Q), y)
    u = 10 ** (DRIVE_DB / 20) * y
    y = np.tanh(u + TANH_BIAS) - math.tanh(TANH_BIAS)
    y = signal.lfilter(*signal.butter(2, OUTPUT_HIGHPASS_HZ, "highpass", fs=SAMPLE_RATE), y)
    y = signal.lfilter(*signal.butter(2, OUTPUT_LOWPASS_HZ, "lowpass", fs=SAMPLE_RATE), y)
    return OUTPUT_LEVEL * y


# --------------------------------------------------------------------------------------------------------------------
# DI-like audio
# --------------------------------------------------------------------------------------------------------------------


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def pluck(freq: float, seconds: float, peak: float, rng: np.random.Generator, muted: bool = False) -> np.ndarray:
    """One plucked string: inharmonic partials with frequency-dependent decay, pick comb, pick noise, damped end."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    position = rng.uniform(0.08, 0.3)  # pluck point as a fraction of the string: notches harmonics 1/position
    inharmonicity = rng.uniform(2e-5, 2e-4)
    ring = (0.07 if muted else rng.uniform(0.8, 2.0)) * math.sqrt(110.0 / freq)
    out = np.zeros(n)
    for k in range(1, 60):
        fk = k * freq * math.sqrt(1 + inharmonicity * k * k)
        if fk > 12_000:
            break
        weight = abs(math.sin(math.pi * k * position)) / k ** rng.uniform(0.9, 1.3)
        tau = ring / (1 + 0.25 * (k - 1) * (3 if muted else 1))
        out += weight * np.exp(-t / tau) * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi))
    attack = int(rng.uniform(0.0005, 0.003) * SAMPLE_RATE)
    out[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
    noise = rng.normal(0.0, 1.0, n) * np.exp(-t / 0.004)
    out += 0.3 * np.max(np.abs(out)) * np.diff(noise, prepend=0.0)  # bright pick click
    release = min(n, int(0.03 * SAMPLE_RATE))  # the fretting hand damps the string
    out[n - release :] *= np.linspace(1.0, 0.0, release)
    return peak * out / np.max(np.abs(out))


def add(track: np.ndarray, start: int, sound: np.ndarray) -> None:
    stop = min(len(track), start + len(sound))
    if start < stop:
        track[start:stop] += sound[: stop - start]


def performance(seconds: float, rng: np.random.Generator, notes: tuple[int, int]) -> np.ndarray:
    """Random single notes, strummed chords and palm-muted chugs, at velocities from -40 to -2 dBFS."""
    track = np.zeros(int(seconds * SAMPLE_RATE))
    time_s = 0.05
    while time_s < seconds - 0.3:
        start = int(time_s * SAMPLE_RATE)
        peak = 10 ** (rng.uniform(-40, -2) / 20)
        kind = rng.choice(["note", "chord", "mute"], p=[0.5, 0.3, 0.2])
        if kind == "note":
            length = rng.uniform(0.25, 2.0)
            add(track, start, pluck(midi_hz(rng.integers(*notes)), length, peak, rng))
        elif kind == "chord":
            root = int(rng.integers(notes[0], notes[0] + 12))
            shape = [0, 7, 12, 16, 19, 24] if rng.random() < 0.5 else [0, 7, 12, 15, 19]
            length = rng.uniform(0.6, 2.5)
            direction = 1 if rng.random() < 0.7 else -1
            for i, interval in enumerate(shape[::direction]):
                offset = int(i * rng.uniform(0.006, 0.02) * SAMPLE_RATE)
                add(track, start + offset, pluck(midi_hz(root + interval), length, peak / 2.5, rng))
        else:
            length = rng.uniform(0.1, 0.3)
            for interval in (0, 7):
                add(track, start, pluck(midi_hz(notes[0] + rng.integers(0, 5) + interval), length, peak, rng, True))
        time_s += length * rng.uniform(0.4, 1.0) if kind != "mute" else length
    return track / max(1.0, np.max(np.abs(track)) / 0.98)


def test_tones(rng: np.random.Generator) -> np.ndarray:
    """Log sweeps at three levels, full-scale amplitude ramps of low sines, and noise at three levels."""
    parts = []
    for level_db in (-30.0, -15.0, -3.0):
        seconds = 1.5
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        f0, f1 = 40.0, 16_000.0
        rate = math.log(f1 / f0)
        sweep = np.sin(2 * np.pi * f0 * seconds / rate * (np.exp(t / seconds * rate) - 1.0))
        parts += [10 ** (level_db / 20) * sweep * np.minimum(1.0, np.minimum(t, seconds - t) / 0.01), np.zeros(4800)]
    for freq in (55.0, 110.0, 220.0, 440.0):
        t = np.arange(int(1.0 * SAMPLE_RATE)) / SAMPLE_RATE
        ramp = np.sin(np.pi * t) ** 2  # 0 -> full scale -> 0
        parts += [ramp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)), np.zeros(4800)]
    for level_db in (-40.0, -25.0, -12.0):
        parts += [10 ** (level_db / 20) * np.clip(rng.normal(0.0, 0.3, SAMPLE_RATE // 2), -1, 1), np.zeros(4800)]
    return np.concatenate(parts)


def demo_clip() -> np.ndarray:
    """About 7 s: an E-minor pentatonic lick, two strummed chords and a palm-muted riff (notes not in training)."""
    rng = np.random.default_rng(CLIP_SEED)
    track = np.zeros(int(7.0 * SAMPLE_RATE))
    lick = [64, 67, 69, 71, 74, 76, 74, 71, 69]  # E4 G4 A4 B4 D5 E5 D5 B4 A4
    for i, note in enumerate(lick):
        add(track, int((0.1 + 0.22 * i) * SAMPLE_RATE), pluck(midi_hz(note + 0.1), 0.45, 0.5, rng))
    for start_s, root, shape in ((2.3, 40, [0, 7, 12, 15, 19, 24]), (3.5, 45, [0, 7, 12, 16, 19])):
        for i, interval in enumerate(shape):
            add(track, int((start_s + 0.012 * i) * SAMPLE_RATE), pluck(midi_hz(root + interval), 1.2, 0.32, rng))
    for i, note in enumerate([40, 40, 43, 40, 45, 40, 47, 46]):
        add(track, int((4.9 + 0.24 * i) * SAMPLE_RATE), pluck(midi_hz(note), 0.2, 0.6, rng, muted=True))
    return CLIP_PEAK * track / np.max(np.abs(track))


# --------------------------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------------------------


def tensors(x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    # Half a second of silence first: the trainer's dataset wants the input silent before its start.
    x = np.concatenate([np.zeros(SAMPLE_RATE // 2), x]).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(amp(x.astype(np.float64)).astype(np.float32))


def esr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """The trainer's validation ESR: error energy over target energy, on the whole validation signal."""
    return float(torch.mean((prediction - target) ** 2) / torch.mean(target**2))


def train(workdir: Path) -> tuple[LightningModule, float]:
    torch.manual_seed(TORCH_SEED)
    module = LightningModule.init_from_config(MODULE_CONFIG)
    module.net.sample_rate = SAMPLE_RATE
    nx = module.net.receptive_field
    train_rng, validation_rng = np.random.default_rng(TRAIN_SEED), np.random.default_rng(VALIDATION_SEED)
    train_x = np.concatenate([performance(TRAIN_NOTE_SECONDS, train_rng, (40, 81)), test_tones(train_rng)])
    validation_x = performance(VALIDATION_NOTE_SECONDS, validation_rng, (40, 84))
    train_set = Dataset(*tensors(train_x), nx=nx, ny=NY, start_samples=SAMPLE_RATE // 2, sample_rate=SAMPLE_RATE)
    validation_set = Dataset(
        *tensors(validation_x), nx=nx, ny=None, start_samples=SAMPLE_RATE // 2, sample_rate=SAMPLE_RATE
    )
    for dataset in (train_set, validation_set):
        dataset.handshake(module.net)
        module.net.handshake(dataset)
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=workdir, monitor="val_loss", save_top_k=1)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=EPOCHS,
        deterministic=True,
        callbacks=[checkpoint],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=workdir,
    )
    trainer.fit(
        module,
        DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True, drop_last=True),
        DataLoader(validation_set),
    )
    best = LightningModule.load_from_checkpoint(
        checkpoint.best_model_path, **LightningModule.parse_config(MODULE_CONFIG)
    )
    best.net.sample_rate = SAMPLE_RATE
    best.cpu().eval()
    with torch.no_grad():
        prediction = best.net(validation_set.x, pad_start=True)
    return best, esr(prediction, validation_set.y)


def export(module: LightningModule, validation_esr: float) -> Path:
    metadata = UserMetadata(
        name="nam-rs demo amp",
        modeled_by="nam-rs tools/make_demo.py",
        gear_type=GearType.AMP,
        gear_make="nam-rs",
        gear_model="Synthetic tube-like amp (biased tanh between EQs)",
        tone_type=ToneType.CRUNCH,
        # The amp is synthetic, so its calibration is ours to define: 0 dBFS in = +12 dBu, a common interface.
        input_level_dbu=12.0,
        output_level_dbu=12.0,
    )
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        module.net.export(
            Path(tmp),
            basename="demo",
            user_metadata=metadata,
            other_metadata={"training": {"validation_esr": validation_esr}},
        )
        model = json.loads(Path(tmp, "demo.nam").read_text())
    model["metadata"].pop("date", None)  # no wall-clock date: reruns give the same file
    path = DATA_DIR / "demo.nam"
    path.write_text(json.dumps(model, separators=(",", ":")) + "\n")
    return path


def main() -> None:
    torch.set_num_threads(1)  # the machine is shared; one thread is also deterministic
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as workdir:
        module, validation_esr = train(Path(workdir))
    trained = time.monotonic() - started
    model_path = export(module, validation_esr)

    clip_path = DATA_DIR / "demo_di.flac"
    sf.write(clip_path, demo_clip().astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    clip, _ = sf.read(clip_path, dtype="float32")  # exactly what users (and the tests) will read
    with torch.no_grad():
        rendered = module.net(torch.from_numpy(clip), pad_start=True).numpy().astype(np.float32)
    EXPECTED_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.save(EXPECTED_PATH, rendered[:EXPECTED_SAMPLES])
    target = amp(clip.astype(np.float64))
    clip_esr = float(np.mean((rendered - target) ** 2) / np.mean(target**2))
    print(
        f"trained {trained:.0f} s; validation ESR {validation_esr:.4f}; clip ESR vs the amp {clip_esr:.4f}; "
        f"{model_path.stat().st_size} B model, {clip_path.stat().st_size} B clip, clip peak "
        f"{np.max(np.abs(clip)):.3f}, render peak {np.max(np.abs(rendered)):.3f}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
