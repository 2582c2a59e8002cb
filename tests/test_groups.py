import math

import numpy as np
import pytest
import torch

from skmcevae.groups import (compose, exp_map, group_dim, invert_affine,
                             left_jacobian, log_map, pose_matrix, poses_to_matrix, rotation,
                             rotate, rotation_matrix, sample_poses, warp)

GROUPS = ["SO2", "SE2", "SIM2"]


def _random_tau(group, n=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, group_dim(group), generator=gen, dtype=torch.float64)


def test_group_dims():
    assert [group_dim(g) for g in (None, "SO2", "SE2", "SIM2")] == [0, 1, 3, 4]
    with pytest.raises(ValueError, match="group must be one of"):
        group_dim("SO3")


@pytest.mark.parametrize("group", GROUPS + [None])
def test_exp_map_of_zero_is_identity(group):
    matrix = exp_map(torch.zeros(5, group_dim(group)), group)
    assert torch.equal(matrix, torch.eye(2, 3).expand(5, 2, 3))


@pytest.mark.parametrize("group", GROUPS)
def test_transform_composed_with_its_inverse_is_identity(group):
    matrix = exp_map(_random_tau(group), group)
    identity = torch.eye(2, 3, dtype=torch.float64).expand_as(matrix)
    torch.testing.assert_close(compose(matrix, invert_affine(matrix)), identity)
    torch.testing.assert_close(compose(invert_affine(matrix), matrix), identity)


@pytest.mark.parametrize("group", GROUPS)
def test_exp_of_negated_tau_is_the_inverse(group):
    # Every group is exponentiated exactly, so exp(-tau) = exp(tau)^-1.
    tau = _random_tau(group)
    torch.testing.assert_close(exp_map(-tau, group), invert_affine(exp_map(tau, group)))


@pytest.mark.parametrize("group", GROUPS)
def test_log_map_inverts_the_exp_map(group):
    tau = _random_tau(group)
    tau[:, 0] = torch.linspace(-math.pi + 1e-6, math.pi, len(tau), dtype=tau.dtype)
    torch.testing.assert_close(log_map(exp_map(tau, group), group), tau)
    # Any map, also one of a tau turned by more than half a turn: exp(log(M)) = M,
    # with the angle of log(M) in (-pi, pi].
    turned = tau.clone()
    turned[:, 0] = tau[:, 0] + 2.5
    matrix = exp_map(turned, group)
    back = log_map(matrix, group)
    torch.testing.assert_close(exp_map(back, group), matrix)
    assert back[:, 0].abs().max() <= math.pi


def _algebra(tau, group):
    """The (B, 3, 3) Lie-algebra matrices of tau, as torch.linalg.matrix_exp takes them."""
    n = tau.shape[0]
    full = torch.zeros(n, 4, dtype=tau.dtype)
    full[:, :group_dim(group)] = tau
    theta, u1, u2, s = full.unbind(1)
    zero = torch.zeros_like(theta)
    return torch.stack([torch.stack([s, -theta, u1], -1), torch.stack([theta, s, u2], -1),
                        torch.stack([zero, zero, zero], -1)], -2)


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("scale", [1.0, 1e-3])
def test_exp_map_is_the_matrix_exponential(group, scale):
    # Also near zero, where the closed forms give way to their series.
    tau = scale * _random_tau(group, n=64)
    expected = torch.linalg.matrix_exp(_algebra(tau, group))[:, :2]
    torch.testing.assert_close(exp_map(tau, group), expected, rtol=1e-10, atol=1e-12)


def test_sim2_gradient_is_finite_at_zero():
    zero = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    exp_map(zero, "SIM2").sum().backward()
    assert torch.isfinite(zero.grad).all()
    # d/du of the shift at tau = 0 is the identity: each u moves its own axis.
    torch.testing.assert_close(zero.grad[0, 1:3], torch.ones(2, dtype=torch.float64))


