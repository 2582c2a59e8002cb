"""The pose search: the encoder's turn refined by trying a grid of turns."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skmcevae import MCEVAE
from skmcevae.datasets import make_glyphs
from skmcevae.groups import (compose, exp_map, log_map, pose_matrix, rotation_matrix,
                             warp)
from skmcevae.pose_terms import synchronised_pose_error
from skmcevae.pose_search import refine_pose, search_turns


def _glyph_canonical(n=6, size=20):
    X, _, _ = make_glyphs(n, n_classes=n, image_size=size, group="SO2",
                          rotation_range=0.0, random_state=0)
    return torch.from_numpy(X.reshape(n, 1, size, size).astype(np.float32))


def _turned(matrix, angle):
    """The map turned by ``angle`` about the canonical frame's origin."""
    return compose(rotation_matrix(angle.expand(len(matrix))), matrix)


def test_turns_cover_the_range_once_with_zero_among_them():
    turns, wraps = search_turns(math.pi, math.radians(10))
    assert len(turns) == 36 and (turns == 0).any() and wraps
    assert torch.allclose(torch.diff(turns), torch.tensor(math.radians(10)))
    turns, wraps = search_turns(math.pi / 2, math.radians(10))
    assert len(turns) == 19 and not wraps  # -90 .. 90
    assert not search_turns(math.pi, math.radians(7))[1]  # 7 does not divide 360
    assert search_turns(math.pi / 2, math.radians(100)) is None


def test_no_turn_of_the_step_in_the_range_leaves_the_encoders_pose():
    from skmcevae.model import MCEVAEModule, ModelConfig
    module = MCEVAEModule(ModelConfig(image_shape=(1, 12, 12), n_clusters=2,
                                      latent_dim=2, hidden_size=8, group="SE2",
                                      rotation_range=0.0,
                                      pose_search_step=math.radians(10)))
    x = torch.rand(4, 1, 12, 12)
    torch.testing.assert_close(module.encode(x)["tau_mean"],
                               module.encode(x, search=False)["tau_mean"])


@pytest.mark.parametrize("group", ["SO2", "SE2", "SIM2"])
def test_the_search_finds_the_turn_the_encoder_missed(group):
    """An image drawn at a known pose, a start 40 degrees off: the refined pose is
    the true one, in every group."""
    canonical = _glyph_canonical()
    n = len(canonical)
    true_angle = torch.tensor([170.0, -120.0, 60.0, 0.0, 90.0, -30.0]).deg2rad()
    shift = torch.tensor([[0.1, -0.05]]).repeat(n, 1) * (group != "SO2")
    scale = torch.full((n,), 0.1 * (group == "SIM2"))
    truth = pose_matrix(true_angle, shift, scale)
    x = warp(canonical, truth)
    tau_true = log_map(truth, group)
    start = log_map(_turned(truth, torch.tensor(math.radians(-40.0))), group)
    refined = refine_pose(canonical, x, start, group, "bernoulli",
                          *search_turns(math.pi, math.radians(10)))
    # Within 2.5 degrees (the vertex of the parabola through the best turns is not
    # exactly the true turn).
    off = np.degrees(np.angle(np.exp(1j * (refined[:, 0] - tau_true[:, 0]).numpy())))
    assert np.abs(off).max() < 2.5
    torch.testing.assert_close(exp_map(refined, group), exp_map(tau_true, group),
                               atol=0.05, rtol=0)


def test_turns_between_the_steps_and_across_the_half_turn_are_read():
    """A sweep of turns, on and between the 10-degree grid, near 90 and across 180
    degrees (where the grid wraps), with canonical images squeezed as the
    decoder's are: every refined angle within half a step, most far closer."""
    canonical = 1e-4 + (1 - 2e-4) * _glyph_canonical(3)
    errors = []
    for degrees in (-179.0, -175.0, -123.0, -5.0, 0.0, 23.0, 87.0, 90.0, 178.0, 180.0):
        angle = torch.full((len(canonical),), math.radians(degrees))
        x = warp(canonical, pose_matrix(angle, torch.zeros(len(angle), 2),
                                        torch.zeros(len(angle))))
        refined = refine_pose(canonical, x, torch.zeros(len(x), 1), "SO2", "bernoulli",
                              *search_turns(math.pi, math.radians(10)))
        errors.append(np.degrees(np.angle(np.exp(1j * (refined[:, 0] - angle).numpy()))))
    errors = np.abs(np.concatenate(errors))
    assert errors.max() <= 5.0 and np.median(errors) < 1.5


@pytest.mark.parametrize("group", ["SO2", "SE2", "SIM2"])
def test_the_refined_pose_passes_the_encoders_gradient_for_a_fixed_turn(group):
    """The chosen turn is held fixed; through it, log(R exp(tau)) is differentiable
    in tau and its derivative is the true one (finite differences)."""
    tau = torch.randn(5, {"SO2": 1, "SE2": 3, "SIM2": 4}[group], dtype=torch.float64)
    tau.requires_grad_(True)
    turn = torch.tensor([0.3, -2.0, 1.0, 3.0, -0.5], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda t: log_map(compose(rotation_matrix(turn), exp_map(t, group)), group),
        (tau,))


def _pose_error(model, X, y, poses):
    theta = np.degrees(model.transform(X)[:, -1])
    errors = []
    for k in np.unique(y):
        diff = np.radians(theta[y == k] - poses[y == k, 0])
        offset = np.angle(np.exp(1j * diff).mean())
        errors.append(np.degrees(np.abs(np.angle(np.exp(1j * (diff - offset))))))
    return float(np.median(np.concatenate(errors)))


def test_a_fit_with_the_search_learns_full_circle_poses():
    """Through fit: glyphs turned over the whole circle; with the search the poses
    are within a few degrees of the truth (up to a turn per class), and the pose
    passes the check that warns about an unlearned one."""
    X, y, poses = make_glyphs(360, n_classes=3, image_size=20, group="SO2",
                              random_state=0)
    params = dict(n_clusters=3, group="SO2", rotation_range=180.0, max_epochs=12,
                  batch_size=32, hidden_size=64, n_neighbors=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        searched = MCEVAE(**params).fit(X)
    # The encoder alone (pose_search_step=None) reached 6.8 degrees here.
    assert _pose_error(searched, X, y, poses) < 4.5
    # The synchronised targets, compared up to a turn per piece, are met.
    assert searched.history_[-1]["pose_target"] < 0.1


def test_targets_compared_up_to_a_turn_per_piece():
    """With pieces, turning all poses of one piece alike costs nothing; without, it
    costs 4 (1 - cos) of the turn."""
    torch.manual_seed(0)
    x = torch.rand(8, 1, 12, 12)
    target = torch.linspace(-3, 3, 8)
    piece = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    tau = target.unsqueeze(1).clone()
    turned = tau + torch.where(piece == 0, 2.0, -1.0).unsqueeze(1)
    assert synchronised_pose_error(x, turned, target, "SO2", piece) < 1e-6
    assert synchronised_pose_error(x, turned, target, "SO2") > 1.0
    # A turn within a piece still counts.
    uneven = turned.clone()
    uneven[0] += 1.0
    assert synchronised_pose_error(x, uneven, target, "SO2", piece) > 0.1
