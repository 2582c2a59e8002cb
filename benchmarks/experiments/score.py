"""Experiment: how honest and how noisy ``score`` is.

    python benchmarks/experiments/score.py --model MODEL.joblib
    python benchmarks/experiments/score.py --epochs 20      # fits one first

On 200 rotated MNIST digits (the so2 data of the clustering benchmark, seed 0, the
last 200 images), compares the negative ELBO terms at the posterior means (what
``score`` reported before 0.5) with the Monte-Carlo ELBO that ``score`` now reports
(``SCORE_DRAWS`` draws per image), repeated over seeds to show its spread, and with
a reference estimate of many draws. Writes benchmarks/results/score.md.
"""

import argparse
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import torch

from skmcevae import MCEVAE
from skmcevae.generative import SCORE_DRAWS
from skmcevae.groups import GROUP_DIMS
from skmcevae.inference import apply_in_batches
from skmcevae.objective import monte_carlo_elbo, negative_elbo
from skmcevae.validation import to_images

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import make_data  # noqa: E402
from common import header, write_report  # noqa: E402


def elbo(module, images, draws, seed):
    """Monte-Carlo ELBO per image with ``draws`` draws from the generator ``seed``."""
    return apply_in_batches(module, images, lambda x, z: monte_carlo_elbo(module, x, z),
                            alongside=_noise(module, len(images), draws, seed))


def _noise(module, n, draws, seed):
    config = module.config
    width = config.n_clusters + config.latent_dim + GROUP_DIMS[config.group]
    return np.random.default_rng(seed).standard_normal((n, draws, width)).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a fitted MCEVAE (joblib)")
    parser.add_argument("--epochs", type=int, default=20,
                        help="without --model: epochs of the model fitted here")
    parser.add_argument("--n-train", type=int, default=4800)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--reference-draws", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X, _, _ = make_data("so2", 0, 5000)
    if args.model:
        model = joblib.load(args.model)
    else:
        model = MCEVAE(max_epochs=args.epochs, random_state=0).fit(X[:args.n_train])
    images, _ = to_images(X[-200:], model.image_shape_)
    module = model.module_
    at_means = -apply_in_batches(module, images, lambda x: negative_elbo(module, x))
    start = time.perf_counter()
    estimates = np.stack([elbo(module, images, SCORE_DRAWS, seed)
                          for seed in range(args.repeats)])  # (repeats, 200)
    seconds = (time.perf_counter() - start) / args.repeats
    reference = elbo(module, images, args.reference_draws, 10 ** 6)
    rows = ["| estimate | mean over 200 images (nats) | spread over repeats (nats) |",
            "|---|---|---|",
            f"| terms at the posterior means (score before 0.5) | {at_means.mean():.2f} | - |",
            f"| Monte-Carlo ELBO, {SCORE_DRAWS} draws (score now) | "
            f"{estimates.mean(1).mean():.2f} | {estimates.mean(1).std():.2f} (per image "
            f"{estimates.std(0).mean():.2f}) |",
            f"| Monte-Carlo ELBO, {args.reference_draws} draws (reference) | "
            f"{reference.mean():.2f} | - |"]
    print("\n".join(rows))
    source = args.model or f"MCEVAE(max_epochs={args.epochs}, random_state=0)"
    report = header("How honest and how noisy score is", "experiments/score.py", argv,
                    [f"- model: {source}; the last 200 so2 digits (seed 0), held out "
                     f"when the model is fitted here on the first {args.n_train}",
                     f"- {args.repeats} repeats of the {SCORE_DRAWS}-draw estimate, "
                     f"{seconds:.2f} s each"])
    write_report(report + "\n".join(rows) + "\n", args.output, "score.md")


if __name__ == "__main__":
    main()
