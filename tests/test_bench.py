"""Smoke tests of the benchmark tools (seconds): the FMA peak, ``nam_rs.bench`` and ``nam-rs bench``."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import nam_rs
import numpy as np
import pytest
from conftest import FIXTURES
from nam_rs import bench, cli
from nam_rs._core import _fma_peak_gflops

NANO = FIXTURES / "models" / "wavenet_nano.nam"
NANO_MACS = 732  # the A1 nano preset's multiply-adds per sample (../shared/benchmarks/anchors.md)


def test_fma_peak_is_positive_finite_and_runs_for_the_time_asked() -> None:
    t0 = time.perf_counter()
    gflops = _fma_peak_gflops(0.05)
    elapsed = time.perf_counter() - t0
    # Any CPU this builds for does more than 0.1 GFLOP/s and no core does 10 TFLOP/s in FP32.
    assert math.isfinite(gflops) and 0.1 < gflops < 10_000
    assert 0.05 <= elapsed < 2.0


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf, 1e9])
def test_fma_peak_refuses_bad_durations(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds"):
        _fma_peak_gflops(seconds)


def test_guitar_signal_is_deterministic_audio_not_silence() -> None:
    x = bench.guitar_signal(48_000, 48_000.0)
    assert x.dtype == np.float32 and x.shape == (48_000,)
    assert np.max(np.abs(x)) == pytest.approx(0.5, rel=1e-6)
    # Notes throughout: every 50 ms window has signal well above the -80 dB noise floor.
    windows = x[: 48_000 // 2400 * 2400].reshape(-1, 2400)
    assert np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=1)).min() > 1e-3
    np.testing.assert_array_equal(x, bench.guitar_signal(48_000, 48_000.0))


def test_cli_json_fields_are_consistent(capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.perf_counter()
    status = cli.main(["bench", str(NANO), "--seconds", "0.2", "--json"])
    elapsed = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert status == 0 and err == ""
    report = json.loads(out)
    assert report["model"] == str(NANO) and report["architecture"] == "WaveNet"
    assert report["macs_per_sample"] == NANO_MACS
    assert (report["buffer"], report["threads"], report["sample_rate"]) == (64, 1, 48_000.0)
    assert report["rounds"] >= bench.MIN_ROUNDS and report["frames_per_round"] % 64 == 0
    ns = report["ns_per_sample"]
    assert ns > 0 and report["stream_ns_per_sample"] > 0
    # FLOP per sample / ns per sample = GFLOP/s; seconds of audio per second at 48 kHz.
    assert report["gflops"] == pytest.approx(2 * NANO_MACS / ns, rel=1e-9)
    assert report["realtime_factor"] == pytest.approx(1e9 / 48_000 / ns, rel=1e-9)
    assert report["peak_gflops"] == max(report["peak_gflops_before"], report["peak_gflops_after"]) > 0
    assert report["peak_percent"] == pytest.approx(100 * report["gflops"] / report["peak_gflops"], rel=1e-9)
    assert elapsed < 10  # 0.2 s of rounds, two peak measurements of 0.05 s, a load


def test_cli_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", str(NANO), "--seconds", "0.1", "--buffer", "128"]) == 0
    out = capsys.readouterr().out
    assert f"model:      {NANO}" in out and "buffer:     128 frames; 1 thread" in out
    assert "ns/sample" in out and "% of the single-core FP32 FMA peak" in out


def test_threads_are_independent_streams_and_the_model_is_untouched() -> None:
    model = nam_rs.load(NANO)
    model.gil_threshold = 8192
    x = bench.guitar_signal(1024, 48_000.0)
    report = bench.run(model, buffer=32, seconds=0.1, threads=2)
    assert report.threads == 2 and report.buffer == 32 and report.model == "<model>"
    assert "2 threads, independent streams" in report.summary()
    assert "all streams together" in report.summary() and "2-thread FP32 FMA peak" in report.summary()
    # Aggregate wall time per sample is at least half of one stream's own time per sample.
    assert report.ns_per_sample >= report.stream_ns_per_sample / 2 * 0.999
    # The streams were copies: the model is still in its prewarmed start state, its settings kept.
    assert model.gil_threshold == 8192
    np.testing.assert_array_equal(model.process(x), nam_rs.load(NANO).process(x))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "missing.nam"], "no such model file: missing.nam"),
        (["bench", str(NANO), "--buffer", "0"], "--buffer must be a positive int"),
        (["bench", str(NANO), "--buffer", "six"], "--buffer must be a positive int"),
        (["bench", str(NANO), "--seconds", "nan"], "--seconds must be a positive float"),
        (["bench", str(NANO), "--seconds", "-1"], "--seconds must be a positive float"),
        (["bench", str(NANO), "--threads", "1.5"], "--threads must be a positive int"),
    ],
)
def test_cli_bad_arguments_are_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("nam-rs: ") and message in lines[0], err


@pytest.mark.parametrize(("keyword", "value"), [("buffer", 0), ("threads", 0), ("seconds", 0.0), ("buffer", 1.5)])
def test_run_refuses_bad_arguments(keyword: str, value: float) -> None:
    arguments: dict[str, Any] = {keyword: value}
    with pytest.raises((ValueError, TypeError), match=keyword):
        bench.run(NANO, **arguments)
