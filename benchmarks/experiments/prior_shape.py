"""Experiment: which description of a cluster's codes gives samples of that cluster?

    python benchmarks/clustering.py --datasets so2 --seeds 1 --save-models DIR ...
    python benchmarks/experiments/prior_shape.py DIR --datasets so2 --seeds 0 1

For each saved model (DIR/<data>-seed<N>.joblib), draws codes [z_c, z] of each cluster
k in several ways, decodes them to canonical images and prints the fraction that
``predict`` puts in k (the sample fidelity of generative.py):

- prior: the model's own prior, diagonal Gaussians (what ``sample`` draws);
- prior_means: the prior's means alone, no spread;
- prior_half_variance: the prior with its variances halved (not the model's prior:
  how much of the misses its spread makes);
- prior_zc_only, prior_z_only: z_c (or z) drawn from the prior, the other at the
  prior's mean: which part of the code's spread makes the misses;
- full_cov: one Gaussian per cluster with a full covariance, the weighted moments of
  the posteriors (means and variances, weighted by the cluster weights w), as the
  prior's M-step would give with full covariances;
- diag_cov: the same moments with the covariance cut to its diagonal (should match
  ``prior`` if the prior has converged to its running moments);
- posterior: z_c and z drawn from the posteriors of training images that ``predict``
  puts in k (an empirical prior);
- posterior_means: the posterior means of those images, no draw: what decoding the
  training images' own mean codes gives (not a bound: prior_half_variance can pass
  it);
- readout_diag, readout_full: the posteriors' moments weighted by ``predict_proba``
  (the read-out's clusters) instead of w, diagonal or full covariance: the prior a
  last M-step with the read-out's responsibilities would give.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from skmcevae.inference import decode, encode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import saved_fits  # noqa: E402


def weighted_moments(mean, variance, weights):
    """Per-cluster mean (K, D) and full covariance (K, D, D) of the mixture of the
    posteriors N(mean_i, diag(variance_i)) weighted by weights[:, k]."""
    total = weights.sum(0)  # (K,)
    mu = weights.T @ mean / total[:, None]
    covariances = []
    for k in range(weights.shape[1]):
        w = weights[:, k] / total[k]
        centred = mean - mu[k]
        cov = (w[:, None] * centred).T @ centred + np.diag(w @ variance)
        covariances.append(cov)
    return mu, np.stack(covariances)


def fidelity_of(model, draws):
    """Mean over clusters of the fraction of draws[k] (codes) predicted as k."""
    hits = []
    for k, codes in enumerate(draws):
        images = decode(model.module_, codes.astype(np.float32))
        flat = images.reshape(len(images), -1)
        hits.append(np.mean(model.predict(flat) == k))
    return float(np.mean(hits)), np.round(hits, 2)


def variants(model, X, n, rng):
    module = model.module_
    k = module.config.n_clusters
    images = X.reshape(-1, *model.image_shape_).astype(np.float32)
    c_mean, c_logvar, z_mean, z_logvar, logits = encode(
        module, images, ("c_mean", "c_logvar", "z_mean", "z_logvar", "c_logits"))
    mean = np.concatenate([c_mean, z_mean], 1).astype(np.float64)
    variance = np.exp(np.concatenate([c_logvar, z_logvar], 1)).astype(np.float64)
    weights = np.exp(logits - logits.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    prior_mean, prior_var = (t.detach().cpu().numpy() for t in module.prior.moments())
    mu, cov = weighted_moments(mean, variance, weights)
    labels = model.predict(X)
    out = {}
    out["prior"] = [prior_mean[c] + np.sqrt(prior_var[c]) * rng.standard_normal((n, len(mu[c])))
                    for c in range(k)]
    out["prior_means"] = [np.repeat(prior_mean[c:c + 1], n, 0) for c in range(k)]
    out["prior_half_variance"] = [prior_mean[c] + np.sqrt(prior_var[c] / 2)
                                  * rng.standard_normal((n, len(mu[c]))) for c in range(k)]
    for name, free in (("prior_zc_only", slice(0, k)), ("prior_z_only", slice(k, None))):
        out[name] = []
        for c in range(k):
            codes = np.repeat(prior_mean[c:c + 1], n, 0)
            codes[:, free] += (np.sqrt(prior_var[c, free])
                               * rng.standard_normal((n, codes[:, free].shape[1])))
            out[name].append(codes)
    out["full_cov"] = [rng.multivariate_normal(mu[c], cov[c], n) for c in range(k)]
    out["diag_cov"] = [mu[c] + np.sqrt(np.diag(cov[c])) * rng.standard_normal((n, len(mu[c])))
                       for c in range(k)]
    post = []
    for c in range(k):
        rows = rng.choice(np.flatnonzero(labels == c), n)
        post.append(mean[rows] + np.sqrt(variance[rows]) * rng.standard_normal(mean[rows].shape))
    out["posterior"] = post
    out["posterior_means"] = [mean[rng.choice(np.flatnonzero(labels == c), n)]
                              for c in range(k)]
    mu_r, cov_r = weighted_moments(mean, variance, model.predict_proba(X))
    out["readout_diag"] = [mu_r[c] + np.sqrt(np.diag(cov_r[c])) * rng.standard_normal(
        (n, len(mu_r[c]))) for c in range(k)]
    out["readout_full"] = [rng.multivariate_normal(mu_r[c], cov_r[c], n) for c in range(k)]
    shift = np.abs(prior_mean - mu).max()
    return out, shift


def main(argv=None):
    parser = experiment_parser(__doc__, models="folder of models saved by clustering.py or generative.py")
    parser.add_argument("--per-cluster", type=int, default=100)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for data, seed, X, y, model in saved_fits(args):
        draws, shift = variants(model, X, args.per_cluster, np.random.RandomState(seed))
        print(f"{data} seed {seed}: largest |prior mean - weighted moment| {shift:.3f}")
        for name, codes in draws.items():
            score, per = fidelity_of(model, codes)
            print(f"  {name:12s} fidelity {score:.3f} per cluster {per.tolist()}",
                  flush=True)


if __name__ == "__main__":
    main()
