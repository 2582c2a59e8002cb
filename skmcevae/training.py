"""One training step of the MCE-VAE: the negative ELBO plus the invariance terms."""

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from .groups import poses_to_matrix, sample_poses, warp
from .losses import (code_distance, kl_mixture, kl_standard_normal,
                     mutual_information, reconstruction_error)

TERMS = ("loss", "reconstruction", "invariance", "kl_z", "kl_tau", "kl_c", "consistency")


@dataclass(frozen=True)
class LossConfig:
    likelihood: str = "bernoulli"
    beta: float = 1.0
    invariance: str = "unsupervised"
    n_samples: int = 2
    group: str = "SO2"
    rotation_range: float = math.pi / 2  # radians
    translation_range: float = 0.5  # normalised units (the image spans 2)
    scale_range: float = 0.2  # log-scale
    consistency_weight: float = 0.0


def elbo_terms(module, x, sample=True):
    """Forward pass and the per-sample ELBO terms, each (B,)."""
    out = module(x, sample=sample)
    terms = {
        "reconstruction": reconstruction_error(out["reconstruction"], x,
                                               module.config.likelihood),
        "kl_z": kl_standard_normal(out["z_mean"], out["z_logvar"]),
        "kl_tau": kl_standard_normal(out["tau_mean"], out["tau_logvar"]),
        "kl_c": kl_mixture(out["c_mean"], out["c_logvar"], out["c_logits"]),
    }
    return out, terms


def batch_loss(module, x, x_canonical, config):
    """Scalar training loss and the batch means of its terms (floats)."""
    out, terms = elbo_terms(module, x)
    invariance = torch.zeros_like(terms["reconstruction"])
    consistency = x.new_zeros(())
    if config.invariance == "supervised":
        invariance = reconstruction_error(out["canonical"], x_canonical, config.likelihood)
    elif config.invariance == "unsupervised":
        invariance, consistency = _unsupervised_invariance(module, x, out, config)
    per_sample = (terms["reconstruction"] + invariance + terms["kl_c"]
                  + config.beta * (terms["kl_z"] + terms["kl_tau"]))
    loss = per_sample.mean() - config.consistency_weight * consistency
    summary = {name: float(value.detach().mean()) for name, value in terms.items()}
    summary.update(loss=float(loss.detach()), invariance=float(invariance.detach().mean()),
                   consistency=float(consistency.detach()))
    return loss, summary


def _unsupervised_invariance(module, x, out, config):
    """Invariance penalty (B,) and cluster mutual information over S posed copies.

    The S copies g.x of each image are encoded in one batched pass without gradient:
    they are the targets that the codes of x must match.
    """
    s = config.n_samples
    copies = x.repeat_interleave(s, dim=0)  # (B, C, H, W) -> (B*S, C, H, W)
    poses = sample_poses(copies.shape[0], config.group, config.rotation_range,
                         config.translation_range, config.scale_range, None,
                         device=x.device)
    copies = warp(copies, poses_to_matrix(poses).to(x.dtype))
    with torch.no_grad():
        target = module.encode(copies)
        target_canonical = module.decode_canonical(target["c_mean"], target["z_mean"])

    def repeat(t):
        return t.repeat_interleave(s, dim=0)  # (B, ...) -> (B*S, ...)

    penalty = (code_distance(repeat(out["z_mean"]), target["z_mean"])
               + code_distance(repeat(out["c_mean"]), target["c_mean"])
               + reconstruction_error(repeat(out["canonical"]), target_canonical,
                                      config.likelihood))
    penalty = penalty.view(-1, s).mean(1)  # (B*S,) -> (B, S) -> (B,)
    weights = F.softmax(out["c_logits"], dim=1)
    target_weights = F.softmax(target["c_logits"], dim=1)
    return penalty, mutual_information(repeat(weights), target_weights)


def negative_elbo(module, x):
    """Negative ELBO per image (B,), with the reconstruction at the posterior means."""
    _, terms = elbo_terms(module, x, sample=False)
    return sum(terms.values())


def apply_in_batches(module, array, fn, batch_size=512):
    """Apply ``fn`` to batches of ``array`` on the module's device; one numpy array.

    Runs in eval mode without gradient, moving one batch at a time to the device and
    its result back, so memory on the device holds a single batch.
    """
    module.eval()
    device = next(module.parameters()).device
    outputs = []
    with torch.no_grad():
        for start in range(0, array.shape[0], batch_size):
            batch = torch.from_numpy(array[start:start + batch_size]).to(device)
            outputs.append(fn(batch).cpu().numpy())
    return np.concatenate(outputs, axis=0)


def validation_loss(module, images):
    """Mean negative ELBO of held-out images (numpy, (n, C, H, W))."""
    return float(apply_in_batches(module, images, partial(negative_elbo, module)).mean())
