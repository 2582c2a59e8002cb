"""The loss of one mini-batch: the negative ELBO plus the invariance and graph terms
(the pose's own terms are in :mod:`skmcevae.pose_terms`).

The model's group and likelihood are read from the module's own config; a
:class:`LossConfig` holds only what the loss adds (weights, pose ranges of the copies).
"""

import contextlib
from dataclasses import dataclass
import torch
import torch.nn.functional as F

from .graph import neighbor_relation
from .groups import compose, poses_to_matrix, sample_poses, warp
from .losses import (code_distance, kl_given_cluster, kl_mixture, kl_standard_normal,
                     mutual_information, reconstruction_error)
from .pose_terms import SCALED_OR_SHIFTED, pose_equivariance, synchronised_pose_error

COPY_PASS = (128, 8192)  # images per no-grad pass over the copies: (CPU, CUDA)
TERMS = ("loss", "reconstruction", "invariance", "kl_z", "kl_tau", "kl_c", "consistency",
         "graph", "pose", "neighbor_pose", "pose_target", "code_bound")
# The largest cluster logit z_c / temperature that costs nothing (code_bound_excess):
# 50, where a weight's odds against another cluster are e^-50 and nothing is left to
# gain. At the default temperature 0.2 that is |z_c| <= 10. The benchmarks' sound
# fits kept their codes below 9.5 (so2full's largest; rotated MNIST and 8x8 digits
# mostly 6-8), so the bound left them unchanged; fits that blew up grew them past 10
# and on to hundreds within a few epochs. A change that grows sound codes past 10
# would meet the bound: benchmarks/results/levers-v0.13.md.
LOGIT_BOUND = 50.0


@dataclass(frozen=True)
class LossConfig:
    beta: float = 1.0
    invariance: str = "unsupervised"
    n_samples: int = 2
    consistency_weight: float = 0.0
    # Weight of the cross-entropy between the canonical images of an image and of
    # its posed copies in the invariance penalty (0: codes only, the default since
    # 0.10.0; 1: as before).
    canonical_weight: float = 0.0
    # bf16 autocast for the network passes; the loss terms stay in float32.
    mixed_precision: bool = False
    # One encoder pass per posed copy, as the authors' script does: slower, kept as
    # the speed benchmark's baseline.
    loop_copies: bool = False
    graph_weight: float = 0.0
    # Weight of the pose's equivariance on a turned copy (pose_equivariance).
    pose_weight: float = 0.0
    # Weight of the same between an image and its neighbour, at the angle at which
    # the neighbour search matched them.
    neighbor_pose_weight: float = 0.0


def loss_shares(terms, config):
    """Each term's share of the training loss: its value in ``terms`` (a batch's
    summary or an epoch of ``history_``, keyed as :data:`TERMS`) times its weight in
    :func:`batch_loss`, negative for the consistency that the loss subtracts. The
    shares add up to ``terms["loss"]``."""
    weights = {"reconstruction": 1.0, "invariance": 1.0, "kl_c": 1.0, "code_bound": 1.0,
               "kl_z": config.beta, "kl_tau": config.beta,
               "consistency": -config.consistency_weight,
               "neighbor_pose": config.neighbor_pose_weight,
               "pose_target": config.neighbor_pose_weight,
               "graph": config.graph_weight, "pose": config.pose_weight}
    return {name: weight * float(terms[name]) for name, weight in weights.items()}


def network_precision(x, config):
    """Autocast context for the network passes on x's device (none when off, so
    devices without autocast, such as the meta device of the tests, also run)."""
    if not config.mixed_precision:
        return contextlib.nullcontext()
    return torch.autocast(x.device.type, dtype=torch.bfloat16)


