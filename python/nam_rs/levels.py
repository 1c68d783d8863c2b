"""Level calibration and loudness normalisation, computed the way the NAM plugin does.

A capture is only "right" at the level it was recorded at: the trainer stores in the model's
metadata the analogue level of a full-scale signal during the capture (``input_level_dbu``) and
the measured loudness of the model's output (``loudness``). These pure functions turn that metadata
into gains (in dB) so a render can match the plugin; :func:`nam_rs.render_file` applies them.
"""

from __future__ import annotations

import math
import warnings

from nam_rs._core import Model

__all__ = [
    "DEFAULT_INTERFACE_DBU",
    "DEFAULT_TARGET_LOUDNESS",
    "LevelWarning",
    "db_to_gain",
    "gain_to_db",
    "input_gain_db",
    "output_gain_db",
]

DEFAULT_INTERFACE_DBU = 12.0
"""dBu of a 0 dBFS signal at a typical audio interface's instrument input (NeuralAudio's default)."""

DEFAULT_TARGET_LOUDNESS = -18.0
"""Output loudness (dB) that :func:`output_gain_db` normalises to: the NAM plugin's normalised level."""


class LevelWarning(UserWarning):
    """The model lacks the metadata a requested calibration or normalisation needs: no gain applied."""


def db_to_gain(db: float) -> float:
    """Linear amplitude factor of ``db`` decibels: ``10 ** (db / 20)``."""
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float:
    """Decibels of a linear amplitude factor: ``20 · log10(|gain|)`` (``-inf`` for 0)."""
    return 20.0 * math.log10(abs(gain)) if gain != 0.0 else -math.inf


def input_gain_db(model: Model, interface_dbu: float = DEFAULT_INTERFACE_DBU, calibrate: bool = True) -> float:
    """Input gain (dB) that makes a file recorded on your interface hit the model as during capture.

    ``gain = interface_dbu - model.input_level_dbu``

    ``interface_dbu`` is the analogue level (dBu) that reads 0 dBFS on the interface the input was
    recorded with; ``model.input_level_dbu`` is the same figure for the capture rig. A DI recorded
    on a 12 dBu interface through a model captured at 18 dBu gets -6 dB: the amp "sees" the guitar
    6 dB quieter than the DI's digital level suggests, as in the plugin with calibration on.

    Returns 0.0 when ``calibrate`` is false, and 0.0 with a :class:`LevelWarning` when the model has
    no ``input_level_dbu``.
    """
    if not calibrate:
        return 0.0
    level = model.input_level_dbu
    if level is None:
        warnings.warn(
            "the model has no input_level_dbu in its metadata: input calibration skipped (0 dB)",
            LevelWarning,
            stacklevel=2,
        )
        return 0.0
    return float(interface_dbu) - float(level)


def output_gain_db(model: Model, target: float = DEFAULT_TARGET_LOUDNESS) -> float:
    """Output gain (dB) that brings the model's loudness to ``target``, like the plugin's "normalize".

    ``gain = target - model.loudness``

    ``model.loudness`` is the trainer's measurement of the model's output level (dB) on its standard
    test signal, so every normalised model sounds about equally loud (-18 dB by default).

    Returns 0.0 with a :class:`LevelWarning` when the model has no ``loudness``.
    """
    loudness = model.loudness
    if loudness is None:
        warnings.warn(
            "the model has no loudness in its metadata: output normalisation skipped (0 dB)",
            LevelWarning,
            stacklevel=2,
        )
        return 0.0
    return float(target) - float(loudness)
