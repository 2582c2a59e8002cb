"""Experiment: is the pose learned over the whole circle?

    python benchmarks/experiments/full_circle_pose.py --set pose_weight=0 --set pose_weight=10

Fits MCEVAE on synthetic glyphs (``skmcevae.datasets.make_glyphs``) turned over the
full circle (``group`` SO2, or SIM2 with shifts and scales) with each ``--set`` of
parameters, and prints clustering accuracy, NMI, the median pose error after each
cluster's offset (as the clustering benchmark measures it) and the equivariance
error: for an image x and its copy turned by g, the median of
|(theta(g.x) - theta(x)) - g|, in degrees.
"""

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from skmcevae import MCEVAE
from skmcevae.datasets import make_glyphs, random_poses
from skmcevae.metrics import clustering_accuracy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import angle_error  # noqa: E402
from generative import predicted_shift, shift_r2, true_shift  # noqa: E402


def theta_degrees(model, X):
    config = model.module_.config
    return np.degrees(np.asarray(model.transform(X))[:, config.n_clusters
                                                       + config.latent_dim])


def equivariance_error(model, X, seed):
    """Median |(theta(g.x) - theta(x)) - g| in degrees over random full turns g."""
    turned, poses = random_poses(X, "SO2", 180.0, random_state=seed)
    difference = theta_degrees(model, turned) - theta_degrees(model, X) - poses[:, 0]
    return float(np.median(np.abs((difference + 180) % 360 - 180)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE,...",
                        help="one variant: comma-separated MCEVAE parameters")
    parser.add_argument("--group", default="SO2", choices=("SO2", "SE2", "SIM2"))
    parser.add_argument("--n-samples", type=int, default=1500)
    parser.add_argument("--n-classes", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    for variant in args.set or [""]:
        params = {k: ast.literal_eval(v) for k, v in
                  (item.split("=", 1) for item in variant.split(",") if item)}
        for seed in args.seeds:
            X, y, poses = make_glyphs(args.n_samples, args.n_classes, group=args.group,
                                      random_state=seed)
            start = time.perf_counter()
            model = MCEVAE(n_clusters=args.n_classes, group=args.group,
                           rotation_range=180.0, max_epochs=args.epochs,
                           random_state=seed, **params)
            labels = model.fit_predict(X)
            seconds = time.perf_counter() - start
            shift = ""
            if args.group != "SO2":
                r2 = shift_r2(predicted_shift(model, X),
                              true_shift(poses, model.module_.config.image_shape[1:]), labels)
                shift = f"shift_r2={r2:.3f} "
            print(f"{variant or 'defaults'} seed={seed} {shift}"
                  f"acc={clustering_accuracy(y, labels):.3f} "
                  f"nmi={normalized_mutual_info_score(y, labels):.3f} "
                  f"pose_err={angle_error(theta_degrees(model, X), poses, labels):.1f} "
                  f"equivariance_err={equivariance_error(model, X, seed + 100):.1f} "
                  f"fit={seconds:.0f}s", flush=True)


if __name__ == "__main__":
    main()
