"""Every option is honoured or refused: none is accepted and then ignored.

Which options apply where comes from the option table (``Flag.applies_if``,
``Flag.batch_only``) and the reductions table; these tests go through the command line.
"""

import io

import numpy as np
import pytest
from PIL import Image

from poolcli.model.flags import FLAGS
from poolcli.model.reductions import Reduction

USAGE_HINT = "Try 'poolcli max --help' for its options.\n"


def refusal(result) -> str:
    """The one sentence of a usage error, without the help hint."""
    assert result.stdout == ""
    return result.stderr.removesuffix(USAGE_HINT.replace("max", result.stderr.split()[0]))


@pytest.mark.parametrize("reduction", [r for r in Reduction if not r.info.computes_in_dtype])
def test_dtype_is_refused_where_the_input_dtype_is_kept(cli, seed_npy, reduction):
    result = cli(str(reduction), seed_npy, "-k", "2", "--dtype", "float64", code=2)
    assert result.stderr.startswith(
        f"poolcli: error: --dtype does not apply to {reduction}: it keeps the input's dtype, "
    )


@pytest.mark.parametrize("reduction", [r for r in Reduction if r.info.computes_in_dtype])
def test_dtype_is_honoured_where_it_applies(cli, npy, reduction):
    # Integer inputs come out in --dtype, but integer sums stay exact (int64).
    x = npy(np.arange(1, 17, dtype=np.int32).reshape(4, 4))
    extra = ["--seed", "0"] if reduction is Reduction.STOCHASTIC else []
    cli(str(reduction), x, "-k", "2", "--dtype", "float64", "-o", "y.npy", *extra)
    assert np.load("y.npy").dtype == (np.int64 if reduction is Reduction.SUM else np.float64)


def test_count_include_pad_is_refused_but_for_avg(cli, seed_npy):
    result = cli("max", seed_npy, "-k", "3", "-p", "1", "--count-include-pad", code=2)
    assert result.stderr == (
        "poolcli: error: --count-include-pad does not apply to max: only avg divides by a "
        "count of cells.\n" + USAGE_HINT
    )
    cli("max", seed_npy, "-k", "3", "-p", "1", "--no-count-include-pad")  # the default, said
    cli("avg", seed_npy, "-k", "3", "-p", "1", "--count-include-pad")


def test_a_then_step_refuses_what_does_not_apply(cli, seed_npy):
    result = cli(
        "avg", seed_npy, "-k", "2", "--then", "max", "-k", "1", "--dtype", "float64", code=2
    )
    assert "--dtype does not apply to max" in result.stderr


BATCH_ONLY = sorted(
    (flag.long, "x" if flag.takes_value else None) for flag in FLAGS.values() if flag.batch_only
)


@pytest.mark.parametrize("option, value", BATCH_ONLY)
@pytest.mark.parametrize("output", ["y.npy", None])
def test_batch_options_are_refused_for_one_result(cli, seed_npy, option, value, output):
    value = {"x": {"--jobs": "2", "--batch-size": "2"}.get(option, "*.npy")}.get(value)
    words = [option] + ([value] if value else [])
    where = ["-o", output] if output else []
    result = cli("max", seed_npy, "-k", "2", *where, *words, code=2)
    destination = f"-o {output}" if output else "the report (no -o)"
    assert result.stderr.startswith(
        f"poolcli: error: {option} applies only to runs that write a folder of outputs (a "
        f"folder, a glob or several inputs with -o DIR/); here the result goes to {destination}."
    )


def test_batch_options_still_work_for_folders(cli, workdir, seed_npy):
    (workdir / "in").mkdir()
    (workdir / "in" / "sub").mkdir()
    np.save(workdir / "in" / "sub" / "a.npy", np.arange(16).reshape(4, 4))
    cli("max", "in", "-k", "2", "-r", "-j", "1", "--name", "{stem}_m{ext}", "-o", "out/")
    assert (workdir / "out" / "sub" / "a_m.npy").exists()


