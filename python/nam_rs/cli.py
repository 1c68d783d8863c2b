"""The ``nam-rs`` command line (also ``python -m nam_rs``)."""

from __future__ import annotations

import argparse
import json
import sys
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nam-rs", description="Run Neural Amp Modeler (.nam) models.")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="describe a .nam file and whether nam-rs can run it")
    info.add_argument("model", help="path to a .nam file")
    info.add_argument("--json", action="store_true", help="print JSON (keys are the Model property names)")
    info.set_defaults(func=_cmd_info)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
