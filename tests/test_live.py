"""nam_rs.live: the audio-callback path, driven by a simulated stream (no audio device).

The oracle is ``model.render`` (itself matched against the trainer and NAM Core elsewhere): a stream cut into
any blocks must give the render of the concatenated input, times the gains in force for each block.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import sys
import threading
import tracemalloc
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import nam_rs
import numpy as np
import pytest
from nam_rs.live import LiveProcessor

MODELS = Path(__file__).parent / "fixtures" / "models"
BLOCKS = (1, 3, 64, 256, 1000, 17, 0, 5000, 480, 128, 2048, 999)  # 5000 and 2048 exceed max_block below
MAX_BLOCK = 1024


def load(name: str) -> nam_rs.Model:
    return nam_rs.load(MODELS / f"{name}.nam")


def stream(x: np.ndarray, blocks: Sequence[int], channels: int = 2) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(indata, outdata) pairs as a duplex stream hands them to a callback; x goes to input channel 1."""
    start, i = 0, 0
    while start < len(x):
        n = min(blocks[i % len(blocks)], len(x) - start)
        indata = np.zeros((n, channels), dtype=np.float32)
        indata[:, 1] = x[start : start + n]
        indata[:, 0] = 0.5  # another channel with something else on it: must be ignored
        yield indata, np.full((n, channels), np.nan, dtype=np.float32)
        start, i = start + n, i + 1


def run(live: LiveProcessor, x: np.ndarray, blocks: Sequence[int]) -> np.ndarray:
    out = []
    for indata, outdata in stream(x, blocks):
        live.process_block(indata, outdata)
        np.testing.assert_array_equal(outdata[:, 0], outdata[:, 1])  # every output channel gets the signal
        out.append(outdata[:, 0].copy())
    return np.concatenate(out)


@pytest.fixture(scope="module")
def signal(fixture_input: np.ndarray) -> np.ndarray:
    return np.tile(fixture_input, 2)  # 16384 samples: pluck, sweep, noise, burst, impulse, twice


def test_stream_of_varying_blocks_equals_render(signal: np.ndarray) -> None:
    live = LiveProcessor(load("wavenet_nano"), max_block=MAX_BLOCK, input_channel=1)
    got = run(live, signal, BLOCKS)
    np.testing.assert_array_equal(got, load("wavenet_nano").render(signal))
    assert (live.frames, live.xruns) == (len(signal), 0)
    assert live.blocks == sum(1 for _ in stream(signal, BLOCKS))


def test_gains_apply_from_the_next_block_set_from_another_thread(signal: np.ndarray) -> None:
    live = LiveProcessor(load("wavenet_nano"), max_block=MAX_BLOCK, input_channel=1, input_gain_db=-6.0)
    blocks = list(stream(signal, [512]))
    schedule = {0: (-6.0, 0.0), 10: (6.0, -12.0), 20: (0.0, 3.5)}  # block index -> gains set before it
    in_gain = np.empty(len(signal), dtype=np.float32)
    out_gain = np.empty(len(signal), dtype=np.float32)
    got = []
    gains = schedule[0]
    for k, (indata, outdata) in enumerate(blocks):
        if k in schedule:
            gains = schedule[k]
            setter = threading.Thread(target=lambda g=gains: _set_gains(live, *g))
            setter.start()
            setter.join()
        in_gain[k * 512 : (k + 1) * 512] = 10 ** (gains[0] / 20)
        out_gain[k * 512 : (k + 1) * 512] = 10 ** (gains[1] / 20)
        live.process_block(indata, outdata)
        got.append(outdata[:, 0].copy())
    expected = load("wavenet_nano").render(signal * in_gain) * out_gain
    np.testing.assert_allclose(np.concatenate(got), expected, rtol=1e-6, atol=1e-7)
    assert (live.input_gain_db, live.output_gain_db) == (0.0, 3.5)


def _set_gains(live: LiveProcessor, input_db: float, output_db: float) -> None:
    live.input_gain_db = input_db
    live.output_gain_db = output_db


