"""Non-finite input, cross-thread controls while another thread processes, and panic containment."""

from __future__ import annotations

import json
import threading

import nam_rs
import numpy as np
import pytest
from conftest import FIXTURES, assert_parity
from nam_rs import _core

NANO = FIXTURES / "models" / "wavenet_nano.nam"
LSTM = FIXTURES / "models" / "lstm_1x8.nam"


def container() -> nam_rs.Model:
    """A SlimmableContainer of two trainer fixtures: nano below 0.5, the LSTM from 0.5 (the default)."""
    doc = {
        "version": "0.7.0",
        "architecture": "SlimmableContainer",
        "sample_rate": 48000,
        "weights": [],
        "config": {
            "submodels": [
                {"max_value": 0.5, "model": json.loads(NANO.read_text())},
                {"max_value": 1.0, "model": json.loads(LSTM.read_text())},
            ]
        },
    }
    return nam_rs.loads(json.dumps(doc))


@pytest.mark.parametrize("path", [NANO, LSTM])
def test_nan_burst_is_processed_as_zeros_and_counted(path: object, fixture_input: np.ndarray) -> None:
    model = nam_rs.load(str(path))
    bad = fixture_input.copy()
    bad[2000:2100] = np.nan
    bad[5000] = np.inf
    zeroed = np.where(np.isfinite(bad), bad, 0).astype(np.float32)
    y = model.process(bad.copy())
    np.testing.assert_array_equal(y, model.render(zeroed))
    assert model.nonfinite_count == 101
    assert np.all(np.isfinite(model.process(np.full(64, 1e30, np.float32))))


def test_slimmable_size_set_while_another_thread_processes(fixture_input: np.ndarray) -> None:
    model = container()
    model.gil_threshold = 1  # release the GIL for every call, so the threads really overlap
    started, stop = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def audio() -> None:
        buf = np.zeros(4096, np.float32)
        try:
            while not stop.is_set():
                model.process(buf, out=buf)
                started.set()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=audio)
    thread.start()
    started.wait(10)
    for _ in range(200):  # the setter never waits for, or fails because of, the audio thread
        model.slimmable_size = 0.25
        model.slimmable_size = 1.0
    model.slimmable_size = 0.25
    assert model.slimmable_size == 0.25
    stop.set()
    thread.join()
    assert not errors, errors
    # Applied at the next call: the nano sub-model from its prewarmed state.
    model.reset()
    assert_parity(
        "nano after switching", model.process(fixture_input), np.load(FIXTURES / "expected" / "wavenet_nano.npy")
    )
    with pytest.raises(nam_rs.UnsupportedModelError, match="not slimmable"):
        nam_rs.load(str(NANO)).slimmable_size = 0.5


def test_crossfade_property(fixture_input: np.ndarray) -> None:
    model = container()
    assert model.slimmable_crossfade == 0
    model.slimmable_crossfade = 480
    assert model.slimmable_crossfade == 480
    y = model.process(fixture_input[:3000])
    model.slimmable_size = 0.0
    z = model.process(fixture_input[3000:])
    # Continuous across the switch: no step larger than the signals' own steps.
    assert abs(float(z[0]) - float(y[-1])) < 0.05
    with pytest.raises(nam_rs.UnsupportedModelError):
        nam_rs.load(str(NANO)).slimmable_crossfade = 10


@pytest.mark.skipif(not _core._FAILPOINTS, reason="needs a test build with the `failpoints` cargo feature (CI has it)")
def test_an_internal_error_poisons_the_model_until_reset(fixture_input: np.ndarray) -> None:
    model = nam_rs.load(str(NANO))
    trigger = np.array([0x7FC0FA11] * 8, np.uint32).view(np.float32)
    with pytest.raises(nam_rs.NamInternalError, match="failpoint"):
        model.process(trigger)
    assert model.poisoned
    with pytest.raises(nam_rs.NamInternalError, match=r"reset\(\)"):
        model.process(fixture_input)
    with pytest.raises(nam_rs.NamInternalError):
        model.process_sample(0.0)
    model.reset()
    assert not model.poisoned
    assert_parity("after reset", model.process(fixture_input), np.load(FIXTURES / "expected" / "wavenet_nano.npy"))


def test_parallel_render_is_bit_identical(fixture_input: np.ndarray) -> None:
    x = np.tile(fixture_input, 8)
    for path in (FIXTURES / "models" / "wavenet_standard.nam", LSTM):
        model = nam_rs.load(str(path))
        np.testing.assert_array_equal(model.render(x, threads=2), model.render(x))


def test_stress_threads_processing_models_while_parameters_change(fixture_input: np.ndarray) -> None:
    """Four threads stream their own models (two containers, a WaveNet, an LSTM) in random block sizes
    while a fifth keeps changing the GIL threshold of all of them and the slimmable size of the second
    container. Nothing may fail; the streams whose parameters cannot change the result must equal a
    one-shot render, the switching one must stay finite."""
    rng = np.random.default_rng(7)
    models = [container(), container(), nam_rs.load(str(NANO)), nam_rs.load(str(LSTM))]
    x = np.tile(fixture_input, 3)
    splits = [np.cumsum(rng.integers(1, 2000, 64)) for _ in models]
    outputs: list[np.ndarray] = [np.empty(0, np.float32)] * len(models)
    errors: list[BaseException] = []
    done = threading.Event()

    def stream(i: int) -> None:
        try:
            parts = np.split(x, splits[i][splits[i] < len(x)])
            outputs[i] = np.concatenate([models[i].process(p) for p in parts])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def tweak() -> None:
        k = 0
        while not done.is_set():
            for m in models:
                m.gil_threshold = 1 + k % 3000
            models[1].slimmable_size = (k % 4) / 4
            k += 1

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(len(models))]
    tweaker = threading.Thread(target=tweak)
    tweaker.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    tweaker.join()
    assert not errors, errors
    # The GIL threshold never changes the result: each stream equals a one-shot render.
    for i, (m, y) in enumerate(zip(models, outputs, strict=True)):
        if i == 1:
            assert y.shape == x.shape and np.all(np.isfinite(y))
        else:
            np.testing.assert_array_equal(y, m.render(x))
