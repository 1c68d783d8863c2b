"""Generates the malformed-file corpus: ``tests/corpus/*.nam`` and ``expected.json``.

Every case is a small valid fixture from ``tests/fixtures/models`` with one thing broken, or raw
bytes. The expectation of each case is derived from what NAM Core (``nam_spec.md``) or the JSON
grammar says is wrong, not from nam-rs' output: the Python class and Rust ``NamError`` variant, and
substrings the message must contain (the field path and the expected/actual values). Cases that
NAM Core loads are recorded as ``"loads"`` with the reason.

Three cases are too big to commit and are described by a ``generate`` entry that the tests build
in a temporary folder: 100 MB of whitespace (alone, and before a valid model) and a sparse 300 MB
file. Deterministic: run ``python tests/corpus/make_corpus.py`` (stdlib only) and commit the result.
"""

from __future__ import annotations

import copy
import json
import math
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
MODELS = HERE.parent / "fixtures" / "models"
DEFAULT_MAX_JSON_BYTES = 256 << 20

Json = Any


class Raw(str):
    """Text inserted into the output verbatim (NaN literals, out-of-range numbers)."""


class Pairs(list[tuple[str, Json]]):
    """An object written with its pairs in order, duplicates included."""


def f32_text(x: float) -> str:
    """Shortest decimal that reads back as the same float32 (keeps the corpus small)."""
    packed = struct.pack("<f", x)
    for digits in range(1, 10):
        text = f"{x:.{digits}g}"
        if struct.pack("<f", float(text)) == packed:
            return text
    return repr(x)


def dump(v: Json) -> str:
    """Compact JSON; floats that are float32 values are written in their shortest float32 form."""
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, Pairs):
        return "{" + ",".join(json.dumps(k) + ":" + dump(x) for k, x in v) + "}"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    if isinstance(v, float) and math.isfinite(v) and abs(v) < 3.4e38:
        if struct.unpack("<f", struct.pack("<f", v))[0] == v:
            return f32_text(v)
    return json.dumps(v)


def base(name: str) -> dict[str, Json]:
    doc: dict[str, Json] = json.loads((MODELS / name).read_text())
    return doc


# The small valid fixtures every case starts from.
W = base("wavenet_head_k3.nam")  # 0.7.0 form, 2 arrays (3 + 2 layers), head kernel 3, 316 weights
WL = base("wavenet_gated_legacy.nam")  # 0.5.4 legacy form (kernel_size, gated, head_size), 666 weights
L = base("lstm_1x8.nam")  # LSTM, 1 layer, hidden 8, 345 weights, 48 kHz
CD = base("wavenet_a2_condition_dsp.nam")  # WaveNet whose condition_dsp (329 weights) gives 4 rows
G = base("wavenet_gated.nam")  # 0.7.0 gated, head kernel 1: the slimmable base

CASES: list[dict[str, Json]] = []
FILES: dict[str, bytes] = {}


