"""Experiment: which read-out of a trained MCEVAE clusters best, for given settings.

    python benchmarks/experiments/readouts.py --n-samples 2000 --epochs 15 \
        --set consistency_weight=10

Fits one MCEVAE on rotated MNIST (so2 protocol) and scores several read-outs of the
same model: argmax of the encoder weights w, KMeans and Gaussian mixtures on the z_c
code, KMeans on [z_c, z]. Prints one line of figures.
"""

import argparse
import time

import torch
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
from sklearn.mixture import GaussianMixture

import sys
from pathlib import Path

from skmcevae import MCEVAE
from skmcevae.datasets import load_mnist, random_poses
from skmcevae.metrics import clustering_accuracy, clusters_used


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import canonical_stability, pose_error, regroup_poses  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--set", nargs="*", default=[], help="name=value MCEVAE params")
    parser.add_argument("--warmup-epochs", type=int, default=0,
                        help="first train this many epochs with --warmup-set, then "
                             "the rest with warm_start")
    parser.add_argument("--warmup-set", nargs="*", default=[],
                        help="name=value MCEVAE params for the warm-up epochs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    params = {k: eval(v) for k, v in (item.split("=", 1) for item in args.set)}
    X, y = load_mnist(random_state=args.seed)
    X, y = X[:args.n_samples], y[:args.n_samples]
    X, poses = random_poses(X, "SO2", random_state=args.seed + 1000)
    # Fit with the encoder's weights as the assignment so that "w" reads them;
    # km_zc is what assign_by="centroids" gives.
    params = {"assign_by": "weights", **params}
    model = MCEVAE(max_epochs=args.epochs, random_state=args.seed, **params)
    start = time.perf_counter()
    if args.warmup_epochs:
        warmup = {k: eval(v) for k, v in (item.split("=", 1) for item in args.warmup_set)}
        final = {k: model.get_params()[k] for k in warmup}
        model.set_params(max_epochs=args.warmup_epochs, **warmup).fit(X)
        model.set_params(max_epochs=args.epochs - args.warmup_epochs, warm_start=True,
                         **final)
    model.fit(X)
    seconds = time.perf_counter() - start
    Z = model.transform(X)
    k, d = model.module_.config.n_clusters, model.module_.config.latent_dim
    zc, zs = Z[:, :k], Z[:, :k + d]
    figures = {"w": clustering_accuracy(y, model.labels_),
               "w_used": clusters_used(model.labels_)}
    figures["km_zc"] = clustering_accuracy(
        y, KMeans(10, n_init=10, random_state=0).fit_predict(zc))
    figures["gmm_zc"] = clustering_accuracy(
        y, GaussianMixture(10, n_init=3, random_state=0).fit(zc).predict(zc))
    figures["gmmdiag_zc"] = clustering_accuracy(
        y, GaussianMixture(10, covariance_type="diag", n_init=3, random_state=0)
        .fit(zc).predict(zc))
    figures["km_zcz"] = clustering_accuracy(
        y, KMeans(10, n_init=10, random_state=0).fit_predict(zs))
    for name, codes in (("zc", zc), ("zcz", zs)):
        spectral = SpectralClustering(10, affinity="nearest_neighbors", n_neighbors=10,
                                      random_state=0).fit_predict(codes)
        figures[f"spectral_{name}"] = clustering_accuracy(y, spectral)
        figures[f"ward_{name}"] = clustering_accuracy(
            y, AgglomerativeClustering(10).fit_predict(codes))
    figures["pose_err"] = pose_error(model, X, poses, y)
    figures["canon_stab"] = canonical_stability(model, X, regroup_poses("so2", X,
                                                                        args.seed)[0])
    warm = (f"warmup {args.warmup_epochs} epochs {' '.join(args.warmup_set)};"
            if args.warmup_epochs else "")
    print(warm, " ".join(args.set), f"seed={args.seed} n={args.n_samples} epochs={args.epochs}", f"fit={seconds:.0f}s",
          " ".join(f"{k}={v:.3f}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
