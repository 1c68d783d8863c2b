"""The ``nam-rs`` command line (also ``python -m nam_rs``)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import nam_rs


def _info(model: nam_rs.Model) -> dict[str, Any]:
    return {
        "architecture": model.architecture,
        "version": model.version,
        "sample_rate": model.sample_rate,
        "receptive_field": model.receptive_field,
        "prewarm_samples": model.prewarm_samples,
        "num_input_channels": model.num_input_channels,
        "num_output_channels": model.num_output_channels,
        "num_weights": model.num_weights,
        "loudness": model.loudness,
        "input_level_dbu": model.input_level_dbu,
        "output_level_dbu": model.output_level_dbu,
        "gain": model.gain,
        "metadata": model.metadata,
    }


def _cmd_info(args: argparse.Namespace) -> int:
    try:
        model = nam_rs.load(args.model)
    except (OSError, nam_rs.NamError) as exc:
        if args.json:
            print(json.dumps({"supported": False, "error": type(exc).__name__, "message": str(exc)}))
        else:
            print(f"nam-rs: cannot run {args.model}: {exc}", file=sys.stderr)
        return 1
    info = _info(model)
    if args.json:
        print(json.dumps({"supported": True, **info}, indent=2))
        return 0
    for key, value in info.items():
        if key == "metadata":
            continue
        print(f"{key:>20}: {'unknown' if value is None else value}")
    for key, value in info["metadata"].items():
        if isinstance(value, str | int | float) and value != "":
            print(f"{'metadata.' + key:>20}: {value}")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    # Warnings (no sample rate, no level metadata) become one tidy stderr line each, not tracebacks.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            report = nam_rs.render_file(
                args.model,
                args.input,
                args.output,
                sample_rate=args.sample_rate,
                resample=args.sample_rate_policy == "resample",
                normalize=args.normalize,
                calibrate=False if args.calibrate is None else args.calibrate,
                input_gain_db=args.gain_db,
                subtype=args.subtype,
                mix=args.mix,
                progress=False if args.no_progress else None,
            )
        except (OSError, ValueError, RuntimeError, nam_rs.NamError) as exc:
            error: Exception | None = exc
        else:
            error = None
    for warning in caught:
        print(f"nam-rs: warning: {warning.message}", file=sys.stderr)
    if error is not None:
        print(f"nam-rs: cannot render {args.input}: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def _add_render(sub: Any) -> None:
    render = sub.add_parser(
        "render",
        help="render an audio file through a model",
        description="Render an audio file (WAV, FLAC, AIFF, OGG) through a .nam model. Every channel is "
        "processed independently; the output has the input's sample rate, length and (by default) sample format.",
    )
    render.add_argument("model", help="path to a .nam file")
    render.add_argument("input", help="audio file to process")
    render.add_argument("output", help="file to write (format from its extension); replaced atomically")
    render.add_argument("--gain-db", type=float, default=0.0, metavar="DB", help="input gain in dB (default 0)")
    render.add_argument(
        "--normalize",
        nargs="?",
        type=float,
        const=nam_rs.levels.DEFAULT_TARGET_LOUDNESS,
        metavar="TARGET",
        help="normalise the output to the model's loudness metadata, to TARGET dB (default -18)",
    )
    render.add_argument(
        "--calibrate",
        nargs="?",
        type=float,
        const=nam_rs.levels.DEFAULT_INTERFACE_DBU,
        metavar="INTERFACE_DBU",
        help="calibrate the input level: your interface's dBu at 0 dBFS (default 12) vs the model's input level",
    )
    render.add_argument(
        "--sample-rate-policy",
        choices=["resample", "error"],
        default="resample",
        help="when the file's rate differs from the model's: resample (default) or fail",
    )
    render.add_argument(
        "--sample-rate", type=float, metavar="HZ", help="the model's sample rate (for models that do not state one)"
    )
    render.add_argument("--subtype", metavar="SUBTYPE", help="output sample format, e.g. PCM_24 (default: the input's)")
    render.add_argument(
        "--mix", choices=["channels", "mono"], default="channels", help="render each channel, or a mono downmix"
    )
    render.add_argument("--no-progress", action="store_true", help="no progress bar (it shows only on a terminal)")
    render.set_defaults(func=_cmd_render)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nam-rs", description="Run Neural Amp Modeler (.nam) models.")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="describe a .nam file and whether nam-rs can run it")
    info.add_argument("model", help="path to a .nam file")
    info.add_argument("--json", action="store_true", help="print JSON (keys are the Model property names)")
    info.set_defaults(func=_cmd_info)
    _add_render(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
