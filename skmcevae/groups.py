"""Group maths: exponential maps of the image-plane groups and image warping.

An element of a group is written as a Lie-algebra vector ``tau`` and mapped to a
(2, 3) affine matrix ``M = [A | t]`` in the normalised coordinates of
``torch.nn.functional.affine_grid`` (the image spans [-1, 1] on each axis).
``warp(image, M)`` samples the output at ``p`` from the input at ``A p + t``.

Groups and the layout of ``tau``:

- ``None``: no transform, ``tau`` has 0 entries.
- ``"SO2"``: ``(theta,)``, a rotation by ``theta`` radians.
- ``"SE2"``: ``(theta, u1, u2)``, rotation and translation ``t = V(theta) u``.
- ``"SIM2"``: ``(theta, u1, u2, s)``, the exponential of the similitude algebra:
  ``A = exp(s) R(theta)`` and ``t = W(theta, s) u`` with ``W = int_0^1 exp(t s)
  R(t theta) dt``, so that ``exp(-tau)`` is the inverse of ``exp(tau)``.
"""

import numpy as np
import torch
import torch.nn.functional as F

GROUP_DIMS = {None: 0, "SO2": 1, "SE2": 3, "SIM2": 4}
# Columns of MCEVAE.predict_pose, in the units a user reads an image in.
POSE_NAMES = {
    None: (),
    "SO2": ("angle_deg",),
    "SE2": ("angle_deg", "shift_x_px", "shift_y_px"),
    "SIM2": ("angle_deg", "shift_x_px", "shift_y_px", "scale"),
}
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


def _w_coefficients(theta, s):
    """Real and imaginary parts of ``(exp(z) - 1) / z``, ``z = s + i theta``: the
    matrix ``W(theta, s) = [[a, -b], [b, a]]`` of the SIM(2) exponential.

    For ``s = 0`` these are SE(2)'s ``sin(theta)/theta`` and ``(1 - cos(theta))/theta``.
    Near ``z = 0`` the quotient loses precision, so its series is used there.
    """
    r2 = theta * theta + s * s
    small = r2 < _SERIES_BELOW ** 2
    # A safe point (z = 1) where the series is used keeps the unused branch of
    # torch.where free of 0/0 and its NaN gradient.
    safe_theta = torch.where(small, torch.zeros_like(theta), theta)
    safe_s = torch.where(small, torch.ones_like(s), s)
    growth = torch.exp(safe_s)
    real = growth * torch.cos(safe_theta) - 1
    imag = growth * torch.sin(safe_theta)
    denominator = safe_theta * safe_theta + safe_s * safe_s
    a_closed = (real * safe_s + imag * safe_theta) / denominator
    b_closed = (imag * safe_s - real * safe_theta) / denominator
    # (exp(z) - 1) / z = 1 + z/2 + z^2/6 + z^3/24 + z^4/120 + ...
    z2 = (s * s - theta * theta, 2 * s * theta)
    z3 = (z2[0] * s - z2[1] * theta, z2[0] * theta + z2[1] * s)
    z4 = (z2[0] * z2[0] - z2[1] * z2[1], 2 * z2[0] * z2[1])
    a_series = 1 + s / 2 + z2[0] / 6 + z3[0] / 24 + z4[0] / 120
    b_series = theta / 2 + z2[1] / 6 + z3[1] / 24 + z4[1] / 120
    return torch.where(small, a_series, a_closed), torch.where(small, b_series, b_closed)


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
    elif group == "SE2":
        shift = left_jacobian(theta) @ tau[:, 1:3].unsqueeze(-1)  # (B, 2, 1)
    else:
        a, b = _w_coefficients(theta, tau[:, 3])
        w = torch.stack([torch.stack([a, -b], -1), torch.stack([b, a], -1)], -2)
        shift = w @ tau[:, 1:3].unsqueeze(-1)  # (B, 2, 1)
        linear = torch.exp(tau[:, 3]).view(batch, 1, 1) * linear
    return torch.cat([linear, shift], dim=-1)


