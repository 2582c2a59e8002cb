"""Canonical images by aligning each image with its cluster's prototype.

The encoder's pose tau is read off one image at a time, so an image and a turned copy
of it get poses that disagree by a few degrees, and their canonical images differ.
Matching each image against its cluster's prototype (the decoded image of the
cluster's centre), over a grid of rotations, gives poses that turn with the image:
on rotated MNIST the canonical images of an image and of a turned copy were 1.9 times
closer than with the encoder's pose (benchmarks/results/readouts.md).
"""

import math

import numpy as np
import torch

from .groups import compose, rotation_matrix, warp
from .graph import blur, normalise_poses, pose_normalising_matrix
from .inference import apply_in_batches

# 2-degree steps: finer steps would not beat the bilinear resampling of 28x28 images.
ALIGN_STEP = math.radians(2.0)


def _rotations(angles, like):
    return rotation_matrix(torch.as_tensor(angles, dtype=like.dtype, device=like.device))


def alignment_angles(rotation_range):
    """The grid of angles searched: [-2 rotation_range, 2 rotation_range], at most
    the whole circle once (two posed images can be up to twice the range apart)."""
    span = min(2 * rotation_range, math.pi)
    steps = int(math.floor(span / ALIGN_STEP + 1e-9))
    angles = np.arange(-steps, steps + 1) * ALIGN_STEP
    return angles[angles > -math.pi + 1e-9]


def canonical_matrices(images, labels, prototypes, group, rotation_range):
    """Affine maps (B, 2, 3) that turn each image into its prototype's pose.

    ``images`` (B, C, H, W); ``labels`` (B,) cluster of each image; ``prototypes``
    (K, C, H, W) in their canonical pose. Shifts (SE2) and scale (SIM2) are removed
    by centring on the centre of mass and equalising the spread, for images and
    prototypes alike; the rotation is the grid angle whose turned prototype is
    nearest the image (blurred pixels, squared distance). ``warp(images, M)`` gives
    the canonical images.
    """
    angles = alignment_angles(rotation_range)
    n_angles, k = len(angles), prototypes.shape[0]
    centred = normalise_poses(prototypes, group)
    # Prototype k turned by angle a sits at row k * n_angles + a.
    turned = warp(centred.repeat_interleave(n_angles, 0),
                  _rotations(np.tile(angles, k), prototypes))
    turned = blur(turned).flatten(1)  # (K*A, C*H*W)
    x = blur(normalise_poses(images, group)).flatten(1)  # (B, C*H*W)
    distance = (turned ** 2).sum(1) - 2 * x @ turned.T  # (B, K*A), up to |x|^2
    own = distance.view(len(x), k, n_angles)[torch.arange(len(x)), labels]  # (B, A)
    best = torch.as_tensor(angles, dtype=images.dtype, device=images.device)[own.argmin(1)]
    # The image is the prototype turned by `best`: undo that turn after removing
    # its shift and scale.
    return compose(pose_normalising_matrix(images, group),
                   _rotations(-best, images))


def align_to_prototypes(module, prototypes, images, labels):
    """The images (n, C, H, W) turned to match the prototypes (K, C, H, W) of their
    clusters ``labels`` (n,), in batches on the module's device."""
    config = module.config

    def align(x, cluster):
        return warp(x, canonical_matrices(x, cluster, prototypes, config.group,
                                          config.rotation_range))
    return apply_in_batches(module, images, align, alongside=labels)
