"""Property tests of ``Model.process`` on hostile buffers: random shapes, dtypes, strides, byte
orders, alignment, read-only arrays and block splits. The oracle for every accepted buffer is the
same model processing a plain float32 C-contiguous copy (``render``); everything else must be a
clear ``TypeError``/``ValueError``, never a crash or a silently wrong result. Deterministic
(``derandomize``) and a few seconds long."""

from __future__ import annotations

import itertools
from typing import Any

import nam_rs
import numpy as np
import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

WAVENET = nam_rs.load(FIXTURES / "models" / "wavenet_head_k3.nam")
LSTM = nam_rs.load(FIXTURES / "models" / "lstm_1x8.nam")

PROPERTY = settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Finite audio-range samples (the NaN/Inf policy is tested elsewhere); float32-exact.
samples = st.floats(-2.0, 2.0, width=32, allow_nan=False)
signals = hnp.arrays(np.float32, st.integers(0, 700), elements=samples)


def oracle(model: nam_rs.Model, x: np.ndarray) -> np.ndarray:
    """The output for a plain float32 C-contiguous copy of ``x``, from the prewarmed start."""
    return model.render(np.ascontiguousarray(x, dtype=np.float32))


def assert_bits_equal(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))


@PROPERTY
@given(x=signals, cuts=st.lists(st.integers(0, 700), max_size=8), which=st.sampled_from(["wavenet", "lstm"]))
def test_any_block_split_equals_one_shot_render(x: np.ndarray, cuts: list[int], which: str) -> None:
    model = (WAVENET if which == "wavenet" else LSTM).copy()
    bounds = sorted({0, len(x), *(c for c in cuts if c <= len(x))})
    pieces = [model.process(x[a:b]) for a, b in itertools.pairwise(bounds)]
    streamed = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    assert_bits_equal(streamed, oracle(model, x))


@PROPERTY
@given(x=signals, cut=st.integers(0, 700))
def test_in_place_split_equals_render(x: np.ndarray, cut: int) -> None:
    model = WAVENET.copy()
    expected = oracle(model, x)
    buf = x.copy()
    cut = min(cut, len(buf))
    model.process(buf[:cut], out=buf[:cut])
    model.process(buf[cut:], out=buf[cut:])
    assert_bits_equal(buf, expected)


@PROPERTY
@given(
    x=hnp.arrays(
        st.sampled_from([np.dtype("<f8"), np.dtype(">f8"), np.dtype("<f2"), np.dtype(">f4"), np.dtype("<f4")]),
        st.integers(0, 300),
        elements=st.floats(-2.0, 2.0, width=16),
    )
)
def test_other_float_dtypes_are_converted_to_float32(x: np.ndarray) -> None:
    """float64, float16 and big-endian float32 are processed as their float32 conversion."""
    model = WAVENET.copy()
    assert_bits_equal(model.process(x), oracle(model, x))


@PROPERTY
@given(
    x=hnp.arrays(
        st.sampled_from([np.int16, np.int32, np.uint8, np.bool_, np.complex64, np.int64]),
        st.integers(0, 50),
    )
)
def test_non_float_dtypes_are_a_type_error(x: np.ndarray) -> None:
    """Integer PCM needs an explicit scale (x / 32768), so it is refused, not guessed."""
    with pytest.raises(TypeError, match="float32"):
        WAVENET.copy().process(x)


@PROPERTY
@given(x=signals, step=st.integers(-4, 4).filter(lambda s: s != 0), start=st.integers(0, 3))
def test_strided_and_reversed_views_equal_their_contiguous_copy(x: np.ndarray, step: int, start: int) -> None:
    view = x[start::step]
    model = WAVENET.copy()
    assert_bits_equal(model.process(view), oracle(model, view))


@PROPERTY
@given(x=signals, offset=st.integers(1, 3))
def test_unaligned_float32_input_equals_aligned(x: np.ndarray, offset: int) -> None:
    raw = bytearray(offset) + x.tobytes()
    unaligned = np.frombuffer(bytes(raw), dtype=np.float32, offset=offset)  # read-only, misaligned
    model = WAVENET.copy()
    assert_bits_equal(model.process(unaligned), oracle(model, x))


@PROPERTY
@given(x=signals)
def test_read_only_input_is_fine_and_unchanged(x: np.ndarray) -> None:
    frozen = x.copy()
    frozen.flags.writeable = False
    model = WAVENET.copy()
    assert_bits_equal(model.process(frozen), oracle(model, x))
    assert np.array_equal(frozen, x)


@PROPERTY
@given(x=signals.filter(lambda a: len(a) > 0))
def test_read_only_out_is_a_value_error_and_leaves_state(x: np.ndarray) -> None:
    model = WAVENET.copy()
    out = np.zeros_like(x)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        model.process(x, out=out)
    assert_bits_equal(model.process(x), oracle(model, x))  # the refused call changed nothing


@PROPERTY
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4).filter(lambda s: len(s) not in (1, 2)))
def test_zero_and_high_dimensional_arrays_are_a_value_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="shape"):
        WAVENET.copy().process(np.zeros(shape, np.float32))


@PROPERTY
@given(frames=st.integers(0, 20), channels=st.integers(2, 5))
def test_wrong_channel_count_is_a_value_error(frames: int, channels: int) -> None:
    with pytest.raises(ValueError, match="shape"):
        WAVENET.copy().process(np.zeros((frames, channels), np.float32))


@pytest.mark.parametrize("value", [[0.1, 0.2], (0.1,), 0.5, "0.1", None, b"\x00\x00\x00\x00"])
def test_non_arrays_are_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match=r"numpy\.ndarray"):
        WAVENET.copy().process(value)


@PROPERTY
@given(n=st.integers(0, 300), wrong=st.integers(-3, 3).filter(lambda d: d != 0))
def test_out_of_another_length_is_a_value_error(n: int, wrong: int) -> None:
    out = np.zeros(max(0, n + wrong), np.float32)
    if len(out) == n:
        return
    with pytest.raises(ValueError):
        WAVENET.copy().process(np.zeros(n, np.float32), out=out)


@PROPERTY
@given(
    out_dtype=st.sampled_from([np.float64, np.float16, np.int16]),
    n=st.integers(1, 50),
)
def test_out_of_another_dtype_is_a_type_error(out_dtype: Any, n: int) -> None:
    with pytest.raises(TypeError, match="float32"):
        WAVENET.copy().process(np.zeros(n, np.float32), out=np.zeros(n, out_dtype))


@PROPERTY
@given(x=signals.filter(lambda a: len(a) > 1))
def test_non_contiguous_out_is_a_value_error(x: np.ndarray) -> None:
    out = np.zeros(2 * len(x), np.float32)[::2]
    with pytest.raises(ValueError, match="contiguous"):
        WAVENET.copy().process(x, out=out)
