"""Live amp simulator: your interface's input through a .nam model to its outputs, in real time.

    pip install sounddevice            # not a dependency of nam-rs; PortAudio comes with its wheels
    python examples/live_amp.py                          # the bundled demo amp, default devices
    python examples/live_amp.py amp.nam --device 3 --blocksize 128 --input-channel 1
    python examples/live_amp.py amp.nam --host-rate 44100   # interface at 44.1 kHz, model at 48 kHz

While it runs, type a command and Enter:

    load PATH   load another .nam here (off the audio thread) and crossfade to it
    in DB       input gain in dB (e.g. "in -6")
    out DB      output gain in dB
    s           print the status (latency, blocks, xruns, CPU load)
    q           quit

The callback is ``nam_rs.live.LiveProcessor.callback``: it copies the chosen input channel into a preallocated
float32 buffer, runs the model in place and writes every output channel, with no allocation per block. The
interface runs at ``--host-rate`` (default: the model's rate, 48 kHz for most captures). At N x the model's rate
the model's dilations are multiplied by N (exact, no added latency); at other rates, or for an LSTM, a streaming
resampler adds a fixed latency, printed at start.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

import nam_rs
from nam_rs import demo
from nam_rs.live import DEFAULT_CROSSFADE_SAMPLES, LiveProcessor


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Play your guitar through a .nam model.")
    parser.add_argument("model", nargs="?", help="a .nam file (default: the bundled demo amp)")
    parser.add_argument("--device", help="sounddevice device (index or name); default: the system's")
    parser.add_argument("--blocksize", type=int, default=128, help="frames per callback (default 128)")
    parser.add_argument("--host-rate", type=float, help="the interface's sample rate in Hz (default: the model's)")
    parser.add_argument("--input-channel", type=int, default=0, help="input channel of the guitar, from 0")
    parser.add_argument("--output-channels", type=int, default=2, help="outputs to feed (default 2)")
    parser.add_argument("--input-gain", type=float, default=0.0, help="dB before the model")
    parser.add_argument("--output-gain", type=float, default=0.0, help="dB after the model")
    parser.add_argument("--crossfade", type=int, default=DEFAULT_CROSSFADE_SAMPLES, help="samples (model swap)")
    parser.add_argument("--status-every", type=float, default=5.0, help="seconds between status lines (0: off)")
    return parser.parse_args(argv)


def _status(live: LiveProcessor, stream: Any) -> str:
    latency_in, latency_out = stream.latency
    return (
        f"latency in {latency_in * 1000:.1f} ms + out {latency_out * 1000:.1f} ms "
        f"(block {live.max_block}) + {live.latency} samples of rate conversion | "
        f"blocks {live.blocks} | xruns {live.xruns} | "
        f"CPU {stream.cpu_load * 100:.0f}% | gains {live.input_gain_db:+g}/{live.output_gain_db:+g} dB"
    )


def _command(line: str, live: LiveProcessor, stream: Any, crossfade: int) -> bool:
    """Run one typed command; False means quit."""
    word, _, rest = line.strip().partition(" ")
    try:
        if word == "q":
            return False
        if word == "load":
            live.swap(nam_rs.load(rest.strip()), crossfade_samples=crossfade)  # loaded here, not in the callback
            print(f"swapping to {rest.strip()}")
        elif word == "in":
            live.input_gain_db = float(rest)
        elif word == "out":
            live.output_gain_db = float(rest)
        elif word in ("s", ""):
            print(_status(live, stream))
        else:
            print("commands: load PATH | in DB | out DB | s | q")
    except (OSError, ValueError, nam_rs.NamError) as exc:
        print(f"error: {exc}")
    return True


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        import sounddevice as sd
    except ImportError:
        print("this example needs sounddevice: pip install sounddevice", file=sys.stderr)
        return 1
    path = args.model or demo.model_path()
    try:
        model = nam_rs.load(path)
    except (OSError, nam_rs.NamError) as exc:
        print(f"cannot load {path}: {exc}", file=sys.stderr)
        return 1
    rate = args.host_rate or model.sample_rate or 48_000.0
    try:
        live = LiveProcessor(
            model,
            host_sample_rate=rate,
            max_block=max(args.blocksize, 4096),  # some hosts hand over larger blocks than asked for
            input_channel=args.input_channel,
            input_gain_db=args.input_gain,
            output_gain_db=args.output_gain,
            crossfade_samples=args.crossfade,
        )
    except (ValueError, nam_rs.NamError) as exc:
        print(f"cannot run {path} at {rate:g} Hz: {exc}", file=sys.stderr)
        return 1
    device = int(args.device) if args.device is not None and args.device.isdigit() else args.device
    stream = sd.Stream(
        samplerate=rate,
        blocksize=args.blocksize,
        device=device,
        channels=(args.input_channel + 1, args.output_channels),
        dtype="float32",
        latency="low",
        callback=live.callback,
    )
    stop = threading.Event()

    def report() -> None:
        while not stop.wait(args.status_every):
            print(_status(live, stream))

    with stream:
        conversion = (
            "" if live.rate_conversion == "none" else f" ({live.rate_conversion} from {model.sample_rate:g} Hz)"
        )
        print(f"{model.metadata.get('name') or path} at {rate:g} Hz{conversion}; {_status(live, stream)}")
        if args.status_every > 0:
            threading.Thread(target=report, daemon=True).start()
        try:
            for line in sys.stdin:
                if not _command(line, live, stream, args.crossfade):
                    break
                live.collect()  # release faded-out models here, not on the audio thread
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
    print(f"stopped: {live.blocks} blocks, {live.frames} frames, {live.xruns} xruns, {live.swaps} swaps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
