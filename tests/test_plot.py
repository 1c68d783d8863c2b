"""nam_rs.plot.summary: a valid PNG with the three panels, whose data match independent measurements."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import nam_rs
import numpy as np
import pytest
from nam_rs import demo

pytest.importorskip("matplotlib", reason="nam_rs.plot needs the [plot] extra (matplotlib)")

from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from matplotlib.image import imread
from nam_rs import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def panel(fig: Figure, label: str) -> Axes:
    """The axes whose title starts with ``label`` ("(a)", "(b)" or "(c)")."""
    (ax,) = [ax for ax in fig.axes if ax.get_title(loc="left").startswith(label)]
    return ax


@pytest.fixture(scope="module")
def figure(tmp_path_factory: pytest.TempPathFactory) -> tuple[Figure, Path]:
    path = tmp_path_factory.mktemp("plot") / "report.png"
    return plot.summary(demo.model_path(), path), path


def test_writes_a_png_of_the_figure(figure: tuple[Figure, Path]) -> None:
    fig, path = figure
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    width, height = (fig.get_size_inches() * fig.dpi).round().astype(int)
    assert imread(path).shape[:2] == (height, width) == (900, 1200)


def test_three_panels_with_data_titles_and_units(figure: tuple[Figure, Path]) -> None:
    fig, _ = figure
    sweep, harmonics, transfer = (panel(fig, label) for label in ("(a)", "(b)", "(c)"))
    assert len(fig.axes) == 4  # and the spectrogram's colour bar
    for ax in (sweep, harmonics, transfer):
        assert ax.get_xlabel() and ax.get_ylabel()
    assert sweep.get_yscale() == "log" and harmonics.get_xscale() == "log"
    assert "nam-rs demo amp" in fig.get_suptitle() and "48 kHz" in fig.get_suptitle()
    meshes = [c for c in sweep.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1 and np.isfinite(meshes[0].get_array()).all()
    assert len(harmonics.get_legend().get_texts()) == 3 == len(transfer.get_legend().get_texts()) - 1


def test_spectrogram_ridge_follows_the_sweep(figure: tuple[Figure, Path]) -> None:
    """The loudest bin of each column is the sweep's instantaneous frequency f0 * (f1 / f0) ** (t / T)."""
    fig, _ = figure
    mesh = next(c for c in panel(fig, "(a)").collections if isinstance(c, QuadMesh))
    # pcolormesh(shading="nearest") stores cell edges: the centres are the midpoints.
    coordinates = mesh.get_coordinates()
    times = 0.5 * (coordinates[0, :-1, 0] + coordinates[0, 1:, 0])
    freqs = 0.5 * (coordinates[:-1, 0, 1] + coordinates[1:, 0, 1])
    power = np.asarray(mesh.get_array()).reshape(len(freqs), len(times))
    f0, f1 = plot.SWEEP_LOW_HZ, 0.95 * 48_000 / 2
    for t in (0.8, 1.6, 2.4, 3.2):
        column = int(np.argmin(np.abs(times - t)))
        expected = f0 * (f1 / f0) ** (times[column] / plot.SWEEP_SECONDS)
        assert freqs[np.argmax(power[:, column])] == pytest.approx(expected, rel=0.06)


