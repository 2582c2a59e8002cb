"""The encoder's pose refined by a search: each image's canonical image is drawn at
the encoder's pose turned by each angle of a grid, and the turn that reconstructs
the image best, read between the grid's steps, is kept.

Why: on full-circle data the encoder alone learns an orientation slowly. Glyphs
turned over the whole circle kept a pose error of 15 degrees (0.7.0, three seeds),
and clusters whose images the encoder put 180 degrees apart got canonical images in
two orientations, whose samples were blurred mixes. With the search the decoder sees
each cluster in one orientation from the first epochs
(benchmarks/results/levers-v0.8.md, generative-v0.8.md).

The refined pose is the encoder's composed with the turn found, and gradients reach
the encoder as if that turn were fixed: the encoder's angle is the grid's centre,
and the pose terms still train it towards the refined pose.
"""

import math

import torch

from .groups import compose, exp_map, log_map, rotation_matrix, warp
from .losses import PIXEL_EPS

# Elements of the drawn candidates held at once: the turns are tried in chunks, so
# large images or fine steps do not multiply the memory of a pass by the grid.
CHUNK_ELEMENTS = 2 ** 24


def search_turns(rotation_range, step, device=None):
    """The turns tried (radians, (G,)): multiples of ``step`` within
    [-rotation_range, rotation_range], 0 among them, each angle once on the full
    circle; and whether they wrap around the circle (the step divides a full turn
    and the range covers it). None where no turn but 0 fits the range.

    Computed from Python numbers, made on ``device``: no host round trip in a
    training step."""
    window = min(rotation_range, math.pi)
    count = int(math.floor(window / step + 1e-6))
    if count == 0:
        return None
    low = -count
    if abs(count * step - math.pi) < 1e-6:
        low += 1  # -pi and pi are the same turn
    turns = torch.arange(low, count + 1, device=device, dtype=torch.float32) * step
    wraps = abs((count - low + 1) * step - 2 * math.pi) < 1e-6
    return turns, wraps


def refine_pose(canonical, x, tau, group, likelihood, turns, wraps=False):
    """The poses tau (B, d) turned by the turn that reconstructs each image best: the
    canonical images (B, C, H, W) are drawn at ``g exp(tau)`` for each g of
    ``turns`` (G,), turned about the canonical frame's origin, against the images x
    (B, C, H, W); the best turn is read at the vertex of the parabola through its
    reconstruction error and its two neighbours' (``wraps``: the grid wraps around
    the circle).

    The turn is chosen without gradient; the result is differentiable in tau.
    """
    with torch.no_grad():
        error = _errors(canonical.detach(), x, exp_map(tau.detach(), group), turns,
                        likelihood)
        best = _between_turns(error, turns, wraps)  # (B,)
    moved = compose(rotation_matrix(best).to(tau.dtype), exp_map(tau, group))
    return log_map(moved, group)


def _errors(canonical, x, start, turns, likelihood):
    """The reconstruction error (B, G) of x by the canonical image drawn at each turn
    of ``start`` (B, 2, 3), in chunks of turns."""
    b, g = x.shape[0], len(turns)
    chunk = max(1, CHUNK_ELEMENTS // max(1, b * x[0].numel()))
    flat = x.flatten(1).unsqueeze(1)  # (B, 1, N)
    parts = []
    for first in range(0, g, chunk):
        part = turns[first:first + chunk]
        n = len(part)
        # Candidate j of image i at i*n + j.
        candidates = compose(rotation_matrix(part).repeat(b, 1, 1),
                             start.repeat_interleave(n, dim=0))  # (B*n, 2, 3)
        drawn = warp(canonical.repeat_interleave(n, dim=0), candidates).view(b, n, -1)
        parts.append(_negative_log_likelihood(drawn, flat, likelihood))
    return torch.cat(parts, dim=1)


def _negative_log_likelihood(drawn, x, likelihood):
    """Summed over pixels, (B, n): ``drawn`` (B, n, N) against x (B, 1, N). As
    :func:`~skmcevae.losses.reconstruction_error`, broadcast over the turns instead
    of copying x for each (the Gaussian's constant left out: it does not move the
    argmin)."""
    if likelihood == "bernoulli":
        p = PIXEL_EPS + (1 - 2 * PIXEL_EPS) * drawn
        return -(x * torch.log(p) + (1 - x) * torch.log1p(-p)).sum(-1)
    return 0.5 * ((x - drawn) ** 2).sum(-1)


def _between_turns(error, turns, wraps):
    """The turn (B,) at the vertex of the parabola through the best turn's error
    (B, G) and its two neighbours': the grid's step does not bound the precision
    (exact glyph turns: median error 0.4 degrees, 2.6 at the nearest step). Where
    the grid does not wrap, the ends keep the best turn itself."""
    g = len(turns)
    index = error.argmin(1)
    if g < 3:
        return turns[index]
    before, after = index - 1, index + 1
    if wraps:
        before, after = before % g, after % g
    inside = (before >= 0) & (after < g)
    low = error.gather(1, before.clamp(0, g - 1).unsqueeze(1)).squeeze(1)
    mid = error.gather(1, index.unsqueeze(1)).squeeze(1)
    high = error.gather(1, after.clamp(0, g - 1).unsqueeze(1)).squeeze(1)
    curvature = low - 2 * mid + high
    # At a minimum of three points the curvature is >= 0, and the vertex lies within
    # half a step of the best turn.
    shift = (0.5 * (low - high) / curvature.clamp_min(1e-12)).clamp(-0.5, 0.5)
    shift = torch.where(inside & (curvature > 0), shift, torch.zeros_like(shift))
    step = turns[1] - turns[0]
    return turns[index] + shift * step
