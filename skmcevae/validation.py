"""Checks of the images and hyper-parameters a user passes, with messages that name
the fix, and the conversion between the user's layout and (n, C, H, W)."""

import math
import numbers
import warnings

import numpy as np
import torch
from sklearn.utils import check_array

from .groups import GROUP_DIMS
from .model import MIN_IMAGE_SIDE

# How a user's X is laid out: the key that to_images reports and from_images restores.
LAYOUTS = {"flat": "flat rows (n, C*H*W)", "HW": "(n, H, W)", "CHW": "(n, C, H, W)",
           "HWC": "(n, H, W, C)"}
# What a channel axis holds (grey, RGB, RGBA): image libraries put it last.
CHANNELS = (1, 3, 4)
# The finest pose search (degrees): 720 turns per image and pass.
MIN_SEARCH_STEP = 0.5


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


def as_image_array(X, name="X"):
    """A list or tuple of images as one array; other X as given. Images of different
    shapes, or none at all, are refused with what to do."""
    if not isinstance(X, (list, tuple)):
        return X
    if len(X) == 0:
        raise ValueError(f"{name} holds no images: pass at least one.")
    try:
        return np.asarray(X)
    except ValueError:
        shapes = sorted({np.shape(image) for image in X}, key=str)
        raise ValueError(f"The images of {name} differ in shape ({', '.join(map(str, shapes[:4]))}"
                         f"{', ...' if len(shapes) > 4 else ''}); all must have one shape: "
                         f"crop, pad or resize them first.") from None


def to_images(X, image_shape=None, name="X"):
    """Check X and return ``(images, layout)``: float32 (n, C, H, W) and the key of
    X's layout in :data:`LAYOUTS`, which :func:`from_images` restores."""
    X = as_image_array(X, name)
    if hasattr(X, "ndim") and X.ndim == 1:
        raise ValueError(f"{name} is 1-D with shape {X.shape}; pass one image per row: "
                         f"use {name}.reshape(1, -1) for a single flat image.")
    X = _checked_array(X, name)
    layout = image_layout(X.shape)
    if layout == "HWC":
        X = np.moveaxis(X, -1, 1)  # (n, H, W, C) -> (n, C, H, W)
    shape = _resolve_shape(X, normalise_image_shape(image_shape), name)
    if min(shape[1:]) < MIN_IMAGE_SIDE:
        raise ValueError(f"Images of {shape[1]}x{shape[2]} pixels are too small ({name} "
                         f"of shape {X.shape} read as {LAYOUTS[layout]}): the encoder "
                         f"needs at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}.")
    if layout == "CHW" and _looks_channels_last(X.shape):
        warnings.warn(f"{name} of shape {X.shape} is read as (n, C, H, W): "
                      f"{X.shape[1]} channels of {X.shape[2]}x{X.shape[3]} images. If "
                      f"its last axis holds the channels, pass "
                      f"np.moveaxis({name}, -1, 1).", UserWarning)
    images = np.ascontiguousarray(X, dtype=np.float32).reshape((X.shape[0],) + shape)
    return images, layout


def image_layout(shape):
    """The :data:`LAYOUTS` key of an array of images of this shape.

    A 4-D array is channels-last when its last axis looks like channels and its
    second does not; one where both do, such as (n, 3, 8, 3), is channels-first.
    It is also channels-last when its last axis is too short to be a width
    (below ``MIN_IMAGE_SIDE``) and the two before it are not: (n, 40, 40, 2), a
    two-channel microscopy stack.
    """
    if len(shape) == 2:
        return "flat"
    if len(shape) == 3:
        return "HW"
    if len(shape) == 4 and shape[1] not in CHANNELS and shape[-1] in CHANNELS:
        return "HWC"
    if len(shape) == 4 and shape[-1] < MIN_IMAGE_SIDE <= min(shape[1], shape[2]):
        return "HWC"
    return "CHW"


def _looks_channels_last(shape):
    """Whether a 4-D shape read as channels-first may well be channels-last: more
    channels than RGBA and a last axis shorter than the two before it, as in
    (n, 12, 12, 9) (nine channels of 12x12, or twelve of 12x9?)."""
    return shape[1] not in CHANNELS and shape[-1] < min(shape[1], shape[2])


def _checked_array(X, name):
    """X as a float array of finite numbers, or an error that names the fix."""
    try:
        return check_array(X, allow_nd=True, dtype=(np.float32, np.float64),
                           input_name=name, estimator="MCEVAE")
    except (TypeError, ValueError) as error:
        message = str(error)
        if "convert" in message or "argument must be" in message:
            raise TypeError(f"{name} must hold numbers (pixel values), but "
                            f"{error}. Convert it first, e.g. with "
                            f"np.asarray({name}, dtype=np.float32).") from None
        if "contains NaN" in message or "contains infinity" in message:
            raise ValueError(_not_finite_message(X, name)) from None
        raise


