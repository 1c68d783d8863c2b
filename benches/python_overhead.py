"""The fixed cost of ``model.process(x, out=x)`` from Python over the Rust processing it runs.

    python benches/python_overhead.py [--calls 20000] [--repeats 15] [MODEL.nam ...]

Default models: the standard and nano WaveNet fixtures, 64-frame blocks (the issue's target is
at most 1 µs per call). Two measurements, medians over ``--repeats`` interleaved runs:

* **empty call**: ``process(e, out=e)`` on a 0-frame array, N times. The Rust side has nothing
  to process (at most it sets and restores the denormal flags), so this is the binding's fixed
  cost: method lookup, argument parsing, the dtype/shape/contiguity/writeability checks, the
  borrow of the model, and the panic guard. This is the figure to hold against the target;
  the fastest run is shown too (load on the machine only ever adds time, as with ``timeit``).
* **64-frame difference**: N calls of 64 frames (in place, over consecutive views of one
  buffer) against one call on all N·64 frames of the same signal, from the same start state,
  so (T_calls - T_one) / N is what a call costs a real-time host beyond the model's long-block
  rate (the median of paired differences; noisy on a busy machine, as a small difference of two
  long times). It is not the binding alone: the Rust side cuts the long call into its own
  internal chunks, whose per-sample cost differs from a 64-frame call's (it can be lower or
  higher), so this figure can even be negative.

Both include the Python loop that makes the calls (≈ 20 ns per iteration). The GIL threshold is
left at its default, so no call releases the GIL (as in a small real-time block).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nam_rs
import numpy as np
from nam_rs.bench import guitar_signal

BLOCK = 64
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "models"
DEFAULT_MODELS = (FIXTURES / "wavenet_standard.nam", FIXTURES / "wavenet_nano.nam")


def _timed(run: Callable[[], None]) -> int:
    t0 = time.perf_counter_ns()
    run()
    return time.perf_counter_ns() - t0


def measure(path: Path, calls: int, repeats: int) -> tuple[float, float, float, float]:
    """Per call: empty-call µs (median, min), 64-frame-difference µs; long-call ns/sample."""
    model = nam_rs.load(path)
    signal = guitar_signal(calls * BLOCK, model.sample_rate or 48_000.0)
    buffer = np.empty_like(signal)
    views = [buffer[i : i + BLOCK] for i in range(0, len(buffer), BLOCK)]
    empty = np.empty(0, np.float32)
    process = model.process

    def empty_calls() -> None:
        for _ in range(calls):
            process(empty, out=empty)

    def block_calls() -> None:
        for view in views:
            process(view, out=view)

    def one_call() -> None:
        process(buffer, out=buffer)

    empty_runs: list[int] = []
    differences: list[int] = []
    one_runs: list[int] = []
    for repeat in range(repeats):
        empty_runs.append(_timed(empty_calls))
        # Same input and start state for both halves of a pair; alternate which runs first, and
        # pair them so that slow drift in the machine's load cancels.
        pair: dict[str, int] = {}
        order = (("blocks", block_calls), ("one", one_call))
        for name, run in order if repeat % 2 == 0 else order[::-1]:
            model.reset()
            buffer[:] = signal
            pair[name] = _timed(run)
        differences.append(pair["blocks"] - pair["one"])
        one_runs.append(pair["one"])
    empty_ns, difference_ns, one_ns = (float(np.median(v)) for v in (empty_runs, differences, one_runs))
    return empty_ns / calls / 1e3, min(empty_runs) / calls / 1e3, difference_ns / calls / 1e3, one_ns / len(buffer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path, default=list(DEFAULT_MODELS), help=".nam files")
    parser.add_argument("--calls", type=int, default=20_000, help="calls per timed run (default 20000)")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs; medians are reported (default 15)")
    args = parser.parse_args()
    if args.calls < 1 or args.repeats < 1:
        parser.error("--calls and --repeats must be positive")
    print(f"per call of model.process(x, out=x), {BLOCK}-frame blocks, medians of {args.repeats} runs:")
    for path in args.models:
        empty_us, fastest_us, difference_us, rust_ns = measure(path, args.calls, args.repeats)
        print(
            f"{path.name}: empty call {empty_us:.3f} µs (fastest run {fastest_us:.3f}); "
            f"64-frame calls - one long call {difference_us:+.3f} µs "
            f"(long call: {rust_ns:.0f} ns/sample, {rust_ns * BLOCK / 1e3:.1f} µs per 64 frames)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
