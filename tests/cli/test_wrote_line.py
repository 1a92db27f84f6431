"""The "wrote ..." line and --json say what the output file holds."""

import json

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
