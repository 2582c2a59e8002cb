"""Group maths: exponential maps of the image-plane groups and image warping.

An element of a group is written as a Lie-algebra vector ``tau`` and mapped to a
(2, 3) affine matrix ``M = [A | t]`` in the normalised coordinates of
``torch.nn.functional.affine_grid`` (the image spans [-1, 1] on each axis).
``warp(image, M)`` samples the output at ``p`` from the input at ``A p + t``.

Groups and the layout of ``tau``:

- ``None``: no transform, ``tau`` has 0 entries.
- ``"SO2"``: ``(theta,)``, a rotation by ``theta`` radians.
- ``"SE2"``: ``(theta, u1, u2)``, rotation and translation ``t = V(theta) u``.
- ``"SIM2"``: ``(theta, u1, u2, s)``, the SE(2) element scaled by ``exp(s)``.
"""

import torch
import torch.nn.functional as F

GROUP_DIMS = {None: 0, "SO2": 1, "SE2": 3, "SIM2": 4}
GROUP_PARAM_NAMES = {
    None: (),
    "SO2": ("theta",),
    "SE2": ("theta", "u1", "u2"),
    "SIM2": ("theta", "u1", "u2", "log_scale"),
}
# Below this angle V(theta) is evaluated by its Taylor series: the closed form
# divides by theta and loses precision (and its gradient) near zero.
_SERIES_BELOW = 1e-2


def group_dim(group):
    """Number of entries of ``tau`` for ``group``."""
    if group not in GROUP_DIMS:
        raise ValueError(f"group must be one of {list(GROUP_DIMS)}, got {group!r}.")
    return GROUP_DIMS[group]


def rotation(theta):
    """Rotation matrices, ``(...,) -> (..., 2, 2)``."""
    cos, sin = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)


def _v_coefficients(theta):
    """``sin(theta)/theta`` and ``(1 - cos(theta))/theta``, exact near zero."""
    small = theta.abs() < _SERIES_BELOW
    # Substitute a safe angle where the series is used so that the unused branch
    # of torch.where has no 0/0 (whose NaN gradient would leak through).
    safe = torch.where(small, torch.ones_like(theta), theta)
    a_closed = torch.sin(safe) / safe
    b_closed = (1 - torch.cos(safe)) / safe
    t2 = theta * theta
    a_series = 1 - t2 / 6 + t2 * t2 / 120
    b_series = theta / 2 - theta * t2 / 24 + theta * t2 * t2 / 720
    return torch.where(small, a_series, a_closed), torch.where(small, b_series, b_closed)


def left_jacobian(theta):
    """The matrix ``V(theta)`` of the SE(2) exponential, ``(...,) -> (..., 2, 2)``."""
    a, b = _v_coefficients(theta)
    return torch.stack([torch.stack([a, -b], -1), torch.stack([b, a], -1)], -2)


def exp_map(tau, group):
    """Affine matrices of the group elements ``tau``, ``(B, d) -> (B, 2, 3)``."""
    dim = group_dim(group)
    if tau.shape[-1] != dim:
        raise ValueError(f"tau has {tau.shape[-1]} entries, {group} needs {dim}.")
    batch = tau.shape[0]
    if group is None:
        eye = torch.eye(2, 3, dtype=tau.dtype, device=tau.device)
        return eye.expand(batch, 2, 3).clone()
    theta = tau[:, 0]
    linear = rotation(theta)
    if group == "SO2":
        shift = torch.zeros(batch, 2, 1, dtype=tau.dtype, device=tau.device)
    else:
        shift = left_jacobian(theta) @ tau[:, 1:3].unsqueeze(-1)  # (B, 2, 1)
    matrix = torch.cat([linear, shift], dim=-1)
    if group == "SIM2":
        matrix = torch.exp(tau[:, 3]).view(batch, 1, 1) * matrix
    return matrix


def rotation_matrix(angle):
    """Affine matrices of pure rotations by ``angle`` radians, ``(B,) -> (B, 2, 3)``."""
    return torch.cat([rotation(angle), angle.new_zeros(*angle.shape, 2, 1)], dim=-1)


def rotate(images, angle):
    """Images (B, C, H, W) turned by one ``angle`` in radians, about their centre."""
    return warp(images, rotation_matrix(images.new_full((images.shape[0],), float(angle))))


def pose_matrix(angle, shift, log_scale):
    """Affine matrices from explicit pose parameters.

    ``angle`` (B,) in radians, ``shift`` (B, 2) in normalised units, ``log_scale``
    (B,): ``M = [exp(s) R(angle) | shift]``.
    """
    linear = torch.exp(log_scale).view(-1, 1, 1) * rotation(angle)
    return torch.cat([linear, shift.unsqueeze(-1)], dim=-1)


def invert_affine(matrix):
    """Inverse of each affine map, ``(B, 2, 3) -> (B, 2, 3)``."""
    linear, shift = matrix[..., :2], matrix[..., 2:]
    inverse = torch.linalg.inv(linear)
    return torch.cat([inverse, -inverse @ shift], dim=-1)


def compose(first, second):
    """The affine map ``p -> first(second(p))``, both ``(B, 2, 3)``."""
    linear = first[..., :2] @ second[..., :2]
    shift = first[..., :2] @ second[..., 2:] + first[..., 2:]
    return torch.cat([linear, shift], dim=-1)


def warp(images, matrix):
    """Resample ``images`` (B, C, H, W) through the affine maps ``matrix`` (B, 2, 3).

    Pixels sampled from outside the image are zero.
    """
    grid = F.affine_grid(matrix.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)


def sample_poses(n, group, rotation_range, translation_range, scale_range, generator,
                 device=None):
    """Random poses of ``group``: ``(angle, shift_x, shift_y, log_scale)``, shape (n, 4).

    Angles are uniform in ``[-rotation_range, rotation_range]`` radians, shifts in
    ``[-translation_range, translation_range]`` normalised units and log-scales in
    ``[-scale_range, scale_range]``; entries that ``group`` lacks are zero.
    """
    group_dim(group)
    shifts = group in ("SE2", "SIM2")
    spans = (rotation_range if group is not None else 0.0,
             translation_range if shifts else 0.0, translation_range if shifts else 0.0,
             scale_range if group == "SIM2" else 0.0)
    uniform = torch.rand(n, 4, generator=generator, device=device) * 2 - 1
    # Python scalars times device columns: no tensor is built on the host and copied.
    return torch.stack([uniform[:, i] * span for i, span in enumerate(spans)], dim=1)


def poses_to_matrix(poses):
    """``(n, 4)`` poses from :func:`sample_poses` to ``(n, 2, 3)`` affine matrices."""
    return pose_matrix(poses[:, 0], poses[:, 1:3], poses[:, 3])
