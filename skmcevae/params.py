"""Checks of MCEVAE's hyper-parameters, with messages that name the fix."""

import math
import numbers

import numpy as np
import torch

from .groups import GROUP_DIMS
from .images import normalise_image_shape


def check_params(est):
    """Check hyper-parameters with messages that name the fix."""
    _check_int(est, "n_clusters", 1)
    _check_int(est, "latent_dim", 1)
    _check_int(est, "n_invariance_samples", 1)
    _check_int(est, "hidden_size", 1)
    _check_int(est, "max_epochs", 0)
    _check_int(est, "batch_size", 1)
    _check_int(est, "verbose", 0)
    _check_int(est, "n_iter_no_change", 1)
    _check_int(est, "n_neighbors", 0)
    _check_int(est, "test_rotations", 1)
    if est.n_landmarks is not None:
        _check_int(est, "n_landmarks", 2)
    fraction = est.validation_fraction
    if fraction is not None:
        _check_real(est, "validation_fraction", strict=True)
        if fraction >= 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {fraction}.")
    _check_real(est, "learning_rate", strict=True)
    if est.cluster_temperature is not None:
        _check_real(est, "cluster_temperature", strict=True)
    for name in ("beta", "rotation_range", "translation_range", "scale_range",
                 "consistency_weight", "graph_weight"):
        _check_real(est, name, strict=False)
    _check_option(est, "group", tuple(GROUP_DIMS))
    _check_option(est, "invariance", ("unsupervised", "supervised", None))
    _check_option(est, "likelihood", ("bernoulli", "gaussian"))
    _check_option(est, "assign_by", ("mixture", "centroids", "weights"))
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


def _check_option(est, name, options):
    value = getattr(est, name)
    known = (value is None and None in options) or (
        isinstance(value, str) and value in options)
    if not known:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}.")
