"""The "wrote ..." line and --json say what the output file holds."""

import json
import os

import numpy as np


def test_what_was_written_is_reported_as_the_file_holds_it(cli, image):
    # avg computes in float32; a PNG holds uint8.
    name = image(np.arange(16, dtype=np.uint8).reshape(4, 4), "grey.png")
    result = cli("avg", name, "-k", "2", "-o", "out.png")
    assert result.stderr.startswith(
        "poolcli: wrote out.png: avg of grey.png, 4×4 uint8 → 2×2 uint8"
    )

    document = json.loads(cli("avg", name, "-k", "2", "-o", "out2.png", "--json").stdout)
    assert document["files"][0]["output_dtype"] == "uint8"
    document = json.loads(cli("avg", name, "-k", "2", "--json").stdout)
    assert document["files"][0]["output_dtype"] == "float32"  # nothing written: the result


def test_png_compression_applies_to_a_single_file_too(cli, image):
    name = image(np.tile(np.arange(64, dtype=np.uint8), (64, 1)), "ramp.png")
    cli("max", name, "-k", "2", "-o", "stored.png", "--png-compression", "0")
    cli("max", name, "-k", "2", "-o", "packed.png")  # the default level, 6
    assert os.path.getsize("stored.png") > os.path.getsize("packed.png")
