import math

import numpy as np
import pytest
import torch

from skmcevae.datasets import load_digits_images, random_poses
from skmcevae.graph import (blur, normalise_poses, pixel_centres,
                                pose_invariant_neighbors, search_angles)


def test_search_angles_cover_the_range_once():
    quarter = search_angles(math.pi / 2)
    np.testing.assert_allclose(np.degrees(quarter), np.arange(-90, 91, 15))
    full = np.degrees(search_angles(math.pi))
    assert full.min() > -180 and full.max() == pytest.approx(180) and len(full) == 24
    assert search_angles(0.0).tolist() == [0.0]


def test_blur_keeps_the_mass_of_a_dot_and_spreads_it():
    image = torch.zeros(1, 2, 16, 16)
    image[0, :, 8, 8] = 1.0
    out = blur(image)
    torch.testing.assert_close(out.sum((2, 3)), torch.ones(1, 2))
    assert out[0, 0, 8, 8] < 0.5 and out[0, 0, 8, 9] > 0


def _moments(images):
    """Centre of mass (x, y) and mean squared radius of each single-channel image."""
    mass = images[:, 0]
    coords = pixel_centres(images.shape[-1], images)
    total = mass.sum((1, 2))
    x = (mass.sum(1) * coords).sum(1) / total
    y = (mass.sum(2) * coords).sum(1) / total
    radius2 = ((coords.view(1, 1, -1) - x.view(-1, 1, 1)) ** 2
               + (coords.view(1, -1, 1) - y.view(-1, 1, 1)) ** 2)
    return x, y, (radius2 * mass).sum((1, 2)) / total


@pytest.mark.parametrize("group", ["SE2", "SIM2"])
def test_normalise_poses_centres_a_shifted_blob(group):
    images = torch.zeros(2, 1, 16, 16)
    images[0, 0, 2:5, 3:6] = 1.0
    images[1, 0, 10:14, 9:15] = 1.0
    x, y, _ = _moments(normalise_poses(images, group))
    assert x.abs().max() < 0.05 and y.abs().max() < 0.05


def test_normalise_poses_leaves_rotation_only_groups_alone():
    images = torch.rand(3, 1, 8, 8)
    assert normalise_poses(images, "SO2") is images


def test_sim2_normalisation_equalises_the_spread():
    small = torch.zeros(1, 1, 32, 32)
    small[0, 0, 14:18, 14:18] = 1.0
    large = torch.zeros(1, 1, 32, 32)
    large[0, 0, 8:24, 8:24] = 1.0
    before = _moments(torch.cat([small, large]))[2]
    after = _moments(normalise_poses(torch.cat([small, large]), "SIM2"))[2]
    assert before[1] / before[0] > 10
    assert after[1] / after[0] == pytest.approx(1, abs=0.15)


def _rotated_digits(n_per_class, seed):
    X, y = load_digits_images(random_state=0)
    keep = np.concatenate([np.flatnonzero(y == label)[:n_per_class] for label in (0, 1, 7)])
    X_rot, _ = random_poses(X[keep].reshape(-1, 1, 8, 8), "SO2", 90.0,
                            random_state=seed)
    return X_rot, y[keep]


def test_rotation_search_finds_neighbours_of_the_same_digit():
    X, y = _rotated_digits(30, seed=1)
    searched = pose_invariant_neighbors(X, 5, "SO2", math.pi / 2)
    plain = pose_invariant_neighbors(X, 5, None)
    purity_searched = (y[searched] == y[:, None]).mean()
    purity_plain = (y[plain] == y[:, None]).mean()
    assert purity_searched > 0.85
    assert purity_searched > purity_plain + 0.05


def test_a_rotated_copy_is_the_nearest_neighbour():
    X, _ = _rotated_digits(10, seed=2)
    turned, _ = random_poses(X, "SO2", 90.0, random_state=3)
    both = np.concatenate([X, turned])
    found = pose_invariant_neighbors(both, 1, "SO2", math.pi)
    n = len(X)
    partner = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    # 8x8 images lose detail when rotated; a random pick would be right 1 in 59.
    assert (found[:, 0] == partner).mean() > 0.8


