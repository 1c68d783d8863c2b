"""``semantics="trainer"`` through the Python API, against the trainer's own forward pass
(``tests/fixtures/trainer_semantics``, made by ``make_trainer_semantics.py``), and the ``linear_implementation``
keyword."""

from __future__ import annotations

import json
import pickle
from typing import Any

import nam_rs
import numpy as np
import pytest
from conftest import FIXTURES, assert_parity

SEMANTICS_DIR = FIXTURES / "trainer_semantics"


def semantics_manifest() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((SEMANTICS_DIR / "manifest.json").read_text())
    return entries


def render_strided(model: nam_rs.Model, x: np.ndarray, stride: int) -> np.ndarray:
    out = np.empty_like(x)
    for start in range(0, len(x), 64):  # 64-frame blocks like a plugin host
        model.process(x[start : start + 64], out=out[start : start + 64])
    return out[::stride]


@pytest.mark.parametrize("entry", semantics_manifest(), ids=lambda e: str(e["name"]))
def test_trainer_semantics_match_the_trainer(entry: dict[str, Any], fixture_input: np.ndarray) -> None:
    model = nam_rs.load(SEMANTICS_DIR / entry["model"], semantics="trainer")
    assert model.semantics == "trainer"
    expected = np.load(SEMANTICS_DIR / entry["expected"])
    got = render_strided(model, fixture_input, entry["stride"])
    assert_parity(entry["name"], got, expected)
    # Pickling keeps the semantics (the copy is rebuilt from the source with the same options).
    clone = pickle.loads(pickle.dumps(model))
    assert clone.semantics == "trainer"
    assert np.array_equal(render_strided(clone, fixture_input, entry["stride"]), got)


@pytest.mark.parametrize("entry", semantics_manifest(), ids=lambda e: str(e["name"]))
def test_core_semantics_reject_or_differ(entry: dict[str, Any], fixture_input: np.ndarray) -> None:
    path = SEMANTICS_DIR / entry["model"]
    core = entry["core"]
    if core["kind"] == "rejects":
        with pytest.raises(nam_rs.NamFormatError) as info:
            nam_rs.load(path)
        if "contains" in core:  # a trainer-only activation: the message points at semantics="trainer"
            assert core["contains"] in str(info.value) and 'semantics="trainer"' in str(info.value)
        return
    model = nam_rs.load(path)
    assert model.semantics == "core"
    expected = np.load(SEMANTICS_DIR / entry["expected"])
    diff = float(np.max(np.abs(render_strided(model, fixture_input, entry["stride"]) - expected)))
    assert diff > 1e-3 * max(1.0, float(np.abs(expected).max())), f"{entry['name']}: only {diff} apart"


def test_loads_takes_the_same_keywords(fixture_input: np.ndarray) -> None:
    text = (SEMANTICS_DIR / "act_gelu.nam").read_text()
    model = nam_rs.loads(text, semantics="trainer")
    expected = np.load(SEMANTICS_DIR / "act_gelu.npy")
    assert_parity("act_gelu (loads)", render_strided(model, fixture_input, 2), expected)


@pytest.mark.parametrize("keyword", ["semantics", "linear_implementation"])
def test_bad_keyword_values_are_value_errors(keyword: str) -> None:
    path = FIXTURES / "models" / "linear_short.nam"
    bad: dict[str, Any] = {keyword: "plugin"}
    with pytest.raises(ValueError, match=keyword):
        nam_rs.load(path, **bad)
    bad[keyword] = "Trainer"  # names are case-sensitive, like the Literal types say
    with pytest.raises(ValueError, match=keyword):
        nam_rs.loads(path.read_text(), **bad)


def test_linear_implementation_direct_and_fft_agree(fixture_input: np.ndarray) -> None:
    path = FIXTURES / "models" / "linear_long.nam"  # 3000 taps: auto picks the partitioned FFT
    direct = nam_rs.load(path, linear_implementation="direct").process(fixture_input)
    fft = nam_rs.load(path, linear_implementation="fft").process(fixture_input)
    assert float(np.max(np.abs(direct - fft))) <= 1e-6
    # Both are NAM Core's filter (the committed expected output derives it independently).
    assert_parity("linear_long direct", direct, np.load(FIXTURES / "expected" / "linear_long.npy"))
    # The override survives pickling.
    clone = pickle.loads(pickle.dumps(nam_rs.load(path, linear_implementation="direct")))
    assert np.array_equal(clone.process(fixture_input), direct)
