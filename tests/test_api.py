"""The Python API: buffers, in-place processing, errors, copies, properties."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nam_rs
import numpy as np
import pytest
from conftest import FIXTURES

NANO = FIXTURES / "models" / "wavenet_nano.nam"
LSTM = FIXTURES / "models" / "lstm_1x8.nam"


@pytest.fixture()
def model() -> nam_rs.Model:
    return nam_rs.load(NANO)


@pytest.fixture()
def signal() -> np.ndarray:
    rng = np.random.default_rng(7)
    return (0.5 * rng.standard_normal(3000)).astype(np.float32)


def test_process_returns_new_array_and_leaves_input(model: nam_rs.Model, signal: np.ndarray) -> None:
    before = signal.copy()
    y = model.process(signal)
    assert y.dtype == np.float32 and y.shape == signal.shape
    assert not np.shares_memory(y, signal)
    assert np.array_equal(signal, before)


def test_in_place_shares_memory(model: nam_rs.Model, signal: np.ndarray) -> None:
    expected = model.copy().process(signal)
    buf = signal.copy()
    y = model.process(buf, out=buf)
    assert y is buf and np.shares_memory(y, buf)
    assert np.array_equal(buf, expected)


def test_out_array_and_call_alias(model: nam_rs.Model, signal: np.ndarray) -> None:
    expected = model.copy()(signal)
    out = np.zeros_like(signal)
    assert model.process(signal, out=out) is out
    assert np.array_equal(out, expected)


def test_streaming_equals_one_shot(model: nam_rs.Model, signal: np.ndarray) -> None:
    one_shot = model.copy().process(signal)
    parts = [model.process(signal[a:b]) for a, b in [(0, 1), (1, 700), (700, 701), (701, 3000)]]
    assert np.array_equal(np.concatenate(parts), one_shot)


def test_process_sample_matches_block(model: nam_rs.Model, signal: np.ndarray) -> None:
    block = model.copy().process(signal[:50])
    samples = np.array([model.process_sample(float(v)) for v in signal[:50]], dtype=np.float32)
    assert np.array_equal(samples, block)


def test_float64_and_strided_input_are_converted(model: nam_rs.Model, signal: np.ndarray) -> None:
    expected = model.copy().process(signal)
    assert np.array_equal(model.copy().process(signal.astype(np.float64)), expected)
    strided = np.repeat(signal, 2)[::2]
    assert not strided.flags.c_contiguous
    assert np.array_equal(model.copy().process(strided), expected)


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (np.zeros((2, 100), np.float32), ValueError, r"shape \(frames, 1\)"),  # (channels, frames) is refused
        (np.zeros((2, 3, 4), np.float32), ValueError, r"\(frames,\) or \(frames, channels\)"),
        (np.zeros(100, np.int16), TypeError, r"float32"),
        ([0.0, 1.0], TypeError, r"numpy.ndarray"),
    ],
)
def test_bad_input_is_refused(model: nam_rs.Model, bad: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        model.process(bad)  # type: ignore[arg-type]


def test_bad_out_is_refused(model: nam_rs.Model, signal: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"out has shape \[10\] but the output of x has shape \[3000\]"):
        model.process(signal, out=np.zeros(10, np.float32))
    with pytest.raises(TypeError, match="float32"):
        model.process(signal, out=np.zeros_like(signal, dtype=np.float64))
    readonly = signal.copy()
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        model.process(readonly, out=readonly)
    with pytest.raises(ValueError, match="C-contiguous"):
        model.process(signal[:100], out=np.zeros(200, np.float32)[::2])


def test_reset_restores_start_state(model: nam_rs.Model, signal: np.ndarray) -> None:
    first = model.process(signal)
    model.process(np.full(500, np.nan, np.float32))
    model.reset()
    assert np.array_equal(model.process(signal), first)


def test_copy_is_independent_and_fresh(signal: np.ndarray) -> None:
    for path in (NANO, LSTM):
        model = nam_rs.load(path)
        fresh = model.process(signal)
        clone = model.copy()  # a copy starts from the prewarmed state, not from the stream position
        assert np.array_equal(clone.process(signal), fresh)
        assert np.array_equal(copy.copy(model).process(signal), fresh)
        assert np.array_equal(copy.deepcopy(model).process(signal), fresh)
        # Driving the copy did not move the original.
        reference = nam_rs.load(path)
        reference.process(signal)
        assert np.array_equal(model.process(signal), reference.process(signal))


def test_render_leaves_stream_untouched(model: nam_rs.Model, signal: np.ndarray) -> None:
    twin = model.copy()
    model.process(signal[:100])
    twin.process(signal[:100])
    rendered = model.render(signal)
    assert np.array_equal(rendered, nam_rs.load(NANO).process(signal))
    assert np.array_equal(model.process(signal), twin.process(signal))


def test_properties() -> None:
    model = nam_rs.load(NANO)
    assert model.architecture == "WaveNet"
    assert model.version == "0.7.0"
    assert model.sample_rate == 48000.0
    assert model.num_input_channels == model.num_output_channels == 1
    assert model.prewarm_samples == model.receptive_field > 1
    assert isinstance(model.metadata, dict)
    assert "WaveNet" in repr(model) and "receptive field" in repr(model)
    lstm = nam_rs.load(LSTM)
    assert lstm.receptive_field == 1 and lstm.prewarm_samples == 24000
    nosr = nam_rs.load(FIXTURES / "models" / "lstm_1x8_nosr.nam")
    assert nosr.sample_rate is None and nosr.prewarm_samples == 64


def test_metadata_levels_and_loudness() -> None:
    doc = json.loads(NANO.read_text())
    doc["metadata"] = {"loudness": -20.5, "input_level_dbu": 18.3, "output_level_dbu": None, "name": "x"}
    model = nam_rs.loads(json.dumps(doc))
    assert model.loudness == -20.5 and model.input_level_dbu == 18.3 and model.output_level_dbu is None
    assert model.metadata["name"] == "x"


def test_loads_accepts_str_and_bytes() -> None:
    text = NANO.read_text()
    ones = np.ones(10, np.float32)
    assert np.array_equal(nam_rs.loads(text).process(ones), nam_rs.loads(text.encode()).process(ones))
    with pytest.raises(TypeError, match="str or bytes"):
        nam_rs.loads(123)  # type: ignore[arg-type]


def test_exception_hierarchy() -> None:
    assert issubclass(nam_rs.NamFormatError, nam_rs.NamError) and issubclass(nam_rs.NamFormatError, ValueError)
    assert issubclass(nam_rs.NamVersionError, nam_rs.NamError) and issubclass(nam_rs.NamVersionError, ValueError)
    assert issubclass(nam_rs.UnsupportedModelError, nam_rs.NamError)
    assert issubclass(nam_rs.NamError, Exception)


def test_errors_name_the_problem(tmp_path: Path) -> None:
    doc = json.loads(NANO.read_text())
    with pytest.raises(FileNotFoundError):
        nam_rs.load(tmp_path / "missing.nam")
    bad = tmp_path / "bad.nam"
    bad.write_text("{ not json")
    with pytest.raises(nam_rs.NamFormatError, match=r"bad\.nam.*invalid JSON"):
        nam_rs.load(bad)
    few = dict(doc, weights=doc["weights"][:-1])
    n = len(doc["weights"])
    with pytest.raises(nam_rs.NamFormatError, match=rf"exactly {n} weights, the file has {n - 1}"):
        nam_rs.loads(json.dumps(few))
    with pytest.raises(nam_rs.NamVersionError, match=r"0\.8\.0"):
        nam_rs.loads(json.dumps(dict(doc, version="0.8.0")))
    with pytest.raises(nam_rs.NamFormatError, match=r"config\.channels: required key is missing"):
        nam_rs.loads(json.dumps(dict(doc, architecture="ConvNet")))  # a WaveNet config read as a ConvNet
    layers = [dict(doc["config"]["layers"][0], channels=-3), *doc["config"]["layers"][1:]]
    expected = r"config\.layers\[0\]\.channels: expected a positive integer, got -3"
    with pytest.raises(nam_rs.NamFormatError, match=expected):
        nam_rs.loads(json.dumps(dict(doc, config=dict(doc["config"], layers=layers))))


def test_newer_patch_version_warns() -> None:
    doc = json.loads(NANO.read_text())
    with pytest.warns(nam_rs.NamVersionWarning, match="0.7.1"):
        nam_rs.loads(json.dumps(dict(doc, version="0.7.1")))


def test_limits_are_configurable() -> None:
    text = NANO.read_text()
    with pytest.raises(nam_rs.NamLimitError, match="number of weights"):
        nam_rs.loads(text, limits={"max_weights": 10})
    with pytest.raises(ValueError, match="unknown limit"):
        nam_rs.loads(text, limits={"max_bogus": 1})


def test_fast_tanh_option_changes_output_slightly(signal: np.ndarray) -> None:
    exact = nam_rs.load(NANO).process(signal)
    fast = nam_rs.load(NANO, fast_tanh=True).process(signal)
    assert not np.array_equal(exact, fast)
    assert np.abs(exact - fast).max() < 1e-2 * max(1.0, float(np.abs(exact).max()))


def test_overlapping_out_is_handled_like_a_copy(model: nam_rs.Model, signal: np.ndarray) -> None:
    expected = model.copy().process(signal[:1000])
    buf = np.zeros(1100, np.float32)
    buf[:1000] = signal[:1000]
    model.process(buf[:1000], out=buf[100:1100])  # out overlaps x, shifted by 100 samples
    assert np.array_equal(buf[100:1100], expected)


def test_in_place_call_allocates_nothing_on_the_python_heap(model: nam_rs.Model, signal: np.ndarray) -> None:
    import itertools
    import tracemalloc

    block = signal[:64].copy()
    model.process(block, out=block)  # warm up caches (method lookup, dtype objects)

    def measure(n: int) -> tuple[int, int]:
        calls = itertools.repeat(None, n)  # range() would allocate int objects
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()  # kept alive: its own size is part of the baseline
            tracemalloc.reset_peak()
            for _ in calls:
                model.process(block, out=block)
            current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return current - start[0], peak - current

    empty_retained, _ = measure(0)
    retained, temporary = measure(1000)
    assert retained == empty_retained, f"{retained - empty_retained} bytes retained over 1000 calls"
    assert temporary == 0, f"{temporary} bytes allocated temporarily by a call"


def _render_in_worker(model: nam_rs.Model, x: np.ndarray) -> np.ndarray:
    return model.process(x)


def test_pickle_round_trip_and_multiprocessing(signal: np.ndarray) -> None:
    import pickle
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    for path in (NANO, LSTM):
        model = nam_rs.load(path, gil_threshold=123)
        fresh = model.copy().process(signal)
        model.process(signal[:500])  # the streaming state is not pickled: unpickling gives a fresh model
        clone = pickle.loads(pickle.dumps(model))
        assert isinstance(clone, nam_rs.Model)
        assert clone.gil_threshold == 123 and clone.architecture == model.architecture
        assert np.array_equal(clone.process(signal), fresh)
    fast = nam_rs.load(NANO, fast_tanh=True)
    assert np.array_equal(pickle.loads(pickle.dumps(fast)).process(signal), fast.copy().process(signal))
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        remote = pool.submit(_render_in_worker, nam_rs.load(NANO), signal).result(timeout=120)
    assert np.array_equal(remote, nam_rs.load(NANO).process(signal))


def test_portable_kernels_agree_with_the_dispatched_ones(signal: np.ndarray) -> None:
    # The dispatched kernels may use FMA (one rounding per multiply-add instead of two), so they agree
    # with the portable ones to float rounding, not bit for bit (tests/block_split.rs checks the variants).
    for path in (NANO, LSTM):
        dispatched = nam_rs.load(path).process(signal)
        portable = nam_rs.load(path, portable_kernels=True)
        got = portable.process(signal)
        assert np.max(np.abs(got - dispatched)) <= 1e-6 * max(1.0, float(np.max(np.abs(dispatched))))
        assert np.array_equal(pickle_round_trip(portable).process(signal), got)  # the option survives pickling


def pickle_round_trip(model: nam_rs.Model) -> nam_rs.Model:
    import pickle

    clone: nam_rs.Model = pickle.loads(pickle.dumps(model))
    return clone
