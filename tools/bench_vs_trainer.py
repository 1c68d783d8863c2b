"""Time nam_rs against the PyTorch trainer on the same .nam file and input, and check they agree.

    python tools/bench_vs_trainer.py tests/fixtures/models/wavenet_standard.nam tests/fixtures/models/lstm_1x16.nam \\
        [--trainer-python /path/to/trainer-venv/bin/python] [--audio-seconds 10] [--repeats 5]

For each model: the same deterministic guitar-like input (``nam_rs.bench.guitar_signal``) goes
through ``model.render(x)`` (whole signal, one thread, from the prewarmed state) and through the
trainer's full-file forward (``nam.models.init_from_nam``, ``torch.no_grad``, one torch thread),
each timed ``--repeats`` times (median). The trainer runs in a subprocess of ``--trainer-python``
(default: this interpreter), so it can live in its own virtualenv. It starts as
``nam_rs.testing`` does: a WaveNet pads ``receptive_field - 1`` zeros (``pad_start``), an LSTM is
fed ``model.prewarm_samples`` zeros first; its ns/sample divides by every frame it processed,
padding included. The outputs must agree within ``1e-5 · max(1, max |trainer|)`` (exit status 1
otherwise; 2 when the trainer cannot run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nam_rs
import numpy as np
from nam_rs.bench import DEFAULT_SAMPLE_RATE, guitar_signal

TOLERANCE = 1e-5

# Run by the trainer's interpreter: argv = model, input .npy, output .npy, repeats, prewarm frames.
_TRAINER_SCRIPT = r"""
import json, sys, time
import numpy as np, torch
from nam.models import init_from_nam

torch.set_num_threads(1)
path, source, target, repeats, prewarm = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
with open(path, "rb") as f:
    document = json.load(f)
x = np.load(source).astype(np.float32)
net = init_from_nam(document).eval()
is_lstm = document.get("architecture") == "LSTM"
signal = torch.from_numpy(np.concatenate([np.zeros(prewarm, np.float32), x]) if is_lstm else x)
times = []
with torch.no_grad():
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        y = net(signal, pad_start=not is_lstm)
        times.append(time.perf_counter_ns() - t0)
y = y.numpy().reshape(-1)[-len(x):]
np.save(target, y.astype(np.float32))
frames = len(signal) + (0 if is_lstm else net.receptive_field - 1)
print(json.dumps({"ns": sorted(times)[len(times) // 2], "frames": frames, "torch": torch.__version__}))
"""


def _trainer(python: str, model: Path, x_path: Path, y_path: Path, repeats: int, prewarm: int) -> dict[str, object]:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [python, "-c", _TRAINER_SCRIPT, str(model), str(x_path), str(y_path), str(repeats), str(prewarm)]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no output)"]
        raise RuntimeError(f"the trainer failed on {model.name}: {lines[-1]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _compare(path: Path, python: str, seconds: float, repeats: int) -> bool:
    model = nam_rs.load(path)
    rate = model.sample_rate or DEFAULT_SAMPLE_RATE
    x = guitar_signal(round(seconds * rate), rate)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        y = model.render(x)
        times.append(time.perf_counter_ns() - t0)
    ours = float(np.median(times)) / len(x)
    with tempfile.TemporaryDirectory() as folder:
        x_path, y_path = Path(folder, "x.npy"), Path(folder, "y.npy")
        np.save(x_path, x)
        trainer = _trainer(python, path, x_path, y_path, repeats, model.prewarm_samples)
        reference = np.load(y_path).astype(np.float64)
    theirs = float(trainer["ns"]) / float(trainer["frames"])  # type: ignore[arg-type]
    error = float(np.max(np.abs(y.astype(np.float64) - reference)))
    bound = TOLERANCE * max(1.0, float(np.max(np.abs(reference))))
    agree = error <= bound
    print(
        f"{path.name}: {len(x)} frames at {rate:g} Hz; nam_rs render {ours:.1f} ns/sample, "
        f"trainer (torch {trainer['torch']}) {theirs:.1f} ns/sample: nam_rs is {theirs / ours:.2f}x faster; "
        f"max |diff| {error:.2e} ({'within' if agree else 'ABOVE'} {bound:.1e})"
    )
    return agree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help=".nam files")
    parser.add_argument("--trainer-python", default=sys.executable, help="interpreter with the trainer (nam, torch)")
    parser.add_argument("--audio-seconds", type=float, default=10.0, help="input length (default 10 s)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per side; the median counts (default 5)")
    args = parser.parse_args()
    if args.repeats < 1 or not args.audio_seconds > 0:
        parser.error("--repeats and --audio-seconds must be positive")
    status = 0
    for path in args.models:
        try:
            if not _compare(path, args.trainer_python, args.audio_seconds, args.repeats):
                status = max(status, 1)
        except (OSError, RuntimeError, nam_rs.NamError) as exc:
            print(f"{path.name}: cannot compare: {exc}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
