"""The bundled demo model and DI clip (made by tools/make_demo.py with the PyTorch trainer)."""

from __future__ import annotations

import math
from pathlib import Path

import nam_rs
import numpy as np
import pytest
import soundfile as sf
from conftest import FIXTURES, assert_parity
from nam_rs import cli, demo

DATA_BUDGET_BYTES = 2_000_000  # the limit for data shipped in the wheel


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    audio, rate = sf.read(demo.clip_path(), dtype="float32")
    assert rate == 48_000
    return np.asarray(audio)


def test_files_are_in_the_package_and_small() -> None:
    package = Path(nam_rs.__file__).parent
    assert demo.model_path() == package / "data" / "demo.nam"
    assert demo.clip_path() == package / "data" / "demo_di.flac"
    assert demo.model_path().stat().st_size + demo.clip_path().stat().st_size < DATA_BUDGET_BYTES


def test_clip_is_a_few_seconds_of_16_bit_mono_flac() -> None:
    info = sf.info(demo.clip_path())
    assert (info.format, info.subtype, info.channels, info.samplerate) == ("FLAC", "PCM_16", 1, 48_000)
    assert 3.0 <= info.duration <= 10.0


def test_model_loads_with_its_metadata() -> None:
    model = nam_rs.load(demo.model_path())
    assert (model.architecture, model.sample_rate) == ("WaveNet", 48_000.0)
    assert model.metadata["name"] == "nam-rs demo amp"
    assert model.metadata["gear_type"] == "amp"
    assert model.loudness is not None and -30.0 < model.loudness < 0.0
    assert 0.0 < model.metadata["training"]["validation_esr"] < 0.1


def test_render_matches_the_trainer(clip: np.ndarray) -> None:
    """The trainer's forward pass over the clip (zeros in front = NAM Core's prewarmed start), saved by the script."""
    expected = np.load(FIXTURES / "expected" / "demo.npy")
    got = nam_rs.load(demo.model_path()).render(clip)
    assert_parity("demo", got[: len(expected)], expected)


def test_render_is_finite_loud_and_distorted(clip: np.ndarray) -> None:
    model = nam_rs.load(demo.model_path())
    wet = model.render(clip)
    assert np.isfinite(wet).all()
    assert 20 * math.log10(float(np.sqrt(np.mean(wet**2)))) > -30.0
    # Not the input, nor a scaled copy of it: the best gain still leaves most of the signal unexplained.
    gain = float(np.dot(wet, clip) / np.dot(clip, clip))
    assert np.mean((wet - gain * clip) ** 2) > 0.3 * np.mean(wet**2)
    # It distorts: a clean -12 dBFS 220 Hz sine comes out with harmonics within 30 dB of the fundamental.
    t = np.arange(48_000) / 48_000
    y = model.render((10 ** (-12 / 20) * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32))[24_000:]
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))  # 2 Hz bins: 220 Hz is bin 110
    fundamental, harmonics = spectrum[110], spectrum[[220, 330, 440]]
    assert harmonics.max() > 10 ** (-30 / 20) * fundamental


def test_cli_render_demo(tmp_path: Path, clip: np.ndarray) -> None:
    out = tmp_path / "wet.wav"
    assert cli.main(["render", "--demo", str(out), "--no-progress"]) in (0, None)
    wet, rate = sf.read(out, dtype="float32")
    assert rate == 48_000 and wet.shape == clip.shape
    # Written in the clip's format (16-bit): the model's render, to within 16-bit quantisation.
    expected = nam_rs.load(demo.model_path()).render(clip)
    np.testing.assert_allclose(wet, np.clip(expected, -1, 1), atol=1.0 / 32768)
