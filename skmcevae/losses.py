"""Loss terms of the MCE-VAE. Each per-sample term has shape (B,)."""

import math

import torch
import torch.nn.functional as F

# Canonical images are kept away from 0 and 1 so the Bernoulli log-likelihood
# stays finite.
PIXEL_EPS = 1e-4


def reconstruction_error(x_hat, x, likelihood):
    """Negative log-likelihood of x under x_hat, summed over pixels, (B,).

    ``"bernoulli"``: binary cross-entropy (x in [0, 1]); ``"gaussian"``: unit-variance
    Gaussian.
    """
    if likelihood == "bernoulli":
        # Squeezed into [eps, 1 - eps] rather than clamped: the gradient of a
        # saturated pixel is not cut, and a NaN reaches the loss (and the guard that
        # names learning_rate) instead of failing inside binary_cross_entropy, which
        # on CUDA is a device-side assert that ends the process's use of the GPU.
        p = PIXEL_EPS + (1 - 2 * PIXEL_EPS) * x_hat
        nll = -(x * torch.log(p) + (1 - x) * torch.log1p(-p))
    else:
        nll = 0.5 * (x - x_hat) ** 2 + 0.5 * math.log(2 * math.pi)
    return nll.flatten(1).sum(1)


def kl_standard_normal(mean, logvar):
    """Closed-form KL(N(mean, exp(logvar)) || N(0, I)), (B,)."""
    return 0.5 * (logvar.exp() + mean ** 2 - 1 - logvar).sum(1)


def kl_gaussians(mean, logvar, prior_mean, prior_logvar):
    """KL(N(mean, exp(logvar)) || N(prior_mean[k], exp(prior_logvar[k]))) for each k,
    (B, K): ``mean``, ``logvar`` (B, D), diagonal priors ``prior_*`` (K, D)."""
    difference = mean.unsqueeze(1) - prior_mean  # (B, 1, D) - (K, D) -> (B, K, D)
    logvar = logvar.unsqueeze(1)
    return 0.5 * (prior_logvar - logvar - 1
                  + (logvar.exp() + difference ** 2) * torch.exp(-prior_logvar)).sum(-1)


def kl_mixture(mean, logvar, logits, prior_mean, prior_logvar):
    """KL from q(y) q(z_c) to the uniform mixture ``sum_k N(prior_mean[k], ...) / K``,
    (B,).

    The cluster y has posterior ``w = softmax(logits)`` and prior 1/K; given y = k,
    z_c has prior N(prior_mean[k], exp(prior_logvar[k])). In closed form
    ``KL(w || 1/K) + sum_k w_k KL(N(mean, var) || p(z_c | k))``.
    """
    k = logits.shape[1]
    log_w = F.log_softmax(logits, dim=1)
    kl_y = (log_w.exp() * (log_w + math.log(k))).sum(1)
    return kl_y + kl_given_cluster(mean, logvar, logits, prior_mean, prior_logvar)


def kl_given_cluster(mean, logvar, logits, prior_mean, prior_logvar):
    """``sum_k w_k KL(N(mean, var) || N(prior_mean[k], ...))``, w = softmax(logits),
    (B,): the KL of a code whose prior depends on the cluster."""
    weights = F.softmax(logits, dim=1)
    return (weights * kl_gaussians(mean, logvar, prior_mean, prior_logvar)).sum(1)


def mutual_information(p, q):
    """Mutual information of the cluster assignments p and q, each (B, K).

    The joint is the batch mean of ``p_i q_i^T``, symmetrised (as in IIC). High when
    paired images share a confident cluster and all clusters are used.
    """
    joint = (p.unsqueeze(2) * q.unsqueeze(1)).mean(0)  # (B, K) x (B, K) -> (K, K)
    joint = ((joint + joint.T) / 2).clamp_min(1e-12)
    marginal = joint.sum(1)
    return (joint * (joint.log() - marginal.log().unsqueeze(1)
                     - marginal.log().unsqueeze(0))).sum()


def code_distance(a, b):
    """Squared Euclidean distance per sample, (B,)."""
    return ((a - b) ** 2).sum(1)
