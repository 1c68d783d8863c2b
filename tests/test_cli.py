"""The nam-rs command line: info, render --overwrite, batch, parity, and one-line errors (no tracebacks)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nam_rs
import numpy as np
import pytest
import soundfile as sf
from conftest import FIXTURES
from nam_rs import cli

NANO = FIXTURES / "models" / "wavenet_nano.nam"
LSTM = FIXTURES / "models" / "lstm_1x8.nam"
INPUT = FIXTURES / "input.npy"
EXPECTED = FIXTURES / "expected" / "wavenet_nano.npy"

# What the trainer writes into a capture's metadata (nam.models.metadata.UserMetadata, nam.train.metadata).
CAPTURE_METADATA: dict[str, Any] = {
    "name": "Plexi crunch",
    "modeled_by": "someone",
    "gear_type": "amp",
    "gear_make": "Marshall",
    "gear_model": "1959 SLP",
    "tone_type": "crunch",
    "input_level_dbu": 18.3,
    "output_level_dbu": 9.5,
    "loudness": -14.25,
    "date": {"year": 2024, "month": 3, "day": 9, "hour": 1, "minute": 2, "second": 3},
    "training": {"validation_esr": 0.00731, "settings": {"fit_mrstft": True}},
}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nam-rs: "), err
    return lines[0]


def captured_model(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    document = json.loads(NANO.read_text())
    document["metadata"] = CAPTURE_METADATA
    path = tmp_path / "plexi.nam"
    path.write_text(json.dumps(document))
    return path, document


def test_info_text_shows_properties_gear_levels_and_training_esr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, document = captured_model(tmp_path)
    status, out, err = run(["info", str(path)], capsys)
    assert status == 0 and err == ""
    fields = {k.strip(): v.strip() for k, v in (line.split(": ", 1) for line in out.splitlines())}
    assert fields["architecture"] == "WaveNet" and fields["version"] == document["version"]
    assert float(fields["sample_rate"]) == document["sample_rate"]
    assert int(fields["num_weights (parameters)"]) == len(document["weights"])
    assert float(fields["input_level_dbu"]) == 18.3 and float(fields["output_level_dbu"]) == 9.5
    assert float(fields["loudness"]) == -14.25 and float(fields["training ESR"]) == 0.00731
    assert (fields["gear_make"], fields["gear_model"], fields["gear_type"]) == ("Marshall", "1959 SLP", "amp")
    assert (fields["name"], fields["tone_type"], fields["date"]) == ("Plexi crunch", "crunch", "2024-03-09")
    assert fields["supported"] == "yes" and "macs_per_sample" in fields


def test_info_json_keys_are_property_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, document = captured_model(tmp_path)
    status, out, _ = run(["info", str(path), "--json"], capsys)
    info = json.loads(out)
    assert status == 0 and info["supported"] is True
    model = nam_rs.load(path)
    for key in info.keys() - {"supported", "macs_per_sample"}:  # see test_info_macs_per_sample
        assert hasattr(model, key), key  # every key is a Model property
    assert {
        "architecture",
        "version",
        "sample_rate",
        "receptive_field",
        "num_weights",
        "macs_per_sample",
    } <= info.keys()
    assert info["num_weights"] == len(document["weights"]) and info["sample_rate"] == document["sample_rate"]
    assert info["metadata"] == CAPTURE_METADATA and info["input_level_dbu"] == 18.3


@pytest.mark.skipif(not hasattr(nam_rs.Model, "macs_per_sample"), reason="the build has no Model.macs_per_sample yet")
def test_info_macs_per_sample(capsys: pytest.CaptureFixture[str]) -> None:
    macs = nam_rs.load(NANO).macs_per_sample  # type: ignore[attr-defined, unused-ignore]
    assert isinstance(macs, int) and macs > 0
    assert json.loads(run(["info", str(NANO), "--json"], capsys)[1])["macs_per_sample"] == macs
    assert f"macs_per_sample: {macs}" in run(["info", str(NANO)], capsys)[1]


def test_info_on_unsupported_and_broken_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = captured_model(tmp_path)

    def refuse(*args: object, **kwargs: object) -> nam_rs.Model:
        # Stands in for whichever feature the core does not run yet (that list shrinks every release).
        raise nam_rs.UnsupportedModelError('unsupported model feature: architecture "Future"')

    monkeypatch.setattr(nam_rs, "load", refuse)
    status, out, err = run(["info", str(path)], capsys)
    assert status == 1 and '"Future"' in one_line_error(err) and "plexi.nam" in err
    assert "architecture: WaveNet" in out and "gear_make: Marshall" in out and "training ESR: 0.00731" in out
    status, out, err = run(["info", str(path), "--json"], capsys)
    info = json.loads(out)
    assert status == 1 and info["supported"] is False and info["error"] == "UnsupportedModelError"
    assert info["architecture"] == "WaveNet" and '"Future"' in info["message"]
    assert info["metadata"] == CAPTURE_METADATA
    monkeypatch.undo()
    broken = tmp_path / "broken.nam"
    broken.write_text("{not json")
    status, out, err = run(["info", str(broken)], capsys)
    assert status == 1 and out == "" and "broken.nam" in one_line_error(err)
    status, _, err = run(["info", str(tmp_path / "nope.nam")], capsys)
    assert status == 1 and "no such model file" in one_line_error(err)


def write_input(path: Path, frames: int = 4000, rate: int = 48000, subtype: str = "FLOAT") -> np.ndarray:
    x = (0.3 * np.sin(np.arange(frames) * 0.05)).astype(np.float32)
    sf.write(path, x, rate, subtype=subtype)
    return x


def test_render_refuses_to_replace_without_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = write_input(tmp_path / "in.wav")
    out = tmp_path / "out.wav"
    args = ["render", str(NANO), str(tmp_path / "in.wav"), str(out), "--no-progress"]
    assert run(args, capsys)[0] == 0
    assert np.array_equal(sf.read(out, dtype="float32")[0], nam_rs.load(NANO).render(x))
    out.write_bytes(b"keep me")
    status, stdout, err = run(args, capsys)
    assert status == 1 and stdout == "" and "--overwrite" in one_line_error(err)
    assert out.read_bytes() == b"keep me"
    status, _, _ = run([*args, "--overwrite", "--gain-db", "-6"], capsys)
    gain = np.float32(10 ** (-6 / 20))
    assert status == 0 and np.array_equal(sf.read(out, dtype="float32")[0], nam_rs.load(NANO).render(x * gain))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["render", "a.nam", "b.wav"], "MODEL.nam IN.wav OUT.wav"),
        (["render", str(NANO), "{tmp}/missing.wav", "{tmp}/o.wav"], "no such input file"),
        (["render", "{tmp}/missing.nam", "{tmp}/in.wav", "{tmp}/o.wav"], "no such model file"),
        (["render", str(NANO), "{tmp}/junk.wav", "{tmp}/o.wav"], "junk.wav"),
        (["render", str(NANO), "{tmp}/in.wav", "{tmp}/o.xyz"], "cannot tell the audio format"),
        (["batch", "--models", "{tmp}/none/*.nam", "--inputs", "{tmp}/in.wav", "--out", "{tmp}/b"], "no files match"),
        (["batch", "--models", str(NANO), "--inputs", "{tmp}/nothing", "--out", "{tmp}/b"], "no such file"),
    ],
)
def test_user_mistakes_are_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_input(tmp_path / "in.wav")
    (tmp_path / "junk.wav").write_text("not audio")
    status, _, err = run([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert status == 1 and message in one_line_error(err)
    assert not (tmp_path / "o.wav").exists() and not (tmp_path / "b").exists()


def test_batch_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for source in (NANO, LSTM):
        shutil.copy(source, models / source.name)
    x = write_input(tmp_path / "a.wav", subtype="FLOAT")
    sf.write(tmp_path / "b.flac", np.stack([x, -x], axis=1), 44100, subtype="PCM_24")
    argv = ["batch", "--models", str(models), "--inputs", str(tmp_path / "*.wav"), str(tmp_path / "*.flac")]
    argv += ["--out", str(tmp_path / "out"), "--workers", "1", "--no-progress"]
    status, out, err = run(argv, capsys)
    assert status == 0 and err == "" and "4 pairs: 4 rendered, 0 skipped, 0 failed" in out
    assert np.array_equal(
        sf.read(tmp_path / "out" / "lstm_1x8" / "a.wav", dtype="float32")[0], nam_rs.load(LSTM).render(x)
    )
    assert sf.info(tmp_path / "out" / "wavenet_nano" / "b.flac").samplerate == 44100
    assert "4 skipped" in run(argv, capsys)[1]
    (models / "bad.nam").write_text("[]")
    status, out, err = run(argv, capsys)
    assert status == 1 and "6 pairs: 0 rendered, 4 skipped, 2 failed" in out
    failures = err.strip().splitlines()
    assert len(failures) == 2 and all(line.startswith("nam-rs: failed: bad.nam x ") for line in failures)
    status, out, _ = run([*argv, "--format", "wav", "--overwrite"], capsys)
    assert (tmp_path / "out" / "lstm_1x8" / "b.wav").is_file() and "4 rendered" in out


def test_parity_passes_on_a_fixture_and_fails_on_a_perturbed_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["parity", str(NANO), "--input", str(INPUT)]
    status, out, err = run([*args, "--against", str(EXPECTED)], capsys)
    assert status == 0 and err == "" and out.startswith("PASS")
    assert "max abs error" in out and "ESR" in out and "first diverging sample: none" in out
    perturbed = np.load(EXPECTED)
    perturbed[777] += 1e-3
    np.save(tmp_path / "perturbed.npy", perturbed)
    status, out, _ = run([*args, "--against", str(tmp_path / "perturbed.npy")], capsys)
    assert status == 1 and out.startswith("FAIL") and "first diverging sample: 777" in out
    assert "at sample 777" in out
    status, out, _ = run([*args, "--against", str(tmp_path / "perturbed.npy"), "--tol", "2e-3"], capsys)
    assert status == 0


def test_parity_cannot_check_is_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _, err = run(["parity", str(NANO), "--against", str(tmp_path / "nope.npy")], capsys)
    assert status == 2 and "nope.npy" in one_line_error(err)
    status, _, err = run(["parity", str(NANO), "--against", str(EXPECTED)], capsys)  # 48000-sample default input
    assert status == 2 and "8192 samples but the input has 48000" in one_line_error(err)
    monkeypatch.setitem(sys.modules, "nam", None)
    monkeypatch.setitem(sys.modules, "nam.models", None)
    status, _, err = run(["parity", str(NANO)], capsys)
    assert status == 2 and "neural-amp-modeler" in one_line_error(err)
    status, _, err = run(["parity", str(tmp_path / "nope.nam"), "--against", str(EXPECTED)], capsys)
    assert status == 2 and "no such model file" in one_line_error(err)


@pytest.mark.parametrize(("command", "status"), [("render", 1), ("parity", 1)])
def test_python_m_exit_status_and_no_traceback(command: str, status: int, tmp_path: Path) -> None:
    write_input(tmp_path / "in.wav")
    (tmp_path / "out.wav").write_bytes(b"exists")
    perturbed = np.load(EXPECTED)
    perturbed[10] = 5.0
    np.save(tmp_path / "ref.npy", perturbed)
    argv = {
        "render": ["render", str(NANO), str(tmp_path / "in.wav"), str(tmp_path / "out.wav")],
        "parity": ["parity", str(NANO), "--input", str(INPUT), "--against", str(tmp_path / "ref.npy")],
    }[command]
    done = subprocess.run(
        [sys.executable, "-m", "nam_rs", *argv], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == status and "Traceback" not in done.stderr
    if command == "render":
        assert done.stderr.count("\n") == 1 and "already exists" in done.stderr
    else:
        assert "first diverging sample: 10" in done.stdout


def test_semantics_option_reads_the_file_as_the_trainer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # ELU is an activation the trainer exports and NAM Core rejects (tests/fixtures/trainer_semantics).
    elu = FIXTURES / "trainer_semantics" / "act_elu.nam"
    status, _, err = run(["info", str(elu)], capsys)
    assert status == 1 and "ELU" in one_line_error(err) and 'semantics="trainer"' in err
    status, out, _ = run(["info", str(elu), "--json", "--semantics", "trainer"], capsys)
    assert status == 0 and json.loads(out)["semantics"] == "trainer"
    x = np.load(INPUT)[:4096]
    source, output = tmp_path / "di.wav", tmp_path / "wet.wav"
    sf.write(source, x, 48000, subtype="FLOAT")
    status, _, err = run(["render", str(elu), str(source), str(output), "--semantics", "trainer"], capsys)
    assert status == 0, err
    expected = nam_rs.load(elu, semantics="trainer").render(sf.read(source, dtype="float32")[0])
    assert np.array_equal(sf.read(output, dtype="float32")[0], expected)  # no gain, same rate: bit for bit
    status, _, err = run(["render", str(elu), str(source), str(tmp_path / "core.wav")], capsys)
    assert status == 1 and "ELU" in one_line_error(err)
