"""Shared pytest fixtures: paths to the committed fixtures and the optional NAM Core reference set."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def reference_dir() -> Path | None:
    """``../shared/reference`` (or ``$NAM_RS_REFERENCE_DIR``): NAM Core's example models and renders."""
    env = os.environ.get("NAM_RS_REFERENCE_DIR")
    path = Path(env) if env else Path(__file__).parent.parent.parent / "shared" / "reference"
    return path if (path / "input.npy").exists() else None


def manifest() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())
    return entries


@pytest.fixture(scope="session")
def fixture_input() -> np.ndarray:
    return np.load(FIXTURES / "input.npy")


@pytest.fixture(scope="session")
def reference() -> Path:
    path = reference_dir()
    if path is None:
        pytest.skip("../shared/reference (NAM Core renders) not present; set NAM_RS_REFERENCE_DIR to run these")
    return path


def assert_parity(name: str, got: np.ndarray, expected: np.ndarray, relative: float = 1e-5) -> None:
    """The parity contract: max |Δ| ≤ relative · max(1, max |ref|), from sample 0."""
    assert got.shape == expected.shape, f"{name}: shape {got.shape} != {expected.shape}"
    err = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    tol = relative * max(1.0, float(np.abs(expected).max()))
    worst = int(err.argmax())
    assert err[worst] <= tol, f"{name}: max |Δ| {err[worst]:.3e} at sample {worst} > {tol:.1e}"
