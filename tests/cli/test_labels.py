"""Label maps pooled as labels: ``mode`` keeps palette indices and compares whole pixels."""

import numpy as np
from PIL import Image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def test_mode_of_colours_is_a_colour_of_the_window(cli, image):
    # Per channel, red, red, green, blue gave (0, 0, 0): black, a colour in no cell.
    pixels = np.array([[RED, RED], [GREEN, BLUE]], np.uint8)
    name = image(pixels, "labels.png")
    cli("mode", name, "-k", "2", "-o", "out.png")
    with Image.open("out.png") as out:
        assert out.mode == "RGB"
        assert np.asarray(out).tolist() == [[list(RED)]]


def test_mode_of_a_palette_image_keeps_its_indices_and_palette(cli, workdir):
    indices = np.array([[1, 1, 2, 2], [1, 3, 2, 2], [0, 0, 3, 3], [0, 2, 3, 1]], np.uint8)
    source = Image.fromarray(indices, mode="P")
    source.putpalette([0, 0, 0, *RED, *GREEN, *BLUE] + [0] * (256 - 4) * 3)
    source.save("labels.png")
    cli("mode", "labels.png", "-k", "2", "-o", "out.png")
    with Image.open("out.png") as out:
        assert out.mode == "P"
        assert np.asarray(out).tolist() == [[1, 2], [0, 3]]
        assert out.getpalette()[:12] == source.getpalette()[:12]


def test_other_reductions_read_a_palette_image_as_its_colours(cli, workdir):
    indices = np.array([[1, 2], [2, 1]], np.uint8)
    source = Image.fromarray(indices, mode="P")
    source.putpalette([0, 0, 0, 10, 20, 30, 40, 50, 60] + [0] * 253 * 3)
    source.save("labels.png")
    cli("max", "labels.png", "-k", "2", "-o", "out.png")
    with Image.open("out.png") as out:
        assert out.mode == "RGB"
        assert np.asarray(out).tolist() == [[[40, 50, 60]]]
