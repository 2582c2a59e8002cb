"""Experiment: the neighbour graph built on a sample of landmark images.

    python benchmarks/experiments/landmarks.py

The pose-invariant neighbour search compares every image with every candidate, and
spectral clustering grows faster than linearly in the graph's size, so on all of the
images both are quadratic or worse. Here only ``m`` random landmarks are candidates:
each image's neighbours are searched among them (time linear in n), the landmarks'
graph is clustered, and every other image takes the cluster most common among its
neighbours.

Part 1, quality: rotated MNIST-5k (seed 0, the clustering benchmark's so2 data),
accuracy of the graph clusters on all 5,000 images against the true digits, and the
purity of the 7 neighbours, for the whole graph and for m landmarks.
Part 2, time: n images made of rotated copies of the 5,000 digits (each copy turned by
fresh random angles), search and clustering time for m landmarks.
Writes benchmarks/results/landmarks.md.
"""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from skmcevae.datasets import random_poses
from skmcevae.metrics import clustering_accuracy
from skmcevae.graph import graph_clusters, pose_invariant_neighbors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import make_data  # noqa: E402
from common import header, write_report  # noqa: E402

K = 7


def landmarks(n, m, seed):
    if m is None or m >= n:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, m, replace=False))


def timed_graph(X, m, seed):
    """Neighbours, graph clusters, search seconds and clustering seconds."""
    nodes = landmarks(len(X), m, seed)
    start = time.perf_counter()
    found = pose_invariant_neighbors(X, K, "SO2", math.pi / 2, candidates=nodes)
    searched = time.perf_counter() - start
    labels = graph_clusters(found, 10, random_state=seed, nodes=nodes)
    return found, labels, searched, time.perf_counter() - start - searched


def images(n):
    X, y, _ = make_data("so2", 0, n)
    return X.reshape(-1, 1, 28, 28), y


def quality(sizes, seeds):
    X, y = images(5000)
    rows = ["| landmarks m | seed | graph-cluster accuracy (all 5,000) | "
            "accuracy on landmarks | purity@7 | search s | clustering s |",
            "|---|---|---|---|---|---|---|"]
    for m in sizes:
        for seed in seeds if m is not None else seeds[:1]:
            found, labels, searched, clustered = timed_graph(X, m, seed)
            nodes = landmarks(len(X), m, seed)
            nodes = np.arange(len(X)) if nodes is None else nodes
            row = (f"| {m or 'all'} | {seed} | {clustering_accuracy(y, labels):.3f} | "
                   f"{clustering_accuracy(y[nodes], labels[nodes]):.3f} | "
                   f"{(y[found] == y[:, None]).mean():.3f} | {searched:.1f} | "
                   f"{clustered:.1f} |")
            print(row, flush=True)
            rows.append(row)
    return rows


def scale(n, sizes):
    X, _ = images(5000)
    copies = [random_poses(X, "SO2", 90.0, random_state=100 + c)[0]
              for c in range(-(-n // len(X)))]
    X = np.concatenate(copies)[:n]
    rows = [f"| n | landmarks m | search s | clustering s |", "|---|---|---|---|"]
    for m in sizes:
        _, _, searched, clustered = timed_graph(X, m, 0)
        row = f"| {n} | {m} | {searched:.1f} | {clustered:.1f} |"
        print(row, flush=True)
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landmarks", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--scale-n", type=int, default=70000)
    parser.add_argument("--scale-landmarks", type=int, nargs="+", default=[5000, 10000])
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    report = header("Neighbour graph on landmark images", "experiments/landmarks.py", argv,
                    [f"- {K} neighbours, group SO2, rotations within 90 degrees"])
    report += "## Quality: rotated MNIST-5k (so2, data seed 0)\n\n"
    report += "\n".join(quality([None, *args.landmarks], args.seeds)) + "\n\n"
    report += f"## Time: {args.scale_n} rotated copies of the 5,000 digits\n\n"
    report += "\n".join(scale(args.scale_n, args.scale_landmarks)) + "\n"
    write_report(report, args.output, "landmarks.md")


if __name__ == "__main__":
    main()
