"""nam_rs.batch.render_many: outputs against model.render, resuming, the manifest, failures, naming, Dask."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import nam_rs
import numpy as np
import pytest
import soundfile as sf
import soxr
from conftest import FIXTURES
from nam_rs import batch
from nam_rs.batch import render_many

MODELS = [FIXTURES / "models" / f"{name}.nam" for name in ("wavenet_nano", "lstm_1x8", "wavenet_head_k3")]
FRAMES = 12_000
# (file name, rate, channels, subtype): the formats a batch must carry through unchanged.
INPUTS = [
    ("di_mono_44k.wav", 44100, 1, "PCM_16"),
    ("di_stereo_48k.flac", 48000, 2, "PCM_24"),
    ("di_float_48k.wav", 48000, 1, "FLOAT"),
    ("di_stereo_48k_16.wav", 48000, 2, "PCM_16"),
]
LSB = {"PCM_16": 2.0**-15, "PCM_24": 2.0**-23, "FLOAT": 0.0}


def guitar_like(frames: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 48000.0
    tone = 0.4 * np.sin(2 * np.pi * 110.0 * t) * np.exp(-t * 3)
    x = tone[:, None] + 0.05 * rng.standard_normal((frames, channels))
    return x.astype(np.float32)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "di"
    folder.mkdir()
    for seed, (name, rate, channels, subtype) in enumerate(INPUTS):
        sf.write(folder / name, guitar_like(FRAMES, channels, seed), rate, subtype=subtype)
    return folder


def read(path: Path) -> tuple[np.ndarray, int, str]:
    y, rate = sf.read(path, dtype="float64", always_2d=True)
    return y, rate, sf.info(path).subtype


def expected_output(model: nam_rs.Model, source: Path) -> np.ndarray:
    """The oracle: each channel of the file through model.render (resampled offline when the rates differ)."""
    x, rate = sf.read(source, dtype="float32", always_2d=True)
    channels = []
    for column in x.T:
        if rate == 48000:
            channels.append(model.render(column))
        else:
            up = soxr.resample(column, rate, 48000, "HQ")
            channels.append(soxr.resample(model.render(up), 48000, rate, "HQ")[: len(column)])
    return np.stack(channels, axis=1).astype(np.float64)


def file_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.suffix in {".wav", ".flac"}}


def test_outputs_match_model_render_through_a_process_pool(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = render_many(MODELS, inputs, out, workers=2)
    assert report.ok and report.rendered == len(MODELS) * len(INPUTS) and report.skipped == 0
    manifest = json.loads((out / "manifest.json").read_text())
    rows = {(Path(r["model"]).name, Path(r["input"]).name): r for r in manifest["pairs"]}
    for model_path in MODELS:
        model = nam_rs.load(model_path)
        for name, rate, channels, subtype in INPUTS:
            output = out / model_path.stem / name
            y, out_rate, out_subtype = read(output)
            assert (y.shape, out_rate, out_subtype) == ((FRAMES, channels), rate, subtype)
            expected = expected_output(model, inputs / name)
            row = rows[(model_path.name, name)]
            assert row["output"] == f"{model_path.stem}/{name}" and row["status"] == "rendered"
            assert row["duration"] == pytest.approx(FRAMES / rate) and row["error"] is None
            if rate != 48000:  # streaming vs offline resampling: equal up to the resamplers' edges
                err = (y - expected)[2000:-2000]
                assert np.sqrt(np.mean(err**2)) <= 1e-3 * np.sqrt(np.mean(expected[2000:-2000] ** 2))
                continue
            # Integer formats: the model's output clipped to ±1 and rounded to the format's step.
            assert np.abs(y - np.clip(expected, -1, 1)).max() <= LSB[subtype]
            assert row["peak"] == pytest.approx(np.abs(expected).max(), rel=1e-6)
            assert row["rms"] == pytest.approx(np.sqrt(np.mean(expected**2)), rel=1e-6)
            clipped = int(np.count_nonzero(np.abs(expected) > 1.0)) if subtype != "FLOAT" else 0
            assert row["clipped"] == clipped
            assert row["size"] == output.stat().st_size


def test_manifest_json_and_csv_list_every_pair(inputs: Path, tmp_path: Path) -> None:
    report = render_many(MODELS[:2], inputs, tmp_path / "out", workers=1, manifest="runs.json", normalize=True)
    document = json.loads(report.manifest_path.read_text())
    assert report.manifest_path == tmp_path / "out" / "runs.json" and report.csv_path.name == "runs.csv"
    assert document["options"] == {"normalize": True, "extension": None}
    assert [(Path(r["model"]).stem, Path(r["input"]).name) for r in document["pairs"]] == [
        (m.stem, name)
        for m in MODELS[:2]
        for name in sorted(name for name, *_ in INPUTS)  # a folder: sorted
    ]
    with report.csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(document["pairs"])
    for row, pair in zip(rows, document["pairs"], strict=True):
        assert row["output"] == pair["output"] and row["status"] == "rendered" and row["error"] == ""
        assert float(row["peak"]) == pair["peak"] and float(row["duration"]) == pair["duration"]
    assert not list((tmp_path / "out").glob(".*journal"))  # the journal is gone once the manifest exists


def test_interrupted_batch_resumes_to_identical_files(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = render_many(MODELS, inputs, tmp_path / "whole", workers=1)
    assert whole.rendered == 3 * len(INPUTS)

    real = batch._render_pair
    calls = []

    def dies_on_the_fourth_pair(task: batch._Task) -> batch.PairResult:
        calls.append(task)
        if len(calls) == 4:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-batch
        return real(task)

    monkeypatch.setattr(batch, "_render_pair", dies_on_the_fourth_pair)
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        render_many(MODELS, inputs, out, workers=1)
    assert not (out / "manifest.json").exists() and len(file_bytes(out)) == 3
    monkeypatch.setattr(batch, "_render_pair", real)

    resumed = render_many(MODELS, inputs, out, workers=1)
    total = 3 * len(INPUTS)
    assert (resumed.skipped, resumed.rendered) == (3, total - 3)
    assert file_bytes(out) == file_bytes(tmp_path / "whole")
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]

    # A deleted or altered output is rendered again (a killed render's temp file goes); the rest is skipped.
    stale = out / "lstm_1x8" / ".di_mono_44k.wav.0badf00d.part"
    stale.write_bytes(b"left by a SIGKILL")
    (out / "lstm_1x8" / "di_mono_44k.wav").unlink()
    (out / "wavenet_nano" / "di_stereo_48k.flac").write_bytes(b"truncated")
    again = render_many(MODELS, inputs, out, workers=1)
    assert (again.skipped, again.rendered) == (total - 2, 2) and not stale.exists()
    assert file_bytes(out) == file_bytes(tmp_path / "whole")
    # overwrite=True, or other render options, render everything.
    assert render_many(MODELS, inputs, out, workers=1, overwrite=True).rendered == total
    assert render_many(MODELS, inputs, out, workers=1, input_gain_db=-3.0).rendered == total


def test_float_wav_output_has_no_timestamped_peak_chunk(inputs: Path, tmp_path: Path) -> None:
    # libsndfile would stamp float WAVs with the write time, breaking byte-identical re-renders.
    render_many(MODELS[:1], inputs / "di_float_48k.wav", tmp_path / "out", workers=1)
    header = (tmp_path / "out" / "wavenet_nano" / "di_float_48k.wav").read_bytes()[:200]
    assert b"PEAK" not in header


def test_failures_are_recorded_and_the_batch_goes_on(inputs: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(MODELS[0], models / "good.nam")
    (models / "broken.nam").write_text('{"version": "0.5.4", "architecture": "WaveNet"')
    (inputs / "not_audio.wav").write_text("this is not a WAV file")
    report = render_many(models, inputs, tmp_path / "out", workers=1)
    failed = {(Path(r.model).name, Path(r.input).name): r.error for r in report.failed}
    assert len(failed) == len(INPUTS) + 2 and report.rendered == len(INPUTS) and not report.ok
    assert all(("NamFormatError" in e and "JSON" in e) for (m, _), e in failed.items() if m == "broken.nam")
    assert failed[("good.nam", "not_audio.wav")] is not None
    assert "LibsndfileError" in failed[("good.nam", "not_audio.wav")]
    with report.csv_path.open(newline="") as f:
        csv_failed = [row for row in csv.DictReader(f) if row["status"] == "failed"]
    assert len(csv_failed) == len(failed) and all(row["error"] for row in csv_failed)
    rerun = render_many(models, inputs, tmp_path / "out", workers=1)
    assert (rerun.skipped, len(rerun.failed)) == (len(INPUTS), len(failed))  # failures are retried


def tag(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]


def test_equal_stems_get_path_hash_suffixes(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(MODELS[1], tmp_path / folder / "amp.nam")
    shutil.copy(MODELS[0], tmp_path / "a" / "Clean.nam")
    x = guitar_like(2000, 1, 0)
    (tmp_path / "di" / "sub").mkdir(parents=True)
    for name in ("take.wav", "sub/take.wav", "take.flac"):
        sf.write(tmp_path / "di" / name, x, 48000, subtype="PCM_24")
    report = render_many(
        [tmp_path / "a", tmp_path / "b" / "*.nam", tmp_path / "a" / "amp.nam"],  # a/amp.nam twice: listed once
        tmp_path / "di",
        tmp_path / "out",
        workers=1,
        extension=".wav",
    )
    a, b = tag(tmp_path / "a" / "amp.nam"), tag(tmp_path / "b" / "amp.nam")
    takes = [tag(tmp_path / "di" / name) for name in ("sub/take.wav", "take.flac", "take.wav")]
    dirs = ["Clean", f"amp-{a}", f"amp-{b}"]
    assert sorted(r.output for r in report.results) == sorted(f"{d}/take-{t}.wav" for d in dirs for t in takes)
    assert report.ok and all((tmp_path / "out" / r.output).is_file() for r in report.results)
    # Without extension= each input keeps its format, so take.wav and take.flac no longer collide.
    plain = render_many(tmp_path / "a" / "Clean.nam", tmp_path / "di", tmp_path / "plain", workers=1)
    assert sorted(r.output for r in plain.results) == sorted(
        ["Clean/take.flac", f"Clean/take-{takes[0]}.wav", f"Clean/take-{takes[2]}.wav"]
    )


def test_outputs_inside_the_input_folder_are_not_inputs(inputs: Path) -> None:
    first = render_many(MODELS[0], inputs, inputs / "out", workers=1)
    second = render_many(MODELS[0], inputs, inputs / "out", workers=1)
    assert len(first.results) == len(second.results) == len(INPUTS) and second.skipped == len(INPUTS)


def test_model_without_sample_rate_is_recorded_as_a_warning(inputs: Path, tmp_path: Path) -> None:
    nosr = FIXTURES / "models" / "lstm_1x8_nosr.nam"
    report = render_many(nosr, inputs / "di_float_48k.wav", tmp_path / "out", workers=1, calibrate=True)
    (result,) = report.results
    assert result.status == "rendered"
    assert any("sample rate" in w and "48000" in w for w in result.warnings)
    assert any("input_level_dbu" in w for w in result.warnings)
    y, _, _ = read(tmp_path / "out" / result.output)
    x, _ = sf.read(inputs / "di_float_48k.wav", dtype="float32")
    assert np.array_equal(y[:, 0], nam_rs.load(nosr).render(x))  # 48 kHz assumed, no gain


def test_progress_bar_only_when_asked(inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    render_many(MODELS[0], inputs, tmp_path / "quiet", workers=1)  # stderr is not a terminal here
    assert capsys.readouterr().err == ""
    render_many(MODELS[0], inputs, tmp_path / "loud", workers=1, progress=True)
    assert f"{len(INPUTS)}/{len(INPUTS)}" in capsys.readouterr().err


def test_argument_errors(inputs: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file, directory or pattern"):
        render_many(MODELS[0], tmp_path / "nope.wav", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no files match"):
        render_many(tmp_path / "*.nam", inputs, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match=r"\.nam files in"):
        render_many(inputs, inputs, tmp_path / "out")
    with pytest.raises(TypeError, match="progres"):
        render_many(MODELS[0], inputs, tmp_path / "out", progres=True)
    with pytest.raises(ValueError, match="workers"):
        render_many(MODELS[0], inputs, tmp_path / "out", workers=0)
    with pytest.raises(ValueError, match="extension"):
        render_many(MODELS[0], inputs, tmp_path / "out", extension="wav")
    with pytest.raises(TypeError, match="executor"):
        render_many(MODELS[0], inputs, tmp_path / "out", executor=object())
    assert not (tmp_path / "out").exists()


def test_dask_local_cluster_gives_the_same_files(inputs: Path, tmp_path: Path) -> None:
    reason = "the dask extra (pip install nam-rs[dask]) is not installed"
    distributed = pytest.importorskip("distributed", reason=reason)
    local = render_many(MODELS[:2], inputs, tmp_path / "local", workers=1)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        remote = render_many(MODELS[:2], inputs, tmp_path / "dask", executor=client)
    assert remote.ok and remote.rendered == len(local.results)
    assert file_bytes(tmp_path / "dask") == file_bytes(tmp_path / "local")
