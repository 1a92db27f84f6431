"""The one JSON schema: windows, steps, results, files, documents and non-finite numbers."""

import json

import numpy as np
import pytest
from test_report import SEED, make_result, seed_avg

from poolcli.learn import compare, invariance
from poolcli.model.options import PoolOptions
from poolcli.model.steps import Step, make_step
from poolcli.model.window import WindowSpec, resolve
from poolcli.render import documents, report, schema


def strict(text: str):
    """JSON as jq and every strict reader take it: NaN and Infinity literals are refused."""

    def refuse(name):
        raise ValueError(f"invalid JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_json_values_read_back_exactly(dtype):
    rng = np.random.default_rng(1)
    exponents = rng.integers(-3, 4, 300) if dtype is np.float16 else rng.integers(-9, 9, 300)
    values = (rng.standard_normal(300) * 10.0**exponents).astype(dtype)
    for value in values:
        encoded = strict(json.dumps(schema.json_value(value)))
        assert dtype(encoded) == value


def test_json_value_kinds():
    assert schema.json_value(np.uint64(2**64 - 1)) == 2**64 - 1
    assert schema.json_value(np.bool_(False)) is False
    assert schema.json_value(np.float32(0.1)) == 0.1  # the short decimal, not 0.100000001...
    for value in (np.float64("nan"), np.float32("inf"), np.float32("-inf")):
        assert schema.json_value(value) is None


def test_values_keep_the_shape_and_say_where_the_nonfinite_cells_are():
    array = np.arange(12, dtype=np.int16).reshape(2, 3, 2)
    assert schema.values_json(array) == (array.tolist(), {})
    floats = np.array([[np.nan, 1.5], [np.inf, -np.inf]], np.float32)
    values, where = schema.values_json(floats)
    assert values == [[None, 1.5], [None, None]]
    assert where == {"nan": [[0, 0]], "inf": [[1, 0]], "-inf": [[1, 1]]}


def test_nonfinite_values_round_trip_as_documented():
    output = np.array([[np.nan, 1.0], [np.inf, -np.inf]], np.float32)
    result = make_result(output, (2, 2), "HW", spec=WindowSpec.make(kernel_size=1))
    entry = strict(schema.dumps(schema.result_json(result, "x.npy")))
    # numpy reads null as NaN, without strings in the array ...
    read = np.asarray(entry["values"], dtype=float)
    assert read[0, 1] == 1.0 and np.isnan(read).sum() == 3
    # ... and nonfinite puts the infinities back.
    assert entry["nonfinite"] == {"values": {"nan": [[0, 0]], "inf": [[1, 0]], "-inf": [[1, 1]]}}
    assert np.array_equal(schema.read_values(entry), output, equal_nan=True)
    stats = entry["output_stats"]
    assert (stats["min"], stats["max"], stats["mean"], stats["nan"]) == (None, None, None, 1)
    assert stats["nonfinite"] == {"min": "-inf", "max": "inf", "mean": "nan"}


def test_finite_documents_carry_an_empty_nonfinite():
    entry = schema.result_json(seed_avg(), "seed.npy")
    assert entry["nonfinite"] == {} and entry["output_stats"]["nonfinite"] == {}
    assert np.array_equal(schema.read_values(entry), [[3.75, 5.25], [11.5, 13.5]])


def test_stats():
    stats = report.array_stats(np.array([[1.0, np.nan], [3.0, np.nan]], np.float32))
    assert schema.stats_json(stats) == {
        "min": 1.0,
        "max": 3.0,
        "mean": 2.0,
        "nan": 2,
        "nonfinite": {},
    }
    every = schema.stats_json(report.array_stats(np.full((2, 2), np.nan)))
    assert every["nonfinite"] == {"min": "nan", "max": "nan", "mean": "nan"}
    empty = schema.stats_json(report.array_stats(np.zeros((0, 3))))
    assert empty == {"min": None, "max": None, "mean": None, "nan": 0, "nonfinite": {}}
    assert schema.stats_json(None) is None


# --------------------------------------------------------------------------------------------
# Windows and steps


def test_a_window_as_given():
    window = schema.window_json(WindowSpec.make(kernel_size="3x2", padding="same"))
    assert window == {
        "windowing": "sliding",
        "kernel_size": [3, 2],
        "stride": [3, 2],  # the default stride is the kernel
        "padding": None,  # same: known once the input is
        "padding_rule": "same",
        "dilation": [1],
        "ceil_mode": False,
        "count_include_pad": False,
        "output_size": None,
        "axes": None,
    }
    padded = schema.window_json(WindowSpec.make(kernel_size=2, stride=1, padding="0:1"))
    assert (padded["stride"], padded["padding"], padded["padding_rule"]) == ([1], [[0, 1]], None)
    adaptive = schema.window_json(WindowSpec.make(output_size="3x2"))
    assert adaptive["windowing"] == "adaptive" and adaptive["output_size"] == [3, 2]
    assert adaptive["kernel_size"] is adaptive["padding"] is adaptive["dilation"] is None
    assert schema.window_json(WindowSpec.make(global_pool=True))["windowing"] == "global"


def test_a_resolved_window_has_one_value_per_axis():
    spec = WindowSpec.make(kernel_size=3, stride=2, padding="same")
    window = schema.window_json(spec, resolve(spec, (5, 4), "HW"))
    assert window["kernel_size"] == [3, 3] and window["stride"] == [2, 2]
    assert window["padding"] == [[1, 1], [0, 1]] and window["padding_rule"] == "same"
    assert window["output_size"] == [3, 2] and window["dilation"] == [1, 1]
    assert window["axes"][1] == {
        "axis": "W",
        "size": 4,
        "out": 2,
        "formula": "floor((4 + 0 + 1 − 3) / 2) + 1 = 2",
        "effective_kernel": 3,
        "ceil_extra_cells": 0,
        "dropped_by_ceil": 0,
        "bins": None,
    }
    glob = WindowSpec.make(global_pool=True)
    resolved = schema.window_json(glob, resolve(glob, (5, 4), "HW"))
    assert resolved["kernel_size"] == [5, 4] and resolved["output_size"] == [1, 1]
    adaptive = WindowSpec.make(output_size="3x2")
    bins = schema.window_json(adaptive, resolve(adaptive, (5, 4), "HW"))["axes"][0]["bins"]
    assert bins == [[0, 2], [1, 4], [3, 5]]


def test_a_step_and_the_document_of_a_command_say_the_same():
    step = make_step("lp", kernel_size=2, norm_type=3, dtype="float64")
    written = schema.step_json(step)
    assert written == {
        "reduction": "lp",
        "window": schema.window_json(step.spec),
        "options": {
            "norm_type": 3.0,
            "seed": None,
            "expectation": False,
            "dtype": "float64",
            "straight_alpha": False,
        },
    }
    document = documents.json_document([step], [], device="cpu", version="9")
    assert document == {"poolcli": "9", "steps": [written], "device": "cpu", "files": []}
    assert schema.step_json(Step("max", step.spec))["reduction"] == "max"


# --------------------------------------------------------------------------------------------
# Files and results


def test_result():
    stats = report.array_stats(SEED)
    entry = schema.result_json(seed_avg(), "seed.npy", input_stats=stats, output_path="o.npy")
    assert list(entry)[:10] == list(schema.file_json("x", status="done"))
    assert entry["input"] == "seed.npy" and entry["output"] == "o.npy"
    assert (entry["status"], entry["error"], entry["layout"]) == ("done", None, "HW")
    assert (entry["input_shape"], entry["input_dtype"]) == ([4, 4], "int64")
    assert (entry["output_shape"], entry["output_dtype"]) == ([2, 2], "float32")
    assert entry["input_stats"] == {"min": 1, "max": 16, "mean": 8.5, "nan": 0, "nonfinite": {}}
    assert entry["values"] == [[3.75, 5.25], [11.5, 13.5]]
    assert entry["layout_guessed"] is True and entry["premultiplied_alpha"] is False
    assert entry["window"]["kernel_size"] == [2, 2] and entry["window"]["axes"][0]["axis"] == "H"


def test_values_only_for_small_outputs():
    at_limit = make_result(np.zeros((16, 16)), (32, 32), "HW")
    over = make_result(np.zeros((16, 17)), (32, 34), "HW")
    assert len(schema.result_json(at_limit, "x")["values"]) == 16
    assert schema.result_json(over, "x")["values"] is None


def test_every_per_file_object_starts_with_the_file_fields():
    fields = list(schema.file_json("x", status="done"))
    failure = schema.failure_json("x", "x: No such file.", 1)
    assert failure == {
        **schema.file_json("x", status="failed", error="x: No such file."),
        "exit_status": 1,
    }
    line = schema.batch_line_json("in.png", "out.png", status="done", seconds=0.5, bytes_in=9)
    assert list(failure)[: len(fields)] == list(line)[: len(fields)] == fields
    assert (line["seconds"], line["bytes_in"], line["bytes_out"], line["warnings"]) == (
        0.5,
        9,
        None,
        [],
    )


def test_dumps_puts_lists_of_values_on_one_line():
    document = {
        "input": "a[1,   2].npy",
        "values": [[1, 2], [3, None]],
        "empty": [],
        "nested": {"shape": [2, 2]},
    }
    text = schema.dumps(document)
    assert strict(text) == document
    assert '"input": "a[1,   2].npy"' in text
    assert "    [1, 2],\n    [3, null]\n" in text
    assert '"shape": [2, 2]' in text
    with pytest.raises(ValueError):
        schema.dumps({"values": [float("nan")]})  # never a NaN literal


# --------------------------------------------------------------------------------------------
# compare and invariance


def test_compare_document_names_the_input_as_a_result_does():
    array = SEED.astype(np.float32)
    array[0, 0] = np.nan
    spec = WindowSpec.make(kernel_size=2)
    comparison = compare.compare(array, ("max", "avg"), spec, "HW")
    document = strict(schema.dumps(documents.compare_json(comparison, "seed.npy", array)))
    assert document["input"] == "seed.npy" and document["input_shape"] == [4, 4]
    assert document["input_dtype"] == "float32" and document["output_shape"] == [2, 2]
    assert document["window"]["kernel_size"] == [2, 2]
    assert document["ops"] == ["max", "avg"]
    avg = document["stats"][1]
    assert avg["op"] == "avg" and avg["nan"] == 1 and avg["nonfinite"] == {}
    assert document["pairs"][0]["a"] == "max" and document["pairs"][0]["nonfinite"] == {}


def test_invariance_document():
    array = np.arange(64, dtype=np.float32).reshape(8, 8)
    spec = WindowSpec.make(kernel_size=2)
    result = invariance.measure(array, ("max",), spec, "HW", PoolOptions(), shifts=(1,), noise=0)
    document = strict(schema.dumps(documents.invariance_json(result, "ramp.npy", array)))
    assert document["input"] == "ramp.npy" and document["layout"] == "HW"
    assert document["window"] == schema.window_json(spec, result.windows)
    assert document["input_range"] == 63.0 and document["nonfinite"] == {}
    change = document["changes"][0]
    assert set(change) >= {"op", "kind", "axis", "amount", "unchanged", "cells", "nonfinite"}
    assert isinstance(change["cells"], int)
