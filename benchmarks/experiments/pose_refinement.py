"""Experiment: does re-estimating the pose of the canonicalised image sharpen it?

    python benchmarks/experiments/pose_refinement.py --epochs 45 --save model.joblib
    python benchmarks/experiments/pose_refinement.py --load model.joblib

Fits MCEVAE on the so2 data of the clustering benchmark (MNIST-5k, seed 0), or loads
a fitted one, then measures the pose error and the canonical stability of the
clustering benchmark after 0, 1 and 2 refinement steps: each step turns the image back
by the pose found so far and adds the pose the encoder then reads.
"""

import argparse
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import torch

from skmcevae import MCEVAE
from skmcevae.groups import compose, exp_map, invert_affine, warp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import angle_error, make_data, regroup_poses  # noqa: E402


def refined_poses(model, X, steps):
    """Angles (degrees) and canonical images after ``steps`` refinements."""
    images = torch.from_numpy(X.reshape(-1, *model.image_shape_)).float()
    with torch.no_grad():
        model.module_.eval()
        matrix = exp_map(model.module_.encode(images)["tau_mean"], model.module_.config.group)
        for _ in range(steps):
            upright = warp(images, invert_affine(matrix))
            residual = exp_map(model.module_.encode(upright)["tau_mean"], model.module_.config.group)
            matrix = compose(residual, matrix)
        canonical = warp(images, invert_affine(matrix))
    angle = torch.atan2(matrix[:, 1, 0], matrix[:, 0, 0])
    return np.degrees(angle.numpy()), canonical.flatten(1).numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=45)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save", default=None)
    parser.add_argument("--load", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    X, y, poses = make_data("so2", 0, 5000)
    if args.load:
        model = joblib.load(args.load)
    else:
        start = time.perf_counter()
        model = MCEVAE(max_epochs=args.epochs, random_state=0).fit(X)
        print(f"fit {time.perf_counter() - start:.0f} s")
        if args.save:
            joblib.dump(model, args.save)
    X_moved, _ = regroup_poses("so2", X, 0)
    moved = np.linalg.norm(X - X_moved, axis=1).mean()
    labels = model.labels_
    for steps in (0, 1, 2):
        theta, canon = refined_poses(model, X, steps)
        _, canon_moved = refined_poses(model, X_moved, steps)
        stability = np.linalg.norm(canon - canon_moved, axis=1).mean() / moved
        print(f"refinement steps {steps}: pose error {angle_error(theta, poses, labels):.2f}"
              f" deg, canonical stability {stability:.3f}", flush=True)


if __name__ == "__main__":
    main()
