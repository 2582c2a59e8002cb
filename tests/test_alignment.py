import math

import numpy as np
import pytest
import torch

from skmcevae.alignment import alignment_angles, canonical_matrices
from skmcevae.groups import pose_matrix, warp


def _shape_l(side=16):
    """An asymmetric 'L' (no rotation maps it onto itself), (1, 1, side, side)."""
    image = torch.zeros(1, 1, side, side)
    image[0, 0, 3:13, 5:8] = 1.0
    image[0, 0, 10:13, 5:12] = 1.0
    return image


def _posed(image, degrees, shifts=None):
    n = len(degrees)
    angle = torch.tensor(np.radians(degrees), dtype=torch.float32)
    shift = torch.zeros(n, 2) if shifts is None else torch.tensor(shifts, dtype=torch.float32)
    return warp(image.expand(n, -1, -1, -1), pose_matrix(angle, shift, torch.zeros(n)))


def test_alignment_angles_span_twice_the_range_within_a_circle():
    small = np.degrees(alignment_angles(math.radians(30)))
    assert small.min() == pytest.approx(-60) and small.max() == pytest.approx(60)
    full = np.degrees(alignment_angles(math.radians(90)))
    assert full.min() > -180 and full.max() == pytest.approx(180)
    assert np.allclose(np.diff(full), 2.0)


@pytest.mark.parametrize("group", ["SO2", "SE2"])
def test_turned_images_come_back_to_the_prototype(group):
    prototype = _shape_l()
    degrees = [-80.0, -35.0, 0.0, 20.0, 65.0]
    shifts = None if group == "SO2" else [[0.1, -0.1], [0.0, 0.15], [-0.1, 0.0],
                                          [0.12, 0.05], [0.0, 0.0]]
    images = _posed(prototype, degrees, shifts)
    matrices = canonical_matrices(images, torch.zeros(5, dtype=torch.long), prototype,
                                  group, math.radians(90))
    # The turn found undoes the true one, to within the 2-degree grid.
    found = np.degrees(torch.atan2(matrices[:, 1, 0], matrices[:, 0, 0]).numpy())
    np.testing.assert_allclose(found, -np.array(degrees), atol=2.5)
    if group == "SE2":  # and the shift is undone: the shape sits where it sat
        canonical = warp(images, matrices)
        centred = warp(prototype, canonical_matrices(
            prototype, torch.zeros(1, dtype=torch.long), prototype, group, math.pi / 2))
        error = (canonical - centred).abs().flatten(1).sum(1)
        assert (error < 0.5 * prototype.sum()).all()


def test_each_image_is_matched_to_its_own_cluster():
    l_shape = _shape_l()
    bar = torch.zeros(1, 1, 16, 16)
    bar[0, 0, 2:14, 7:9] = 1.0
    prototypes = torch.cat([bar, l_shape])
    images = _posed(l_shape, [40.0, -40.0])
    right = warp(images, canonical_matrices(images, torch.tensor([1, 1]), prototypes,
                                            "SO2", math.radians(90)))
    assert (right - l_shape).abs().sum() < (images - l_shape).abs().sum() / 3