def add(
    name: str,
    kind: str,
    content: Json,
    *,
    rust: str | None = None,
    python: str | None = None,
    contains: list[str] | None = None,
    why: str,
    limits: dict[str, int] | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Records a case; ``rust=None`` means the file loads."""
    data = content if isinstance(content, bytes) else dump(content).encode()
    FILES[f"{name}.nam"] = data
    entry: dict[str, Json] = {"name": name, "kind": kind, "file": f"{name}.nam"}
    if rust is None:
        entry["outcome"] = "loads"
        entry["warnings"] = warnings or []
    else:
        entry["outcome"] = "error"
        entry["rust"] = rust
        entry["python"] = python or PYTHON_CLASS[rust]
        entry["contains"] = contains or []
    if limits:
        entry["limits"] = limits
    entry["why"] = why
    CASES.append(entry)


PYTHON_CLASS = {
    "Json": "NamFormatError",
    "Format": "NamFormatError",
    "WeightCount": "NamFormatError",
    "NonFiniteWeight": "NamFormatError",
    "Version": "NamVersionError",
    "Unsupported": "UnsupportedModelError",
    "Limit": "NamLimitError",
}


def mutate(doc: dict[str, Json], change: Callable[[dict[str, Json]], object]) -> dict[str, Json]:
    out = copy.deepcopy(doc)
    change(out)
    return out


def setter(path: str, value: Json) -> Callable[[dict[str, Json]], None]:
    """``setter("config.layers.0.channels", 0)``: sets (or, with value DELETE, removes) a key."""

    def change(doc: dict[str, Json]) -> None:
        *parents, last = path.split(".")
        node: Json = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        key: Json = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = value

    return change


DELETE = object()


def w(path: str, value: Json, doc: dict[str, Json] = W) -> dict[str, Json]:
    return mutate(doc, setter(path, value))


# ---------------------------------------------------------------------------------------------
# Oracles computed from the spec (nam_spec.md §3.2, §3.4), not from nam-rs.
# ---------------------------------------------------------------------------------------------


def conv_weights(cin: int, cout: int, k: int, bias: bool, groups: int = 1) -> int:
    return cout * (cin // groups) * k + (cout if bias else 0)


def receptive_field(config: dict[str, Json]) -> int:
    rf = 1
    for a in config["layers"]:
        ks = a.get("kernel_sizes") or [a["kernel_size"]] * len(a["dilations"])
        rf += sum((k - 1) * d for k, d in zip(ks, a["dilations"], strict=True))
        head = a.get("head") or {"kernel_size": 1}
        rf += (head["kernel_size"] - 1) * head.get("head_dilation", 1)
    return rf


def simple_weight_count(config: dict[str, Json]) -> int:
    """Weight count of a WaveNet with ungated layers, active layer1x1, no head1x1/FiLM, groups 1."""
    n = 0
    for a in config["layers"]:
        c, b, dc = a["channels"], a.get("bottleneck", a["channels"]), a["condition_size"]
        n += c * a["input_size"]
        for k in a["kernel_sizes"]:
            n += conv_weights(c, b, k, True) + conv_weights(dc, b, 1, False) + conv_weights(b, c, 1, True)
        n += conv_weights(b, a["head"]["out_channels"], a["head"]["kernel_size"], a["head"]["bias"])
    return n + 1


def text_of(doc: dict[str, Json]) -> str:
    return dump(doc)


N_W = len(W["weights"])
N_L = len(L["weights"])
assert N_W == simple_weight_count(W["config"]) == 316, "the WaveNet base changed"
assert N_L == 4 * 8 * (1 + 8) + 4 * 8 + 2 * 8 + 8 + 1 == 345, "the LSTM base changed"
RF_W = receptive_field(W["config"])
CORE = "NAM Core"


def make_cases() -> None:
    """One long table: easier to review than many small functions."""
    text = text_of(W).encode()

    # --- JSON syntax ------------------------------------------------------------------------
    add(
        "json_truncated_half",
        "truncated JSON",
        text[: len(text) // 2],
        rust="Json",
        contains=["invalid JSON", "EOF while parsing"],
        why="the text ends inside a value",
    )
    add(
        "json_truncated_brace",
        "truncated JSON",
        text[:-1],
        rust="Json",
        contains=["invalid JSON", "EOF while parsing an object"],
        why="the closing brace is missing",
    )
    add("json_empty", "truncated JSON", b"", rust="Json", contains=["invalid JSON", "EOF"], why="empty file")
    add(
        "json_whitespace_only",
        "truncated JSON",
        b" \n\t\r\n ",
        rust="Json",
        contains=["invalid JSON", "EOF"],
        why="no value at all",
    )
    add(
        "json_trailing_comma",
        "invalid JSON",
        text[:-1] + b",}",
        rust="Json",
        contains=["invalid JSON", "trailing comma"],
        why="JSON has no trailing commas (nlohmann rejects them too)",
    )
    add(
        "json_trailing_garbage",
        "invalid JSON",
        text + b"\n}",
        rust="Json",
        contains=["invalid JSON", "trailing characters"],
        why="a second value after the object",
    )
    add(
        "json_comment",
        "invalid JSON",
        b"// exported by hand\n" + text,
        rust="Json",
        contains=["invalid JSON", "line 1"],
        why="JSON has no comments (nlohmann's default parser rejects them)",
    )
    nan = copy.deepcopy(W)
    nan["weights"][5] = Raw("NaN")
    add(
        "json_nan_literal",
        "NaN/Inf in weights",
        nan,
        rust="Json",
        contains=["invalid JSON", "expected value"],
        why="Python's json writes NaN for a NaN weight; NaN is not JSON and nlohmann rejects it",
    )
    inf = copy.deepcopy(W)
    inf["weights"][5] = Raw("-Infinity")
    add(
        "json_infinity_literal",
        "NaN/Inf in weights",
        inf,
        rust="Json",
        contains=["invalid JSON"],
        why="-Infinity is not JSON",
    )
    huge = copy.deepcopy(W)
    huge["weights"][5] = Raw("1e400")
    add(
        "json_number_overflow",
        "NaN/Inf in weights",
        huge,
        rust="Json",
        contains=["invalid JSON", "number out of range"],
        why="1e400 overflows even a double",
    )
    bad_utf8 = text.replace(b'"version"', b'"versio\xff"', 1)
    add(
        "json_invalid_utf8",
        "invalid JSON",
        bad_utf8,
        rust="Json",
        contains=["invalid JSON", "line 1"],
        why="ill-formed UTF-8 inside a string (nlohmann: invalid string: ill-formed UTF-8 byte)",
    )
    add(
        "json_utf16",
        "UTF-8 BOM",
        b"\xff\xfe" + dump(W).encode("utf-16-le"),
        rust="Json",
        contains=["invalid JSON", "line 1"],
        why="a .nam is UTF-8; UTF-16 text is not JSON to nlohmann either",
    )
    add(
        "json_bom",
        "UTF-8 BOM",
        b"\xef\xbb\xbf" + text,
        why="nlohmann skips a leading UTF-8 BOM, so NAM Core loads this file",
    )
    add(
        "json_double_bom",
        "UTF-8 BOM",
        b"\xef\xbb\xbf\xef\xbb\xbf" + text,
        rust="Json",
        contains=["invalid JSON"],
        why="only one BOM is skipped; the second is not JSON",
    )
    deep = b'{"version":"0.7.0","metadata":{"x":' + b"[" * 5000 + b"]" * 5000 + b"}}"
    add(
        "json_deep_arrays",
        "deeply nested JSON",
        deep,
        rust="Json",
        contains=["invalid JSON", "recursion limit"],
        why="5000 nested arrays: refused at depth 128 instead of overflowing the stack",
    )
    deep_obj = b'{"a":' * 1000 + b"1" + b"}" * 1000
    add(
        "json_deep_objects",
        "deeply nested JSON",
        deep_obj,
        rust="Json",
        contains=["invalid JSON", "recursion limit"],
        why="1000 nested objects: refused at depth 128",
    )

    # --- wrong top-level types --------------------------------------------------------------
    add(
        "top_array",
        "wrong top-level type",
        [W],
        rust="Format",
        contains=["expected an object", "an array of 1 item"],
        why="the file must be one JSON object (nam_file.cpp validate_nam_file)",
    )
    add(
        "top_string",
        "wrong top-level type",
        "WaveNet",
        rust="Format",
        contains=["expected an object", 'the string "WaveNet"'],
        why="the file must be one JSON object",
    )
    add(
        "top_null",
        "wrong top-level type",
        None,
        rust="Format",
        contains=["expected an object", "null"],
        why="the file must be one JSON object",
    )
    add(
        "version_number",
        "wrong top-level type",
        w("version", 0.5),
        rust="Format",
        contains=["version", "expected a string", "0.5"],
        why="version is read as a string",
    )
    add(
        "architecture_number",
        "wrong top-level type",
        w("architecture", 1),
        rust="Format",
        contains=["architecture", "expected a string", "1"],
        why="architecture is read as a string",
    )
    add(
        "architecture_unknown",
        "wrong top-level type",
        w("architecture", "Transformer"),
        rust="Format",
        contains=["architecture", '"Transformer"', "WaveNet"],
        why="no config parser is registered under that name",
    )
    add(
        "architecture_lowercase",
        "wrong top-level type",
        w("architecture", "wavenet"),
        rust="Format",
        contains=["architecture", '"wavenet"'],
        why="NAM Core's registry is case-sensitive",
    )
    add(
        "config_array",
        "wrong top-level type",
        w("config", []),
        rust="Format",
        contains=["config", "expected an object", "an array of 0 items"],
        why="config must be an object",
    )
    add(
        "weights_string",
        "wrong top-level type",
        w("weights", "0.1,0.2"),
        rust="Format",
        contains=["weights", "expected an array", 'the string "0.1,0.2"'],
        why="weights must be an array of numbers",
    )
    add(
        "weights_null",
        "wrong top-level type",
        w("weights", None),
        rust="Format",
        contains=["weights", "expected an array", "null"],
        why="weights must be an array of numbers",
    )
    add(
        "metadata_string",
        "wrong top-level type",
        w("metadata", "my amp"),
        rust="Format",
        contains=["metadata", "expected an object", 'the string "my amp"'],
        why="metadata must be an object (Core reads loudness etc. from it with typed getters)",
    )
    add(
        "metadata_loudness_string",
        "wrong top-level type",
        w("metadata.loudness", "-12 dB"),
        rust="Format",
        contains=["metadata.loudness", "a finite number", 'the string "-12 dB"'],
        why="Core reads loudness as a number and throws on a string",
    )
    add(
        "head_scale_string",
        "wrong top-level type",
        w("config.head_scale", "0.02"),
        rust="Format",
        contains=["config.head_scale", "a finite number", 'the string "0.02"'],
        why="head_scale must be a number",
    )
    add(
        "layer_not_object",
        "wrong top-level type",
        w("config.layers.1", 3),
        rust="Format",
        contains=["config.layers[1]", "expected an object", "3"],
        why="each layer array is an object",
    )
    add(
        "gated_not_bool",
        "wrong top-level type",
        w("config.layers.0.gated", "yes", WL),
        rust="Format",
        contains=["config.layers[0].gated", "true or false", 'the string "yes"'],
        why="gated is a boolean",
    )

    # --- missing and extra keys -------------------------------------------------------------
    for key in ["version", "architecture", "config", "weights"]:
        add(
            f"missing_{key}",
            "missing key",
            w(key, DELETE),
            rust="Format",
            contains=[key, "required key is missing"],
            why=f"{key} is one of the four keys validate_nam_file requires",
        )
    for path, shown in [
        ("config.layers", "config.layers"),
        ("config.head_scale", "config.head_scale"),
        ("config.layers.0.channels", "config.layers[0].channels"),
        ("config.layers.0.dilations", "config.layers[0].dilations"),
        ("config.layers.1.activation", "config.layers[1].activation"),
        ("config.layers.0.head.bias", "config.layers[0].head.bias"),
    ]:
        add(
            "missing_" + path.replace("config.", "").replace(".", "_"),
            "missing key",
            w(path, DELETE),
            rust="Format",
            contains=[shown, "required key is missing"],
            why="required by parse_config_json (spec §3.1)",
        )
    add(
        "missing_kernel_sizes",
        "missing key",
        w("config.layers.0.kernel_sizes", DELETE),
        rust="Format",
        contains=["config.layers[0]", "kernel_size"],
        why="kernel_size or kernel_sizes is required",
    )
    add(
        "missing_lstm_hidden_size",
        "missing key",
        w("config.hidden_size", DELETE, L),
        rust="Format",
        contains=["config.hidden_size", "required key is missing"],
        why="LSTM needs hidden_size (spec §6)",
    )
    extra = copy.deepcopy(W)
    extra["notes"] = "extra top-level key"
    extra["config"]["comment"] = {"nested": [1, 2, 3]}
    extra["config"]["layers"][0]["unknown_option"] = True
    add("extra_keys", "extra keys", extra, why="NAM Core ignores keys it does not read (e.g. notes in wavenet_a2_max)")

    # --- weight count -----------------------------------------------------------------------
    add(
        "weights_plus_one",
        "weight count",
        w("weights", [*W["weights"], 0.5]),
        rust="WeightCount",
        contains=["weights", f"exactly {N_W}", f"has {N_W + 1}", "too many"],
        why="leftover weights make Core throw",
    )
    add(
        "weights_minus_one",
        "weight count",
        w("weights", W["weights"][:-1]),
        rust="WeightCount",
        contains=[f"exactly {N_W}", f"has {N_W - 1}", "too few"],
        why="Core would read past the end",
    )
    add(
        "weights_empty",
        "weight count",
        w("weights", []),
        rust="WeightCount",
        contains=[f"exactly {N_W}", "has 0"],
        why="no weights at all",
    )
    add(
        "lstm_weights_plus_one",
        "weight count",
        w("weights", [*L["weights"], 0.0], L),
        rust="WeightCount",
        contains=[f"exactly {N_L}", f"has {N_L + 1}"],
        why="LSTM weight count (spec §6)",
    )
    add(
        "lstm_weights_minus_one",
        "weight count",
        w("weights", L["weights"][:-1], L),
        rust="WeightCount",
        contains=[f"exactly {N_L}", f"has {N_L - 1}"],
        why="Core's LSTM only asserts; we must refuse",
    )
    big = copy.deepcopy(W)
    a0, a1 = big["config"]["layers"]
    a0.update(channels=1024, bottleneck=1024, kernel_sizes=[1024] * 3)
    a1["input_size"] = 1024
    big_count = simple_weight_count(big["config"])
    add(
        "weights_config_implies_huge",
        "weight count",
        big,
        rust="WeightCount",
        contains=[f"exactly {big_count}", f"has {N_W}"],
        why=f"the config implies {big_count} weights (3.2 G floats): must be refused before allocating",
    )
    add(
        "weights_over_limit",
        "weight count",
        W,
        rust="Limit",
        limits={"max_weights": 100},
        contains=["number of weights", "100", str(N_W)],
        why="max_weights lowered below the file's count",
    )

    # --- weight values ----------------------------------------------------------------------
    for name, value, contains, why in [
        (
            "weight_out_of_f32",
            Raw("1e39"),
            ["weights[7]", "finite float32", "3.4028235e38"],
            "1e39 becomes +inf as float32: the model would output inf/NaN forever",
        ),
        ("weight_string", "0.5", ["weights[7]", "expected a number", 'the string "0.5"'], "weights are numbers"),
        ("weight_null", None, ["weights[7]", "expected a number", "null"], "weights are numbers"),
        ("weight_bool", True, ["weights[7]", "expected a number", "true"], "weights are numbers"),
        ("weight_nested_array", [0.5], ["weights[7]", "expected a number", "an array of 1 item"], "flat array"),
    ]:
        doc = copy.deepcopy(W)
        doc["weights"][7] = value
        rust = "NonFiniteWeight" if name == "weight_out_of_f32" else "Format"
        add(name, "bad weight values", doc, rust=rust, contains=contains, why=why)

    # --- channels, kernel sizes, dilations --------------------------------------------------
    layer0 = "config.layers[0]"
    rf_huge = receptive_field(w("config.layers.0.dilations.1", 1 << 40)["config"])
    u64_max = (1 << 64) - 1
    for name, path, value, rust, contains in [
        ("channels_zero", "channels", 0, "Format", [f"{layer0}.channels", "a positive integer", "got 0"]),
        ("channels_negative", "channels", -4, "Format", [f"{layer0}.channels", "a positive integer", "got -4"]),
        ("channels_fraction", "channels", 4.5, "Format", [f"{layer0}.channels", "a positive integer", "got 4.5"]),
        ("channels_string", "channels", "4", "Format", [f"{layer0}.channels", 'the string "4"']),
        ("channels_huge", "channels", 100000, "Limit", [f"{layer0}.channels", "1024", "100000"]),
        ("channels_beyond_u32", "channels", 1 << 40, "Limit", [f"{layer0}.channels", "1024", str(1 << 40)]),
        ("channels_beyond_u64", "channels", Raw("1e30"), "Format", [f"{layer0}.channels", "positive integer", "1e+30"]),
        ("bottleneck_zero", "bottleneck", 0, "Format", [f"{layer0}.bottleneck", "a positive integer", "got 0"]),
        ("kernel_size_zero", "kernel_sizes.1", 0, "Format", [f"{layer0}.kernel_sizes[1]", "positive integer", "got 0"]),
        ("kernel_size_negative", "kernel_sizes.1", -3, "Format", [f"{layer0}.kernel_sizes[1]", "got -3"]),
        ("kernel_size_huge", "kernel_sizes.1", 5000, "Limit", [f"{layer0}.kernel_sizes[1]", "1024", "5000"]),
        ("head_kernel_size_zero", "head.kernel_size", 0, "Format", [f"{layer0}.head.kernel_size", "got 0"]),
        ("dilation_zero", "dilations.1", 0, "Format", [f"{layer0}.dilations[1]", "a positive integer", "got 0"]),
        ("dilation_negative", "dilations.1", -2, "Format", [f"{layer0}.dilations[1]", "got -2"]),
        ("dilation_huge", "dilations.1", 1 << 40, "Limit", ["receptive field", str(1 << 22), str(rf_huge)]),
        ("dilation_u64_max", "dilations.1", u64_max, "Format", [f"{layer0}.dilations[1]", str(u64_max), "overflow"]),
        ("in_channels_zero", None, 0, "Format", ["config.in_channels", "a positive integer", "got 0"]),
    ]:
        full = f"config.layers.0.{path}" if path else "config.in_channels"
        add(
            name,
            "channels/kernel sizes/dilations",
            w(full, value),
            rust=rust,
            contains=contains,
            why="NAM Core builds a zero-size or negative-size matrix from this"
            if rust == "Format"
            else "over the default limit: refused before anything is allocated",
        )
    add(
        "layers_empty",
        "empty layer arrays",
        w("config.layers", []),
        rust="Format",
        contains=["config.layers", "non-empty", "an array of 0 items"],
        why="Core requires at least one layer array",
    )
    add(
        "dilations_empty",
        "empty layer arrays",
        w("config.layers.0.dilations", [], WL),
        rust="Format",
        contains=["config.layers[0].dilations", "non-empty"],
        why="a layer array with no layers",
    )
    add(
        "kernel_sizes_empty",
        "empty layer arrays",
        w("config.layers.0.kernel_sizes", []),
        rust="Format",
        contains=["config.layers[0].kernel_sizes", "3", "got 0"],
        why="kernel_sizes must have one entry per dilation",
    )
    add(
        "kernel_sizes_length_mismatch",
        "length mismatch",
        w("config.layers.0.kernel_sizes", [3, 3]),
        rust="Format",
        contains=["config.layers[0].kernel_sizes", "3", "got 2"],
        why="per-layer lists must have L entries",
    )
    add(
        "activation_length_mismatch",
        "length mismatch",
        w("config.layers.0.activation", [{"type": "Tanh"}] * 2),
        rust="Format",
        contains=["config.layers[0].activation", "(3", "got 2"],
        why="one entry per layer",
    )
    add(
        "gating_mode_length_mismatch",
        "length mismatch",
        w("config.layers.0.gating_mode", ["none"] * 4),
        rust="Format",
        contains=["config.layers[0].gating_mode", "(3", "got 4"],
        why="one entry per layer",
    )
    add(
        "kernel_size_and_kernel_sizes",
        "length mismatch",
        w("config.layers.0.kernel_size", 3),
        rust="Format",
        contains=["config.layers[0]", "kernel_size", "kernel_sizes"],
        why="Core throws when both are given",
    )
    add(
        "input_size_mismatch",
        "length mismatch",
        w("config.layers.1.input_size", 3),
        rust="Format",
        contains=["config.layers[1].input_size", "expected 4", "got 3"],
        why="array 1 gets array 0's 4 channels (Core does not check this and misreads memory)",
    )
    add(
        "condition_size_mismatch",
        "length mismatch",
        w("config.layers.0.condition_size", 2),
        rust="Format",
        contains=["config.layers[0].condition_size", "expected 1", "got 2"],
        why="without a condition_dsp the condition is the 1-channel input",
    )
    add(
        "head_size_chain_mismatch",
        "length mismatch",
        w("config.layers.0.head.out_channels", 3),
        rust="Format",
        contains=["config.layers[1].channels", "2", "3"],
        why="Core: channels[i] == head_size[i-1]",
    )
    add(
        "layers_too_many",
        "channels/kernel sizes/dilations",
        w("config.layers.0.dilations", [1] * 5000, WL),
        rust="Limit",
        contains=["number of WaveNet layers", "4096", "5000"],
        why="over the default layer limit",
    )
    add(
        "groups_not_dividing",
        "channels/kernel sizes/dilations",
        w("config.layers.0.groups_input", 3),
        rust="Format",
        contains=["config.layers[0].groups_input", "3 groups", "4"],
        why="Core's Conv1D requires groups | channels",
    )

    # --- LSTM shapes ------------------------------------------------------------------------
    add(
        "lstm_hidden_zero",
        "channels/kernel sizes/dilations",
        w("config.hidden_size", 0, L),
        rust="Format",
        contains=["config.hidden_size", "a positive integer", "got 0"],
        why="a zero-width LSTM",
    )
    add(
        "lstm_hidden_huge",
        "channels/kernel sizes/dilations",
        w("config.hidden_size", 5000, L),
        rust="Limit",
        contains=["config.hidden_size", "1024", "5000"],
        why="over the default channel limit",
    )
    add(
        "lstm_layers_huge",
        "channels/kernel sizes/dilations",
        w("config.num_layers", 100000, L),
        rust="Limit",
        contains=["config.num_layers", "4096", "100000"],
        why="over the default layer limit",
    )
    add(
        "lstm_layers_negative",
        "channels/kernel sizes/dilations",
        w("config.num_layers", -1, L),
        rust="Format",
        contains=["config.num_layers", "non-negative integer", "got -1"],
        why="a layer count is a count",
    )
    add(
        "lstm_layers_zero",
        "empty layer arrays",
        w("config.num_layers", 0, L),
        rust="WeightCount",
        contains=["exactly 9", f"has {N_L}"],
        why="zero layers: Core's head reads the input, H + 1 = 9 weights",
    )
    add(
        "lstm_input_size_two",
        "channels/kernel sizes/dilations",
        w("config.input_size", 2, L),
        rust="Format",
        contains=["config.input_size", "1", "got 2"],
        why="input_size must equal in_channels (1)",
    )
    add(
        "lstm_sample_rate_huge",
        "sample rate",
        w("sample_rate", 1.0e7, L),
        rust="Limit",
        contains=["prewarm", str(1 << 22), "5000000"],
        why="Core would feed 5 M zeros at load (half a second)",
    )

    # --- activations ------------------------------------------------------------------------
    act0 = "config.layers.0.activation.0"
    for name, value, contains, why in [
        (
            "activation_unknown",
            {"type": "Swish"},
            [f"{layer0}.activation[0].type", '"Swish"', "Tanh"],
            "ActivationConfig::from_json throws on an unknown name",
        ),
        ("activation_trainer_only", {"type": "Softsigmoid"}, ['"Softsigmoid"'], "a trainer-only activation"),
        (
            "activation_missing_type",
            {"negative_slope": 0.1},
            [f"{layer0}.activation[0].type", "missing"],
            "an activation object needs a type",
        ),
        ("activation_number", 3, [f"{layer0}.activation[0]", "an activation name", "3"], "wrong type"),
        (
            "leakyrelu_slope_string",
            {"type": "LeakyReLU", "negative_slope": "0.1"},
            [f"{layer0}.activation[0].negative_slope", "a finite number", 'the string "0.1"'],
            "slopes are numbers",
        ),
        (
            "leakyrelu_slope_out_of_f32",
            {"type": "LeakyReLU", "negative_slope": Raw("1e39")},
            [f"{layer0}.activation[0].negative_slope", "float32 range", "1e+39"],
            "would be +inf as float32",
        ),
        (
            "prelu_slopes_wrong_count",
            {"type": "PReLU", "negative_slopes": [0.1, 0.2, 0.3]},
            [f"{layer0}.activation[0]", "3 negative_slopes", "4 channels"],
            "Core indexes slopes by channel; 3 slopes cannot cover 4 channels",
        ),
        (
            "prelu_slopes_empty",
            {"type": "PReLU", "negative_slopes": []},
            [f"{layer0}.activation[0].negative_slopes", "non-empty"],
            "no slope for any channel",
        ),
    ]:
        add(name, "activation names and parameters", w(act0, value), rust="Format", contains=contains, why=why)
    add(
        "activation_lowercase",
        "activation names and parameters",
        w("config.layers.0.activation", "tanh", WL),
        rust="Format",
        contains=["config.layers[0].activation", '"tanh"'],
        why="names are case-sensitive in Core",
    )
    add(
        "gating_mode_unknown",
        "activation names and parameters",
        w("config.layers.0.gating_mode.1", "gatd"),
        rust="Format",
        contains=["config.layers[0].gating_mode[1]", '"none", "gated" or "blended"', '"gatd"'],
        why="Core knows none, gated, blended",
    )
    add(
        "secondary_activation_unknown",
        "activation names and parameters",
        w("config.layers.0.secondary_activation", "Swish", WL),
        rust="Format",
        contains=["config.layers[0].secondary_activation", '"Swish"'],
        why="read for gated layers; unknown name",
    )

    # --- versions ---------------------------------------------------------------------------
    for v, contains in [
        ("0.4.9", ['"0.4.9"', "older", "0.5.0"]),
        ("0.8.0", ['"0.8.0"', "newer", "0.7.0"]),
        ("1.0.0", ['"1.0.0"', "newer", "0.7.0"]),
        ("0.5", ['"0.5"', "MAJOR.MINOR.PATCH"]),
        ("abc", ['"abc"', "MAJOR.MINOR.PATCH"]),
        ("v0.5.4", ['"v0.5.4"', "MAJOR.MINOR.PATCH"]),
        ("", ['""', "MAJOR.MINOR.PATCH"]),
    ]:
        name = "version_" + (v.replace(".", "_") or "empty")
        add(
            name,
            "versions",
            w("version", v),
            rust="Version",
            contains=contains,
            why="CoreVersionSupportChecker: ^\\d+\\.\\d+\\.\\d+$, 0.5.0 <= v, major 0, minor <= 7",
        )
    add(
        "version_0_7_1",
        "versions",
        w("version", "0.7.1"),
        warnings=["0.7.1"],
        why="above 0.7.0 with minor 7: Core loads it with a warning (PARTIAL)",
    )
    add(
        "version_nested_0_4_9",
        "versions",
        w("config.condition_dsp.version", "0.4.9", CD),
        rust="Version",
        contains=["config.condition_dsp.version", '"0.4.9"', "older"],
        why="nested models get the version check too",
    )

    # --- sample rate ------------------------------------------------------------------------
    for name, value, rust, contains in [
        ("sample_rate_zero", 0, "Format", ["sample_rate", "a positive sample rate", "got 0"]),
        ("sample_rate_negative", -48000, "Format", ["sample_rate", "a positive sample rate", "got -48000"]),
        ("sample_rate_string", "48000", "Format", ["sample_rate", "a finite number", 'the string "48000"']),
        ("sample_rate_nan", Raw("NaN"), "Json", ["invalid JSON", "expected value"]),
    ]:
        add(
            name,
            "sample rate",
            w("sample_rate", value),
            rust=rust,
            contains=contains,
            why="a rate must be a positive number (NaN is not even JSON)",
        )
    add(
        "sample_rate_null",
        "sample rate",
        w("sample_rate", None),
        why="null is read as 'unknown', like a missing sample_rate (Core would throw converting null)",
    )

    # --- duplicate keys ---------------------------------------------------------------------
    def pairs(doc: dict[str, Json], first: tuple[str, Json]) -> Pairs:
        return Pairs([first, *doc.items()])

    add(
        "duplicate_key_last_valid",
        "duplicate keys",
        pairs(W, ("version", "abc")),
        why="nlohmann's parser assigns through operator[], so the last duplicate wins: version is 0.7.0",
    )
    add(
        "duplicate_key_last_invalid",
        "duplicate keys",
        Pairs([*W.items(), ("version", "abc")]),
        rust="Version",
        contains=['"abc"'],
        why="the last duplicate wins, and it is malformed",
    )
    add(
        "duplicate_weights_last_short",
        "duplicate keys",
        Pairs([*W.items(), ("weights", [0.5])]),
        rust="WeightCount",
        contains=[f"exactly {N_W}", "has 1"],
        why="the last weights array (1 value) is used",
    )

    # --- condition_dsp ----------------------------------------------------------------------
    inner = CD["config"]["condition_dsp"]
    chain = copy.deepcopy(inner)
    for _ in range(5):
        outer = copy.deepcopy(inner)
        outer["config"]["condition_dsp"] = chain
        chain = outer
    deep_cd = copy.deepcopy(CD)
    deep_cd["config"]["condition_dsp"] = chain
    add(
        "condition_dsp_depth_6",
        "condition_dsp recursion",
        deep_cd,
        rust="Limit",
        contains=["condition_dsp nesting depth", "4", "5"],
        why="6 nested condition_dsps; the default limit is 4",
    )
    level: Json = {"version": "0.7.0", "architecture": "WaveNet", "config": {"head_scale": 1}, "weights": []}
    for _ in range(100):
        level = {
            "version": "0.7.0",
            "architecture": "WaveNet",
            "config": {"head_scale": 1, "condition_dsp": level, "layers": []},
            "weights": [],
        }
    add(
        "condition_dsp_json_depth_100",
        "condition_dsp recursion",
        level,
        rust="Json",
        contains=["invalid JSON", "recursion limit"],
        why="100 levels of condition_dsp: the JSON depth limit stops it",
    )
    add(
        "condition_dsp_sample_rate_mismatch",
        "condition_dsp sample rate",
        w("config.condition_dsp.sample_rate", 44100, CD),
        rust="Format",
        contains=["config.condition_dsp", "44100 Hz", "48000 Hz"],
        why="Core requires the condition_dsp's rate to equal the model's",
    )
    add(
        "condition_dsp_sample_rate_missing",
        "condition_dsp sample rate",
        w("config.condition_dsp.sample_rate", DELETE, CD),
        rust="Format",
        contains=["config.condition_dsp", "unknown", "48000 Hz"],
        why="-1 (unknown) is not 48000 for Core either",
    )
    add(
        "condition_dsp_outputs_mismatch",
        "length mismatch",
        w("config.layers.0.condition_size", 8, CD),
        rust="Format",
        contains=["config.layers[0].condition_size", "expected 4", "got 8"],
        why="the condition_dsp gives 4 rows",
    )
    n_inner = len(inner["weights"])
    add(
        "condition_dsp_weights_short",
        "weight count",
        w("config.condition_dsp.weights", inner["weights"][:-1], CD),
        rust="Format",
        contains=["config.condition_dsp.weights", f"exactly {n_inner}", f"has {n_inner - 1}"],
        why="the nested model's own weight count",
    )
    add(
        "condition_dsp_not_object",
        "wrong top-level type",
        w("config.condition_dsp", 3, CD),
        rust="Format",
        contains=["config.condition_dsp", "expected an object", "3"],
        why="a condition_dsp is a whole .nam object",
    )
    add(
        "condition_dsp_missing_version",
        "missing key",
        w("config.condition_dsp.version", DELETE, CD),
        rust="Format",
        contains=["config.condition_dsp.version", "required key is missing"],
        why="nested models need a version",
    )

    # --- SlimmableContainer -----------------------------------------------------------------
    def container(subs: list[tuple[Json, Json]]) -> dict[str, Json]:
        return {
            "version": "0.7.0",
            "architecture": "SlimmableContainer",
            "config": {"submodels": [{"max_value": v, "model": m} for v, m in subs]},
            "weights": [],
            "sample_rate": 48000,
        }

    lstm_small = base("lstm_3x4.nam")
    add(
        "container_valid",
        "containers",
        container([(0.5, lstm_small), (1.0, L)]),
        why="the base container: two LSTMs, ascending max_value, last >= 1",
    )
    add(
        "container_empty",
        "containers",
        container([]),
        rust="Format",
        contains=["config.submodels", "non-empty", "an array of 0 items"],
        why="Core: at least one sub-model",
    )
    add(
        "container_unsorted",
        "containers",
        container([(1.0, L), (0.5, lstm_small)]),
        rust="Format",
        contains=["config.submodels[1].max_value", "strictly ascending", "0.5", "1"],
        why="Core: ascending max_value",
    )
    add(
        "container_equal_max",
        "containers",
        container([(1.0, lstm_small), (1.0, L)]),
        rust="Format",
        contains=["config.submodels[1].max_value", "strictly ascending"],
        why="Core: strictly ascending",
    )
    add(
        "container_last_below_one",
        "containers",
        container([(0.25, lstm_small), (0.5, L)]),
        rust="Format",
        contains=["config.submodels", "at least 1.0", "0.5"],
        why="Core: the last max_value must be >= 1.0",
    )
    add(
        "container_missing_submodels",
        "containers",
        w("config.submodels", DELETE, container([(1.0, L)])),
        rust="Format",
        contains=["config.submodels", "required key is missing"],
        why="submodels is required",
    )
    add(
        "container_max_value_string",
        "containers",
        container([(0.5, lstm_small), ("1.0", L)]),
        rust="Format",
        contains=["config.submodels[1].max_value", "a finite number", 'the string "1.0"'],
        why="max_value is a number",
    )
    add(
        "container_sample_rate_mismatch",
        "containers",
        container([(0.5, w("sample_rate", 44100, lstm_small)), (1.0, L)]),
        rust="Format",
        contains=["config.submodels[0].model", "44100 Hz", "48000 Hz"],
        why="Core: rates equal the container's",
    )
    add(
        "container_submodel_weights",
        "containers",
        container([(0.5, lstm_small), (1.0, w("weights", [], L))]),
        rust="Format",
        contains=["config.submodels[1].model.weights", f"exactly {N_L}", "has 0"],
        why="each sub-model has its own weight count",
    )
    nested: Json = L
    for _ in range(6):
        nested = container([(1.0, nested)])
    add(
        "container_nested_depth_6",
        "containers",
        nested,
        rust="Limit",
        contains=["nesting depth", "4", "5"],
        why="containers inside containers, deeper than the nesting limit",
    )

    # --- slimmable WaveNet ------------------------------------------------------------------
    def slim(allowed: Json, method: str = "slice_channels_uniform") -> dict[str, Json]:
        return w("config.layers.0.slimmable", {"method": method, "kwargs": {"allowed_channels": allowed}}, G)

    add("slimmable_valid", "slimmable", slim([2, 4]), why="the base slimmable WaveNet: widths 2 and 4 of 4")
    add(
        "slimmable_allowed_above_channels",
        "slimmable",
        slim([2, 4, 8]),
        rust="Format",
        contains=["allowed_channels", "end at channels (4)", "[2, 4, 8]"],
        why="allowed_channels must be ascending and end at channels (slimmable.cpp)",
    )
    add(
        "slimmable_allowed_unsorted",
        "slimmable",
        slim([4, 2]),
        rust="Format",
        contains=["allowed_channels", "strictly ascending", "[4, 2]"],
        why="must be strictly ascending",
    )
    add(
        "slimmable_allowed_empty",
        "slimmable",
        slim([]),
        rust="Format",
        contains=["allowed_channels", "[]"],
        why="no width to run at",
    )
    add(
        "slimmable_allowed_zero",
        "slimmable",
        slim([0, 4]),
        rust="Format",
        contains=["allowed_channels[0]", "a positive integer", "got 0"],
        why="a zero width",
    )
    add(
        "slimmable_method_unknown",
        "slimmable",
        slim([2, 4], "prune"),
        rust="Format",
        contains=["slimmable.method", "slice_channels_uniform", '"prune"'],
        why="Core throws on any other method",
    )

    # --- limits lowered on valid files ------------------------------------------------------
    size_w = len(FILES["extra_keys.nam"])  # any valid file works; the limit names its size
    add(
        "limit_json_bytes",
        "limits",
        extra,
        rust="Limit",
        limits={"max_json_bytes": 1000},
        contains=["file size in bytes", "1000", str(size_w)],
        why="max_json_bytes is checked before reading",
    )
    add(
        "limit_channels",
        "limits",
        W,
        rust="Limit",
        limits={"max_channels": 3},
        contains=["config.layers[0].channels", "3", "4"],
        why="4 channels over a limit of 3",
    )
    add(
        "limit_kernel_size",
        "limits",
        W,
        rust="Limit",
        limits={"max_kernel_size": 2},
        contains=["config.layers[0].kernel_sizes[0]", "2", "3"],
        why="kernel 3 over a limit of 2",
    )
    add(
        "limit_receptive_field",
        "limits",
        W,
        rust="Limit",
        limits={"max_receptive_field": 10},
        contains=["receptive field", "10", str(RF_W)],
        why=f"receptive field {RF_W} (spec §3.4) over 10",
    )
    add(
        "limit_layers",
        "limits",
        W,
        rust="Limit",
        limits={"max_layers": 4},
        contains=["number of WaveNet layers", "4", "5"],
        why="3 + 2 layers over a limit of 4",
    )
    add(
        "limit_nesting",
        "limits",
        CD,
        rust="Limit",
        limits={"max_nesting": 0},
        contains=["condition_dsp nesting depth", "0", "1"],
        why="one condition_dsp over a limit of 0",
    )
    add(
        "limit_prewarm",
        "limits",
        L,
        rust="Limit",
        limits={"max_prewarm_samples": 1000},
        contains=["prewarm", "1000", "24000"],
        why="half a second at 48 kHz is 24000 samples",
    )


# Built by the tests in a temporary folder (too big to commit).
GENERATED: list[dict[str, Json]] = [
    {
        "name": "whitespace_100mb",
        "kind": "100 MB of whitespace",
        "generate": {"whitespace": 100 << 20},
        "outcome": "error",
        "rust": "Json",
        "python": "NamFormatError",
        "contains": ["invalid JSON", "EOF"],
        "why": "100 MB of nothing: parsed in bounded time and refused",
    },
    {
        "name": "whitespace_100mb_then_model",
        "kind": "100 MB of whitespace",
        "generate": {"whitespace": 100 << 20, "then": "extra_keys.nam"},
        "outcome": "loads",
        "warnings": [],
        "why": "whitespace is legal JSON padding and the file is under max_json_bytes: Core loads it too",
    },
    {
        "name": "sparse_300mb",
        "kind": "limits",
        "generate": {"sparse": 300 << 20},
        "outcome": "error",
        "rust": "Limit",
        "python": "NamLimitError",
        "contains": ["file size in bytes", str(DEFAULT_MAX_JSON_BYTES), str(300 << 20)],
        "why": "over the default max_json_bytes (256 MiB): refused from the file size, nothing is read",
    },
]


def main() -> None:
    make_cases()
    for old in HERE.glob("*.nam"):
        old.unlink()
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
    names = [c["name"] for c in CASES + GENERATED]
    assert len(names) == len(set(names)), "duplicate case names"
    (HERE / "expected.json").write_text(json.dumps(CASES + GENERATED, indent=1) + "\n")
    total = sum(len(d) for d in FILES.values())
    print(f"{len(CASES)} files ({total} bytes) + {len(GENERATED)} generated cases")


if __name__ == "__main__":
    main()
