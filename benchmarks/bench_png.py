"""PNG codecs: encode speed and size for each zlib level, Pillow against libspng (#9).

Inputs: photo-like (``sample_data/photo.png``, bench_batch's 512² photos and their 2×2
halves, as a batch writes them) and flat graphics (``sample_data/labels.png`` scaled up, a
``--viz`` picture, a text-like page). Prints one markdown table per group: milliseconds
(best of ``--repeat``) and bytes, summed over the group's images, for each level and encoder,
and what ``poolcli.io.png_codec.encode_png`` (the chosen mapping) gives. Also times decoding.

    .venv/bin/python benchmarks/bench_png.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import photo  # noqa: E402
from benchutil import machine_line, table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _viz() -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out, viz = Path(tmp) / "o.png", Path(tmp) / "viz.png"
        cmd = [sys.executable, "-m", "poolcli", "max", str(ROOT / "sample_data/photo.png")]
        subprocess.run([*cmd, "-k", "2", "-o", str(out), "--viz", str(viz)], check=True)
        return np.array(Image.open(viz).convert("RGB"))


def _text() -> np.ndarray:
    page = Image.new("L", (640, 480), 255)
    draw = ImageDraw.Draw(page)
    rng = np.random.default_rng(7)
    for row in range(28):
        words = " ".join("".join(chr(97 + c) for c in rng.integers(0, 26, 6)) for _ in range(9))
        draw.text((12, 8 + 16 * row), words, fill=0)
    return np.array(page)


def inputs() -> dict[str, list[tuple[str, np.ndarray]]]:
    photos = [photo(i) for i in range(3)]
    halves = [
        p.reshape(256, 2, 256, 2, 3).mean(axis=(1, 3)).round().astype(np.uint8) for p in photos
    ]
    labels = np.array(Image.open(ROOT / "sample_data/labels.png"))
    return {
        "photo-like": [
            ("photo.png", np.array(Image.open(ROOT / "sample_data/photo.png"))),
            *[(f"bench photo {i} 512²", p) for i, p in enumerate(photos)],
            *[(f"bench photo {i} halved", h) for i, h in enumerate(halves)],
        ],
        "flat graphics": [
            ("labels.png ×8", np.kron(labels, np.ones((8, 8), np.uint8))),
            ("--viz picture", _viz()),
            ("text page", _text()),
        ],
    }


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pillow_encode(array: np.ndarray, level: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def spng_encode(array: np.ndarray, level: int) -> bytes:
    import pyspng

    return pyspng.encode(np.ascontiguousarray(array), compress_level=level)


def chosen_encode(array: np.ndarray, level: int) -> bytes:
    from poolcli.io.png_codec import encode_png

    return encode_png(array, level)


def group_rows(images, repeat: int) -> list[list]:
    rows = []
    encoders = [("Pillow", pillow_encode), ("libspng", spng_encode), ("chosen", chosen_encode)]
    for level in range(10):
        row: list = [level]
        for _, encode in encoders:
            ms = sum(best(lambda a=a, e=encode, lv=level: e(a, lv), repeat) for _, a in images)
            ms *= 1000
            size = sum(len(encode(a, level)) for _, a in images)
            row += [f"{ms:.1f}", f"{size:,}"]
        rows.append(row)
    return rows


def decode_rows(images, repeat: int) -> list[list]:
    import pyspng

    rows = []
    for name, array in images:
        data = pillow_encode(array, 6)
        pil = best(lambda d=data: np.array(Image.open(io.BytesIO(d))), repeat)
        spng = best(lambda d=data: pyspng.load(d), repeat)
        rows.append([name, f"{pil * 1000:.2f}", f"{spng * 1000:.2f}", f"{pil / spng:.2f}×"])
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    print(machine_line())
    groups = inputs()
    headers = [
        "level",
        "Pillow ms",
        "Pillow bytes",
        "libspng ms",
        "libspng bytes",
        "chosen ms",
        "chosen bytes",
    ]
    for name, images in groups.items():
        print(f"\n### {name}: {', '.join(n for n, _ in images)}\n")
        print(table(headers, group_rows(images, args.repeat)))
    print("\n### decoding (ms, best of repeat)\n")
    everything = [pair for images in groups.values() for pair in images]
    print(
        table(
            ["image", "Pillow", "libspng", "Pillow/libspng"], decode_rows(everything, args.repeat)
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