def test_xruns_counted_from_the_status_flag() -> None:
    live = LiveProcessor(load("lstm_1x8"), max_block=64)
    indata, outdata = np.zeros((64, 1), np.float32), np.zeros((64, 1), np.float32)
    for status in (None, 0, 1, None, 4):  # sounddevice.CallbackFlags is truthy when any flag is set
        live.callback(indata, outdata, 64, None, status)
    assert (live.blocks, live.xruns, live.frames) == (5, 2, 320)


@pytest.mark.parametrize("fade", [2000, 0])
def test_swap_crossfades_continuously_and_lands_on_the_new_model(fade: int) -> None:
    # A steady 110 Hz tone: smooth, so a click stands out; the two models shape it differently.
    signal = (0.5 * np.sin(2 * np.pi * 110.0 / 48_000 * np.arange(12_000))).astype(np.float32)
    old, new = load("wavenet_nano"), load("lstm_1x8")
    live = LiveProcessor(old.copy(), max_block=MAX_BLOCK, input_channel=1)
    swap_at = 4096  # a block boundary
    head = run(live, signal[:swap_at], [256])
    loader = threading.Thread(target=lambda: live.swap(load("lstm_1x8"), crossfade_samples=fade))
    loader.start()
    loader.join()
    assert live.swapping
    tail = run(live, signal[swap_at:], [100, 37, 700])
    got = np.concatenate([head, tail]).astype(np.float64)
    assert not live.swapping and live.swaps == 1

    old_out = old.render(signal).astype(np.float64)
    new_out = new.render(signal[swap_at:]).astype(np.float64)  # the new model starts, prewarmed, at the swap
    np.testing.assert_array_equal(got[:swap_at], old_out[:swap_at])
    np.testing.assert_array_equal(got[swap_at + fade :], new_out[fade:])  # exactly the new model after the fade

    span = max(fade, 200)
    a, b = old_out[swap_at : swap_at + span], new_out[:span]
    weight = 0.5 - 0.5 * np.cos(np.pi * np.minimum(np.arange(1, span + 1), fade) / fade) if fade else np.ones(span)
    np.testing.assert_allclose(got[swap_at : swap_at + span], a + weight * (b - a), atol=1e-6)
    # No click: each output step is a blend of the two models' own steps, plus the weight's change (at most
    # pi/(2 fade) per sample) times their difference.
    steps = np.abs(np.diff(got[swap_at - 1 : swap_at + span]))
    own_step = max(np.abs(np.diff(old_out[swap_at - 1 : swap_at + span])).max(), np.abs(np.diff(b)).max())
    allowed = own_step + (math.pi / (2 * fade) * np.abs(b - a).max() if fade else 0.0) + 1e-6
    if fade:
        assert steps.max() <= allowed, (steps.max(), allowed)
    else:  # a hard switch clicks: a step several times the largest the old model made before it
        assert steps[0] > 3 * np.abs(np.diff(old_out[swap_at - 200 : swap_at])).max()


def test_swap_is_picked_up_once_and_a_later_swap_waits_for_the_fade(signal: np.ndarray) -> None:
    live = LiveProcessor(load("wavenet_nano"), max_block=MAX_BLOCK, input_channel=1, crossfade_samples=1000)
    first, second = load("lstm_1x8"), load("lstm_2x8")
    live.swap(first)
    run(live, signal[:500], [500])  # fade half done
    live.swap(second)
    assert live.model is first
    run(live, signal[500:1000], [500])  # first fade ends at this block's end
    assert live.model is first and live.swapping
    run(live, signal[1000:1001], [1])  # the pending swap starts at the next block
    assert live.model is second and live.swaps == 2