def log_map(matrix, group):
    """The poses tau (B, d) of the affine matrices (B, 2, 3) of ``group``: the inverse
    of :func:`exp_map`, with angles in (-pi, pi]."""
    linear, shift = matrix[:, :, :2], matrix[:, :, 2]
    theta = torch.atan2(linear[:, 1, 0] - linear[:, 0, 1],
                        linear[:, 0, 0] + linear[:, 1, 1])
    if group == "SO2":
        return theta.unsqueeze(1)
    if group == "SE2":
        a, b = _v_coefficients(theta)
        return torch.cat([theta.unsqueeze(1), _solve_rotation_scaling(a, b, shift)], 1)
    det = linear[:, 0, 0] * linear[:, 1, 1] - linear[:, 0, 1] * linear[:, 1, 0]
    log_scale = 0.5 * torch.log(det.abs())
    a, b = _w_coefficients(theta, log_scale)
    u = _solve_rotation_scaling(a, b, shift)
    return torch.cat([theta.unsqueeze(1), u, log_scale.unsqueeze(1)], dim=1)


def _solve_rotation_scaling(a, b, y):
    """u (B, 2) with [[a, -b], [b, a]] u = y, in closed form: no solver, whose error
    check would wait on the device."""
    norm = a * a + b * b
    return torch.stack([(a * y[:, 0] + b * y[:, 1]) / norm,
                        (a * y[:, 1] - b * y[:, 0]) / norm], dim=1)


def upright_pose(shift, log_scale, group):
    """The pose tau (B, d) of ``group`` without a turn whose map is
    ``[exp(log_scale) I | shift]``: ``shift`` (B, 2), ``log_scale`` (B,)."""
    zero = torch.zeros_like(log_scale).unsqueeze(1)
    if group == "SE2":
        return torch.cat([zero, shift], dim=1)
    if group == "SIM2":
        a, _ = _w_coefficients(zero[:, 0], log_scale)  # W(0, s) = a I
        return torch.cat([zero, shift / a.unsqueeze(1), log_scale.unsqueeze(1)], dim=1)
    return zero[:, :group_dim(group)]


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


def pose_in_units(tau, group, image_shape, display=None):
    """Poses ``tau`` (n, d) as an object in the picture moved: (n, len(POSE_NAMES)).

    ``angle_deg``: the turn from the canonical pose in degrees, counter-clockwise as
    the image is displayed (row 0 at the top), in (-180, 180]. ``shift_x_px``,
    ``shift_y_px``: where the canonical image's centre went, in pixels (x to the
    right, y down). ``scale``: the object's size over its canonical size.
    ``image_shape`` is (C, H, W). With ``display`` (d,) or (n, d), the pose at which
    canonical images (of each image's cluster) are shown, the poses are measured from
    the canonical image as shown.
    """
    if group is None:
        return np.zeros((len(tau), 0))
    matrix = exp_map(torch.as_tensor(tau, dtype=torch.float64), group)
    if display is not None:
        # x = warp(c, exp(tau)) and the shown s = warp(c, D): x = warp(s, D^-1 exp(tau)).
        display = torch.as_tensor(display, dtype=torch.float64)
        shown = exp_map(display.reshape(-1, display.shape[-1]), group)
        matrix = compose(invert_affine(shown).expand(len(matrix), 2, 3), matrix)
    linear, shift = matrix[:, :, :2], matrix[:, :, 2]
    # The image at p shows the canonical image at A p + t: its centre is at -A^-1 t.
    centre = -torch.linalg.solve(linear, shift.unsqueeze(-1)).squeeze(-1)
    half = torch.tensor([image_shape[2] / 2, image_shape[1] / 2], dtype=torch.float64)
    columns = [torch.rad2deg(torch.atan2(linear[:, 1, 0], linear[:, 0, 0])),
               *(centre * half).unbind(1), 1 / torch.linalg.det(linear).sqrt()]
    return torch.stack(columns[:len(POSE_NAMES[group])], dim=1).numpy()