def test_neighbours_shape_and_never_self():
    X = np.random.default_rng(0).random((7, 1, 8, 8)).astype(np.float32)
    found = pose_invariant_neighbors(X, 10, "SO2")
    assert found.shape == (7, 6) and found.dtype == np.int64
    assert not (found == np.arange(7)[:, None]).any()
    assert all(len(set(row)) == 6 for row in found.tolist())


def test_candidates_restrict_the_search_and_keep_its_answer():
    X, _ = _rotated_digits(20, seed=4)
    candidates = np.arange(0, len(X), 3)
    found = pose_invariant_neighbors(X, 4, "SO2", math.pi / 2, candidates=candidates)
    assert found.shape == (len(X), 4)
    assert np.isin(found, candidates).all()
    assert not (found == np.arange(len(X))[:, None]).any()
    # Among themselves the candidates find what a search over them alone finds (the
    # principal axes come from all images, so compare sets of the nearest two).
    alone = candidates[pose_invariant_neighbors(X[candidates], 4, "SO2", math.pi / 2)]
    agree = [len(set(a[:2]) & set(b[:3])) == 2 or len(set(b[:2]) & set(a[:3])) == 2
             for a, b in zip(found[candidates], alone)]
    assert np.mean(agree) > 0.9


def test_images_outside_the_candidates_find_candidates_of_their_digit():
    X, y = _rotated_digits(40, seed=5)
    candidates = np.sort(np.random.default_rng(0).choice(len(X), 40, replace=False))
    found = pose_invariant_neighbors(X, 3, "SO2", math.pi / 2, candidates=candidates)
    others = np.setdiff1d(np.arange(len(X)), candidates)
    assert (y[found[others]] == y[others, None]).mean() > 0.85


@pytest.mark.parametrize("group", ["SO2", "SE2", "SIM2"])
def test_the_matching_angle_maps_an_image_onto_its_neighbour(group):
    # x' = warp(x, neighbor_relation(...)): the relation the neighbour pose term uses.
    from skmcevae.datasets import make_glyphs
    from skmcevae.graph import neighbor_relation
    from skmcevae.groups import pose_matrix, warp
    X, _, _ = make_glyphs(12, rotation_range=0.0, translation_range=0.0, scale_range=0.0,
                          random_state=0)
    x = torch.from_numpy(X.reshape(-1, 1, 28, 28)).float()
    shift = torch.tensor([[0.1, -0.05]]).repeat(12, 1) * (group != "SO2")
    log_scale = torch.full((12,), 0.1 * (group == "SIM2"))
    moved = warp(x, pose_matrix(torch.full((12,), math.radians(45)), shift, log_scale))
    both = torch.cat([x, moved]).numpy()
    found, angles = pose_invariant_neighbors(both, 1, group, math.pi, return_angles=True)
    assert np.array_equal(found[:12, 0], np.arange(12, 24))
    np.testing.assert_allclose(np.degrees(angles[:12, 0]), 45.0, atol=1e-4)
    neighbor = torch.from_numpy(both[found[:12, 0]])
    relation = neighbor_relation(x, neighbor, torch.from_numpy(angles[:12, 0]), group)
    error = ((warp(x, relation) - neighbor) ** 2).sum() / (neighbor ** 2).sum()
    assert error < 0.02  # against 0.9 for the image itself
    assert pose_invariant_neighbors(both, 1, group, math.pi).tolist() == found.tolist()


def test_standardised_images_keep_the_normalising_maps_bounded():
    from skmcevae.graph import pose_normalising_matrix
    X, _ = load_digits_images(random_state=0)
    x = torch.from_numpy(X[:20].reshape(-1, 1, 8, 8)).float()
    x = (x - x.mean((1, 2, 3), keepdim=True)) / x.std((1, 2, 3), keepdim=True)
    maps = pose_normalising_matrix(x, "SIM2")
    assert torch.isfinite(maps).all()
    assert maps[:, :, 2].abs().max() <= 1
    scale = torch.linalg.det(maps[:, :, :2]).sqrt()
    assert scale.min() >= math.exp(-3) - 1e-6 and scale.max() <= math.exp(3) + 1e-6