def _not_finite_message(X, name, shown=5):
    """Which images hold NaN or infinity, and the fix (scikit-learn's own advice,
    imputers and HistGradientBoosting, is for tables, not images)."""
    rows = _rows_not_finite(X)
    which = ", ".join(str(i) for i in rows[:shown]) + (", ..." if len(rows) > shown else "")
    images = "1 image (row" if len(rows) == 1 else f"{len(rows)} images (rows"
    return (f"{name} holds NaN or infinity in {images} {which}), and "
            f"images must not hold NaN or infinity: replace them, e.g. with "
            f"np.nan_to_num({name}, nan=0.0, posinf=1.0, neginf=0.0) for images in "
            f"[0, 1], or drop the images that hold them, e.g. "
            f"{name}[np.isfinite({name}).reshape(len({name}), -1).all(1)].")


def _rows_not_finite(X, chunk=1024):
    """Indices of the rows of X that hold a non-finite value, read in chunks so that
    a memmap larger than memory is not loaded whole."""
    rows = []
    for start in range(0, len(X), chunk):
        block = np.asarray(X[start:start + chunk], dtype=np.float64)
        bad = ~np.isfinite(block.reshape(len(block), -1)).all(1)
        rows.extend(start + np.flatnonzero(bad))
    return [int(i) for i in rows]


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


def from_images(images, layout):
    """(n, C, H, W) back to the layout of a user's X, a key of :data:`LAYOUTS`."""
    n = images.shape[0]
    if layout == "flat":
        return images.reshape(n, -1)  # (n, C, H, W) -> (n, C*H*W)
    if layout == "HW":
        return images.reshape(n, *images.shape[2:])  # (n, 1, H, W) -> (n, H, W)
    if layout == "HWC":
        return np.ascontiguousarray(np.moveaxis(images, 1, -1))  # -> (n, H, W, C)
    return images


def check_params(est):
    """Check an estimator's hyper-parameters with messages that name the fix."""
    for name, low in (("n_clusters", 1), ("latent_dim", 1), ("n_invariance_samples", 1),
                      ("hidden_size", 1), ("batch_size", 1),
                      ("verbose", 0), ("n_iter_no_change", 1), ("n_neighbors", 0),
                      ("test_rotations", 1)):
        _check_int(est, name, low)
    if est.n_landmarks is not None:
        _check_int(est, "n_landmarks", 2)
    if est.n_threads is not None:
        _check_int(est, "n_threads", 1)
    if est.max_epochs != "auto":
        _check_int(est, "max_epochs", 0)
    fraction = est.validation_fraction
    if fraction is not None:
        _check_real(est, "validation_fraction", strict=True)
        if fraction >= 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {fraction}.")
    _check_real(est, "learning_rate", strict=True)
    if est.relabel_at is not None:
        _check_fractions(est.relabel_at)
    for name in ("cluster_temperature", "pose_search_step"):
        if getattr(est, name) is not None:
            _check_real(est, name, strict=True)
    if est.pose_search_step is not None and est.pose_search_step < MIN_SEARCH_STEP:
        raise ValueError(f"pose_search_step must be at least {MIN_SEARCH_STEP} degrees "
                         f"(each image tries up to 360 / step turns), got "
                         f"{est.pose_search_step}; None turns the search off.")
    for name in ("beta", "rotation_range", "translation_range", "scale_range",
                 "consistency_weight", "canonical_weight", "graph_weight", "pose_weight",
                 "neighbor_pose_weight"):
        _check_real(est, name, strict=False)
    _check_option(est, "group", tuple(GROUP_DIMS), any_case=True)
    _check_option(est, "invariance", ("unsupervised", "supervised", None))
    _check_option(est, "likelihood", ("bernoulli", "gaussian"))
    _check_option(est, "assign_by", ("mixture", "centroids", "weights"))
    _check_option(est, "decoder", ("dense", "conv"))
    if not isinstance(est.device, (str, torch.device)):
        raise TypeError(f"device must be a string such as 'auto', 'cpu' or 'cuda', "
                        f"got {est.device!r}.")
    for name in ("mixed_precision", "warm_start"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {getattr(est, name)!r}.")
    normalise_image_shape(est.image_shape)


def _check_int(est, name, low):
    value = getattr(est, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}.")


def _check_real(est, name, strict):
    value = getattr(est, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    if not math.isfinite(value) or value < 0 or (strict and value == 0):
        bound = "positive" if strict else "non-negative"
        raise ValueError(f"{name} must be a finite {bound} number, got {value}.")


def _check_fractions(relabel_at):
    """relabel_at: one fraction of max_epochs in (0, 1), or a non-empty sequence."""
    several = isinstance(relabel_at, (list, tuple, np.ndarray))
    fractions = list(relabel_at) if several else [relabel_at]
    if not fractions:
        raise ValueError("relabel_at must hold at least one fraction of max_epochs, "
                         "got an empty sequence; None keeps the graph's clusters.")
    for value in fractions:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"relabel_at must be a number in (0, 1), a sequence of "
                            f"them or None, got {relabel_at!r}.")
        if not 0 < value < 1:
            raise ValueError(f"relabel_at must be in (0, 1) (a fraction of max_epochs), "
                             f"a sequence of such fractions or None, got {relabel_at!r}.")


def _check_option(est, name, options, any_case=False):
    value = getattr(est, name)
    if any_case and isinstance(value, str):
        value = value.upper()
    known = (value is None and None in options) or (
        isinstance(value, str) and value in options)
    if not known:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}.")