def test_harmonic_markers_match_a_least_squares_fit(figure: tuple[Figure, Path]) -> None:
    """H1..H3 levels drawn for each drive equal the amplitudes from a least-squares sinusoid fit of the render."""
    fig, _ = figure
    markers = [line for line in panel(fig, "(b)").get_lines() if line.get_marker() == "o"]
    assert len(markers) == len(plot.DRIVES_DBFS)
    model = nam_rs.load(demo.model_path())
    rate = 48_000
    settle, n = round(plot.SETTLE_SECONDS * rate), rate
    t = np.arange(settle + n) / rate
    basis_t = t[settle:]
    for drive, line in zip(plot.DRIVES_DBFS, markers, strict=True):
        x = (10 ** (drive / 20) * np.sin(2 * np.pi * plot.HARMONIC_HZ * t)).astype(np.float32)
        y = model.render(x)[settle:].astype(np.float64)
        columns = [np.ones(n)]
        for k in (1, 2, 3):
            w = 2 * np.pi * k * plot.HARMONIC_HZ * basis_t
            columns += [np.sin(w), np.cos(w)]
        coef = np.linalg.lstsq(np.stack(columns, axis=1), y, rcond=None)[0]
        fitted = [20 * math.log10(math.hypot(coef[2 * k - 1], coef[2 * k])) for k in (1, 2, 3)]
        np.testing.assert_allclose(line.get_xdata()[:3], [1000.0, 2000.0, 3000.0])
        np.testing.assert_allclose(line.get_ydata()[:3], fitted, atol=0.05)


def test_transfer_curve_is_the_render_against_the_input(figure: tuple[Figure, Path]) -> None:
    fig, _ = figure
    curves = panel(fig, "(c)").get_lines()[3:]  # after the two zero axes and the unity line
    assert len(curves) == len(plot.DRIVES_DBFS)
    model = nam_rs.load(demo.model_path())
    for drive, curve in zip(plot.DRIVES_DBFS, curves, strict=True):
        x, y = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
        assert len(x) == 480  # one 100 Hz period at 48 kHz
        assert np.max(np.abs(x)) == pytest.approx(10 ** (drive / 20), rel=1e-3)
        lag = int(curve.get_label().split("lag ")[1].split()[0])
        settle = round(plot.SETTLE_SECONDS * 48_000)
        sine = (10 ** (drive / 20) * np.sin(2 * np.pi * 100.0 / 48_000 * np.arange(settle + 1500))).astype(np.float32)
        np.testing.assert_array_equal(y, model.render(sine)[settle + lag : settle + lag + 480])


@pytest.fixture
def short_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorter analysis signals, for the tests that do not look at the measurements."""
    monkeypatch.setattr(plot, "SWEEP_SECONDS", 0.5)
    monkeypatch.setattr(plot, "HARMONIC_SECONDS", 0.1)
    monkeypatch.setattr(plot, "SETTLE_SECONDS", 0.1)


@pytest.mark.usefixtures("short_signals")
def test_accepts_a_model_leaves_its_stream_untouched_and_saves_nothing_without_a_path(tmp_path: Path) -> None:
    model = nam_rs.load(demo.model_path())
    x = np.random.default_rng(1).normal(0.0, 0.1, 2000).astype(np.float32)
    expected = nam_rs.load(demo.model_path()).process(x)
    first = model.process(x[:1000])
    plot.summary(model, sample_rate=44_100.0)  # another analysis rate is allowed
    np.testing.assert_array_equal(np.concatenate([first, model.process(x[1000:])]), expected)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("short_signals")
def test_model_without_a_rate_is_analysed_at_48_khz() -> None:
    fig = plot.summary(Path(__file__).parent / "fixtures" / "models" / "wavenet_nosr.nam")
    assert "48 kHz" in fig.get_suptitle() and "no rate in the file: 48 kHz assumed" in fig.get_suptitle()
    assert panel(fig, "(a)").get_ylim()[1] == pytest.approx(24_000.0)


def test_bad_rate_and_missing_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        plot.summary(demo.model_path(), sample_rate=0.0)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"pip install 'nam-rs\[plot\]'"):
        plot.summary(demo.model_path())


@pytest.mark.usefixtures("short_signals")
def test_cli_plot_writes_the_png(tmp_path: Path) -> None:
    from nam_rs import cli

    out = tmp_path / "report.png"
    assert cli.main(["plot", str(demo.model_path()), "-o", str(out)]) in (0, None)
    assert out.read_bytes()[:8] == PNG_SIGNATURE
