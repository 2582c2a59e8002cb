"""Experiment: could each sample be shown at a turn read from its code, not its cluster's?

    python benchmarks/experiments/display_turn.py --n-samples 2000 --seed 0

Fits ``MCEVAE(group="SO2", random_state=seed)`` to MNIST digits turned within +-90
degrees, as the demo does (one torch thread), and for each cluster predicts the
decoder's orientation of each image (its angle tau minus its true turn) from its
code [z_c, z]: by the cluster's mean angle (what ``inference.fit_display`` shows),
by a linear map and by the 15 nearest codes, each 5-fold cross-validated. Prints
the circular spread of that orientation and each predictor's median error in
degrees.
"""

import argparse

import numpy as np
import torch
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_predict
from sklearn.neighbors import KNeighborsRegressor

from skmcevae import MCEVAE
from skmcevae.datasets import load_mnist, random_poses


def angle_error(predicted, orientation):
    """Median circular error in degrees of (cos, sin) predictions (n, 2)."""
    angle = np.arctan2(predicted[:, 1], predicted[:, 0])
    return float(np.degrees(np.median(np.abs(np.angle(np.exp(1j * (angle - orientation)))))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = load_mnist(random_state=args.seed)
    X, poses = random_poses(X[:args.n_samples], "SO2", random_state=args.seed)
    y = y[:args.n_samples]
    extra = {} if args.epochs is None else {"max_epochs": args.epochs}
    model = MCEVAE(group="SO2", random_state=args.seed, **extra).fit(X)
    codes = np.asarray(model.transform(X))
    labels = model.labels_
    tau, codes = codes[:, -1], codes[:, :-1]
    print("| cluster (digit) | images | spread (circular sd) | one turn per cluster "
          "| linear in the code | 15 nearest codes |")
    print("|---|---|---|---|---|---|")
    for k in np.unique(labels):
        inside = labels == k
        orientation = tau[inside] - np.radians(poses[inside, 0])
        target = np.column_stack([np.cos(tau[inside]), np.sin(tau[inside])])
        mean = np.exp(1j * tau[inside]).mean()
        spread = np.degrees(np.sqrt(-2 * np.log(abs(np.exp(1j * orientation).mean()))))
        folds = min(5, int(inside.sum()))
        predictions = {
            "mean": np.tile([mean.real, mean.imag], (int(inside.sum()), 1)),
            "linear": cross_val_predict(Ridge(1e-3), codes[inside], target, cv=folds),
            "nearest": cross_val_predict(KNeighborsRegressor(
                min(15, int(inside.sum()) * (folds - 1) // folds)),
                                         codes[inside], target, cv=folds)}
        errors = " | ".join(f"{angle_error(p, orientation):.1f}" for p in predictions.values())
        digit = np.bincount(y[inside]).argmax()
        print(f"| {k} ({digit}) | {inside.sum()} | {spread:.1f} | {errors} |", flush=True)


if __name__ == "__main__":
    main()
