"""Make the small files in sample_data/ (run from anywhere: python sample_data/make_samples.py).

Deterministic: fixed seeds, no timestamps, so running it again gives the same pixels and
arrays. Every file is small (all together well under 1 MB).

    seed_4x4.npy        the 4x4 feature map of the max/avg pooling article (seed 000), int64
    seed001_4x4.npy     the 4x4 matrix of seed 001, int64
    seed003_4x4.npy     the 4x4 matrix of seed 003, int64
    gradient.png        64x64 8-bit grayscale, a diagonal ramp 0..252
    checkerboard.png    64x64 8-bit grayscale, 8x8-pixel squares of 0 and 255
    gray16.png          64x48 16-bit grayscale using the full range 0..65535
    rgba.png            64x64 RGBA, a coloured disc with a soft (partly transparent) edge
    labels.png          48x48 8-bit label map, classes 0..4 (for mode pooling)
    photo.png           256x192 RGB, photo-like: sky and ground gradients, blobs, noise
    features.npy        8x16x16 float32 feature map (CHW)
    signal.npy          256 float32 samples of a noisy sum of sines (1-D, layout W)
    volume.npy          16x24x24 float32 volume (use --layout DHW for 3-D pooling)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent

SEED_000 = [[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
SEED_001 = [[1, 3, 2, 4], [5, 6, 8, 7], [4, 2, 1, 0], [9, 7, 3, 2]]
SEED_003 = [[1, 3, 2, 4], [5, 6, 7, 8], [2, 4, 1, 3], [0, 1, 2, 4]]


def gradient() -> np.ndarray:
    y, x = np.mgrid[0:64, 0:64]
    return ((x + y) * 2).astype(np.uint8)


def checkerboard() -> np.ndarray:
    y, x = np.mgrid[0:64, 0:64]
    return np.where((y // 8 + x // 8) % 2 == 0, 255, 0).astype(np.uint8)


def gray16() -> np.ndarray:
    y, x = np.mgrid[0:48, 0:64]
    ramp = x / 63.0
    wave = 0.5 + 0.5 * np.sin(y / 47.0 * np.pi)  # 0 on the top and bottom rows, 1 mid-way
    values = np.rint(65535 * ramp * (0.25 + 0.75 * wave))
    values[0, 0], values[-1, -1] = 0, 65535
    return values.astype(np.uint16)


def rgba() -> np.ndarray:
    y, x = np.mgrid[0:64, 0:64] + 0.5
    r = np.hypot(x - 32, y - 32)
    alpha = np.clip((26 - r) / 6, 0, 1)  # opaque inside r=20, fading to clear at r=26
    image = np.zeros((64, 64, 4))
    image[..., 0] = 255 * x / 64
    image[..., 1] = 255 * y / 64
    image[..., 2] = 255 * (1 - x / 64)
    image[..., 3] = 255 * alpha
    return np.rint(image).astype(np.uint8)


def labels() -> np.ndarray:
    rng = np.random.default_rng(4)
    y, x = np.mgrid[0:48, 0:48]
    out = np.zeros((48, 48), np.uint8)
    out[(x - 14) ** 2 + (y - 16) ** 2 < 100] = 1
    out[(x > 26) & (x < 44) & (y > 6) & (y < 22)] = 2
    out[(y > 30) & (x + y > 60)] = 3
    out[(y > 34) & (x < 18)] = 4
    flips = rng.random((48, 48)) < 0.06  # salt: single-pixel label noise that mode removes
    out[flips] = rng.integers(0, 5, flips.sum())
    return out


def photo() -> np.ndarray:
    rng = np.random.default_rng(7)
    h, w = 192, 256
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    horizon = 110 + 12 * np.sin(x / 40)
    sky = np.stack([90 + 60 * y / h, 140 + 50 * y / h, 230 - 40 * y / h], axis=-1)
    ground = np.stack([70 + 40 * (y - 110) / 82, 110 - 20 * (y - 110) / 82, 50 + 0 * y], axis=-1)
    image = np.where((y < horizon)[..., None], sky, ground)
    for _ in range(9):
        cy, cx = rng.uniform(20, h - 20), rng.uniform(20, w - 20)
        radius = rng.uniform(8, 30)
        colour = rng.uniform(30, 255, 3)
        weight = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * radius**2))[..., None]
        image = image * (1 - 0.8 * weight) + colour * 0.8 * weight
    image += rng.normal(0, 4, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def features() -> np.ndarray:
    rng = np.random.default_rng(8)
    y, x = np.mgrid[0:16, 0:16] / 15.0
    maps = [np.sin((c + 1) * np.pi * x) * np.cos((c % 3 + 1) * np.pi * y) for c in range(8)]
    data = np.stack(maps) + rng.normal(0, 0.1, (8, 16, 16))
    return np.maximum(data, 0).astype(np.float32)  # after a ReLU, as in a CNN


def signal() -> np.ndarray:
    rng = np.random.default_rng(9)
    t = np.arange(256) / 256
    clean = np.sin(2 * np.pi * 3 * t) + 0.5 * np.sin(2 * np.pi * 17 * t)
    return (clean + rng.normal(0, 0.2, 256)).astype(np.float32)


def volume() -> np.ndarray:
    rng = np.random.default_rng(10)
    z, y, x = np.mgrid[0:16, 0:24, 0:24]
    ball = np.exp(-((z - 8) ** 2 + (y - 12) ** 2 + (x - 12) ** 2) / 40.0)
    return (ball + rng.normal(0, 0.05, ball.shape)).astype(np.float32)


def stripes() -> np.ndarray:
    """8x8 gray, 1-pixel black and white columns: averaging in sRGB darkens it."""
    return np.tile(np.array([0, 255], dtype=np.uint8), (8, 4))


def elevation() -> np.ndarray:
    """6x6 float32 heights with -9999 where there is no data, as rasters hold them."""
    heights = np.arange(36, dtype=np.float32).reshape(6, 6) + 100
    heights[0, :3] = heights[1, :2] = heights[4:, 4:] = -9999
    return heights


def main() -> None:
    arrays = {
        "seed_4x4.npy": np.array(SEED_000, dtype=np.int64),
        "seed001_4x4.npy": np.array(SEED_001, dtype=np.int64),
        "seed003_4x4.npy": np.array(SEED_003, dtype=np.int64),
        "features.npy": features(),
        "signal.npy": signal(),
        "volume.npy": volume(),
        "elevation.npy": elevation(),
    }
    for name, array in arrays.items():
        np.save(HERE / name, array, allow_pickle=False)
    images = {
        "gradient.png": gradient(),
        "checkerboard.png": checkerboard(),
        "gray16.png": gray16(),
        "rgba.png": rgba(),
        "labels.png": labels(),
        "photo.png": photo(),
        "stripes.png": stripes(),
    }
    for name, pixels in images.items():
        Image.fromarray(pixels).save(HERE / name, optimize=True)
    total = sum((HERE / name).stat().st_size for name in [*arrays, *images])
    print(f"wrote {len(arrays) + len(images)} files to {HERE} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