def test_rotation_is_orthonormal_with_unit_determinant():
    r = rotation(torch.linspace(-3, 3, 7, dtype=torch.float64))
    torch.testing.assert_close(r @ r.transpose(1, 2), torch.eye(2, dtype=torch.float64).expand(7, 2, 2))
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(7, dtype=torch.float64))


def test_left_jacobian_is_exact_and_smooth_near_zero():
    theta = torch.tensor([0.0, 1e-8, 1e-4, 5e-3, 2e-2, 1.0], dtype=torch.float64)
    v = left_jacobian(theta)
    safe = theta.clamp_min(1e-300)
    closed_a = torch.where(theta > 0, torch.sin(safe) / safe, torch.ones_like(theta))
    # 2 sin^2(t/2) / t equals (1 - cos t) / t without its cancellation near zero.
    closed_b = torch.where(theta > 0, 2 * torch.sin(safe / 2) ** 2 / safe,
                           torch.zeros_like(theta))
    torch.testing.assert_close(v[:, 0, 0], closed_a, rtol=0, atol=1e-12)
    torch.testing.assert_close(v[:, 1, 0], closed_b, rtol=0, atol=1e-12)
    # Gradients at exactly zero are finite (no 0/0 in the unused branch).
    zero = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    exp_map(zero, "SE2").sum().backward()
    assert torch.isfinite(zero.grad).all()
    torch.testing.assert_close(zero.grad[0, 1:], torch.ones(2, dtype=torch.float64))


def test_se2_translation_follows_the_rotation_curve():
    # exp(theta, u) moves the origin to V(theta) u; for u along x and theta = pi,
    # V u = (0, 2/pi) u1.
    tau = torch.tensor([[math.pi, 1.0, 0.0]], dtype=torch.float64)
    shift = exp_map(tau, "SE2")[0, :, 2]
    torch.testing.assert_close(shift, torch.tensor([0.0, 2 / math.pi], dtype=torch.float64))


def test_sim2_scale_is_positive_exponential():
    tau = torch.tensor([[0.0, 0.0, 0.0, math.log(2.0)]])
    torch.testing.assert_close(exp_map(tau, "SIM2")[0, :, :2], 2 * torch.eye(2))


def _blob(size=16):
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    img = torch.exp(-((xx - 3.0) ** 2 + (yy - 11.0) ** 2) / 6.0)
    return img.view(1, 1, size, size).float()


@pytest.mark.parametrize("angle", [0.3, -1.0, math.pi / 2])
def test_rotating_by_a_then_minus_a_returns_the_image(angle):
    image = _blob()
    theta = torch.tensor([angle])
    turned = warp(image, exp_map(theta.view(1, 1), "SO2"))
    back = warp(turned, exp_map(-theta.view(1, 1), "SO2"))
    assert (turned - image).abs().max() > 0.3  # the rotation really moved it
    assert (back - image).abs().mean() < 0.02  # back, up to interpolation


def test_quarter_turn_matches_exact_pixel_rotation():
    image = _blob()
    turned = warp(image, exp_map(torch.tensor([[math.pi / 2]]), "SO2"))
    # The sense is pinned: a positive angle is torch.rot90 with k=1 (see below).
    assert (turned - torch.rot90(image, k=1, dims=(2, 3))).abs().max() < 1e-4
    assert (turned - torch.rot90(image, k=-1, dims=(2, 3))).abs().max() > 0.5


def test_a_positive_angle_turns_counter_clockwise_as_displayed():
    # A hand-made 9x9 image (row 0 at the top): one pixel right of the centre. A
    # quarter turn by +pi/2 must bring it above the centre.
    image = torch.zeros(1, 1, 9, 9)
    image[0, 0, 4, 7] = 1.0
    turned = rotate(image, math.pi / 2)[0, 0]
    assert (turned > 0.5).nonzero().tolist() == [[1, 4]]
    assert (rotate(image, -math.pi / 2)[0, 0] > 0.5).nonzero().tolist() == [[7, 4]]


