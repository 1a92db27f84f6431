"""Pictures of volumes: a row per output depth slice, next to every input slice its windows
read (padding slices hatched), decoded and checked at known pixels."""

import numpy as np

from poolcli.render import pictures as viz
from tests.render.test_pictures import cell_box, decoded, drawn, has_colour, pool


def test_volume_shows_every_input_slice_an_output_slice_pools():
    volume = np.arange(6 * 20 * 20, dtype=np.float32).reshape(6, 20, 20)
    result = pool(volume, "max", layout="DHW", kernel_size=2)
    picture = drawn(volume, result, max_rows=2)
    labels = [text for text, _ in picture.texts if text.startswith("output slice")]
    assert labels == ["output slice D=0 pools input D=0-1", "output slice D=2 pools input D=4-5"]
    assert any("2 of 3 depth slices" in note for note in picture.notes)
    pixels = decoded(picture)
    scale = picture.scales["values"]

    def colour(value):
        return tuple(viz.viridis((value - scale.low) / (scale.high - scale.low)))

    # Row 1 (output slice 2): input slices 4 and 5, then the output, each at its top-left.
    for k, value in enumerate((volume[4, 0, 0], volume[5, 0, 0], result.output[2, 0, 0])):
        x0, y0, _, _ = picture.panels[f"r1c{k}"]
        assert tuple(pixels[y0, x0]) == colour(value), k


def test_volume_hatches_the_depth_padding_a_window_reads():
    volume = (np.arange(5 * 4 * 4).reshape(5, 4, 4) % 13).astype(np.float32)
    result = pool(volume, "max", layout="DHW", kernel_size=3, stride=2, padding=1)
    picture = drawn(volume, result)
    labels = [text for text, _ in picture.texts if text.startswith("output slice")]
    assert labels == [
        "output slice D=0 pools input D=0-1 and 1 padding slice",
        "output slice D=1 pools input D=1-3",
        "output slice D=2 pools input D=3-4 and 1 padding slice",
    ]
    assert any(note.startswith("Hatched panels: depth padding") for note in picture.notes)
    pixels = decoded(picture)
    scale = picture.scales["values"]
    # Output slice j reads input slices 2j-1, 2j, 2j+1 (a plain loop); -1 and 5 are padding.
    for j in range(3):
        for k, d in enumerate((2 * j - 1, 2 * j, 2 * j + 1)):
            box = picture.panels[f"r{j}c{k}"]
            x0, y0, x1, y1 = cell_box(box, (4, 4), 0, 0)
            if 0 <= d < 5:
                expected = viz.viridis((volume[d, 0, 0] - scale.low) / (scale.high - scale.low))
                assert tuple(pixels[y0 + 3, x1 - 3]) == tuple(expected), (j, k)
                continue
            assert has_colour(pixels, box, viz.HATCH_LINE), (j, k)
            inside = [
                t for t, b in picture.texts if box[0] <= b[0] < box[2] and box[1] <= b[1] < box[3]
            ]
            assert inside == [], (j, k)  # no values in a padding slice
    # The output column comes last: three input columns, one per slice a window reads.
    assert "r0c3" in picture.panels and "r0c4" not in picture.panels


def test_volume_with_a_deep_kernel_draws_five_slices_spread_over_it():
    volume = (np.arange(9 * 20 * 20).reshape(9, 20, 20) % 13).astype(np.float32)
    result = pool(volume, "avg", layout="DHW", kernel_size=(7, 2, 2), stride=(1, 2, 2))
    picture = drawn(volume, result)
    titles = [text for text, _ in picture.texts if "in each window" in text]
    assert [int(t.split("slice ")[1].split(" ")[0]) for t in titles] == [1, 3, 4, 5, 7]
    assert any("reads 7 depth slices; 5 of them" in note for note in picture.notes)
    pixels = decoded(picture)
    scale = picture.scales["values"]
    for k, tap in enumerate((0, 2, 3, 4, 6)):  # output slice 1 reads input slices 1-7
        x0, y0, _, _ = picture.panels[f"r1c{k}"]
        value = volume[1 + tap, 0, 0]
        expected = viz.viridis((value - scale.low) / (scale.high - scale.low))
        assert tuple(pixels[y0, x0]) == tuple(expected), k
