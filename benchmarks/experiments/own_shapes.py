"""Experiment: a default fit on a few hundred images of one's own shapes.

    python benchmarks/experiments/own_shapes.py --group SO2 --pictures docs/own-shapes

600 images (32x32) of four synthetic glyphs (``make_glyphs``) turned over the full
circle, shifted by up to 10% of the side and with Gaussian noise (std 0.05, clipped
to [0, 1]), as a user's particles or parts might look. Fits ``MCEVAE(n_clusters=4,
rotation_range=180, group=GROUP, random_state=seed)`` with every other parameter at
its default (``max_epochs="auto"``) and prints clustering accuracy, NMI, the median
pose error after each cluster's offset, the equivariance error and the fit time;
with --pictures, writes the pictures of ``skmcevae.plotting`` there.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from skmcevae import MCEVAE
from skmcevae.__main__ import unlabelled_pictures, write_pictures
from skmcevae.datasets import make_glyphs
from skmcevae.metrics import clustering_accuracy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from full_circle_pose import equivariance_error  # noqa: E402
from clustering import angle_error  # noqa: E402


def shapes(n, size, seed):
    X, y, poses = make_glyphs(n, n_classes=4, image_size=size, group="SE2",
                              rotation_range=180.0, translation_range=0.1,
                              random_state=seed)
    noise = np.random.default_rng(seed).normal(0, 0.05, X.shape)
    return np.clip(X + noise, 0, 1).astype(np.float32), y, poses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", default="SO2", choices=("SO2", "SE2", "SIM2"))
    parser.add_argument("--n-samples", type=int, default=600)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-epochs", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--pictures", default=None, help="folder for the pictures")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    epochs = args.max_epochs if args.max_epochs == "auto" else int(args.max_epochs)
    for seed in args.seeds:
        X, y, poses = shapes(args.n_samples, args.size, seed)
        start = time.perf_counter()
        model = MCEVAE(n_clusters=4, rotation_range=180.0, group=args.group,
                       max_epochs=epochs, random_state=seed)
        labels = model.fit_predict(X)
        seconds = time.perf_counter() - start
        angle = model.predict_pose(X)[:, 0]
        print(f"group={args.group} seed={seed} epochs={model.n_iter_} "
              f"acc={clustering_accuracy(y, labels):.3f} "
              f"nmi={normalized_mutual_info_score(y, labels):.3f} "
              f"pose_err={angle_error(angle, poses, labels):.1f} "
              f"equivariance_err={equivariance_error(model, X, seed + 100):.1f} "
              f"fit={seconds:.0f}s", flush=True)
        if args.pictures:
            pictures = dict(unlabelled_pictures(X), plot_latent=(X, y),
                            plot_pose=(X, poses[:, 0]))
            write_pictures(model, pictures, Path(args.pictures))


if __name__ == "__main__":
    main()
