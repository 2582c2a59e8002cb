"""Experiment: how much does drawing an image in a pose blur it?

    python benchmarks/experiments/resampling.py --n-samples 2000

Turns MNIST digits by a random angle within +-90 degrees and back, with bilinear
interpolation (``skmcevae.groups.warp``, how the model draws its reconstructions)
and with bicubic, and prints the squared error of the round trip over that of the
mean image (the unit of the generative benchmark's ``recon``).
"""

import argparse
import math

import numpy as np
import torch
import torch.nn.functional as F

from skmcevae.datasets import load_mnist
from skmcevae.groups import rotation_matrix, warp


def bicubic(images, matrix):
    grid = F.affine_grid(matrix, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bicubic", padding_mode="zeros",
                         align_corners=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X, _ = load_mnist(random_state=args.seed)
    x = torch.from_numpy(np.asarray(X[:args.n_samples], dtype=np.float32)).view(-1, 1, 28, 28)
    flat = x.flatten(1)
    unit = ((flat.mean(0) - flat) ** 2).mean()
    generator = torch.Generator().manual_seed(args.seed)
    angle = (torch.rand(len(x), generator=generator) * 2 - 1) * math.pi / 2
    there, back = rotation_matrix(angle), rotation_matrix(-angle)
    for name, draw in (("bilinear", warp), ("bicubic", bicubic)):
        trip = draw(draw(x, there), back)
        print(f"{name}: round trip {float(((trip.flatten(1) - flat) ** 2).mean() / unit):.3f} "
              f"of the mean image's error")


if __name__ == "__main__":
    main()
