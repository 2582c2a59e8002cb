"""Experiment: which of the read-out mixture's starts count as tied with the most likely?

    python benchmarks/generative.py --datasets se2 --seeds 1 --first-seed S --save-models DIR ...
    python benchmarks/experiments/tie_rule.py DIR --datasets so2 se2 --seeds 0 1 2

The read-out fits :data:`skmcevae.readout.MIXTURE_STARTS` single-start mixtures to
the z_c means (seeded as a fit with ``random_state=S`` seeds them) and keeps, of the
starts tied with the most likely one, the one most likely under equal cluster
weights. For each saved model this prints accuracy / NMI of the start kept under
four rules for "tied": only the most likely start (no tie), within 0.03 nats per
image (0.9.0), an effect size of the per-image deficit below 0.1 and under 0.1
nats (0.10.0, :func:`skmcevae.readout.tied_starts`), and every start (equal weights alone); and the
deficit of the start kept by equal weights alone, in nats per image and as an
effect size. Then the same on two-dimensional blobs whose clusters differ in size
(600/200/200), where the most likely start is right.
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

from skmcevae.inference import encode
from skmcevae.metrics import clustering_accuracy
from skmcevae.readout import MIXTURE_STARTS, equal_weight_score, tied_starts

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import saved_fits  # noqa: E402

RULES = ("most likely", "0.03 nats", "effect size 0.1", "equal weights alone")


def starts(codes, k, seed):
    """The read-out's single-start mixtures, seeded as a fit with ``seed`` seeds them."""
    fit_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max)
    seeds = np.random.RandomState(fit_seed).randint(np.iinfo(np.int32).max,
                                                    size=MIXTURE_STARTS)
    return [GaussianMixture(k, covariance_type="full", random_state=s).fit(codes)
            for s in seeds]


def picks(fits, codes):
    """Index of the start each of :data:`RULES` keeps, and the per-image
    log-likelihoods (S, n)."""
    ll = np.stack([m.score_samples(codes) for m in fits])  # (S, n)
    equal = np.array([equal_weight_score(m, codes) for m in fits])
    mean = ll.mean(1)
    tied = {"most likely": [mean.argmax()],
            "0.03 nats": np.flatnonzero(mean >= mean.max() - 0.03),
            "effect size 0.1": tied_starts(fits, codes),
            "equal weights alone": np.arange(len(fits))}
    return {rule: max(tied[rule], key=lambda i: equal[i]) for rule in RULES}, ll


def deficit(ll, kept):
    """Mean and effect size of the most likely start's advantage over ``kept``."""
    d = ll[ll.mean(1).argmax()] - ll[kept]
    return d.mean(), d.mean() / max(d.std(), 1e-12)


def line(name, y, fits, codes):
    chosen, ll = picks(fits, codes)
    cells = []
    for rule in RULES:
        labels = fits[chosen[rule]].predict(codes)
        cells.append(f"{clustering_accuracy(y, labels):.3f} / "
                     f"{normalized_mutual_info_score(y, labels):.3f}")
    nats, size = deficit(ll, chosen["equal weights alone"])
    return f"| {name} | " + " | ".join(cells) + f" | {nats:.4f} | {size:.3f} |"


def blobs(sizes, seed=0):
    """Unit-spread blobs of ``sizes`` codes: one apart, two 4 sd from each other."""
    rng = np.random.default_rng(seed)
    part = np.repeat(np.arange(3), sizes)
    centres = np.array([[0, 0], [10, -2], [10, 2]], float)
    return centres[part] + rng.normal(0, 1, (len(part), 2)), part


def main(argv=None):
    parser = experiment_parser(__doc__, models="folders of models saved by --save-models")
    args = parser.parse_args(argv)
    print("| model | " + " | ".join(RULES) + " | deficit of equal weights alone, nats | "
          "effect size |")
    print("|---" * (len(RULES) + 3) + "|")
    for data, seed, X, y, model in saved_fits(args):
        images = X.reshape(len(X), *model.module_.config.image_shape).astype(np.float32)
        codes, = encode(model.module_, images, ("c_mean",))
        codes = codes.astype(np.float64)
        print(line(f"{data} seed {seed}", y, starts(codes, model.n_clusters, seed), codes),
              flush=True)
    for sizes in ([600, 200, 200], [1200, 400, 400]):
        codes, part = blobs(sizes)
        print(line(f"blobs {sizes}", part, starts(codes, 3, 0), codes))


if __name__ == "__main__":
    main()
