"""Palette images read as indices (``palette="index"``) and written back with their palette."""

import io

import numpy as np
import pytest
from PIL import Image

from poolcli.io import read_input, write_output
from poolcli.io.loaded import Palette

#: Four labels: red, green, blue, white; index 3 is transparent in the images with alpha.
COLOURS = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
INDICES = np.array([[0, 0, 1, 1], [0, 2, 1, 3], [2, 2, 3, 3], [2, 0, 3, 1]], np.uint8)


def palette_png(path, transparency=None, fmt="PNG") -> str:
    image = Image.fromarray(INDICES, "P")
    image.putpalette(COLOURS, "RGB")
    options = {} if transparency is None else {"transparency": transparency}
    image.save(path, format=fmt, **options)
    return str(path)


def rgb_of(indices, colours=COLOURS) -> np.ndarray:
    return np.frombuffer(colours, np.uint8).reshape(-1, 3)[indices]


def test_indices_and_palette_are_read(tmp_path):
    path = palette_png(tmp_path / "labels.png")
    with open(path, "rb") as f:
        data = f.read()
    for loaded in (
        read_input(path, palette="index"),
        read_input("-", io.BytesIO(data), palette="index"),
    ):
        assert (loaded.layout, loaded.array.dtype, loaded.has_alpha) == ("HW", np.uint8, False)
        np.testing.assert_array_equal(loaded.array, INDICES)
        info = loaded.image
        assert (info.mode, info.bits, info.channels) == ("P", 8, 1)
        assert info.palette.colours[: len(COLOURS)] == COLOURS and info.palette.size >= 4


def test_by_default_palette_images_become_colours(tmp_path):
    loaded = read_input(palette_png(tmp_path / "labels.png"))
    assert loaded.image.palette is None and loaded.layout == "HWC"
    np.testing.assert_array_equal(loaded.array, rgb_of(INDICES))


def test_palette_must_be_rgb_or_index(tmp_path):
    with pytest.raises(ValueError, match="palette must be 'rgb' or 'index'"):
        read_input(palette_png(tmp_path / "labels.png"), palette="indices")


def test_other_images_are_read_as_usual(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(INDICES * 60).save(path)
    loaded = read_input(str(path), palette="index")
    assert loaded.image.palette is None and loaded.image.mode == "L"


@pytest.mark.parametrize("suffix", [".png", ".gif", ".bmp", ".tif"])
def test_indices_are_written_back_with_their_palette(tmp_path, suffix):
    source = read_input(palette_png(tmp_path / "labels.png"), palette="index")
    pooled = np.array([[2, 3], [3, 2]], np.uint8)  # labels 0 and 1 unused: none renumbered
    out = tmp_path / f"out{suffix}"
    assert write_output(str(out), pooled, source, layout="HW").warnings == []
    back = read_input(str(out), palette="index")
    assert back.image.mode == "P"
    np.testing.assert_array_equal(back.array, pooled)
    np.testing.assert_array_equal(read_input(str(out)).array, rgb_of(pooled))


def test_partial_transparency_goes_back_to_png(tmp_path):
    alpha = bytes([255, 128, 255, 0])
    source = read_input(palette_png(tmp_path / "labels.png", alpha), palette="index")
    assert source.image.palette.transparency == alpha
    out = tmp_path / "out.png"
    assert write_output(str(out), INDICES, source).warnings == []
    with Image.open(out) as written:
        assert (written.mode, written.info["transparency"]) == ("P", alpha)
    back = read_input(str(out))  # as colours, with alpha from the palette
    np.testing.assert_array_equal(back.array[..., 3], np.frombuffer(alpha, np.uint8)[INDICES])


def test_gif_keeps_one_transparent_index(tmp_path):
    source = read_input(palette_png(tmp_path / "labels.gif", 3, "GIF"), palette="index")
    out = tmp_path / "out.gif"
    assert write_output(str(out), INDICES, source).warnings == []
    with Image.open(out) as written:
        assert (written.mode, written.info["transparency"]) == ("P", 3)
    partial = read_input(palette_png(tmp_path / "p.png", bytes([255, 128])), palette="index")
    notes = write_output(str(tmp_path / "p.gif"), INDICES, partial).warnings
    assert notes == ["GIF cannot hold the palette's partial transparency; it was left out."]


def test_formats_without_palettes_get_the_colours(tmp_path):
    source = read_input(palette_png(tmp_path / "labels.png"), palette="index")
    out = tmp_path / "out.webp"
    assert write_output(str(out), INDICES, source).warnings == []
    np.testing.assert_array_equal(read_input(str(out)).array, rgb_of(INDICES))


def test_bmp_says_it_drops_the_transparency(tmp_path):
    source = read_input(palette_png(tmp_path / "labels.png", 3), palette="index")
    notes = write_output(str(tmp_path / "out.bmp"), INDICES, source).warnings
    assert notes == ["BMP cannot hold the palette's transparency; it was left out."]


def test_values_that_are_not_indices_are_written_as_gray(tmp_path):
    source = read_input(palette_png(tmp_path / "labels.png"), palette="index")
    averaged = INDICES.astype(np.float32) / 2  # 0.5 is no label
    notes = write_output(str(tmp_path / "out.png"), averaged, source).warnings
    assert notes == [
        "its values are not indices of the input's palette; they were written as gray levels."
    ]
    assert read_input(str(tmp_path / "out.png")).image.mode == "L"


def test_whole_float_indices_are_indices(tmp_path):
    source = read_input(palette_png(tmp_path / "labels.png"), palette="index")
    assert (
        write_output(str(tmp_path / "out.png"), INDICES.astype(np.float32), source).warnings == []
    )
    np.testing.assert_array_equal(
        read_input(str(tmp_path / "out.png"), palette="index").array, INDICES
    )


def test_palette_size_counts_colours():
    assert Palette(COLOURS).size == 4


def test_mode_on_a_label_map_keeps_whole_labels(tmp_path):
    # A 2x2 window of red, red, green, blue: mode of the colours channel by channel gave
    # black, a label that is not in the window; mode of the indices gives red.
    from poolcli.engine.chain import run_chain
    from poolcli.model.steps import make_step

    source = read_input(palette_png(tmp_path / "labels.png"), palette="index")
    chain = run_chain(source.array, make_step("mode", kernel_size=2), source.layout)
    out = tmp_path / "pooled.png"
    assert write_output(str(out), chain.output, source, layout=str(chain.layout)).warnings == []
    back = read_input(str(out))
    expected = rgb_of(np.array([[0, 1], [2, 3]]))
    np.testing.assert_array_equal(back.array, expected)
