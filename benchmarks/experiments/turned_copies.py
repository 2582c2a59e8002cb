"""Experiment: average predictions over turned copies (test_rotations), on saved models.

    python benchmarks/clustering.py --datasets so2 plain --seeds 1 --save-models DIR ...
    python benchmarks/experiments/turned_copies.py DIR

For each saved model (DIR/<data>-seed0.joblib), prints accuracy and rotation
consistency when the cluster probabilities are averaged over copies turned by each
grid of angles. (Named test_rotations.py before 0.5.)
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from skmcevae.groups import rotate
from skmcevae.metrics import clustering_accuracy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import load_fitted, make_data, regroup_poses  # noqa: E402

GRIDS = ([0], [-30, 0, 30], [-20, 0, 20], [-45, -15, 15, 45], [-60, -30, 0, 30, 60],
         [-90, -60, -30, 0, 30, 60, 90])


def turned(X, shape, degrees):
    """The flat images X turned by one angle, flat again."""
    x = torch.from_numpy(X.reshape(-1, *shape)).float()
    return rotate(x, np.radians(degrees)).reshape(len(X), -1).numpy()


def averaged_proba(model, X, grid, cache, key):
    shape = model.image_shape_
    for degrees in grid:
        if (key, degrees) not in cache:
            cache[(key, degrees)] = model.predict_proba(turned(X, shape, degrees))
    return np.mean([cache[(key, degrees)] for degrees in grid], axis=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", help="folder of models saved by clustering.py")
    parser.add_argument("--datasets", nargs="+", default=["so2", "plain"])
    parser.add_argument("--n-samples", type=int, default=5000)
    args = parser.parse_args(argv)
    for data in args.datasets:
        X, y, _ = make_data(data, 0, args.n_samples)
        X_moved, _ = regroup_poses(data, X, 0)
        model = load_fitted(Path(args.models) / f"{data}-seed0.joblib")
        model.test_rotations = 1
        cache = {}
        for grid in GRIDS:
            proba = averaged_proba(model, X, grid, cache, "x")
            moved = averaged_proba(model, X_moved, grid, cache, "moved")
            accuracy = clustering_accuracy(y, proba.argmax(1))
            consistency = np.mean(proba.argmax(1) == moved.argmax(1))
            print(f"{data} {grid} acc {accuracy:.3f} consistency {consistency:.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