def elbo_terms(module, x, sample=True, config=None):
    """Forward pass and the per-sample ELBO terms, each (B,)."""
    with network_precision(x, config or LossConfig()):
        out = module(x, sample=sample)
    out = {key: value.float() for key, value in out.items()}
    terms = {"reconstruction": reconstruction_error(out["reconstruction"], x,
                                                    module.config.likelihood),
             **kl_terms(module, out)}
    return out, terms


def kl_terms(module, post):
    """The KL terms (B,) of the posteriors ``post`` against the module's prior: z_c
    and z given the cluster (:class:`~skmcevae.model.ClusterPrior`), tau N(0, I)."""
    mean, variance = module.prior.moments()  # (K, K + d): z_c's columns, then z's
    logvar, k = variance.log(), module.config.n_clusters
    return {
        "kl_z": kl_given_cluster(post["z_mean"], post["z_logvar"], post["c_logits"],
                                 mean[:, k:], logvar[:, k:]),
        "kl_tau": kl_standard_normal(post["tau_mean"], post["tau_logvar"]),
        "kl_c": kl_mixture(post["c_mean"], post["c_logvar"], post["c_logits"],
                           mean[:, :k], logvar[:, :k]),
    }


def batch_loss(module, x, x_canonical, config, x_neighbor=None, graph_labels=None,
               neighbor_angle=None, pose_target=None):
    """Scalar training loss and the batch means of its terms (0-d tensors).

    ``x_neighbor`` (B, C, H, W), one pose-invariant neighbour of each image, adds the
    mutual information between the cluster weights of each image and of a posed copy
    of its neighbour (unsupervised invariance only). ``graph_labels`` (B,), the
    clusters of the neighbour graph, add the cross-entropy of the cluster weights
    against them, of each image and of one posed copy of it (the ``graph`` term).
    ``neighbor_angle`` (B,), the angle at which each neighbour matched its image in the
    neighbour search, adds the pose's equivariance between the two
    (``neighbor_pose``). ``pose_target`` (B, 2), each image's synchronised
    orientation (:mod:`skmcevae.synchronisation`, NaN where unknown) and its piece
    of the graph, adds the distance of the pose from the pose it implies
    (``pose_target``), with the same weight; with the pose search, up to a turn per
    piece. The terms
    stay on the device, so a training step never waits for the host.
    """
    out, terms = elbo_terms(module, x, config=config)
    # The graph term's turned copy (with gradient). For SO2 its poses are those of the
    # invariance copies, so it also serves as the first of them: one encoder pass
    # fewer per step. Other groups encode it last, as before this was shared.
    group = module.config.group
    shared = None
    if group == "SO2" and (graph_labels is not None or config.pose_weight):
        shared = turned_encoding(module, x, config)
    invariance = torch.zeros_like(terms["reconstruction"])
    consistency, neighbor_pose = x.new_zeros(()), x.new_zeros(())
    if config.invariance == "supervised":
        invariance = reconstruction_error(out["canonical"], x_canonical,
                                          module.config.likelihood)
    elif config.invariance == "unsupervised":
        compare = bool(config.canonical_weight) and (
            pose_target is None or group not in SCALED_OR_SHIFTED)
        invariance, consistency = _unsupervised_invariance(module, x, out, config, shared,
                                                           compare_canonical=compare)
        if x_neighbor is not None:
            information, neighbor_pose = _neighbor_terms(module, x, x_neighbor, out,
                                                         config, neighbor_angle)
            consistency = consistency + information
    per_sample = (terms["reconstruction"] + invariance + terms["kl_c"]
                  + config.beta * (terms["kl_z"] + terms["kl_tau"]))
    code_bound = code_bound_excess(out["c_mean"], module.config.cluster_temperature)
    per_sample = per_sample + code_bound
    loss = (per_sample.mean() - config.consistency_weight * consistency
            + config.neighbor_pose_weight * neighbor_pose)
    target_error = x.new_zeros(())
    if pose_target is not None and group is not None:
        # With the pose search the canonical orientation is the decoder's: the
        # targets' own (a circular mean of 0 per piece) would pull against it.
        piece = pose_target[:, 1].long() if module.config.pose_search_step else None
        target_error = synchronised_pose_error(x, out["tau_mean"], pose_target[:, 0],
                                               group, piece)
        loss = loss + config.neighbor_pose_weight * target_error
    graph, pose, turned = x.new_zeros(()), x.new_zeros(()), shared
    if graph_labels is not None:
        graph = F.cross_entropy(out["c_logits"], graph_labels)
        if group is not None:
            # A turned copy carries its image's cluster: training the encoder on
            # turned images too keeps an image's cluster when it turns.
            turned = turned if turned is not None else turned_encoding(module, x, config)
            graph = (graph + F.cross_entropy(turned["c_logits"], graph_labels)) / 2
        loss = loss + config.graph_weight * graph
    if config.pose_weight and group is not None:
        turned = turned if turned is not None else turned_encoding(module, x, config)
        pose = pose_equivariance(out["tau_mean"], turned["tau_mean"], turned["turn"], group)
        loss = loss + config.pose_weight * pose
    summary = {name: value.detach().mean() for name, value in terms.items()}
    summary.update(loss=loss.detach(), invariance=invariance.detach().mean(),
                   consistency=consistency.detach(), graph=graph.detach(),
                   pose=pose.detach(), neighbor_pose=neighbor_pose.detach(),
                   pose_target=target_error.detach(),
                   code_bound=code_bound.detach().mean(),
                   posterior=_posterior_moments(out))
    return loss, summary


