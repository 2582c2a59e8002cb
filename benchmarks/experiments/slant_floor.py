"""Experiment: how far upright MNIST digits are turned from their class template.

    python benchmarks/experiments/slant_floor.py

Aligns every upright digit (true labels) to its class mean by rotation, iterating the
template, and prints the median angle: the spread of natural slant that any
pose-free canonical image absorbs, a floor for the benchmark pose error.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch

from skmcevae.graph import blur
from skmcevae.groups import rotation_matrix, warp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import make_data  # noqa: E402


def turned(images, angles):
    """Each image turned by its own angle (radians)."""
    return warp(images, rotation_matrix(angles))


def alignment_angles(x, labels, n_classes, rounds, step):
    """Angles that turn each image to its class template, the template re-averaged
    after each round (Procrustes-like); centred per class."""
    angles = torch.zeros(len(x))
    for _ in range(rounds):
        aligned = turned(x, angles)  # output p samples x at R(angle) p
        templates = blur(torch.stack([aligned[labels == c].mean(0)
                                      for c in range(n_classes)]))
        best, new = torch.full((len(x),), math.inf), angles.clone()
        for delta in np.radians(np.arange(-45, 45 + step / 2, step)):
            trial = angles + float(delta)
            distance = ((blur(turned(x, trial)) - templates[labels]) ** 2).flatten(1).sum(1)
            better = distance < best
            best, new = torch.where(better, distance, best), torch.where(better, trial, new)
        angles = new - torch.stack([new[labels == c].mean() for c in range(n_classes)])[labels]
        yield float(np.median(np.abs(np.degrees(angles.numpy()))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--step", type=float, default=1.5, help="degrees")
    args = parser.parse_args(argv)
    X, y, _ = make_data("plain", 0, args.n_samples)
    side = int(math.isqrt(X.shape[1]))
    x = torch.from_numpy(X.reshape(-1, 1, side, side)).float()
    labels = torch.from_numpy(y)
    for i, median in enumerate(alignment_angles(x, labels, int(y.max()) + 1, args.rounds,
                                                args.step)):
        print(f"round {i} median |alignment angle| to the class template (deg): "
              f"{median:.2f}", flush=True)


if __name__ == "__main__":
    main()