def test_png_compression_is_refused_for_other_formats(cli, seed_npy):
    result = cli("max", seed_npy, "-k", "2", "-o", "y.npy", "--png-compression", "1", code=2)
    assert result.stderr.startswith(
        "poolcli: error: --png-compression applies only to PNG outputs; this call writes npy."
    )
    cli("max", seed_npy, "-k", "2", "-o", "y.png", "--png-compression", "1")


def test_format_must_agree_with_the_suffix(cli, seed_npy):
    result = cli("max", seed_npy, "-k", "2", "-o", "x2.npy", "--format", "png", code=2)
    assert result.stderr.startswith(
        "poolcli: error: --format png disagrees with -o x2.npy, which names a .npy file. "
        "Give the file a .png suffix, or leave out --format."
    )
    cli("max", seed_npy, "-k", "2", "-o", "x2.png", "--format", "png")
    result = cli("max", seed_npy, "-k", "2", "--format", "png", code=2)
    assert "without -o nothing is written" in result.stderr


def test_format_png_on_standard_output_writes_png_bytes(cli, image):
    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    name = image(pixels, "rgb.png")
    result = cli("max", name, "-k", "2", "-o", "-", "--format", "png")
    assert result.stdout_bytes.startswith(b"\x89PNG")
    decoded = np.asarray(Image.open(io.BytesIO(result.stdout_bytes)))
    cli("max", name, "-k", "2", "-o", "file.png")
    np.testing.assert_array_equal(decoded, np.asarray(Image.open("file.png")))
    assert result.stderr.startswith("poolcli: wrote standard output: max of rgb.png")


def test_format_tiff_and_npy_on_standard_output(cli, seed_npy):
    tiff = cli("max", seed_npy, "-k", "2", "-o", "-", "--format", "tiff", "--normalize")
    decoded = np.asarray(Image.open(io.BytesIO(tiff.stdout_bytes)))
    assert decoded.tolist() == [[0, 51], [204, 255]]  # 6 8 14 16 over 0..255
    npy = cli("max", seed_npy, "-k", "2", "-o", "-", "--format", "npy")
    assert np.load(io.BytesIO(npy.stdout_bytes)).tolist() == [[6, 8], [14, 16]]


def test_a_failed_image_on_standard_output_names_it(cli, npy):
    x = npy(np.zeros((2, 3, 4, 4), np.uint8), "batch.npy")
    result = cli("max", x, "-k", "2", "-o", "-", "--format", "png", code=1)
    assert result.stderr.startswith("poolcli: error: <stdout>: cannot be written as an image")
    assert result.stdout_bytes == b""


def test_quality_for_jpeg_and_webp_only(cli, image):
    rng = np.random.default_rng(0)
    name = image(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "noise.png")
    cli("max", name, "-k", "1", "-o", "low.jpg", "--quality", "10")
    cli("max", name, "-k", "1", "-o", "high.jpg", "--quality", "95")
    import os

    assert os.path.getsize("low.jpg") < os.path.getsize("high.jpg")
    cli("max", name, "-k", "1", "-o", "lossy.webp", "--quality", "50")
    cli("max", name, "-k", "1", "-o", "lossless.webp")
    assert os.path.getsize("lossy.webp") < os.path.getsize("lossless.webp")
    result = cli("max", name, "-k", "2", "-o", "x.png", "--quality", "50", code=2)
    assert "--quality applies only to JPEG and WebP outputs; this call writes png." in (
        result.stderr
    )


def test_float_arrays_as_png_say_how_or_normalize(cli, npy):
    x = npy(np.array([[0.0, 0.5], [1.5, 2.0]], np.float32), "f.npy")
    result = cli("max", x, "-k", "1", "-o", "f.png", code=1)
    assert "add --normalize to rescale its min..max to 0..255" in result.stderr
    result = cli("max", x, "-k", "1", "-o", "f.png", "--normalize")
    assert "values 0..2 were rescaled to 0..255 (--normalize)" in result.stderr
    assert np.asarray(Image.open("f.png")).tolist() == [[0, 64], [191, 255]]
