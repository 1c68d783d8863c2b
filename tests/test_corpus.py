"""The malformed-file corpus through the Python API: ``nam_rs.load`` must raise the class that
``tests/corpus/expected.json`` records, with a message holding the field and the expected/actual
values (or load, for files NAM Core accepts), within bounded time and memory."""

from __future__ import annotations

import json
import resource
import time
import warnings
from pathlib import Path
from typing import Any

import nam_rs
import numpy as np
import pytest

CORPUS = Path(__file__).parent / "corpus"
CASES: list[dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
MAX_SECONDS_PER_CASE = 2.0


def case_path(case: dict[str, Any], tmp_path: Path) -> Path:
    """The committed file, or the big one built here (100 MB of whitespace, a sparse 300 MB file)."""
    spec = case.get("generate")
    if spec is None:
        return CORPUS / case["file"]
    path = tmp_path / f"{case['name']}.nam"
    if "whitespace" in spec:
        with path.open("wb") as f:
            f.write(b" " * spec["whitespace"])
            if "then" in spec:
                f.write((CORPUS / spec["then"]).read_bytes())
    else:
        with path.open("wb") as f:
            f.truncate(spec["sparse"])
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_case(case: dict[str, Any], tmp_path: Path) -> None:
    path = case_path(case, tmp_path)
    limits = case.get("limits")
    start = time.perf_counter()
    if case["outcome"] == "loads":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = nam_rs.load(path, limits=limits)
        elapsed = time.perf_counter() - start
        messages = [str(w.message) for w in caught]
        assert all(w.category is nam_rs.NamVersionWarning for w in caught), messages
        assert len(messages) == len(case["warnings"]), messages
        for text, expected in zip(messages, case["warnings"], strict=True):
            assert expected in text
        y = model.process(np.array([0.0, 0.25, -0.5, 1.0, 0.0], dtype=np.float32))
        assert np.isfinite(y).all(), y
    else:
        expected_class = getattr(nam_rs, case["python"])
        with pytest.raises(nam_rs.NamError) as info:
            nam_rs.load(path, limits=limits)
        elapsed = time.perf_counter() - start
        assert type(info.value) is expected_class, f"{type(info.value).__name__}: {info.value}"
        message = str(info.value)
        assert "\n" not in message, "one-line messages"
        missing = [s for s in case["contains"] if s not in message]
        assert not missing, f"message lacks {missing}: {message}"
    assert elapsed < MAX_SECONDS_PER_CASE, f"took {elapsed:.2f} s"


def test_hundred_megabytes_of_whitespace_keeps_memory_bounded(tmp_path: Path) -> None:
    """Peak memory grows by at most a few times the file size (read once, parsed in place)."""
    case = next(c for c in CASES if c["name"] == "whitespace_100mb")
    path = case_path(case, tmp_path)
    before = peak_rss_mb()
    with pytest.raises(nam_rs.NamFormatError, match="EOF"):
        nam_rs.load(path)
    assert peak_rss_mb() - before < 3 * 100, f"peak RSS grew from {before:.0f} MB to {peak_rss_mb():.0f} MB"


def test_corpus_has_the_cases_the_issue_asks_for() -> None:
    assert len(CASES) >= 60
    names = {c["name"] for c in CASES}
    for required in [
        "version_0_4_9",
        "version_0_8_0",
        "version_1_0_0",
        "version_0_5",
        "version_abc",
        "json_bom",
        "whitespace_100mb",
        "json_deep_arrays",
        "container_empty",
        "container_unsorted",
        "slimmable_allowed_above_channels",
        "condition_dsp_depth_6",
        "condition_dsp_sample_rate_mismatch",
        "duplicate_key_last_valid",
    ]:
        assert required in names
