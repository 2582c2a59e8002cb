"""A user's images read from disk for ``python -m skmcevae cluster``: a ``.npy`` array,
or a folder of PNG, TIFF or JPEG files read with Pillow (``skmcevae[images]``).

Pixels come out as float32 on the scale of their dtype: 8-bit values divided by 255,
16-bit by 65535, floats as stored. Nothing is resized: a folder's files must share
one size.
"""

from pathlib import Path

import numpy as np

SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")


def read_images(path):
    """The images stored at ``path``, and the file of each.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.npy`` array in any layout :class:`~skmcevae.MCEVAE` accepts, or a
        folder of PNG, TIFF or JPEG files of one size (its subfolders are not read).

    Returns
    -------
    X : ndarray of float32
        The array as stored, or for a folder ``(n, H, W)`` when every file is grey
        and ``(n, H, W, 3)`` otherwise (grey files copied into the three channels,
        alpha dropped). Unsigned integers are divided by their dtype's maximum.
    names : list of str or None
        The files' names in the order of X (sorted); None for an array.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     np.save(Path(folder) / "images.npy", np.full((2, 8, 8), 255, dtype=np.uint8))
    ...     X, names = read_images(Path(folder) / "images.npy")
    >>> X.shape, X.dtype, float(X.max()), names
    ((2, 8, 8), dtype('float32'), 1.0, None)
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if path.is_file() and path.suffix.lower() == ".npy":
        return to_unit_scale(np.load(path), path), None
    raise ValueError(f"{path} is neither a .npy file nor a folder: pass a .npy array of "
                     f"images or a folder of PNG, TIFF or JPEG files.")


def to_unit_scale(array, source):
    """Pixels as float32: unsigned integers divided by their dtype's maximum (uint8
    by 255, uint16 by 65535), booleans as 0 and 1, floats as they are."""
    kind = array.dtype.kind
    if kind == "u":
        return np.divide(array, np.iinfo(array.dtype).max, dtype=np.float32)
    if kind in "bf":
        return array.astype(np.float32)
    if kind == "i":
        # int64 is what np.array of Python ints gives: dividing by its maximum would
        # turn 0-255 pixels into zeros without a word.
        raise ValueError(f"{source} holds signed integers ({array.dtype}), whose "
                         f"pixel scale is unknown: save uint8 (0-255), uint16 (0-65535) "
                         f"or floats in [0, 1], e.g. np.save(path, X.astype(np.uint8)).")
    raise TypeError(f"{source} holds {array.dtype} values, not pixel values: save a "
                    f"numeric array.")


def check_pixel_range(X, likelihood, source):
    """The default likelihood (Bernoulli) needs pixels in [0, 1]; say how to get
    there from the command line."""
    if likelihood != "bernoulli" or X.size == 0:
        return
    low, high = float(X.min()), float(X.max())  # NaN passes on to MCEVAE's message
    if low < 0 or high > 1:
        raise ValueError(f"{source} holds values in [{low:.4g}, {high:.4g}], but the "
                         f"default likelihood needs pixels in [0, 1]: scale them to [0, "
                         f"1], or pass --likelihood gaussian for values of about unit "
                         f"scale.")


def _read_folder(folder):
    paths = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not paths:
        raise ValueError(f"{folder} holds no PNG, TIFF or JPEG files (looked for "
                         f"{', '.join(SUFFIXES)}, not in subfolders).")
    image_module = _pillow()
    pictures, first = [], None
    for path in paths:
        with image_module.open(path) as image:
            first = first or (path.name, image.size)
            _check_size(folder, first, (path.name, image.size))
            pictures.append(_pixels(image, path))
    if any(picture.ndim == 3 for picture in pictures):
        pictures = [p if p.ndim == 3 else np.repeat(p[..., None], 3, axis=-1)
                    for p in pictures]  # grey (H, W) -> (H, W, 3) beside colour files
    return np.stack(pictures), [path.name for path in paths]


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("Reading PNG, TIFF or JPEG files needs Pillow: pip install "
                          "'skmcevae[images]' (or save the images as one .npy "
                          "array).") from None
    return Image


def _check_size(folder, first, other):
    """Files of one folder must share a size: resizing would change what they show."""
    if other[1] != first[1]:
        raise ValueError(
            f"The files of {folder} differ in size: {first[0]} is "
            f"{first[1][0]}x{first[1][1]} pixels and {other[0]} is "
            f"{other[1][0]}x{other[1][1]} (width x height). Bring them to one size "
            f"first; they are not resized here.")


def _pixels(image, path):
    """One Pillow image as float32 (H, W) or (H, W, 3), on its bit depth's scale."""
    if image.mode.startswith("I;16"):
        return np.asarray(image, dtype=np.float32) / 65535
    if image.mode == "I":
        return _sixteen_bits(np.asarray(image), path)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    grey = image.mode in ("1", "L", "LA", "La")
    # Converting drops alpha and expands palettes; it does not blend.
    return np.asarray(image.convert("L" if grey else "RGB"), dtype=np.float32) / 255


def _sixteen_bits(pixels, path):
    """16-bit pixels held in 32-bit integers ("I"), as older Pillow versions open
    16-bit grey PNGs."""
    if pixels.min() < 0 or pixels.max() > 65535:
        raise ValueError(f"{path} holds 32-bit integer pixels beyond 16 bits: save "
                         f"8- or 16-bit images, or floats in a .npy array.")
    return pixels.astype(np.float32) / 65535
