"""Data-aware pooling from the command line: --nan, --nodata, --mask, --valid-count, gem,
--linear-light, through single files, folders, --then, --explain, explain and --viz."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
HOLEY = np.array([[1, np.nan, 3, 4], [np.nan, np.nan, 7, 8], [9, 10, 11, 12], [13, 14, 15, -9999]])


def test_nan_omit_and_nodata_write_the_reference_values(cli, npy):
    npy(HOLEY)
    cli("avg", "x.npy", "-k", "2", "--nan", "omit", "--nodata", "-9999", "-o", "out.npy")
    np.testing.assert_allclose(np.load("out.npy"), [[1, 5.5], [11.5, 38 / 3]])
    cli("max", "x.npy", "-k", "2", "-o", "plain.npy")
    assert np.isnan(np.load("plain.npy")[0, 0])  # propagate stays the default


def test_valid_count_is_written_with_the_output(cli, npy):
    npy(HOLEY)
    cli("sum", "x.npy", "-k", "2", "--nan", "omit", "--valid-count", "n.npy", "-o", "out.npy")
    counts = np.load("n.npy")
    assert counts.dtype == np.int64 and counts.tolist() == [[1, 4], [4, 4]]
    result = cli("sum", "x.npy", "-k", "2", "--valid-count", "n.txt", code=2)
    assert "ending in .npy" in result.stderr
    result = cli("sum", "x.npy", "-k", "2", "--valid-count", "n.npy", "--then", "max", "-k", "2",
                 code=2)  # fmt: skip
    assert "does not go with --then" in result.stderr


def test_a_mask_of_another_shape_fails_that_input_naming_both_files(cli, npy):
    npy(np.ones((4, 4)))
    npy(np.ones((3, 3)), "small.npy")
    result = cli("max", "x.npy", "-k", "2", "--mask", "small.npy", code=1)
    assert "x.npy" in result.stderr and "small.npy" in result.stderr
    assert "3×3" in result.stderr and "4×4" in result.stderr
    result = cli("max", "x.npy", "-k", "2", "--mask", "absent.npy", code=2)
    assert "absent.npy" in result.stderr


def test_an_image_mask_applies_to_every_input_of_a_folder(cli, workdir):
    (workdir / "in").mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        np.save(workdir / "in" / f"{name}.npy", rng.random((4, 4)))
    np.save(workdir / "in" / "c.npy", rng.random((6, 6)))
    mask = np.zeros((4, 4), np.uint8)
    mask[:, :2] = 255
    Image.fromarray(mask).save("mask.png")
    result = cli("max", "in", "-k", "2", "--mask", "mask.png", "-o", "out/", code=1)
    assert "c.npy" in result.stderr and "mask.png" in result.stderr
    for name in ("a", "b"):
        x = np.load(workdir / "in" / f"{name}.npy")
        got = np.load(workdir / "out" / f"{name}.npy")
        np.testing.assert_array_equal(got[:, 0], x[:, :2].reshape(2, 2, 2).max(axis=(1, 2)))
        assert np.isnan(got[:, 1]).all()


def test_each_then_step_takes_its_own_nan_rule(cli, npy):
    x = np.arange(16, dtype=np.float64).reshape(4, 4)
    x[0, 0] = np.nan
    npy(x)
    result = cli("max", "x.npy", "-k", "2", "--nan", "omit", "--then", "avg", "-k", "2",
                 "--json")  # fmt: skip
    doc = json.loads(result.stdout)
    assert doc["steps"][0]["options"]["nan"] == "omit"
    assert doc["files"][0]["values"] == [[(5 + 7 + 13 + 15) / 4]]
    x[1, 1] = np.nan  # the first step's window of 0, 1, 4, 5 is all NaN now
    x[0, 1] = x[1, 0] = np.nan
    npy(x)
    cli("max", "x.npy", "-k", "2", "--nan", "omit", "--then", "avg", "-k", "2", "-o", "a.npy")
    cli("max", "x.npy", "-k", "2", "--nan", "omit", "--then", "avg", "-k", "2", "--nan",
        "omit", "-o", "b.npy")  # fmt: skip
    assert np.isnan(np.load("a.npy")).all()
    assert np.load("b.npy").tolist() == [[(7 + 13 + 15) / 3]]


def test_gem_command_and_its_norm_type(cli, npy):
    npy(np.array([[1.0, 2.0], [3.0, 4.0]]))
    cli("gem", "x.npy", "-k", "2", "-o", "p3.npy")
    cli("gem", "x.npy", "-k", "2", "--norm-type", "1", "-o", "p1.npy")
    np.testing.assert_allclose(np.load("p3.npy"), [[25 ** (1 / 3)]])
    np.testing.assert_allclose(np.load("p1.npy"), [[2.5]])
    result = cli("max", "x.npy", "-k", "2", "--then", "avg", "-k", "2", "--norm-type", "3",
                 code=2)  # fmt: skip
    assert "--norm-type applies only to lp and gem, not avg" in result.stderr
    npy(np.array([[1.0, -2.0], [3.0, 4.0]]), "neg.npy")
    result = cli("gem", "neg.npy", "-k", "2", code=1)
    assert "negative values" in result.stderr


def test_linear_light_on_8_and_16_bit_images(cli, workdir):
    cli("avg", str(SAMPLES / "stripes.png"), "-k", "2", "-o", "gamma.png")
    cli("avg", str(SAMPLES / "stripes.png"), "-k", "2", "--linear-light", "-o", "linear.png")
    assert set(np.asarray(Image.open("gamma.png")).ravel()) == {128}
    assert set(np.asarray(Image.open("linear.png")).ravel()) == {188}
    cli("avg", str(SAMPLES / "gray16.png"), "-k", "2", "--linear-light", "-o", "g16.npy")
    x = np.asarray(Image.open(SAMPLES / "gray16.png")).astype(np.float64) / 65535
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    h, w = lin.shape
    mean = lin[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    want = np.where(mean <= 0.0031308, 12.92 * mean, 1.055 * mean ** (1 / 2.4) - 0.055) * 65535
    np.testing.assert_allclose(np.load("g16.npy"), want, rtol=1e-5, atol=0.05)


def test_linear_light_on_an_array_needs_srgb_max(cli, npy):
    npy(np.array([[0, 255], [0, 255]], np.uint8))
    result = cli("avg", "x.npy", "-k", "2", "--linear-light", code=1)
    assert "--srgb-max" in result.stderr
    cli("avg", "x.npy", "-k", "2", "--linear-light", "--srgb-max", "255", "-o", "out.npy")
    np.testing.assert_allclose(np.load("out.npy"), [[187.5]], atol=0.1)
    result = cli("max", "x.npy", "-k", "2", "--linear-light", code=2)
    assert "--linear-light applies to avg, gem, stochastic, not max" in result.stderr


def test_explain_says_which_cells_were_left_out(cli, npy):
    npy(HOLEY)
    result = cli("explain", "x.npy", "--op", "avg", "-k", "2", "--nan", "omit", "--nodata",
                 "-9999")  # fmt: skip
    out = result.stdout
    assert "Left out, as padding is: NaN cells (--nan omit), cells equal to -9999" in out
    assert "[1 (nan) | (nan) (nan)] → 1" in out and "(3 left out)" in out
    assert "[11 12 | 15 (-9999)]" in out and "(mean over 3 cells)" in out
    flag = cli("avg", "x.npy", "-k", "2", "--nan", "omit", "--explain")
    assert "(3 left out)" in flag.stdout


def test_viz_crosses_out_the_left_out_cells(cli, npy):
    from poolcli.render.marks import CROSS

    npy(HOLEY)
    cli("max", "x.npy", "-k", "2", "--nan", "omit", "--viz", "holes.png", "-q")
    cli("max", "x.npy", "-k", "2", "--viz", "plain.png", "-q")
    red = [
        int((np.asarray(Image.open(name).convert("RGB")) == CROSS).all(-1).sum())
        for name in ("holes.png", "plain.png")
    ]
    assert red[0] > 50 and red[1] == 0


def test_nodata_on_an_image_with_mode(cli, image):
    labels = np.array([[0, 0, 1, 2], [0, 3, 2, 2], [5, 5, 0, 0], [5, 0, 0, 0]], np.uint8)
    image(labels, "labels.png")
    cli("mode", "labels.png", "-k", "2", "--nodata", "0", "-o", "out.png")
    assert np.asarray(Image.open("out.png")).tolist() == [[3, 2], [5, 0]]


def test_mode_of_a_colour_image_leaves_out_pixels_whose_channels_are_all_nodata(cli, image):
    black, green, red = (0, 0, 0), (0, 255, 0), (255, 0, 0)
    pixels = np.array(
        [[black, black, black, black], [black, green, black, black]], np.uint8
    )  # fmt: skip
    pixels[0, 0] = red
    image(pixels, "labels.png")
    cli("mode", "labels.png", "-k", "2", "--nodata", "0", "-o", "out.png")
    # Window 1: red and green once each, black left out: the smaller pixel, green.
    assert np.asarray(Image.open("out.png")).tolist() == [[list(green), list(black)]]


def test_the_report_names_gem_p_and_the_missing_data_rules(cli, npy):
    npy(np.abs(np.nan_to_num(HOLEY, nan=2.0)))
    out = cli("gem", "x.npy", "-k", "2", "--nan", "omit", "--nodata", "9999").stdout
    assert "gem, p = 3, NaN left out, 9999 = no data" in out
