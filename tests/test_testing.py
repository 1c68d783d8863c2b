"""nam_rs.testing: compare / assert_parity against the committed trainer renders, perturbed references,
the trainer path and the default signal."""

from __future__ import annotations

import sys
from pathlib import Path

import nam_rs
import numpy as np
import pytest
import soundfile as sf
from conftest import FIXTURES
from nam_rs import testing

NANO = FIXTURES / "models" / "wavenet_nano.nam"
EXPECTED = FIXTURES / "expected" / "wavenet_nano.npy"
INPUT = FIXTURES / "input.npy"


def test_fixture_passes_with_arrays_npy_and_wav(tmp_path: Path) -> None:
    expected = np.load(EXPECTED)
    wav = tmp_path / "expected.wav"
    sf.write(wav, expected, 48000, subtype="FLOAT")  # float32 samples survive a FLOAT WAV exactly
    input_wav = tmp_path / "input.wav"
    sf.write(input_wav, np.load(INPUT), 48000, subtype="FLOAT")
    for reference, source in [(EXPECTED, INPUT), (expected, np.load(INPUT)), (wav, input_wav)]:
        report = testing.compare(NANO, reference, source)
        assert report.passed and report.first_divergence is None and report.samples == 8192
        # The committed fixtures match within 1e-6 (README); the contract's bound is 1e-5 x max(1, peak).
        assert report.max_abs_error < 1e-6 and report.esr < 1e-10
        assert report.tolerance == pytest.approx(1e-5 * max(1.0, float(np.abs(expected).max())))
    assert testing.assert_parity(nam_rs.load(NANO), EXPECTED, INPUT).passed


def test_perturbed_reference_fails_at_the_first_perturbed_sample() -> None:
    reference = np.load(EXPECTED).astype(np.float64)
    reference[3000] += 2e-4
    reference[5000] -= 5e-3
    report = testing.compare(NANO, reference, INPUT)
    assert not report.passed
    assert report.first_divergence == 3000 and report.worst_sample == 5000
    assert report.max_abs_error == pytest.approx(5e-3, abs=2e-6)
    with pytest.raises(AssertionError, match="first diverging sample: 3000"):
        testing.assert_parity(NANO, reference, INPUT)
    # Just over / under the bound: the tolerance decides.
    nudged = np.load(EXPECTED).astype(np.float64)
    nudged[100] += 3e-5
    assert testing.compare(NANO, nudged, INPUT).first_divergence == 100
    assert testing.compare(NANO, nudged, INPUT, tol=4e-5).passed


def test_esr_is_error_energy_over_reference_energy() -> None:
    model = nam_rs.load(NANO)
    y = model.render(np.load(INPUT)).astype(np.float64)
    # Reference 2y: the error is -y, so ESR = Σy² / Σ(2y)² = 1/4 exactly.
    report = testing.compare(model, 2.0 * y, INPUT, tol=1.0)
    assert report.esr == pytest.approx(0.25, rel=1e-12)
    assert report.tolerance == pytest.approx(float(np.abs(2.0 * y).max()))  # tol x max(1, peak), peak > 1
    # A silent reference: any error is infinitely large relative to it (this model idles at a DC offset).
    assert testing.compare(model, np.zeros_like(y), np.zeros_like(y)).esr == np.inf


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="8000 samples but the input has 8192"):
        testing.compare(NANO, np.zeros(8000), INPUT)
    with pytest.raises(FileNotFoundError, match="no such reference file"):
        testing.compare(NANO, FIXTURES / "missing.npy", INPUT)
    with pytest.raises(FileNotFoundError, match=r"missing\.nam"):
        testing.compare(FIXTURES / "missing.nam", EXPECTED, INPUT)
    with pytest.raises(ValueError, match="one channel"):
        testing.compare(NANO, EXPECTED, np.zeros((8192, 2)))
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    with pytest.raises(ValueError, match=r"cannot read .*junk\.wav as audio"):
        testing.compare(NANO, junk, INPUT)
    with pytest.raises(ValueError, match="tol"):
        testing.compare(NANO, EXPECTED, INPUT, tol=-1.0)


def test_trainer_reference_without_the_trainer_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nam", None)  # makes `import nam...` fail, installed or not
    monkeypatch.setitem(sys.modules, "nam.models", None)
    with pytest.raises(testing.TrainerUnavailableError, match="pip install neural-amp-modeler") as caught:
        testing.compare(NANO, "trainer", INPUT)
    assert isinstance(caught.value, nam_rs.NamError) and isinstance(caught.value, ImportError)


def test_trainer_reference_matches() -> None:
    pytest.importorskip("nam.models", reason="the PyTorch trainer (neural-amp-modeler) is not installed here")
    for name in ("wavenet_nano", "lstm_1x8"):
        report = testing.compare(FIXTURES / "models" / f"{name}.nam", "trainer", INPUT)
        assert report.passed and report.reference == "the PyTorch trainer", report.summary()
    with pytest.raises(testing.TrainerFailedError, match="PReLU"):
        testing.compare(FIXTURES / "models" / "wavenet_act_prelu.nam", "trainer", INPUT)


def test_default_signal_is_the_documented_one() -> None:
    x = testing.parity_signal()
    assert x.dtype == np.float32 and x.shape == (48000,)
    assert np.array_equal(x, testing.parity_signal(48000))
    assert not x[:2400].any()  # 0.05 s of silence
    sweep = x[2400 : 2400 + 24000]
    assert np.abs(sweep[:2400]).max() < 0.02 and np.abs(sweep[-2400:]).max() > 0.9  # -40 dBFS rising to 0 dBFS
    # Noise: a 32-bit LCG from seed 1 (a = 1664525, c = 1013904223), scaled to +-0.3.
    first = (1664525 * 1 + 1013904223) % 2**32
    second = (1664525 * first + 1013904223) % 2**32
    assert x[26400] == np.float32(0.3 * (first / 2**31 - 1)) and x[26401] == np.float32(0.3 * (second / 2**31 - 1))
    assert x[26400 + 9600 + 2400] == np.float32(0.9) and not x[26400 + 9600 + 2401 :].any()
    assert testing.parity_signal(44100).shape == (44100,)
    report = testing.compare(NANO, nam_rs.load(NANO).render(x), None)  # default input = parity_signal()
    assert report.samples == 48000 and report.max_abs_error == 0.0
