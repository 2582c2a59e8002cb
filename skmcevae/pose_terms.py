"""The pose's loss terms: how far the pose of a turned copy is from the image's pose
turned (:func:`pose_equivariance`), and how far a pose is from the orientation the
neighbour graph's synchronisation gives the image (:func:`synchronised_pose_error`).
Both compare affine matrices through their angle, log-scale and shift, so a model
cannot meet them by shrinking its poses.
"""

import torch

from .graph import pose_normalising_matrix
from .groups import compose, exp_map, invert_affine, rotation_matrix

# Groups whose poses also shift, or shift and scale, the image.
SCALED_OR_SHIFTED = ("SE2", "SIM2")


def pose_equivariance(tau, turned_tau, turn, group, linear_only=False):
    """How far the pose of turned copies is from the pose of their images, turned.

    An image x = c o exp(tau) turned by g is c o exp(tau) o g, so its pose must be
    ``exp(tau') = exp(tau) g``: the term is the squared distance of
    ``exp(tau) g exp(tau')^-1`` from the identity, 4 (1 - cos) of the angle error
    for rotations. Periodic, so it holds over the whole circle, where a regressed
    angle alone has no gradient towards a far pose; and unchanged when both poses
    are scaled alike (comparing the matrices themselves, SIM2 models shrank them
    until every angle fitted). ``tau``, ``turned_tau`` (B, d); ``turn`` (B, 2, 3)
    the matrices of g. Mean over the batch, a 0-d tensor. ``linear_only`` compares
    the turn and scale alone: where the shift in ``turn`` is only approximate, the
    shift's mismatch shrinks with the common scale, and the model shrank the scale
    (glyphs: a mean log-scale of -1.4, canonical images a small glyph in a large
    unused frame).
    """
    # exp(-tau') is the inverse of exp(tau') in every group.
    mismatch = compose(compose(exp_map(tau, group), turn), exp_map(-turned_tau, group))
    if linear_only:
        mismatch = mismatch[..., :2]
    identity = torch.eye(2, mismatch.shape[-1], dtype=mismatch.dtype,
                         device=mismatch.device)
    return ((mismatch - identity) ** 2).sum((1, 2)).mean()


def synchronised_pose_error(x, tau, target, group, piece=None):
    """How far the poses tau (B, d) of the images x are from the poses that the
    neighbour graph gives them: mean over the images whose synchronised orientation
    ``target`` (B,) is known (not NaN), a 0-d tensor.

    The search matched the images normalised by N_x (centred on their centre of mass
    for SE2 and SIM2, brought to a common spread for SIM2); synchronised, the
    normalised image is the canonical one turned by ``target``, so
    ``x = warp(c, R_target N_x^-1)`` and that is the pose asked for. The error is
    read from ``(R_target N_x^-1)^-1 exp(tau)``, the identity at the wanted pose:
    4 (1 - cos) of its angle (the scale of :func:`pose_equivariance`), 4 times its
    squared log-scale and its squared shift.
    Comparing the matrices themselves instead, SIM2 glyphs shrank their scale to
    e^-2.3, where every angle costs about the same.

    With ``piece`` (B,), the piece of the graph each target was synchronised in, the
    poses are compared up to one turn per piece (the circular mean of the angle
    errors of its images in the batch): the targets fix the orientations within a
    piece relative to each other only. Without, a model whose pose search drew
    glyphs 160 degrees from the targets' orientation paid 7.4 (of at most 8) for it
    all through training.
    """
    normalising = pose_normalising_matrix(x, group)
    # Moments are a pose only for images of non-negative mass whose normalising map
    # is inside its bounds: standardised images hit the bounds (a log-scale of -3)
    # and would ask for poses 20 times too large.
    known = ~torch.isnan(target)
    if group in SCALED_OR_SHIFTED:
        spread = 0.5 * torch.log(torch.linalg.det(normalising[:, :, :2]))
        known = known & ((normalising[:, :, 2].abs() < 1 - 1e-4).all(1)
                         & (spread.abs() < 3 - 1e-4) & (x.flatten(1).min(1).values >= 0))
    wanted = compose(rotation_matrix(torch.nan_to_num(target)), invert_affine(normalising))
    pose = exp_map(tau, group)
    if piece is not None:
        offset = _circular_means(_angle(compose(invert_affine(wanted), pose)).detach(),
                                 piece, known)
        wanted = compose(rotation_matrix(offset).to(wanted.dtype), wanted)
    mismatch = compose(invert_affine(wanted), pose)
    linear = mismatch[:, :, :2]
    angle = _angle(mismatch)
    log_scale = 0.5 * torch.log(torch.linalg.det(linear).abs().clamp_min(1e-8))
    error = (4 * (1 - torch.cos(angle)) + 4 * log_scale ** 2
             + (mismatch[:, :, 2] ** 2).sum(1))
    return torch.where(known, error, 0.0).sum() / known.sum().clamp_min(1)


def _angle(matrix):
    """The angle of the linear part of affine matrices (B, 2, 3), (B,)."""
    linear = matrix[:, :, :2]
    return torch.atan2(linear[:, 1, 0] - linear[:, 0, 1], linear[:, 0, 0] + linear[:, 1, 1])


def _circular_means(angle, piece, known):
    """For each entry, the circular mean (B,) of ``angle`` over the ``known`` entries
    of its ``piece``; 0 where not known. A (B, B) mask rather than a scatter over the
    piece numbers, whose count would be read back from the device."""
    same = (piece.unsqueeze(1) == piece.unsqueeze(0)) & known.unsqueeze(0)  # (B, B)
    same = same.to(angle.dtype)
    mean = torch.atan2(same @ torch.sin(angle), same @ torch.cos(angle))
    return torch.where(known, mean, torch.zeros_like(mean))