def test_swap_refuses_another_sample_rate_and_bad_arguments() -> None:
    live = LiveProcessor(load("wavenet_nano"), max_block=64)
    model = json.loads((MODELS / "lstm_1x8.nam").read_text())
    model["sample_rate"] = 44_100
    with pytest.raises(ValueError, match="44100 Hz"):
        live.swap(nam_rs.loads(json.dumps(model)))
    with pytest.raises(ValueError, match="different Model"):
        live.swap(live.model)
    with pytest.raises(ValueError, match="crossfade_samples"):
        live.swap(load("lstm_1x8"), crossfade_samples=-1)
    with pytest.raises(ValueError, match="finite"):
        live.output_gain_db = math.inf
    with pytest.raises(ValueError, match="max_block"):
        LiveProcessor(load("lstm_1x8"), max_block=0)


def test_callbacks_do_not_allocate(signal: np.ndarray) -> None:
    """Steady state, a crossfade included: no memory growth and no array-sized temporaries."""
    live = LiveProcessor(load("wavenet_nano"), max_block=4096, input_channel=1, crossfade_samples=6000)
    blocks = list(stream(np.tile(signal, 3), [4096, 2000, 1, 3000]))
    live.swap(load("lstm_2x8"))
    for indata, outdata in blocks[:4]:  # warm-up, a crossfade included: first-call caches (numpy ufunc dispatch)
        live.process_block(indata, outdata)
    assert not live.swapping
    live.swap(load("lstm_1x8"))
    live.collect()
    tracemalloc.start()
    try:
        # One traced callback first: the counters' current int objects then count as traced, so replacing them
        # later nets zero instead of showing up as growth.
        live.process_block(*blocks[4])
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(3):
            for indata, outdata in blocks[5:]:
                live.process_block(indata, outdata, None)
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert live.swaps == 2 and not live.swapping
    assert after - before <= 0, f"{after - before} bytes kept across {3 * len(blocks[5:])} callbacks"
    # Only small objects (array views, ints) come and go: any float32 temporary of a 2000-sample or larger
    # block would be 8 KB or more.
    assert peak - before < 4096, f"peak {peak - before} bytes above the steady state"


class FakeStream:
    """Stands in for sounddevice.Stream: runs the callback for a few blocks on entry and on exit."""

    latency = (0.004, 0.006)
    cpu_load = 0.25

    def __init__(self, *, callback: Callable[..., None], channels: tuple[int, int], blocksize: int, **_: object):
        self._callback, self._channels, self._blocksize = callback, channels, blocksize
        self.outputs: list[np.ndarray] = []

    def _run(self, blocks: int) -> None:
        rng = np.random.default_rng(len(self.outputs))
        for _ in range(blocks):
            indata = rng.normal(0.0, 0.1, (self._blocksize, self._channels[0])).astype(np.float32)
            outdata = np.zeros((self._blocksize, self._channels[1]), dtype=np.float32)
            self._callback(indata, outdata, self._blocksize, None, None)
            self.outputs.append(outdata)

    def __enter__(self) -> FakeStream:
        self._run(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._run(10)


@pytest.mark.parametrize(
    ("extra", "expected"), [([], "Hz; latency"), (["--host-rate", "44100"], "at 44100 Hz (resample from 48000 Hz)")]
)
def test_live_amp_example_runs_against_a_simulated_device(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    streams: list[FakeStream] = []
    fake = types.ModuleType("sounddevice")
    fake.Stream = lambda **kw: streams.append(FakeStream(**kw)) or streams[-1]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"in -6\nout 3\ns\nload {MODELS / 'lstm_1x8.nam'}\nq\n"))
    spec = importlib.util.spec_from_file_location("live_amp", Path(__file__).parents[1] / "examples" / "live_amp.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(["--blocksize", "64", "--input-channel", "1", "--status-every", "0", *extra]) == 0
    printed = capsys.readouterr().out
    assert "latency in 4.0 ms + out 6.0 ms" in printed and "gains -6/+3 dB" in printed and expected in printed
    assert "stopped: 20 blocks, 1280 frames, 0 xruns, 1 swaps" in printed
    (stream,) = streams
    assert all(np.isfinite(out).all() and np.array_equal(out[:, 0], out[:, 1]) for out in stream.outputs)
