"""The demo model and DI clip shipped inside the package, so examples run on a fresh install with no downloads.

Both are made by ``tools/make_demo.py``: a small WaveNet (the trainer's A1 "feather" shape) trained with the
PyTorch trainer on a synthetic amp (a biased tanh between EQs), and 7 s of a synthetic plucked-guitar DI
(16-bit FLAC, 48 kHz, notes the model was not trained on).

>>> import nam_rs, nam_rs.demo, soundfile as sf
>>> model = nam_rs.load(nam_rs.demo.model_path())
>>> di, rate = sf.read(nam_rs.demo.clip_path(), dtype="float32")
>>> wet = model.render(di)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["clip_path", "model_path"]


def _data_file(name: str) -> Path:
    # The package is installed as plain files (wheel or editable), so the resource is a real path on disk.
    return Path(str(resources.files("nam_rs").joinpath("data", name)))


def model_path() -> Path:
    """Path of the demo ``.nam`` model (48 kHz WaveNet)."""
    return _data_file("demo.nam")


def clip_path() -> Path:
    """Path of the demo DI clip (mono 16-bit FLAC at 48 kHz, about 7 s)."""
    return _data_file("demo_di.flac")