def code_bound_excess(c_mean, temperature):
    """The squared excess of each cluster code's entries over ``LOGIT_BOUND *
    temperature`` (z_c units), (B,); zero when the weights do not come from z_c
    (``temperature`` None or 0).

    Nothing in the ELBO holds the scale of z_c: the prior follows the codes (its
    M-step), and the graph and consistency terms gain from ever more confident
    weights softmax(z_c / temperature). On rotated 8x8 digits two default fits of
    three grew the codes from about 6 to 500 within ten epochs, and every loss term
    exploded (the divergence guard stopped them). Zero, with zero gradient, for codes
    within the bound, so fits that never reach it train exactly as without it.
    """
    if not temperature:
        return c_mean.new_zeros(c_mean.shape[0])
    return F.relu(c_mean.abs() - LOGIT_BOUND * temperature).pow(2).sum(1)


def _posterior_moments(out):
    """What the prior's update reads: cluster weights (B, K), means and variances of
    [z_c, z] (B, K + d), detached."""
    mean = torch.cat([out["c_mean"], out["z_mean"]], dim=1)
    variance = torch.cat([out["c_logvar"], out["z_logvar"]], dim=1).exp()
    return (F.softmax(out["c_logits"], dim=1).detach(), mean.detach(), variance.detach())


def turned_encoding(module, x, config):
    """Posterior parameters of one randomly turned copy of each image, with gradient.

    Turned only: a shift on top of the data's own shift pushes digits out of the
    frame, and the copy no longer shows what its label says.
    """
    poses = sample_poses(x.shape[0], "SO2", module.config.rotation_range, 0.0, 0.0,
                         None, device=x.device)
    turn = poses_to_matrix(poses)
    with network_precision(x, config):
        encoded = module.encode(warp(x, turn.to(x.dtype)))
    encoded = {key: value.float() for key, value in encoded.items()}
    encoded["turn"] = turn  # (B, 2, 3), what pose_equivariance compares with
    return encoded


