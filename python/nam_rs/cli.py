"""The ``nam-rs`` command line (also ``python -m nam_rs``).

Every user mistake (a missing or invalid file, unreadable audio, an existing output without
``--overwrite``) is one ``nam-rs: …`` line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nam_rs
from nam_rs import levels

# Model properties shown by ``info``, in order; ``--json`` uses these names as keys.
_INFO_PROPERTIES = (
    "architecture",
    "version",
    "sample_rate",
    "receptive_field",
    "prewarm_samples",
    "num_input_channels",
    "num_output_channels",
    "num_weights",
    "macs_per_sample",
    "semantics",
    "loudness",
    "input_level_dbu",
    "output_level_dbu",
    "gain",
    "slimmable_breakpoints",
)
# Metadata the trainer writes about the capture (nam.models.metadata.UserMetadata), shown by ``info``.
_GEAR_KEYS = ("name", "modeled_by", "gear_type", "gear_make", "gear_model", "tone_type")
# Exit status of ``parity`` when the check could not run (1 means it ran and failed).
_PARITY_ERROR = 2


class _UserError(Exception):
    """A mistake reported as one line (the message) with exit status 1."""


def _error(message: object) -> None:
    print(f"nam-rs: {message}", file=sys.stderr)


def _refuse_existing(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise _UserError(f"{path} already exists (pass --overwrite to replace it)")


def _load(path: str, semantics: str = "core") -> nam_rs.Model:
    if not Path(path).is_file():
        raise _UserError(f"no such model file: {path}")
    try:
        return nam_rs.load(path, semantics="trainer" if semantics == "trainer" else "core")
    except (OSError, nam_rs.NamError) as exc:
        raise _UserError(f"cannot run {path}: {exc}") from None


# ------------------------------------------------------------------------------------------------
# info
# ------------------------------------------------------------------------------------------------


def _info(model: nam_rs.Model) -> dict[str, Any]:
    info = {name: getattr(model, name) for name in _INFO_PROPERTIES}
    info["metadata"] = model.metadata
    return info


def _file_summary(path: str) -> dict[str, Any]:
    """What the JSON of a file that cannot be run still tells (for ``info`` on unsupported models)."""
    try:
        document = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    summary = {key: document.get(key) for key in ("architecture", "version", "sample_rate")}
    metadata = document.get("metadata")
    summary["metadata"] = metadata if isinstance(metadata, dict) else {}
    return summary


def _training_esr(metadata: dict[str, Any]) -> float | None:
    training = metadata.get("training")
    esr = training.get("validation_esr") if isinstance(training, dict) else None
    return float(esr) if isinstance(esr, int | float) and not isinstance(esr, bool) else None


def _metadata_lines(metadata: dict[str, Any]) -> list[tuple[str, Any]]:
    lines: list[tuple[str, Any]] = []
    for key in _GEAR_KEYS:
        if isinstance(metadata.get(key), str) and metadata[key]:
            lines.append((key, metadata[key]))
    esr = _training_esr(metadata)
    if esr is not None:
        lines.append(("training ESR", f"{esr:.6g}"))
    date = metadata.get("date")
    if isinstance(date, dict) and all(isinstance(date.get(k), int) for k in ("year", "month", "day")):
        lines.append(("date", f"{date['year']:04d}-{date['month']:02d}-{date['day']:02d}"))
    shown = {*_GEAR_KEYS, "loudness", "input_level_dbu", "output_level_dbu", "gain", "training", "date"}
    for key, value in metadata.items():
        if key not in shown and isinstance(value, str | int | float) and value != "":
            lines.append((f"metadata.{key}", value))
    return lines


def _print_fields(rows: list[tuple[str, Any]]) -> None:
    for key, value in rows:
        print(f"{key:>24}: {'unknown' if value is None else value}")


def _cmd_info(args: argparse.Namespace) -> int:
    if not Path(args.model).is_file():
        raise _UserError(f"no such model file: {args.model}")
    try:
        model = nam_rs.load(args.model, semantics="trainer" if args.semantics == "trainer" else "core")
    except (OSError, nam_rs.NamError) as exc:
        summary = _file_summary(args.model) if isinstance(exc, nam_rs.UnsupportedModelError) else {}
        if args.json:
            reason = {"error": type(exc).__name__, "message": str(exc)}
            print(json.dumps({"supported": False, **reason, **summary}, indent=2))
        else:
            metadata = summary.pop("metadata", {})
            _print_fields([*summary.items(), *_metadata_lines(metadata)])
            _error(f"cannot run {args.model}: {exc}")
        return 1
    info = _info(model)
    if args.json:
        print(json.dumps({"supported": True, **info}, indent=2))
        return 0
    rows = [(key, value) for key, value in info.items() if key != "metadata"]
    if not model.slimmable_breakpoints:
        rows = [(key, value) for key, value in rows if key != "slimmable_breakpoints"]
    rows = [(f"{key} (parameters)" if key == "num_weights" else key, value) for key, value in rows]
    _print_fields([*rows, *_metadata_lines(info["metadata"]), ("supported", "yes")])
    return 0


# ------------------------------------------------------------------------------------------------
# render and batch
# ------------------------------------------------------------------------------------------------


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gain-db", type=float, default=0.0, metavar="DB", help="input gain in dB (default 0)")
    parser.add_argument(
        "--normalize",
        nargs="?",
        type=float,
        const=levels.DEFAULT_TARGET_LOUDNESS,
        metavar="TARGET",
        help="normalise the output to the model's loudness metadata, to TARGET dB (default -18)",
    )
    parser.add_argument(
        "--calibrate",
        nargs="?",
        type=float,
        const=levels.DEFAULT_INTERFACE_DBU,
        metavar="INTERFACE_DBU",
        help="calibrate the input level: your interface's dBu at 0 dBFS (default 12) vs the model's input level",
    )
    parser.add_argument(
        "--sample-rate-policy",
        choices=["resample", "error"],
        default="resample",
        help="when the file's rate differs from the model's: resample (default) or fail",
    )
    parser.add_argument(
        "--sample-rate", type=float, metavar="HZ", help="the model's sample rate (for models that do not state one)"
    )
    parser.add_argument("--subtype", metavar="SUBTYPE", help="output sample format, e.g. PCM_24 (default: the input's)")
    parser.add_argument(
        "--mix", choices=["channels", "mono"], default="channels", help="render each channel, or a mono downmix"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (it shows only on a terminal)")


def _render_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "sample_rate": args.sample_rate,
        "resample": args.sample_rate_policy == "resample",
        "normalize": args.normalize,
        "calibrate": False if args.calibrate is None else args.calibrate,
        "input_gain_db": args.gain_db,
        "subtype": args.subtype,
        "mix": args.mix,
    }


def _demo_paths() -> tuple[Path, Path]:
    try:
        demo = importlib.import_module("nam_rs.demo")
    except ImportError:
        raise _UserError("the demo model and clip are not part of this installation") from None
    return Path(demo.model_path()), Path(demo.clip_path())


def _cmd_render(args: argparse.Namespace) -> int:
    if args.demo:
        if len(args.paths) != 1:
            raise _UserError("render --demo takes one argument, the output file: nam-rs render --demo OUT.wav")
        model, source = _demo_paths()
        output = Path(args.paths[0])
    else:
        if len(args.paths) != 3:
            raise _UserError("render needs MODEL.nam IN.wav OUT.wav (or --demo OUT.wav)")
        model, source, output = (Path(p) for p in args.paths)
    if not source.is_file():
        raise _UserError(f"cannot render {source}: no such input file: {source}")
    _refuse_existing(output, args.overwrite)
    loaded = _load(str(model), args.semantics)
    try:
        report = nam_rs.render_file(
            loaded, source, output, progress=False if args.no_progress else None, **_render_options(args)
        )
    except (OSError, ValueError, RuntimeError, nam_rs.NamError) as exc:
        raise _UserError(f"cannot render {source}: {exc}") from None
    print(report.summary())
    return 0


def _add_render(sub: Any) -> None:
    render = sub.add_parser(
        "render",
        help="render an audio file through a model",
        usage="nam-rs render MODEL.nam IN.wav OUT.wav [options]\n       nam-rs render --demo OUT.wav [options]",
        description="Render an audio file (WAV, FLAC, AIFF, OGG) through a .nam model. Every channel is "
        "processed independently; the output has the input's sample rate, length and (by default) sample "
        "format. It is written atomically and never replaces an existing file without --overwrite.",
    )
    render.add_argument("paths", nargs="*", metavar="MODEL.nam IN.wav OUT.wav", help="model, input and output")
    render.add_argument("--demo", action="store_true", help="render the bundled demo clip through the demo model")
    _add_semantics(render)
    _add_render_options(render)
    render.set_defaults(func=_cmd_render)


def _add_semantics(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--semantics",
        choices=("core", "trainer"),
        default="core",
        help="read the file as NAM Core (the plugin) does (default), or as the PyTorch trainer computed it "
        "where the two disagree (docs/compatibility.md)",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _cmd_batch(args: argparse.Namespace) -> int:
    from nam_rs.batch import render_many

    try:
        report = render_many(
            args.models,
            args.inputs,
            args.out,
            workers=args.workers,
            overwrite=args.overwrite,
            extension=None if args.format is None else "." + args.format.lstrip(".").lower(),
            progress=False if args.no_progress else None,
            **_render_options(args),
        )
    except (OSError, ValueError) as exc:
        raise _UserError(exc) from None
    for failure in report.failed:
        _error(f"failed: {Path(failure.model).name} x {Path(failure.input).name}: {failure.error}")
    warned = sum(bool(result.warnings) for result in report.results)
    if warned:
        _error(f"warning: {warned} pairs used defaults (see the warnings column of {report.csv_path})")
    print(report.summary())
    return 0 if report.ok else 1


def _add_batch(sub: Any) -> None:
    batch = sub.add_parser(
        "batch",
        help="render every input through every model, in parallel and resumably",
        description="Render every (model, input) pair into OUT/<model stem>/<input name>, in parallel "
        "processes. A rerun skips the pairs an earlier run finished (listed in OUT/manifest.json and "
        "manifest.csv with peak, RMS, duration and errors). Directories are searched recursively.",
    )
    batch.add_argument("--models", nargs="+", required=True, metavar="PATH", help=".nam files, directories or globs")
    batch.add_argument("--inputs", nargs="+", required=True, metavar="PATH", help="audio files, directories or globs")
    batch.add_argument("--out", required=True, metavar="DIR", help="output directory (created if needed)")
    batch.add_argument("--workers", type=_positive_int, metavar="N", help="parallel processes (default: CPU count)")
    batch.add_argument("--format", metavar="EXT", help="output format, e.g. wav (default: each input's)")
    _add_render_options(batch)
    batch.set_defaults(func=_cmd_batch)


# ------------------------------------------------------------------------------------------------
# parity and plot
# ------------------------------------------------------------------------------------------------


def _cmd_parity(args: argparse.Namespace) -> int:
    from nam_rs import testing

    try:
        report = testing.compare(_load(args.model, args.semantics), args.against, args.input, tol=args.tol)
    except (_UserError, OSError, ValueError, nam_rs.NamError) as exc:
        _error(exc)
        return _PARITY_ERROR
    print(report.summary())
    return 0 if report.passed else 1


def _tolerance(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a non-negative number, not {text}")
    return value


def _add_parity(sub: Any) -> None:
    parity = sub.add_parser(
        "parity",
        help="check a model's output against the PyTorch trainer or a reference render",
        description="Run an input through nam-rs and compare it with a reference: the PyTorch trainer "
        "(if installed) or a render in a .npy or audio file. Passes when max |difference| <= "
        "TOL * max(1, max |reference|) from sample 0. Exit status: 0 pass, 1 fail, 2 could not check.",
    )
    parity.add_argument("model", help="path to a .nam file")
    parity.add_argument(
        "--input",
        metavar="IN",
        help="input signal (.npy or mono audio); default: nam_rs.testing.parity_signal() at the model's rate "
        "(1 s: silence, a rising-level log sweep, deterministic noise, an impulse)",
    )
    parity.add_argument(
        "--against", default="trainer", metavar="REF", help="'trainer' (default) or a reference output (.npy or audio)"
    )
    parity.add_argument(
        "--tol", type=_tolerance, default=1e-5, help="relative tolerance (default 1e-5, the project's contract)"
    )
    _add_semantics(parity)
    parity.set_defaults(func=_cmd_parity)


def _cmd_plot(args: argparse.Namespace) -> int:
    output = Path(args.output) if args.output else Path(Path(args.model).stem + ".png")
    _refuse_existing(output, args.overwrite)
    model = _load(args.model)
    try:
        plot = importlib.import_module("nam_rs.plot")
        plot.summary(model, output)  # imports matplotlib lazily
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "matplotlib":
            raise _UserError("plotting needs matplotlib: pip install 'nam-rs[plot]'") from None
        raise _UserError(f"plotting is not available in this installation ({exc})") from None
    print(f"wrote {output}")
    return 0


def _add_plot(sub: Any) -> None:
    plot = sub.add_parser(
        "plot",
        help="plot a model's sweep response, harmonics and transfer curve (needs nam-rs[plot])",
        description="Save a PNG summary of a model: spectrogram of its response to a sine sweep, "
        "harmonic spectrum at three drive levels, and its input/output transfer curve.",
    )
    plot.add_argument("model", help="path to a .nam file")
    plot.add_argument("-o", "--output", metavar="PNG", help="image to write (default: <model stem>.png)")
    plot.add_argument("--overwrite", action="store_true", help="replace an existing image")
    plot.set_defaults(func=_cmd_plot)


# ------------------------------------------------------------------------------------------------
# bench
# ------------------------------------------------------------------------------------------------


def _bench_number(option: str, text: str, kind: type[int] | type[float], most: float) -> Any:
    """Parsed here rather than by argparse, so that a bad value is one ``nam-rs:`` line."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not (0 < value <= most):
        raise _UserError(f"{option} must be a positive {kind.__name__} of at most {most:g}, not {text!r}")
    return value


