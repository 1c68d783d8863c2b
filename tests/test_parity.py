"""Parity of the Python API with the oracles: the PyTorch trainer (committed fixtures) and NAM Core
(renders in ../shared/reference)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nam_rs
import numpy as np
import pytest
from conftest import FIXTURES, assert_parity, manifest


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: str(e["name"]))
def test_trainer_fixture(entry: dict[str, Any], fixture_input: np.ndarray) -> None:
    model = nam_rs.load(FIXTURES / entry["model"])
    expected = np.load(FIXTURES / entry["expected"])
    out = np.empty_like(fixture_input)
    # 64-frame blocks like a plugin host; block size must not matter.
    for start in range(0, len(fixture_input), 64):
        model.process(fixture_input[start : start + 64], out=out[start : start + 64])
    assert_parity(entry["name"], out, expected)
    # The offline path and the in-place path give the same numbers.
    assert np.array_equal(model.render(fixture_input), out)
    if entry["architecture"] == "WaveNet":
        assert model.receptive_field == entry["receptive_field"]
    if entry.get("prewarm_zeros") is not None:
        assert model.prewarm_samples == entry["prewarm_zeros"]


# Tolerances as in tests/reference.rs: the trained A1 standard model's float32 noise floor is above 1e-5.
CORE_MODELS = [
    ("lstm", 1e-5),
    ("wavenet", 1e-5),
    ("wavenet_a1_standard", 5e-5),
    ("my_model", 5e-5),
    ("wavenet_a2_max", 1e-5),
    ("wavenet_condition_dsp", 1e-5),
]


@pytest.mark.parametrize(("name", "relative"), CORE_MODELS)
def test_nam_core_render(name: str, relative: float, reference: Path) -> None:
    x = np.load(reference / "input.npy")
    model = nam_rs.load(reference / "models" / f"{name}.nam")
    y = x.copy()
    model.process(y, out=y)
    assert_parity(name, y, np.load(reference / "outputs" / f"{name}.core.npy"), relative)


@pytest.mark.parametrize(
    ("render", "size"), [("slimmable_wavenet.c1", 1 / 6), ("slimmable_wavenet.c2", 0.5), ("slimmable_wavenet", 5 / 6)]
)
def test_nam_core_slimmable_wavenet_widths(render: str, size: float, reference: Path) -> None:
    x = np.load(reference / "input.npy")
    model = nam_rs.load(reference / "models" / "slimmable_wavenet.nam")
    assert model.architecture == "WaveNet" and model.slimmable_breakpoints == pytest.approx([1 / 3, 2 / 3])
    model.slimmable_size = size
    assert_parity(render, model.process(x), np.load(reference / "outputs" / f"{render}.core.npy"))


@pytest.mark.parametrize(("name", "sizes"), [("A2", [0.25, 0.75]), ("slimmable_container", [0.165, 0.495, 0.83])])
def test_nam_core_container_rows(name: str, sizes: list[float], reference: Path) -> None:
    x = np.load(reference / "input.npy")
    expected = np.load(reference / "outputs" / f"{name}.core.npy")
    for row, size in enumerate(sizes):
        model = nam_rs.load(reference / "models" / f"{name}.nam")
        assert model.architecture == "SlimmableContainer"
        assert model.slimmable_size == 1.0 and len(model.slimmable_breakpoints) == len(sizes) - 1
        model.slimmable_size = size
        assert_parity(f"{name}[{row}]", model.process(x), expected[row])


def test_slimmable_size_on_a_plain_model_is_refused() -> None:
    model = nam_rs.load(FIXTURES / "models" / "wavenet_nano.nam")
    assert model.slimmable_size is None and model.slimmable_breakpoints == []
    with pytest.raises(nam_rs.UnsupportedModelError, match="not slimmable"):
        model.slimmable_size = 0.5