def _unsupervised_invariance(module, x, out, config, shared=None, compare_canonical=True):
    """Invariance penalty (B,) and cluster mutual information over S posed copies.

    The copies g.x are targets that the codes of x must match, so no gradient flows
    through them. With ``compare_canonical`` the canonical images must match too,
    with the weight ``config.canonical_weight``. That comparison, a cross-entropy
    between images as large as the reconstruction term, is off by default since
    0.10.0: it made the codes of rotated digits render alike, a blur (reconstruction
    0.322 of the mean image's error with it, 0.261 without, ELBO -142.7 -> -136.6;
    on 8x8 digits it helped the clusters; benchmarks/results/levers-v0.10.md). The
    loss also leaves it out for SE2 and SIM2 when the neighbour graph gives each
    image its pose: with shifts and scales the comparison pays the model to shrink
    or move the canonical object, where fewer pixels are uncertain, against that
    pose (glyphs, one seed: samples in their cluster 0.650 -> 0.708 with nothing
    else changed; benchmarks/results/levers-v0.7.md). ``shared``, the encoding of
    one posed copy made for another term, stands in for the first copy.
    """
    s = config.n_samples
    # (B*S, ...), copy s of b at b*S+s
    target = _copy_targets(module, x, config, shared, compare_canonical)

    def repeat(t):
        return t.repeat_interleave(s, dim=0)  # (B, ...) -> (B*S, ...)

    penalty = (code_distance(repeat(out["z_mean"]), target["z_mean"])
               + code_distance(repeat(out["c_mean"]), target["c_mean"]))
    if compare_canonical:
        penalty = penalty + config.canonical_weight * reconstruction_error(
            repeat(out["canonical"]), target["canonical"], module.config.likelihood)
    penalty = penalty.view(-1, s).mean(1)  # (B*S,) -> (B, S) -> (B,)
    weights = F.softmax(out["c_logits"], dim=1)
    target_weights = F.softmax(target["c_logits"], dim=1)
    return penalty, mutual_information(repeat(weights), target_weights)


def _copy_targets(module, x, config, shared, canonical):
    """Codes (and with ``canonical`` canonical images) of S posed copies, laid out
    (B*S, ...), the first taken from ``shared`` (detached) when given."""
    s = config.n_samples
    if shared is None:
        return encode_copies(module, x, config, s, canonical)
    first = {key: value.detach() for key, value in shared.items() if key != "turn"}
    if canonical:
        with torch.no_grad(), network_precision(x, config):
            first["canonical"] = module.decode_canonical(first["c_mean"], first["z_mean"])
        first["canonical"] = first["canonical"].float()
    if s == 1:
        return first
    rest = encode_copies(module, x, config, s - 1, canonical)  # (B*(S-1), ...)
    return {key: torch.cat([first[key].unsqueeze(1),
                            rest[key].view(x.shape[0], s - 1, *rest[key].shape[1:])],
                           dim=1).flatten(0, 1) for key in first}


def _neighbor_terms(module, x, x_neighbor, out, config, angle):
    """Mutual information of the cluster weights of x and of posed copies of its
    neighbours: pairs that show the same thing in other poses, which the posed copies
    of x alone cannot supply; and, given the ``angle`` (B,) at which the search
    matched each pair, the pose's equivariance between them (0 without).

    The search found x' ~ x o (N_x R_a N_x'^-1) (:func:`~skmcevae.graph.neighbor_relation`),
    and the posed copy of x' adds its own pose G. Unlike a turned copy, a neighbour
    is another object: this ties the canonical pose of the objects of one cluster
    together. The common scale of SIM2 poses, which relative poses leave free, is
    held by the synchronised poses (:func:`synchronised_pose_error`).
    """
    target = encode_posed(module, x_neighbor, config, pose=True)
    information = mutual_information(F.softmax(out["c_logits"], dim=1),
                                     F.softmax(target["c_logits"], dim=1))
    group = module.config.group
    if angle is None or not config.neighbor_pose_weight or group is None:
        return information, x.new_zeros(())
    relation = compose(neighbor_relation(x, x_neighbor, angle, group), target["turn"])
    # Turn and scale only: two objects centred on their centres of mass need not
    # have their centres at the same point of the shape.
    pose = pose_equivariance(out["tau_mean"], target["tau_mean"], relation, group,
                             linear_only=True)
    return information, pose


