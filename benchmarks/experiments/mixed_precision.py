"""Experiment: does bf16 autocast (``mixed_precision=True``) keep the ELBO?

    python benchmarks/experiments/mixed_precision.py --seeds 0 1 --threads 1

Fits MCEVAE with and without mixed precision on rotated MNIST (so2 protocol) and
prints the held-out ELBO (``score``), the clustering accuracy and the fit time of each.
The seed-to-seed spread of the float32 fits is the noise the bf16 fits are judged by.
"""

import argparse
import time

import torch

from skmcevae import MCEVAE
from skmcevae.datasets import load_mnist, random_poses
from skmcevae.metrics import clustering_accuracy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    X, y = load_mnist(random_state=0)
    X, _ = random_poses(X, "SO2", random_state=1000)
    train, test = slice(0, args.n_train), slice(args.n_train, args.n_train + args.n_test)
    print("| mixed precision | seed | held-out ELBO | accuracy (train) | fit s |")
    print("|---|---|---|---|---|")
    for seed in args.seeds:
        for mixed in (False, True):
            model = MCEVAE(max_epochs=args.epochs, mixed_precision=mixed,
                           device=args.device, random_state=seed)
            start = time.perf_counter()
            model.fit(X[train])
            seconds = time.perf_counter() - start
            print(f"| {mixed} | {seed} | {model.score(X[test]):.2f} | "
                  f"{clustering_accuracy(y[train], model.labels_):.3f} | {seconds:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