def _cmd_bench(args: argparse.Namespace) -> int:
    from nam_rs import bench

    buffer = _bench_number("--buffer", args.buffer, int, 1 << 20)
    seconds = _bench_number("--seconds", args.seconds, float, 3600)
    threads = _bench_number("--threads", args.threads, int, 256)
    model = _load(args.model)
    report = bench.run(model, buffer=buffer, seconds=seconds, threads=threads)
    report = dataclasses.replace(report, model=args.model)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.summary())
    return 0


def _add_bench(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="time a model: ns/sample, real-time factor, GFLOP/s and %% of the FP32 FMA peak",
        description="Stream a guitar-like signal through a model in blocks of --buffer frames (in place, as "
        "a real-time host does) and report the median ns/sample over rounds, the real-time factor at the "
        "model's rate (48 kHz if it states none), GFLOP/s (2 per multiply-add) and the share of the "
        "single-core FP32 FMA peak, measured right before and after. --threads N runs N independent "
        "streams (one model copy per thread) and reports their aggregate throughput.",
    )
    bench.add_argument("model", help="path to a .nam file")
    bench.add_argument("--buffer", default="64", metavar="FRAMES", help="block size (default 64)")
    bench.add_argument("--seconds", default="10", help="time spent processing (default 10; plus the peak measurement)")
    bench.add_argument("--threads", default="1", metavar="N", help="independent streams in parallel (default 1)")
    bench.add_argument("--json", action="store_true", help="print JSON (the nam_rs.bench.BenchReport fields)")
    bench.set_defaults(func=_cmd_bench)


# ------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nam-rs", description="Run Neural Amp Modeler (.nam) models.")
    parser.add_argument("--version", action="version", version=f"nam-rs {nam_rs.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="describe a .nam file and whether nam-rs can run it")
    info.add_argument("model", help="path to a .nam file")
    info.add_argument("--json", action="store_true", help="print JSON (keys are the Model property names)")
    _add_semantics(info)
    info.set_defaults(func=_cmd_info)
    _add_render(sub)
    _add_batch(sub)
    _add_parity(sub)
    _add_plot(sub)
    _add_bench(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Warnings (no sample rate, no level metadata, a newer file version) become one tidy stderr line
    # each, not tracebacks.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status: int = args.func(args)
        except _UserError as exc:
            _error(exc)
            status = 1
        except KeyboardInterrupt:
            _error("interrupted")
            status = 130
        except BrokenPipeError:
            # `nam-rs info x.nam | head -1`: the reader left; stop quietly (and keep Python's exit-time
            # flush of stdout from raising again).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            status = 1
    for warning in caught:
        _error(f"warning: {warning.message}")
    return status


if __name__ == "__main__":
    sys.exit(main())
