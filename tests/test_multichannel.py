"""Multi-channel models through the 2-D ``(frames, channels)`` API.

Oracles: mono trainer fixtures widened by editing their weights so that the extra input channel has zero weights and
the extra outputs are scaled copies of the first (so each output must equal a committed trainer render times a known
gain), and NAM Core's Linear formula (``np.convolve``) per channel.
"""

from __future__ import annotations

import json
from typing import Any

import nam_rs
import numpy as np
import pytest
from conftest import FIXTURES, assert_parity

Json = dict[str, Any]
GAINS = (1.0, -0.5)  # output c = GAINS[c] x the mono model's output


def fixture(name: str) -> tuple[Json, np.ndarray]:
    model: Json = json.loads((FIXTURES / "models" / f"{name}.nam").read_text())
    return model, np.load(FIXTURES / "expected" / f"{name}.npy")


def widen_lstm(model: Json) -> Json:
    """LSTM with in_channels = input_size = 2 (zero weights on input 2) and 2 outputs (scaled heads)."""
    cfg, w = model["config"], list(model["weights"])
    h, layers = cfg["hidden_size"], cfg["num_layers"]
    out: list[float] = []
    pos = 0
    for layer in range(layers):
        cols = (1 if layer == 0 else h) + h
        mat = np.asarray(w[pos : pos + 4 * h * cols]).reshape(4 * h, cols)
        pos += 4 * h * cols
        if layer == 0:
            mat = np.concatenate([mat[:, :1], np.zeros((4 * h, 1)), mat[:, 1:]], axis=1)
        out += mat.ravel().tolist() + w[pos : pos + 6 * h]  # bias, h0, c0
        pos += 6 * h
    head, bias = np.asarray(w[pos : pos + h]), w[pos + h]
    out += np.concatenate([g * head for g in GAINS]).tolist() + [g * bias for g in GAINS]
    return {**model, "config": {**cfg, "input_size": 2, "in_channels": 2, "out_channels": 2}, "weights": out}


def widen_convnet(model: Json) -> Json:
    """ConvNet with 2 inputs (zero weights on input 2) and 2 outputs (scaled heads); no batchnorm."""
    cfg, w = model["config"], list(model["weights"])
    assert not cfg["batchnorm"]
    c = cfg["channels"]
    first = np.asarray(w[: c * 2]).reshape(c, 1, 2)  # block 0: [out][in=1][k=2], then c biases
    widened = np.concatenate([first, np.zeros((c, 1, 2))], axis=1)
    rest = w[c * 2 : len(w) - c - 1]
    head, bias = np.asarray(w[len(w) - c - 1 : len(w) - 1]), w[-1]
    out = (
        widened.ravel().tolist() + rest + np.concatenate([g * head for g in GAINS]).tolist() + [g * bias for g in GAINS]
    )
    return {**model, "config": {**cfg, "in_channels": 2, "out_channels": 2}, "weights": out}


def stereo(x: np.ndarray) -> np.ndarray:
    """The fixture input on channel 0 and something unrelated on channel 1 (which the widened models ignore)."""
    return np.stack([x, np.sin(np.arange(len(x), dtype=np.float32) * 0.3)], axis=1).astype(np.float32)


@pytest.mark.parametrize(("name", "widen"), [("lstm_1x8", widen_lstm), ("convnet_plain", widen_convnet)])
def test_widened_models_match_the_mono_reference(name: str, widen: Any, fixture_input: np.ndarray) -> None:
    mono, expected = fixture(name)
    model = nam_rs.loads(json.dumps(widen(mono)))
    assert (model.num_input_channels, model.num_output_channels) == (2, 2)
    x = stereo(fixture_input)
    y = model.process(x)
    assert y.shape == (len(x), 2) and y.dtype == np.float32
    for c, gain in enumerate(GAINS):
        assert_parity(f"{name} out {c}", y[:, c], (gain * expected.astype(np.float64)).astype(np.float32))
    # render, in place, and any block split agree bit for bit.
    np.testing.assert_array_equal(model.render(x), y)
    model.reset()
    buf = x.copy()
    for start in range(0, len(buf), 1000):
        model.process(buf[start : start + 1000], out=buf[start : start + 1000])
    np.testing.assert_array_equal(buf, y)


def test_linear_with_more_outputs_than_inputs(fixture_input: np.ndarray) -> None:
    taps = np.array([0.5, -0.25, 0.125, 0.0625], dtype=np.float32)
    model = nam_rs.loads(
        json.dumps(
            {
                "version": "0.5.4",
                "architecture": "Linear",
                "config": {"receptive_field": 4, "bias": False, "in_channels": 2, "out_channels": 3},
                "weights": taps.tolist(),
            }
        )
    )
    x = stereo(fixture_input)
    y = model.process(x)
    assert y.shape == (len(x), 3)
    for c in range(2):  # NAM Core: the taps run on the first min(in, out) channels, w[0] on the newest sample
        want = np.convolve(x[:, c].astype(np.float64), taps.astype(np.float64))[: len(x)]
        assert_parity(f"linear channel {c}", y[:, c], want.astype(np.float32))
    assert not y[:, 2].any()
    # Different channel counts: out may not share memory with x.
    n = len(x)
    memory = np.zeros(6 * n, np.float32)
    with pytest.raises(ValueError, match="overlaps"):
        model.process(memory[: 2 * n].reshape(n, 2), out=memory[n : 4 * n].reshape(n, 3))


def test_shapes_are_checked() -> None:
    mono, _ = fixture("lstm_1x8")
    stereo_model = nam_rs.loads(json.dumps(widen_lstm(mono)))
    mono_model = nam_rs.loads(json.dumps(mono))
    with pytest.raises(ValueError, match=r"shape \(frames, 2\)"):
        stereo_model.process(np.zeros(16, np.float32))
    with pytest.raises(ValueError, match=r"\(frames, 2\)"):
        stereo_model.process(np.zeros((16, 3), np.float32))
    with pytest.raises(ValueError, match="out has shape"):
        stereo_model.process(np.zeros((16, 2), np.float32), out=np.zeros((16, 1), np.float32))
    with pytest.raises(ValueError, match="mono"):
        stereo_model.process_sample(0.0)
    # A mono model takes (n,) or (n, 1).
    x = np.linspace(-0.5, 0.5, 64, dtype=np.float32)
    np.testing.assert_array_equal(mono_model.render(x[:, None])[:, 0], mono_model.render(x))
