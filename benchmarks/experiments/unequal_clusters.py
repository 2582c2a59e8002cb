"""Experiment: does the read-out's preference for equal clusters hurt on unequal ones?

    python benchmarks/experiments/unequal_clusters.py --seeds 0 1

The read-out keeps, of 20 mixture starts, the one most likely under equal cluster
weights (``skmcevae.readout._fit_mixture``). Here the so2 digits are thinned so that
digit d keeps a fraction 0.25 + 0.75 d / 9 of its images (about 125 zeros to 500
nines), a default model is fitted, and the same 20 starts on its z_c means are
judged both ways: by their own likelihood (the most likely start) and by the
likelihood under equal weights (what the package keeps). Prints accuracy and NMI of
each choice and the range over the starts.
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from skmcevae import MCEVAE
from skmcevae.inference import encode
from skmcevae.metrics import clustering_accuracy
from skmcevae.readout import MIXTURE_STARTS, _equal_weight_score
from sklearn.mixture import GaussianMixture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import make_data  # noqa: E402


def thinned(X, y, seed):
    rng = np.random.default_rng(seed)
    keep = rng.random(len(y)) < 0.25 + 0.75 * y / 9
    return X[keep], y[keep]


def main(argv=None):
    parser = experiment_parser(__doc__)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    print("| seed | images (smallest, largest digit) | most likely start | equal-weight start (kept) | starts' range | predict |")
    print("|---|---|---|---|---|---|")
    for seed in args.seeds:
        X, y, _ = make_data("so2", seed, args.n_samples)
        X, y = thinned(X, y, seed)
        model = MCEVAE(random_state=seed, n_threads=args.threads).fit(X)
        module = model.module_
        codes, = encode(module, X.reshape(len(X), *module.config.image_shape), ("c_mean",))
        fits = [GaussianMixture(10, covariance_type="full", random_state=1000 + s).fit(codes)
                for s in range(MIXTURE_STARTS)]

        def figures(mixture):
            labels = mixture.predict(codes)
            return clustering_accuracy(y, labels), normalized_mutual_info_score(y, labels)
        accs = [figures(m)[0] for m in fits]
        likely = figures(max(fits, key=lambda m: m.lower_bound_))
        equal = figures(max(fits, key=lambda m: _equal_weight_score(m, codes)))
        own = model.predict(X)
        counts = np.bincount(y)
        print(f"| {seed} | {len(y)} ({counts.min()}, {counts.max()}) | {likely[0]:.3f} ({likely[1]:.3f}) "
              f"| {equal[0]:.3f} ({equal[1]:.3f}) | {min(accs):.3f}-{max(accs):.3f} "
              f"| {clustering_accuracy(y, own):.3f} ({normalized_mutual_info_score(y, own):.3f}) |",
              flush=True)


if __name__ == "__main__":
    main()
