"""GIL release and thread behaviour of ``Model.process``."""

from __future__ import annotations

import sys
import threading
import time

import nam_rs
import numpy as np
from conftest import FIXTURES


def _progress_during_call(model: nam_rs.Model, x: np.ndarray) -> int:
    """How many times another Python thread ran while ``model.process`` executed.

    The switch interval is set huge, so a thread that waits for the GIL never forces a switch:
    the worker can only run while the main thread has released the GIL itself. Not a timing test.
    """
    counter = [0]
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            counter[0] += 1
            time.sleep(0.0001)  # gives the GIL back voluntarily

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    thread = threading.Thread(target=worker)
    try:
        thread.start()
        time.sleep(0.01)
        before = counter[0]
        model.process(x, out=x)
        after = counter[0]
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old)
    return after - before


def test_long_process_releases_the_gil() -> None:
    model = nam_rs.load(FIXTURES / "models" / "wavenet_standard.nam")
    x = np.zeros(200_000, np.float32)
    assert _progress_during_call(model, x) > 0


def test_short_process_keeps_the_gil() -> None:
    model = nam_rs.load(FIXTURES / "models" / "wavenet_standard.nam")
    x = np.zeros(200_000, np.float32)
    model.gil_threshold = len(x) + 1
    assert _progress_during_call(model, x) == 0


def test_concurrent_use_of_one_model_is_an_error_not_a_crash() -> None:
    model = nam_rs.load(FIXTURES / "models" / "wavenet_standard.nam")
    errors: list[BaseException] = []
    done = threading.Event()

    def long_call() -> None:
        model.process(np.zeros(400_000, np.float32))
        done.set()

    thread = threading.Thread(target=long_call)
    thread.start()
    try:
        while not done.is_set():
            try:
                model.process(np.zeros(16, np.float32))
            except nam_rs.NamBusyError as exc:
                errors.append(exc)
                break
            time.sleep(0.001)
    finally:
        thread.join()
    assert errors, "the second thread never overlapped the long call"
