"""nam-rs against NAM Core renders made locally (``tests/fixtures/core``, see its README): Core's fast tanh, the
ConvNet and Linear fixtures, multi-channel models through the 2-D ``(frames, channels)`` API, condition_dsps of
every architecture and a slimmable WaveNet at each width.

Each manifest entry names the model, the input, whether Core ran with ``enable_fast_tanh()``, the slimmable size it
set (if any), and the tolerance; the input goes through ``model.process`` in 64-frame blocks, as Core rendered it.
Entries that need ``../shared/reference`` are skipped, with the reason, when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nam_rs
import numpy as np
import pytest
from conftest import FIXTURES, assert_parity, reference_dir

CORE = FIXTURES / "core"
BLOCK = 64
MANIFEST: dict[str, Any] = json.loads((CORE / "manifest.json").read_text())
RENDERS: list[dict[str, Any]] = MANIFEST["renders"]


def source(name: str) -> Path:
    """The folder a manifest source name refers to (skips the test when ``reference`` is absent)."""
    if name == "reference":
        path = reference_dir()
        if path is None:
            pytest.skip("../shared/reference (NAM Core example models) not present; set NAM_RS_REFERENCE_DIR")
        return path
    return {"fixtures": FIXTURES, "core": CORE}[name]


def input_of(entry: dict[str, Any]) -> np.ndarray:
    file = "input_2ch.npy" if entry["input"] == "core" else "input.npy"
    x: np.ndarray = np.load(source(entry["input"]) / file)[: entry["frames"]]
    return np.ascontiguousarray(x, dtype=np.float32)


def render_in_blocks(model: nam_rs.Model, x: np.ndarray) -> np.ndarray:
    return np.concatenate([model.process(x[start : start + BLOCK]) for start in range(0, len(x), BLOCK)])


@pytest.mark.parametrize("entry", RENDERS, ids=[e["name"] for e in RENDERS])
def test_matches_core_render(entry: dict[str, Any]) -> None:
    model = nam_rs.load(source(entry["model_dir"]) / entry["model"], fast_tanh=entry["fast_tanh"])
    if "slimmable_size" in entry:
        model.slimmable_size = entry["slimmable_size"]
    expected = np.load(CORE / entry["output"])
    got = render_in_blocks(model, input_of(entry))
    assert got.shape == expected.shape == tuple(entry["shape"])
    if got.ndim == 1:
        assert_parity(entry["name"], got, expected, entry["tolerance"])
    for c in range(got.shape[1] if got.ndim == 2 else 0):
        assert_parity(f"{entry['name']} output {c}", got[:, c], expected[:, c], entry["tolerance"])


@pytest.mark.parametrize("entry", [e for e in RENDERS if e["fast_tanh"]], ids=lambda e: e["name"])
def test_exact_tanh_is_far_from_the_fast_tanh_render(entry: dict[str, Any]) -> None:
    """Without the flag nam-rs must miss these renders by far: the parity above really tests ``fast_tanh``."""
    model = nam_rs.load(source(entry["model_dir"]) / entry["model"])
    expected = np.load(CORE / entry["output"])
    worst = float(np.abs(model.render(input_of(entry)) - expected).max())
    assert worst > 10 * entry["tolerance"], f"exact tanh is only {worst:.2e} from Core's fast-tanh render"


def test_multichannel_inputs_matter() -> None:
    """Channel 1 of the 2-channel input changes every output Core computes from it, so swapping or dropping an
    input channel cannot pass unnoticed (Core's Linear only filters input c into output c < min(in, out))."""
    x = np.load(CORE / "input_2ch.npy")
    swapped = np.ascontiguousarray(x[:, ::-1])
    for entry in (e for e in RENDERS if e["input"] == "core"):
        expected = np.load(CORE / entry["output"])
        y = nam_rs.load(CORE / entry["model"]).render(swapped)
        assert float(np.abs(y - expected).max()) > 1e-2, entry["name"]


def test_manifest_lists_every_committed_render() -> None:
    on_disk = {p.name for p in (CORE / "outputs").glob("*.npy")}
    assert on_disk == {Path(e["output"]).name for e in RENDERS}
    assert sum(p.stat().st_size for p in CORE.rglob("*") if p.is_file()) < 1_500_000
