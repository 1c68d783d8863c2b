"""Rendering audio files: exactness, streaming, channels, resampling, levels, atomic writes, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nam_rs
import numpy as np
import pytest
import soundfile as sf
import soxr
from conftest import FIXTURES
from nam_rs import cli

NANO = FIXTURES / "models" / "wavenet_nano.nam"
LSTM = FIXTURES / "models" / "lstm_1x8.nam"
NOSR = FIXTURES / "models" / "wavenet_nosr.nam"


@pytest.fixture(scope="module")
def model() -> nam_rs.Model:
    return nam_rs.load(NANO)


def noise(frames: int, channels: int = 1, seed: int = 3, amplitude: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (amplitude * rng.standard_normal((frames, channels))).astype(np.float32)
    return x[:, 0].copy() if channels == 1 else x


def write(path: Path, x: np.ndarray, rate: int = 48000, subtype: str = "FLOAT") -> Path:
    sf.write(path, x, rate, subtype=subtype)
    return path


def read(path: Path) -> np.ndarray:
    y, _ = sf.read(path, dtype="float32")
    return np.asarray(y)


def with_metadata(metadata: dict[str, Any], base: Path = NANO) -> nam_rs.Model:
    doc = json.loads(base.read_text())
    doc["metadata"] = metadata
    return nam_rs.loads(json.dumps(doc))


def test_float_wav_equals_render_bit_for_bit(model: nam_rs.Model, tmp_path: Path) -> None:
    x = noise(20_000)
    report = nam_rs.render_file(model, write(tmp_path / "in.wav", x), tmp_path / "out.wav")
    y = read(tmp_path / "out.wav")
    expected = model.render(x)
    assert np.array_equal(y, expected)
    assert sf.info(tmp_path / "out.wav").subtype == "FLOAT"
    assert (report.frames, report.channels, report.file_sample_rate) == (20_000, 1, 48000)
    assert report.model_sample_rate == 48000
    assert not report.resampled and report.input_gain_db == 0.0 and report.output_gain_db == 0.0
    assert report.peak == pytest.approx(float(np.abs(expected).max()))
    assert report.rms == pytest.approx(float(np.sqrt(np.mean(expected.astype(np.float64) ** 2))))
    assert report.clipped == 0 and report.realtime_factor > 0
    assert "20000 frames" in report.summary() and "dBFS" in report.summary()


def test_model_path_is_loaded_and_model_state_untouched(model: nam_rs.Model, tmp_path: Path) -> None:
    x = noise(3000)
    fresh = model.copy().process(x[:100])
    nam_rs.render_file(str(NANO), write(tmp_path / "in.wav", x), tmp_path / "out.wav")
    assert np.array_equal(read(tmp_path / "out.wav"), model.render(x))
    assert np.array_equal(model.process(x[:100]), fresh)  # render_file used copies
    model.reset()


def test_pcm24_subtype_is_preserved(model: nam_rs.Model, tmp_path: Path) -> None:
    write(tmp_path / "in.wav", noise(10_000, amplitude=0.5), subtype="PCM_24")
    report = nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "out.wav")
    assert sf.info(tmp_path / "out.wav").subtype == "PCM_24" and report.subtype == "PCM_24"
    expected = model.render(read(tmp_path / "in.wav"))
    assert np.abs(read(tmp_path / "out.wav") - np.clip(expected, -1, 1)).max() <= 2.0**-23
    assert report.clipped == int(np.count_nonzero(np.abs(expected) > 1.0))


def test_subtype_override_and_format_from_extension(model: nam_rs.Model, tmp_path: Path) -> None:
    write(tmp_path / "in.wav", noise(2000))
    nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "out.wav", subtype="pcm_16")
    assert sf.info(tmp_path / "out.wav").subtype == "PCM_16"
    nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "out.flac")  # FLAC cannot store FLOAT
    assert (sf.info(tmp_path / "out.flac").format, sf.info(tmp_path / "out.flac").subtype) == ("FLAC", "PCM_24")
    with pytest.raises(ValueError, match="cannot be written"):
        nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "x.flac", subtype="FLOAT")
    with pytest.raises(ValueError, match="audio format"):
        nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "out.xyz")


@pytest.mark.parametrize("block_frames", [4096, 65_537, nam_rs.audio.DEFAULT_BLOCK_FRAMES])
def test_block_size_does_not_change_the_result(model: nam_rs.Model, tmp_path: Path, block_frames: int) -> None:
    x = noise(200_000, seed=11)
    nam_rs.render_file(model, write(tmp_path / "in.wav", x), tmp_path / "out.wav", block_frames=block_frames)
    assert np.array_equal(read(tmp_path / "out.wav"), model.render(x))


def test_stereo_channels_are_independent(tmp_path: Path) -> None:
    lstm = nam_rs.load(LSTM)
    x = noise(30_000, channels=2)
    report = nam_rs.render_file(lstm, write(tmp_path / "in.wav", x), tmp_path / "out.wav", block_frames=7000)
    y = read(tmp_path / "out.wav")
    assert y.shape == (30_000, 2) and report.channels == 2
    assert np.array_equal(y[:, 0], lstm.render(x[:, 0]))
    assert np.array_equal(y[:, 1], lstm.render(x[:, 1]))


def test_mix_mono_averages_channels_first(model: nam_rs.Model, tmp_path: Path) -> None:
    x = noise(30_000, channels=2)
    report = nam_rs.render_file(model, write(tmp_path / "in.wav", x), tmp_path / "out.wav", mix="mono")
    y = read(tmp_path / "out.wav")
    assert y.shape == (30_000,) and report.channels == 1
    assert np.array_equal(y, model.render(x.mean(axis=1, dtype=np.float64).astype(np.float32)))
    with pytest.raises(ValueError, match="mix"):
        nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "o.wav", mix="left")  # type: ignore[arg-type]


@pytest.mark.parametrize(("frames", "block_frames"), [(50_000, 65_536), (50_001, 4_000), (3, 65_536)])
def test_resampled_file_keeps_rate_and_length(
    model: nam_rs.Model, tmp_path: Path, frames: int, block_frames: int
) -> None:
    t = np.arange(frames) / 44100.0
    x = (0.3 * np.sin(2 * np.pi * 220.0 * t) + 0.05 * noise(frames)).astype(np.float32)
    write(tmp_path / "in.wav", x, rate=44100)
    report = nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "out.wav", block_frames=block_frames)
    y = read(tmp_path / "out.wav")
    assert sf.info(tmp_path / "out.wav").samplerate == 44100 and y.shape == x.shape
    assert report.resampled and report.frames == frames and report.model_sample_rate == 48000
    if frames < 1000:
        return
    up = soxr.resample(x, 44100, 48000, "HQ")
    reference = soxr.resample(model.render(up), 48000, 44100, "HQ")[:frames]
    edge = 2000
    err = y[edge:-edge] - reference[edge:-edge]
    assert np.sqrt(np.mean(err**2)) <= 1e-3 * np.sqrt(np.mean(reference[edge:-edge] ** 2))


def test_rate_mismatch_without_resampling_is_an_error(model: nam_rs.Model, tmp_path: Path) -> None:
    write(tmp_path / "in.wav", noise(1000), rate=44100)
    with pytest.raises(ValueError, match=r"44100 Hz but the model runs at 48000 Hz"):
        nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "out.wav", resample=False)
    assert not (tmp_path / "out.wav").exists()


def test_model_without_sample_rate_assumes_48k_with_a_warning(tmp_path: Path) -> None:
    x = noise(2000)
    write(tmp_path / "in.wav", x)
    nosr = nam_rs.load(NOSR)
    assert nosr.sample_rate is None
    with pytest.warns(nam_rs.SampleRateWarning, match="48000"):
        report = nam_rs.render_file(nosr, tmp_path / "in.wav", tmp_path / "out.wav")
    assert report.model_sample_rate == 48000 and not report.resampled
    assert np.array_equal(read(tmp_path / "out.wav"), nosr.render(x))
    report = nam_rs.render_file(nosr, tmp_path / "in.wav", tmp_path / "out.wav", sample_rate=48000)  # no warning
    assert report.model_sample_rate == 48000


def test_level_functions() -> None:
    calibrated = with_metadata({"loudness": -12.0, "input_level_dbu": 18.0})
    assert nam_rs.input_gain_db(calibrated) == -6.0
    assert nam_rs.input_gain_db(calibrated, interface_dbu=20.0) == 2.0
    assert nam_rs.input_gain_db(calibrated, calibrate=False) == 0.0
    assert nam_rs.output_gain_db(calibrated) == -6.0
    assert nam_rs.output_gain_db(calibrated, target=-10.0) == 2.0
    assert nam_rs.db_to_gain(-20.0) == pytest.approx(0.1)
    assert nam_rs.db_to_gain(0.0) == 1.0
    assert nam_rs.levels.gain_to_db(nam_rs.db_to_gain(-7.5)) == pytest.approx(-7.5)
    bare = with_metadata({})
    with pytest.warns(nam_rs.LevelWarning, match="input_level_dbu"):
        assert nam_rs.input_gain_db(bare) == 0.0
    with pytest.warns(nam_rs.LevelWarning, match="loudness"):
        assert nam_rs.output_gain_db(bare) == 0.0


@pytest.mark.parametrize(
    ("options", "g_in", "g_out"),
    [
        ({"normalize": True, "calibrate": True}, -6.0, -6.0),
        ({"normalize": -20.0, "calibrate": 10.0, "input_gain_db": 3.0}, -5.0, -8.0),
        ({"input_gain_db": -4.5}, -4.5, 0.0),
        ({"normalize": False, "calibrate": False}, 0.0, 0.0),
    ],
)
def test_gains_are_applied_and_reported(tmp_path: Path, options: dict[str, Any], g_in: float, g_out: float) -> None:
    calibrated = with_metadata({"loudness": -12.0, "input_level_dbu": 18.0})
    x = noise(20_000)
    report = nam_rs.render_file(calibrated, write(tmp_path / "in.wav", x), tmp_path / "out.wav", **options)
    assert report.input_gain_db == pytest.approx(g_in) and report.output_gain_db == pytest.approx(g_out)
    expected = calibrated.render(x * np.float32(10 ** (g_in / 20))) * (10 ** (g_out / 20))
    y = read(tmp_path / "out.wav")
    assert np.abs(y - expected).max() <= 1e-6 * np.abs(expected).max()


def test_missing_metadata_warns_and_applies_no_gain(tmp_path: Path) -> None:
    bare = with_metadata({})
    x = noise(5000)
    write(tmp_path / "in.wav", x)
    with pytest.warns(nam_rs.LevelWarning) as caught:
        report = nam_rs.render_file(bare, tmp_path / "in.wav", tmp_path / "out.wav", normalize=True, calibrate=True)
    assert len(caught) == 2
    assert report.input_gain_db == 0.0 and report.output_gain_db == 0.0
    assert np.array_equal(read(tmp_path / "out.wav"), bare.render(x))


def test_failed_render_leaves_no_output_and_no_temp_file(
    model: nam_rs.Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "in.wav", noise(10_000))
    (tmp_path / "out.wav").write_bytes(b"previous")
    original = sf.SoundFile.write
    calls = 0

    def failing_write(self: sf.SoundFile, data: np.ndarray) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise KeyboardInterrupt  # an interrupt mid-render, after one block was written
        original(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "out.wav", block_frames=1000)
    assert calls == 2
    assert (tmp_path / "out.wav").read_bytes() == b"previous"  # the previous output is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]
    monkeypatch.undo()
    with pytest.raises(FileNotFoundError):
        nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "missing" / "out.wav")
    assert not (tmp_path / "missing").exists()


def test_output_permissions_follow_umask_and_in_place_works(model: nam_rs.Model, tmp_path: Path) -> None:
    x = noise(3000)
    path = write(tmp_path / "take.wav", x)
    nam_rs.render_file(model, path, path)  # overwrite the input: read fully before the rename
    assert np.array_equal(read(path), model.render(x))
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_progress_bar_only_when_asked(model: nam_rs.Model, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "in.wav", noise(3000))
    nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "out.wav")  # stderr is not a terminal here
    assert capsys.readouterr().err == ""
    nam_rs.render_file(model, tmp_path / "in.wav", tmp_path / "out.wav", progress=True)
    assert "in.wav" in capsys.readouterr().err


def test_cli_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = noise(5000)
    write(tmp_path / "in.wav", x)
    out = tmp_path / "out.wav"
    assert cli.main(["render", str(NANO), str(tmp_path / "in.wav"), str(out), "--no-progress"]) == 0
    assert np.array_equal(read(out), nam_rs.load(NANO).render(x))
    printed = capsys.readouterr()
    assert "5000 frames" in printed.out and "realtime" in printed.out and printed.err == ""
    args = ["render", str(NANO), str(tmp_path / "in.wav"), str(out), "--normalize", "--calibrate", "10", "--overwrite"]
    assert cli.main([*args, "--gain-db", "1.5", "--subtype", "PCM_24", "--mix", "mono", "--no-progress"]) == 0
    printed = capsys.readouterr()
    assert "nam-rs: warning:" in printed.err and "input_level_dbu" in printed.err
    assert "in +1.50 dB" in printed.out and "out -7.82 dB" in printed.out
    assert sf.info(out).subtype == "PCM_24"


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", str(NANO), str(tmp_path / "nope.wav"), str(tmp_path / "out.wav")]) == 1
    assert "no such input file" in capsys.readouterr().err
    write(tmp_path / "in.wav", noise(1000), rate=44100)
    args = ["render", str(NANO), str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--no-progress"]
    assert cli.main([*args, "--sample-rate-policy", "error"]) == 1
    assert "44100 Hz" in capsys.readouterr().err
    assert cli.main(["render", str(tmp_path / "none.nam"), *args[2:]]) == 1
    assert "none.nam" in capsys.readouterr().err
    assert not (tmp_path / "out.wav").exists()


def test_python_m_render_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nam_rs", "render", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "--sample-rate-policy" in done.stdout and "--calibrate" in done.stdout
