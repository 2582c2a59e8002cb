"""Generative benchmark: what only an MCE-VAE gives, beside the clusters.

    python benchmarks/generative.py --datasets so2            # MNIST-5k, 3 seeds
    python benchmarks/generative.py --quick                   # smoke run
    python benchmarks/generative.py --datasets so2 --baseline # and the no-pose VAE

For each data set and seed, fits the default ``MCEVAE(random_state=seed)`` (group as in
the clustering benchmark) and reports:

- acc, nmi: clustering accuracy and NMI against the true digits;
- fidelity: the fraction of ``sample(n, cluster=k)`` that ``predict`` puts in k, over
  all k (chance is 1/K): do samples of cluster k show cluster k?
- style_min, style_max: the smallest and largest spread (std over the training
  images) of a style dimension's posterior mean; near 0 means a collapsed dimension;
- recon: squared error of ``inverse_transform(transform(X))`` over that of the mean
  image (lower is better);
- elbo: ``score(X)``, the Monte-Carlo ELBO per image in nats;
- with --baseline, the same recon and elbo for the no-pose VAE of the same latent
  size (``group=None, invariance=None, n_neighbors=0``).

Writes benchmarks/results/generative[-quick].md.
"""

import argparse
import math

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from skmcevae import MCEVAE
from skmcevae.metrics import clustering_accuracy

from clustering import make_data, model_group
from common import header, write_report

NO_POSE = dict(group=None, invariance=None, n_neighbors=0)
COLUMNS = ("acc", "nmi", "fidelity", "style_min", "style_max", "recon", "elbo",
           "recon_vae", "elbo_vae")


def sample_fidelity(model, n_per_cluster, seed):
    """Fraction of the images sampled from each cluster that predict puts there."""
    k = model.module_.config.n_clusters
    hits = [np.mean(model.predict(model.sample(n_per_cluster, cluster=c,
                                               random_state=seed + c)[0]) == c)
            for c in range(k)]
    return float(np.mean(hits))


def reconstruction_ratio(model, X):
    rebuilt = model.inverse_transform(model.transform(X)).reshape(len(X), -1)
    flat = X.reshape(len(X), -1)
    return float(((rebuilt - flat) ** 2).mean() / ((flat.mean(0) - flat) ** 2).mean())


def style_spread(model, X):
    config = model.module_.config
    z = np.asarray(model.transform(X))[:, config.n_clusters:
                                       config.n_clusters + config.latent_dim]
    spread = z.std(0)
    return float(spread.min()), float(spread.max())


def evaluate(name, seed, n_samples, epochs, baseline, n_per_cluster):
    X, y, _ = make_data(name, seed, n_samples)
    extra = {} if epochs is None else {"max_epochs": epochs}
    model = MCEVAE(group=model_group(name), random_state=seed, **extra)
    labels = model.fit_predict(X)
    row = {"acc": clustering_accuracy(y, labels),
           "nmi": normalized_mutual_info_score(y, labels),
           "fidelity": sample_fidelity(model, n_per_cluster, seed),
           "recon": reconstruction_ratio(model, X), "elbo": model.score(X)}
    row["style_min"], row["style_max"] = style_spread(model, X)
    if baseline:
        vae = MCEVAE(random_state=seed, **NO_POSE, **extra).fit(X)
        row["recon_vae"], row["elbo_vae"] = reconstruction_ratio(vae, X), vae.score(X)
    return row


def table(results):
    lines = ["| data | " + " | ".join(COLUMNS) + " |", "|" + "---|" * (len(COLUMNS) + 1)]
    for name, rows in results.items():
        cells = []
        for col in COLUMNS:
            values = np.array([r.get(col, math.nan) for r in rows], dtype=float)
            cells.append("-" if np.isnan(values).all()
                         else f"{values.mean():.3f} ± {values.std():.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["so2"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--per-cluster", type=int, default=100,
                        help="samples drawn per cluster for the fidelity")
    parser.add_argument("--baseline", action="store_true",
                        help="also fit the no-pose VAE of the same latent size")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, 300 images, 2 epochs, so2 only")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.seeds, args.n_samples, args.epochs, args.datasets = 1, 300, 2, ["so2"]
    results = {}
    for name in args.datasets:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            row = evaluate(name, seed, args.n_samples, args.epochs, args.baseline,
                           args.per_cluster)
            results.setdefault(name, []).append(row)
            print(f"{name} seed={seed} " + " ".join(f"{k}={v:.3f}" for k, v in row.items()),
                  flush=True)
    report = header("Generative benchmark", "generative.py", argv, [
        f"- seeds: {args.seeds} from {args.first_seed}; images: {args.n_samples}; "
        f"epochs: {args.epochs or 'default'}; mean ± std over seeds",
        "- fidelity: fraction of sample(n, cluster=k) that predict puts in k; recon: "
        "squared error of inverse_transform(transform(X)) over the mean image's; "
        "elbo: score(X) in nats; *_vae: the no-pose VAE of the same latent size"])
    write_report(report + table(results) + "\n", args.output,
                 "generative-quick.md" if args.quick else "generative.md")


if __name__ == "__main__":
    main()
