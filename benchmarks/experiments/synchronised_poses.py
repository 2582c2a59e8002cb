"""How well the neighbour graph alone fixes each image's pose: the angles at which
the pose-invariant search matched each pair, synchronised over each graph cluster
(skmcevae.synchronisation), against the true poses.

    python benchmarks/experiments/synchronised_poses.py --datasets glyphs so2 se2

Prints, per data set (seed 0, the generative benchmark's data): the median error of
the search's pairwise angles, and the pose error (median after each cluster's
offset, as in generative.py) of the synchronised angles, clusters from the graph.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from skmcevae.graph import graph_clusters, pose_invariant_neighbors
from skmcevae.synchronisation import synchronise_angles

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import angle_error  # noqa: E402
from generative import data_and_model  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["glyphs", "so2", "se2"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"command: python benchmarks/experiments/synchronised_poses.py "
          f"--datasets {' '.join(args.datasets)} --seed {args.seed}")
    print("| data | pairwise angle error (deg) | synchronised pose error (deg) |")
    print("|---|---|---|")
    for name in args.datasets:
        X, _, poses, model = data_and_model(name, args.seed, 5000, {})
        side = int(math.isqrt(X.shape[1]))
        images = X.reshape(-1, 1, side, side)
        neighbors, angles = pose_invariant_neighbors(
            images, model.n_neighbors, model.group, math.radians(model.rotation_range),
            return_angles=True)
        relative = poses[neighbors, 0] - poses[:, None, 0]
        pairwise = np.abs((np.degrees(angles) - relative + 180) % 360 - 180)
        labels = graph_clusters(neighbors, model.n_clusters, random_state=args.seed)
        phi = synchronise_angles(neighbors, angles, np.arange(len(X)), labels)
        known = np.isfinite(phi)
        error = angle_error(np.degrees(phi[known]), poses[known], labels[known])
        print(f"| {name} | {np.median(pairwise):.1f} | {error:.1f} |")


if __name__ == "__main__":
    main()
