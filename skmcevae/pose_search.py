"""The encoder's pose refined by a search: each image's canonical image is drawn at
the encoder's pose turned by each angle of a grid, and the turn that reconstructs
the image best is kept.

Why: on full-circle data the encoder alone learns an orientation slowly. Glyphs
turned over the whole circle kept a pose error of 15 degrees (three seeds), and
clusters whose images the encoder put 180 degrees apart got canonical images in
two orientations, whose samples were blurred mixes. With the search the decoder
sees each cluster in one orientation from the first epochs (glyphs, seed 0: pose
error 16.8 -> 3.4 degrees, samples in their cluster 0.76 -> 0.95;
benchmarks/results/levers-v0.8.md). The encoder's pose stays the starting point and
learns the part of the turn finer than the grid, since the refined pose is the
encoder's composed with a fixed turn.
"""

import math

import torch

from .groups import compose, exp_map, log_map, rotation_matrix, warp
from .losses import reconstruction_error


def search_turns(rotation_range, step):
    """The turns tried (radians, (G,)): multiples of ``step`` within
    [-rotation_range, rotation_range], 0 among them, each angle once on the full
    circle."""
    window = min(rotation_range, math.pi)
    count = int(math.floor(window / step + 1e-6))
    turns = torch.arange(-count, count + 1, dtype=torch.float32) * step
    # -pi and pi are the same turn.
    return turns[turns > -math.pi + 1e-6]


def refine_pose(canonical, x, tau, group, likelihood, turns):
    """The poses tau (B, d) turned by the best of ``turns`` (G,): for each image x
    (B, C, H, W), the turn g for which the canonical image (B, C, H, W) drawn at
    ``g exp(tau)`` reconstructs x best (turned about the canonical frame's origin).

    The choice is made without gradient; the result is differentiable in tau.
    """
    b, g = x.shape[0], len(turns)
    turns = turns.to(x.device)
    with torch.no_grad():
        start = exp_map(tau.detach().float(), group)  # (B, 2, 3)
        # Candidate j of image i at i*G + j.
        candidates = compose(rotation_matrix(turns).repeat(b, 1, 1),
                             start.repeat_interleave(g, dim=0))  # (B*G, 2, 3)
        drawn = warp(canonical.detach().float().repeat_interleave(g, dim=0), candidates)
        error = reconstruction_error(drawn, x.float().repeat_interleave(g, dim=0),
                                     likelihood).view(b, g)
        best = _between_turns(error, turns)  # (B,)
    moved = compose(rotation_matrix(best).to(tau.dtype), exp_map(tau, group))
    return log_map(moved, group)


def _between_turns(error, turns):
    """The turn (B,) at the minimum of the parabola through the best turn's error
    (B, G) and its two neighbours': the grid's step no longer bounds the precision.
    On the full circle the grid wraps; at the ends of a partial range the best turn
    itself."""
    g = len(turns)
    index = error.argmin(1)
    if g < 3:
        return turns[index]
    step = turns[1] - turns[0]
    wraps = abs(float(turns[-1] - turns[0] + step) - 2 * math.pi) < 1e-4
    before, after = index - 1, index + 1
    if wraps:
        before, after = before % g, after % g
    inside = (before >= 0) & (after < g)
    rows = torch.arange(len(index), device=error.device)
    low = error[rows, before.clamp(0, g - 1)]
    mid = error[rows, index]
    high = error[rows, after.clamp(0, g - 1)]
    curvature = low - 2 * mid + high
    # The vertex, within half a step of the best turn (curvature > 0 at a minimum).
    shift = torch.where(curvature > 0, 0.5 * (low - high) / curvature.clamp_min(1e-12),
                        torch.zeros_like(mid)).clamp(-0.5, 0.5)
    return turns[index] + torch.where(inside, shift, torch.zeros_like(shift)) * step
