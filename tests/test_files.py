"""Images read from disk keep their pixels, on the scale of their bit depth."""

import sys

import numpy as np
import pytest

from skmcevae.files import check_pixel_range, read_images

Image = pytest.importorskip("PIL.Image")  # the images extra, part of the test extra

GREY = np.arange(256, dtype=np.uint8).reshape(16, 16)


def test_grey_and_16_bit_files_are_grey_on_their_scale(tmp_path):
    Image.fromarray(GREY).save(tmp_path / "a.png")
    Image.fromarray(GREY.astype(np.uint16) * 257).save(tmp_path / "b.tif")  # I;16
    Image.fromarray(GREY.astype(np.int32) * 257).save(tmp_path / "c.tiff")  # "I"
    Image.fromarray(np.full((16, 16), 128, np.uint8)).save(tmp_path / "d.jpg")
    X, names = read_images(tmp_path)
    assert names == ["a.png", "b.tif", "c.tiff", "d.jpg"]
    assert X.shape == (4, 16, 16) and X.dtype == np.float32
    for picture in X[:3]:
        np.testing.assert_allclose(picture, GREY / 255.0, rtol=1e-6)
    np.testing.assert_allclose(X[3], 128 / 255.0, atol=1 / 255.0)


def test_colour_drops_alpha_and_makes_grey_files_colour(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 3] = GREY, 255 - GREY, 0  # fully transparent
    Image.fromarray(rgba).save(tmp_path / "a.png")
    Image.fromarray(GREY).save(tmp_path / "b.png")
    X, _ = read_images(tmp_path)
    assert X.shape == (2, 16, 16, 3)
    np.testing.assert_allclose(X[0] * 255, rgba[..., :3])  # not blended with the alpha
    np.testing.assert_allclose(X[1] * 255, np.stack([GREY] * 3, axis=-1))


def test_32_bit_integers_beyond_16_bits_are_refused(tmp_path):
    Image.fromarray(GREY.astype(np.int32) * 300).save(tmp_path / "a.tif")
    with pytest.raises(ValueError, match="a.tif holds 32-bit integer pixels beyond 16"):
        read_images(tmp_path)


@pytest.mark.parametrize("dtype, scale", [(np.uint8, 255), (np.uint16, 65535),
                                          (np.float32, 1), (np.bool_, 1)])
def test_arrays_are_scaled_by_their_dtype(tmp_path, dtype, scale):
    stored = (GREY[None] > 100 if dtype is np.bool_ else GREY[None] * 40).astype(dtype)
    np.save(tmp_path / "x.npy", stored)
    X, names = read_images(tmp_path / "x.npy")
    assert names is None and X.dtype == np.float32
    np.testing.assert_allclose(X, stored.astype(np.float64) / scale, rtol=1e-6)


def test_signed_integers_are_refused_not_divided_by_their_maximum(tmp_path):
    np.save(tmp_path / "x.npy", GREY[None].astype(np.int64))
    with pytest.raises(ValueError, match=r"signed integers \(int64\).*astype\(np.uint8\)"):
        read_images(tmp_path / "x.npy")


def test_neither_an_array_nor_a_folder(tmp_path):
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(ValueError, match="neither a .npy file nor a folder"):
        read_images(tmp_path / "x.csv")


def test_without_pillow_the_message_names_the_extra(tmp_path, monkeypatch):
    Image.fromarray(GREY).save(tmp_path / "a.png")
    monkeypatch.setitem(sys.modules, "PIL", None)  # what an environment without it sees
    with pytest.raises(ImportError, match=r"pip install 'skmcevae\[images\]'"):
        read_images(tmp_path)


def test_pixel_range_is_checked_only_for_the_default_likelihood():
    X = np.array([[0.0, 1.5]])
    with pytest.raises(ValueError, match=r"values in \[0, 1.5\].*--likelihood gaussian"):
        check_pixel_range(X, "bernoulli", "x.npy")
    check_pixel_range(X, "gaussian", "x.npy")
    check_pixel_range(np.array([[0.5, np.nan]]), "bernoulli", "x.npy")  # MCEVAE says NaN
