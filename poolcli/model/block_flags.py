"""The options of blockwise runs (``--max-memory``, ``--scheduler``, ``pyramid``), declared once."""

from __future__ import annotations

from poolcli.model.flag import Flag

BLOCKS = "Bigger than memory"

BLOCK_FLAGS = (
    Flag(
        "max_memory",
        ("--max-memory",),
        str | None,
        None,
        "Pool block by block within SIZE (512MiB, 4GiB) whatever the input size; the output "
        "is identical. Inputs .npy, .zarr, .tif; outputs the same.",
        BLOCKS,
        "SIZE",
    ),
    Flag(
        "scheduler",
        ("--scheduler",),
        str | None,
        None,
        "Run the blocks of a large array, or the files of a batch, as Dask tasks: threads, "
        "processes, or a running Dask scheduler's address (tcp://HOST:PORT).",
        BLOCKS,
        "threads|processes|tcp://HOST:PORT",
    ),
)

PYRAMID_FLAGS = (
    Flag(
        "levels",
        ("-n", "--levels"),
        int,
        4,
        "Levels to write besides the input's own (level 0). Default: 4.",
        BLOCKS,
        "N",
        minimum=1,
    ),
)