def check_fit_data(params, X, X_canonical=None):
    """The training images and canonical images as float32 (n, C, H, W), and X's
    layout (a key of :data:`LAYOUTS`).

    ``params`` are the estimator's ``get_params()``.
    """
    images, layout = to_images(X, params["image_shape"])
    if images.shape[0] < 2:
        raise ValueError(f"MCEVAE needs at least 2 images to fit, got {images.shape[0]}.")
    if params["n_clusters"] > images.shape[0]:
        raise ValueError(f"n_clusters={params['n_clusters']} is more than the "
                         f"{images.shape[0]} images in X.")
    bernoulli = params["likelihood"] == "bernoulli"
    if bernoulli:
        check_unit_range(images, "X")
    else:
        _warn_if_far_from_unit_scale(images)
    supervised = params["invariance"] == "supervised"
    if X_canonical is None and supervised:
        raise ValueError("invariance='supervised' needs X_canonical, the canonical "
                         "images, in fit(X, X_canonical=...).")
    if X_canonical is None:
        return images, None, layout
    if not supervised:
        raise ValueError(f"X_canonical is only used with invariance='supervised', but "
                         f"invariance={params['invariance']!r}.")
    canonical, _ = to_images(X_canonical, images.shape[1:], name="X_canonical")
    if len(canonical) != len(images):
        raise ValueError(f"X_canonical holds {len(canonical)} images but X holds "
                         f"{len(images)}: pass the canonical image of every image of "
                         f"X, in the same order.")
    if bernoulli:
        check_unit_range(canonical, "X_canonical")
    return images, canonical, layout


def check_predict_data(X, image_shape, likelihood):
    """Images of a fitted model's ``image_shape`` (C, H, W) as float32 (n, C, H, W),
    and X's layout (a key of :data:`LAYOUTS`)."""
    image_shape = tuple(image_shape)
    X = as_image_array(X)
    _refuse_single_image(X, image_shape)
    flat_shape = None
    if getattr(X, "ndim", np.ndim(X)) == 2:
        # Flat rows are read with the fitted shape; a wrong width is reported as
        # scikit-learn does.
        width, expected = np.shape(X)[1], math.prod(image_shape)
        if width != expected:
            raise ValueError(f"X has {width} features, but MCEVAE is expecting "
                             f"{expected} features as input.")
        flat_shape = image_shape
    images, layout = to_images(X, flat_shape)
    if images.shape[1:] != image_shape:
        raise ValueError(f"X holds images of shape {images.shape[1:]} (C, H, W), but "
                         f"MCEVAE was fitted on {image_shape}.")
    if likelihood == "bernoulli":
        check_unit_range(images, "X")
    return images, layout


def _refuse_single_image(X, image_shape):
    """One image of the fitted shape would be read as rows or as a stack of images;
    say how to pass it as a batch of one."""
    shape = tuple(getattr(X, "shape", ()))
    c, h, w = image_shape
    if shape in ([(h, w)] if c == 1 else [(c, h, w), (h, w, c)]):
        raise ValueError(f"X is a single image of shape {shape}; pass it as a batch of "
                         f"one: X[None], of shape {(1,) + shape}.")


def column_names(X):
    """The column names of a DataFrame X when all are strings, else None."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(columns, dtype=object)
    if not all(isinstance(name, str) for name in names):
        return None
    return names


def check_column_names(est, X):
    """At predict time, X's column names (if any) must be those seen in fit."""
    fitted, names = getattr(est, "feature_names_in_", None), column_names(X)
    if fitted is not None and names is not None and not np.array_equal(fitted, names):
        raise ValueError("The feature names of X differ from those seen in fit: pass "
                         "the columns in the order fit saw them.")


def check_feature_names(est, input_features):
    """``get_feature_names_out``'s argument, checked as scikit-learn checks it."""
    if input_features is None:
        return
    names = np.asarray(input_features, dtype=object)
    if names.ndim != 1 or len(names) != est.n_features_in_:
        raise ValueError(f"input_features should have length equal to the number of "
                         f"features ({est.n_features_in_}), got {len(np.ravel(names))}.")
    fitted = getattr(est, "feature_names_in_", None)
    if fitted is not None and not np.array_equal(fitted, names):
        raise ValueError("input_features is not equal to feature_names_in_.")


# The Gaussian likelihood's variance is 1: pixel values spread over more than this
# (8-bit images span 255) make the reconstruction swamp every other term.
GAUSSIAN_MAX_SPREAD = 20.0


def _warn_if_far_from_unit_scale(images):
    spread = float(images.std())
    if spread > GAUSSIAN_MAX_SPREAD:
        warnings.warn(
            f"likelihood='gaussian' has unit variance, but X's values spread with a "
            f"standard deviation of {spread:.4g} (in [{float(images.min()):.4g}, "
            f"{float(images.max()):.4g}]): standardise X, e.g. (X - X.mean()) / "
            f"X.std(), or for 8-bit images use X / 255.0 with likelihood='bernoulli'.",
            UserWarning)
