"""Experiment: does the read-out's preference for equal clusters hurt on unequal ones?

    python benchmarks/experiments/unequal_clusters.py --seeds 0 1

The read-out prefers, among mixture starts of near-equal likelihood, the one most
likely under equal cluster weights. Here the so2 digits are thinned so that digit d
keeps a fraction 0.25 + 0.75 d / 9 of its images (about 115-120 zeros to 500
nines), a default model is fitted, and 20 starts of a mixture on its z_c means
(random_state 1000-1019) are judged two ways: by their own likelihood (the most
likely start) and by the likelihood under equal weights alone (with no margin).
Prints accuracy and NMI of each choice, the range over the starts, and what the
fitted model's ``predict`` gives (the package's own starts and choice).
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from sklearn.mixture import GaussianMixture

from skmcevae import MCEVAE
from skmcevae.inference import encode
from skmcevae.metrics import clustering_accuracy
from skmcevae.readout import equal_weight_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import make_data  # noqa: E402


STARTS = 20


def thinned(X, y, seed):
    rng = np.random.default_rng(seed)
    keep = rng.random(len(y)) < 0.25 + 0.75 * y / 9
    return X[keep], y[keep]


def main(argv=None):
    parser = experiment_parser(__doc__)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    print("| seed | images (smallest, largest digit) | most likely start | equal-weight start | starts' range | predict (the package) |")
    print("|---|---|---|---|---|---|")
    for seed in args.seeds:
        X, y, _ = make_data("so2", seed, args.n_samples)
        X, y = thinned(X, y, seed)
        model = MCEVAE(random_state=seed, n_threads=args.threads).fit(X)
        module = model.module_
        codes, = encode(module, X.reshape(len(X), *module.config.image_shape), ("c_mean",))
        fits = [GaussianMixture(10, covariance_type="full", random_state=1000 + s).fit(codes)
                for s in range(STARTS)]

        def figures(mixture):
            labels = mixture.predict(codes)
            return clustering_accuracy(y, labels), normalized_mutual_info_score(y, labels)
        accs = [figures(m)[0] for m in fits]
        likely = figures(max(fits, key=lambda m: m.score(codes)))
        equal = figures(max(fits, key=lambda m: equal_weight_score(m, codes)))
        own = model.predict(X)
        counts = np.bincount(y)
        print(f"| {seed} | {len(y)} ({counts.min()}, {counts.max()}) | {likely[0]:.3f} ({likely[1]:.3f}) "
              f"| {equal[0]:.3f} ({equal[1]:.3f}) | {min(accs):.3f}-{max(accs):.3f} "
              f"| {clustering_accuracy(y, own):.3f} ({normalized_mutual_info_score(y, own):.3f}) |",
              flush=True)


if __name__ == "__main__":
    main()
