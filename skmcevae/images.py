"""Input checks and the conversion between the user's layout and (n, C, H, W)."""

import math

import numpy as np
from sklearn.utils import check_array

from .model import MIN_IMAGE_SIDE

# How a user's X is laid out, by its number of dimensions.
LAYOUTS = {2: "flat rows (n, C*H*W)", 3: "(n, H, W)", 4: "(n, C, H, W)"}


def normalise_image_shape(image_shape):
    """``(H, W)`` or ``(C, H, W)`` -> ``(C, H, W)``; ``None`` stays ``None``."""
    if image_shape is None:
        return None
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (1,) + shape
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (H, W) or (C, H, W) of positive sizes, "
                         f"got {image_shape!r}.")
    return shape


def to_images(X, image_shape=None, name="X"):
    """Check X and return ``(images, ndim)``: float32 (n, C, H, W) and X's ndim."""
    if hasattr(X, "ndim") and X.ndim == 1:
        raise ValueError(f"{name} is 1-D with shape {X.shape}; pass one image per row: "
                         f"use {name}.reshape(1, -1) for a single flat image.")
    try:
        X = check_array(X, allow_nd=True, dtype=(np.float32, np.float64),
                        input_name=name, estimator="MCEVAE")
    except (TypeError, ValueError) as error:
        if "convert" in str(error) or "argument must be" in str(error):
            raise TypeError(f"{name} must hold numbers (pixel values), but "
                            f"{error}. Convert it first, e.g. with "
                            f"np.asarray({name}, dtype=np.float32).") from None
        raise
    shape = _resolve_shape(X, normalise_image_shape(image_shape), name)
    if min(shape[1:]) < MIN_IMAGE_SIDE:
        raise ValueError(f"Images of {shape[1]}x{shape[2]} pixels are too small: the "
                         f"encoder needs at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}.")
    images = np.ascontiguousarray(X, dtype=np.float32).reshape((X.shape[0],) + shape)
    return images, X.ndim


def _resolve_shape(X, image_shape, name):
    if X.ndim == 2:
        n_features = X.shape[1]
        if image_shape is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"{name} has {n_features} features per row, which is not a square "
                    f"image; pass image_shape=(H, W) or (C, H, W).")
            return (1, side, side)
        if math.prod(image_shape) != n_features:
            raise ValueError(f"image_shape={image_shape} holds {math.prod(image_shape)} "
                             f"pixels but {name} has {n_features} features per row.")
        return image_shape
    shape = (1,) + X.shape[1:] if X.ndim == 3 else X.shape[1:]
    if X.ndim > 4:
        raise ValueError(f"{name} must be 2-D, 3-D or 4-D, got shape {X.shape}.")
    if image_shape is not None and tuple(shape) != image_shape:
        raise ValueError(f"{name} holds images of shape {tuple(shape)} but "
                         f"image_shape={image_shape}.")
    return tuple(shape)


def check_unit_range(images, name="X"):
    """The Bernoulli likelihood needs pixel values in [0, 1]."""
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"likelihood='bernoulli' needs {name} in [0, 1], got values in "
            f"[{low:.4g}, {high:.4g}]. Scale the images (for 8-bit images use "
            f"{name} / 255.0) or use likelihood='gaussian'.")


def from_images(images, ndim):
    """(n, C, H, W) back to the layout of a user's X with ``ndim`` dimensions."""
    n = images.shape[0]
    if ndim == 2:
        return images.reshape(n, -1)  # (n, C, H, W) -> (n, C*H*W)
    if ndim == 3:
        return images.reshape(n, *images.shape[2:])  # (n, 1, H, W) -> (n, H, W)
    return images