def test_pose_matrix_and_sampled_poses():
    gen = torch.Generator().manual_seed(0)
    poses = sample_poses(1000, "SE2", 0.5, 0.2, 0.3, gen)
    assert poses.shape == (1000, 4)
    assert poses[:, 0].abs().max() <= 0.5 and poses[:, 0].abs().max() > 0.45
    assert poses[:, 1:3].abs().max() <= 0.2
    assert torch.all(poses[:, 3] == 0)  # SE2 has no scale
    matrix = poses_to_matrix(poses)
    torch.testing.assert_close(matrix[:, :, 2], poses[:, 1:3])
    direct = pose_matrix(poses[:1, 0], poses[:1, 1:3], poses[:1, 3])
    torch.testing.assert_close(direct, matrix[:1])
    assert np.allclose(torch.linalg.det(matrix[:, :, :2]).numpy(), 1.0, atol=1e-5)


def test_rotation_matrix_is_a_pose_without_shift_or_scale():
    angle = torch.tensor([0.0, 0.3, -2.0])
    expected = pose_matrix(angle, torch.zeros(3, 2), torch.zeros(3))
    torch.testing.assert_close(rotation_matrix(angle), expected)


def test_rotate_turns_every_image_by_one_angle():
    images = torch.rand(3, 1, 9, 9)
    matrix = pose_matrix(torch.full((3,), 0.7), torch.zeros(3, 2), torch.zeros(3))
    torch.testing.assert_close(rotate(images, 0.7), warp(images, matrix))
    quarter = rotate(images, math.pi / 2)
    # A quarter turn of a square image moves pixels exactly (up to float error), in
    # the sense pinned above.
    torch.testing.assert_close(quarter, torch.rot90(images, 1, (2, 3)), atol=1e-5,
                               rtol=0)


@pytest.mark.parametrize("tau", [[0.0, 0.5, 0.0, 0.0], [0.6, 0.2, -0.3, 0.0],
                                 [0.3, 0.1, 0.2, 0.4], [-2.5, -0.2, 0.1, -0.3]])
def test_pose_in_units_is_where_the_object_went(tau):
    from skmcevae.groups import pose_in_units
    # A round blob at the centre of a 32x32 image, put in the pose tau: the reported
    # shift is where its centre of mass went, in pixels, the scale its size ratio.
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    blob = torch.exp(-((xx - 15.5) ** 2 + (yy - 15.5) ** 2) / 8)[None, None]
    tau = torch.tensor([tau])
    moved = warp(blob, exp_map(tau, "SIM2"))[0, 0]
    mass = moved.sum()
    centre = torch.stack([(moved * xx).sum() / mass, (moved * yy).sum() / mass]) - 15.5
    spread = lambda img, c: ((img * ((xx - 15.5 - c[0]) ** 2 + (yy - 15.5 - c[1]) ** 2)
                              ).sum() / img.sum()).sqrt()
    angle, shift_x, shift_y, scale = pose_in_units(tau, "SIM2", (1, 32, 32))[0]
    assert angle == pytest.approx(math.degrees(tau[0, 0].item()))
    assert (shift_x, shift_y) == pytest.approx(centre.tolist(), abs=0.02)
    ratio = spread(moved, centre) / spread(blob[0, 0], torch.zeros(2))
    assert scale == pytest.approx(ratio.item(), rel=0.05)


@pytest.mark.parametrize("group", ["SE2", "SIM2"])
def test_upright_pose_has_the_shift_and_scale_asked_for(group):
    from skmcevae.groups import pose_matrix, upright_pose
    shift = torch.tensor([[0.2, -0.1], [0.0, 0.3], [-0.4, 0.05]], dtype=torch.float64)
    log_scale = torch.tensor([0.0, -0.7, 0.3], dtype=torch.float64)
    if group == "SE2":
        log_scale = torch.zeros(3, dtype=torch.float64)
    tau = upright_pose(shift, log_scale, group)
    assert torch.all(tau[:, 0] == 0)
    torch.testing.assert_close(exp_map(tau, group),
                               pose_matrix(torch.zeros(3, dtype=torch.float64), shift,
                                           log_scale))