def encode_copies(module, x, config, s, canonical=False):
    """Codes (and with ``canonical`` canonical images) of s posed copies of each
    image, laid out (B*s, ...)."""
    if not config.loop_copies:
        # All B*S copies batched, in passes of at most COPY_PASS images: on a CPU,
        # passes of more than about 128 images ran slower (their activations leave the
        # cache and are allocated afresh), so there batching only saves Python calls.
        copies = x.repeat_interleave(s, dim=0)
        size = COPY_PASS[x.device.type == "cuda"]
        parts = [encode_posed(module, chunk, config, canonical=canonical)
                 for chunk in copies.split(size)]
        return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}
    parts = [encode_posed(module, x, config, canonical=canonical) for _ in range(s)]
    return {key: torch.stack([part[key] for part in parts], dim=1).flatten(0, 1)
            for key in parts[0]}  # S x (B, ...) -> (B, S, ...) -> (B*S, ...)


def encode_posed(module, x, config, canonical=False, pose=False):
    """Codes of one posed copy of each image, no gradient; with ``canonical`` their
    canonical images, with ``pose`` the copy's pose from the pose search and the
    ``turn`` that made the copy."""
    model = module.config
    poses = sample_poses(x.shape[0], model.group, model.rotation_range,
                         model.translation_range, model.scale_range, None,
                         device=x.device)
    turn = poses_to_matrix(poses)
    copies = warp(x, turn.to(x.dtype))
    with torch.no_grad(), network_precision(x, config):
        # The invariance copies' poses are not read: no pose search for them.
        target = module.encode(copies, search=pose)
        if canonical:
            target["canonical"] = module.decode_canonical(target["c_mean"],
                                                          target["z_mean"])
    if pose:
        target["turn"] = turn  # the copy's pose, for the neighbour's pose term
    return {key: value.float() for key, value in target.items()}


def negative_elbo(module, x):
    """The negative ELBO's terms per image (B,) with the reconstruction at the
    posterior means: deterministic, for early stopping; not a bound (see
    :func:`monte_carlo_elbo`)."""
    _, terms = elbo_terms(module, x, sample=False)
    return sum(terms.values())


def monte_carlo_elbo(module, x, noise):
    """The ELBO per image (B,), its reconstruction term averaged over S draws.

    ``noise`` (B, S, K + d + pose) holds standard normal draws, one row per draw of
    ``(z_c, z, tau)`` from the posterior (passed in, so that an image's estimate does
    not depend on the batch it is in). The KL terms are exact. A lower bound on
    log p(x) for every S, whose expectation does not depend on S; the Bernoulli
    likelihood is a density only for binary images, so on grey levels the bound is
    a score for comparing models, not a log-probability.
    """
    post = module.encode(x)
    config = module.config
    sizes = (config.n_clusters, config.latent_dim, post["tau_mean"].shape[1])
    means = torch.cat([post["c_mean"], post["z_mean"], post["tau_mean"]], dim=1)
    stds = torch.exp(0.5 * torch.cat([post["c_logvar"], post["z_logvar"],
                                      post["tau_logvar"]], dim=1))
    draws = means.unsqueeze(1) + stds.unsqueeze(1) * noise  # (B, S, K+d+p)
    s = noise.shape[1]
    z_c, z, tau = draws.flatten(0, 1).split(sizes, dim=1)  # (B*S, ...) each
    images = module.render(module.decode_canonical(z_c, z), tau)
    copies = x.repeat_interleave(s, dim=0)  # (B, C, H, W) -> (B*S, C, H, W)
    reconstruction = reconstruction_error(images, copies, config.likelihood)
    kl = sum(kl_terms(module, post).values())
    return -(reconstruction.view(-1, s).mean(1) + kl)  # (B*S,) -> (B, S) -> (B,)
