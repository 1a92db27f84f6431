"""The Python API as a newcomer meets it: its signature and help, its errors in Python's
words, the inputs it takes, and the layout it guesses."""

import inspect
import warnings

import numpy as np
import pytest
import torch.nn.functional as F
from PIL import Image

import poolcli
from poolcli.model.reductions import Reduction


def test_pool_has_a_real_signature_and_docstring():
    parameters = inspect.signature(poolcli.pool).parameters
    for keyword in ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "layout"):
        assert keyword in parameters
        assert keyword in poolcli.pool.__doc__
    assert "output_size" in parameters and "count_include_pad" in parameters


def test_errors_name_the_python_keyword():
    with pytest.raises(poolcli.UsageError) as caught:
        poolcli.pool(np.zeros((4, 4)), "max", kernel_size=0)
    assert str(caught.value) == "kernel_size must be positive, got 0."
    with pytest.raises(poolcli.PoolError) as caught:
        poolcli.pool(np.zeros((4, 4)), "max", kernel_size=5)
    assert "--" not in str(caught.value) and "kernel_size=" in str(caught.value)


def test_an_unknown_reduction_lists_the_valid_ones():
    with pytest.raises(poolcli.UsageError) as caught:
        poolcli.pool(np.zeros((4, 4)), "maximum", kernel_size=2)
    assert str(caught.value) == (
        "reduction maximum is not a reduction: use one of "
        + ", ".join(r.value for r in Reduction)
        + "."
    )


def test_options_that_do_not_apply_are_refused_by_keyword():
    with pytest.raises(poolcli.UsageError, match="^count_include_pad does not apply to max"):
        poolcli.pool(np.zeros((4, 4)), "max", kernel_size=2, count_include_pad=True)
    with pytest.raises(poolcli.UsageError, match="^dtype does not apply to median"):
        poolcli.pool(np.zeros((4, 4)), "median", kernel_size=2, dtype="float64")


def test_a_list_is_pooled_as_numpy_would_see_it():
    x = [[1, 3, 2, 4], [5, 6, 7, 8]]
    np.testing.assert_array_equal(poolcli.pool(x, "max", kernel_size=2), [[6, 8]])


def test_a_pil_image_is_pooled_as_hwc():
    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an image's layout is known, not guessed
        got = poolcli.pool(Image.fromarray(pixels), "max", kernel_size=2)
    want = F.max_pool2d(__import__("torch").from_numpy(pixels).permute(2, 0, 1), 2)
    np.testing.assert_array_equal(got, want.permute(1, 2, 0).numpy())


@pytest.mark.parametrize("value", ["abc", None, [[1], [1, 2]], {"a": 1}])
def test_what_is_not_an_array_is_a_type_error(value):
    with pytest.raises(TypeError, match="^array must be a numpy array, a torch tensor"):
        poolcli.pool(value, "max", kernel_size=1)


def test_a_guessed_layout_warns_for_3d_and_4d_arrays():
    with pytest.warns(poolcli.LayoutGuessWarning, match="guessed layout CHW for a 3×8×8 array"):
        poolcli.pool(np.zeros((3, 8, 8)), "max", kernel_size=2)
    with pytest.warns(poolcli.LayoutGuessWarning) as caught:
        poolcli.pool(np.zeros((4, 14, 14, 3)), "max", kernel_size=2)
    assert "looks like channels (Keras/TensorFlow NHWC): pass layout=NHWC" in str(caught[0].message)
    assert issubclass(poolcli.LayoutGuessWarning, UserWarning)


def test_a_given_layout_or_a_2d_array_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = poolcli.pool(np.zeros((4, 14, 14, 3)), "max", kernel_size=2, layout="NHWC")
        poolcli.pool(np.zeros((8, 8)), "max", kernel_size=2)
    assert out.shape == (4, 7, 7, 3)


def test_the_cli_warns_only_for_a_channels_last_looking_guess(cli, npy):
    keras = npy(np.zeros((4, 14, 14, 3), np.float32), "keras.npy")
    result = cli("max", keras, "-k", "2", "-o", "out.npy")
    assert result.stderr.startswith(
        "poolcli: warning: keras.npy: guessed layout NCHW for a 4×14×14×3 array, but its last "
        "axis looks like channels (Keras/TensorFlow NHWC): pass --layout NHWC if it is, or "
        "--layout NCHW to say so.\n"
    )
    assert np.load("out.npy").shape == (4, 14, 7, 1)  # the contract's NCHW default is kept
    quiet = cli("max", keras, "-k", "2", "-o", "out.npy", "--layout", "NCHW")
    assert "warning" not in quiet.stderr
    chw = npy(np.zeros((3, 8, 8), np.float32), "chw.npy")
    assert "warning" not in cli("max", chw, "-k", "2", "-o", "out.npy").stderr
