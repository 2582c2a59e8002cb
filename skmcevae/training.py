"""The training loop: epochs of mini-batches, early stopping, Ctrl-C and the guard
against a diverging loss.

A fit calls :func:`train`; :func:`run_epoch` is one pass over the data, usable on its
own (the speed benchmark times it).
"""

import copy
import math
import time
import warnings
from typing import NamedTuple, Optional

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from .graph import neighbor_agreement
from .inference import apply_in_batches
from .model import MCEVAEModule
from .objective import TERMS, batch_loss, loss_shares, negative_elbo
from .readout import own_clusters


class DivergenceGuard:
    """Stops training when the loss of an epoch jumps far above the best so far, and
    puts back the weights of the best epoch.

    Seen on 8x8 digits: after 40 epochs at a loss near 75, the cluster codes blew up
    within a few steps (loss 43,000, then 100,000, every image in one cluster) and
    never came back; the fit kept those weights. A finite explosion is not caught by
    the non-finite guard. That runaway of the cluster codes is held since 0.13.0
    (:func:`~skmcevae.objective.code_bound_excess`); the guard stays for whatever
    else may blow up. The loss it watches subtracts the weighted consistency, so on
    unrotated 8x8 digits it also stops fits at a bump of the pose terms (seed 0:
    loss 11.5 -> 44.1, of which the two pose terms' shares 23.6; benchmarks/results/
    levers-v0.13.md); watching the ELBO's terms instead let them train on, to worse
    clusters (one seed of three 0.848 -> 0.761), so it was not changed. The warning
    names the terms whose weighted shares of the loss rose most: the part of the
    model that moved.
    """

    FACTOR = 3.0  # epochs of a sound fit moved by less than 20% from their best
    NAMED = 3  # terms named in the warning

    def __init__(self, loss_config):
        self.loss_config = loss_config
        self.best, self.best_state, self.best_epoch = math.inf, None, 0
        self.best_terms = None

    def diverged(self, epoch, module, index):
        loss = epoch["loss"]
        if loss < self.best:
            self.best, self.best_epoch, self.best_terms = loss, index + 1, dict(epoch)
            self.best_state = copy.deepcopy(module.state_dict())
            return False
        if self.best > 0 and loss > self.FACTOR * self.best:
            module.load_state_dict(self.best_state)
            warnings.warn(f"Training diverged at epoch {index + 1} (loss {loss:.4g} "
                          f"against {self.best:.4g} at epoch {self.best_epoch}; "
                          f"{self._rise(epoch)}); the weights of epoch "
                          f"{self.best_epoch} are kept. Lower learning_rate or try "
                          f"another random_state.", ConvergenceWarning)
            return True
        return False

    def _rise(self, epoch):
        """The terms whose weighted shares of the loss rose most since the best epoch."""
        now = loss_shares(epoch, self.loss_config)
        then = loss_shares(self.best_terms, self.loss_config)
        rises = sorted(((now[name] - then[name], name) for name in now), reverse=True)
        named = ", ".join(f"{name} {rise:+.3g}" for rise, name in rises[:self.NAMED]
                          if rise > 0)
        return f"rose most: {named}" if named else "no term rose"


class EarlyStopping:
    """Tracks the validation loss, keeps the best weights, says when to stop."""

    def __init__(self, patience):
        self.patience = patience
        self.best = math.inf
        self.best_state = None
        self.since_best = 0

    def should_stop(self, epoch, module):
        if epoch["validation_loss"] < self.best:
            self.best, self.since_best = epoch["validation_loss"], 0
            self.best_state = copy.deepcopy(module.state_dict())
        else:
            self.since_best += 1
        return self.since_best >= self.patience

    def restore_best(self, module):
        if self.best_state is not None:
            module.load_state_dict(self.best_state)


def build(config, device, learning_rate, module=None, optimizer_state=None):
    """A module built from ``config`` and its Adam optimiser; with ``module``, a copy
    of that trained module instead, and with ``optimizer_state``, the optimiser goes
    on from that state (a warm start)."""
    if module is None:
        module = MCEVAEModule(config)
    else:
        module = copy.deepcopy(module)
        module.config = config  # the same architecture; the pose ranges may differ
    module.to(device)
    optimiser = torch.optim.Adam(module.parameters(), lr=learning_rate)
    if optimizer_state is not None:
        # A copy: load_state_dict adopts the tensors, and a fit that fails must
        # leave the fitted model's state as it was.
        optimiser.load_state_dict(copy.deepcopy(optimizer_state))
        for group in optimiser.param_groups:
            group["lr"] = learning_rate
    return module, optimiser


# max_epochs="auto": enough epochs for AUTO_STEPS optimiser steps, but no more than
# AUTO_MAX_EPOCHS passes for them, and never fewer than AUTO_MIN_STEPS steps or
# AUTO_MIN_EPOCHS passes. 1,000 steps (20 epochs of 5,000 images) left the loss
# falling; 2,000 reconstruct rotated and shifted digits better, with a better ELBO,
# and cluster shifted digits better (levers-v0.12.md). The cap keeps small data sets
# from the extra passes (one 8x8 fit clustered worse at 112 epochs than at 56), and the
# floor of 1,000 steps is what the pose needs (600 images for 20 epochs, 120 steps,
# learned the clusters but neither the pose nor recognisable pictures).
AUTO_STEPS = 2000
AUTO_MAX_EPOCHS = 40
AUTO_MIN_STEPS = 1000
AUTO_MIN_EPOCHS = 20


def resolve_epochs(max_epochs, n_rows, batch_size):
    """Epochs to train: ``max_epochs``, or for "auto" the epochs of
    :data:`AUTO_STEPS` steps (at most :data:`AUTO_MAX_EPOCHS`), and at least
    :data:`AUTO_MIN_EPOCHS` and those of :data:`AUTO_MIN_STEPS` steps."""
    if max_epochs != "auto":
        return max_epochs
    steps_per_epoch = -(-n_rows // batch_size)
    target = min(AUTO_MAX_EPOCHS, -(-AUTO_STEPS // steps_per_epoch))
    return max(AUTO_MIN_EPOCHS, -(-AUTO_MIN_STEPS // steps_per_epoch), target)


def split_validation(n_images, fraction):
    """Sorted indices of the training and the held-out images (None without early
    stopping), drawn from torch's random state.

    Indices, not copies: the images may be a memmap larger than memory.
    """
    if fraction is None:
        return np.arange(n_images), None
    n_held = int(round(fraction * n_images))
    if n_held < 1 or n_held >= n_images:
        raise ValueError(f"validation_fraction={fraction} leaves no images to validate "
                         f"or to train on with {n_images} images.")
    order = torch.randperm(n_images).numpy()
    return np.sort(order[n_held:]), np.sort(order[:n_held])


class Relabelling(NamedTuple):
    """``train``'s ``relabel``: after which epochs the graph term takes the model's own
    clusters afresh, the seed of their mixture, and the neighbour graph that judges
    them (None: take them whatever they are)."""
    epochs: tuple
    seed: int
    neighbors: Optional[np.ndarray] = None


# The model's clusters replace the graph term's targets only if they put at least
# this share as many neighbour pairs together as the graph's own clusters do. After
# a quarter of the epochs, on rotated 8x8 digits the model's clusters put 92-94% as
# many together and were 0.05-0.14 more accurate than the graph's; on rotated and
# shifted MNIST 66-72%, 0.05-0.15 less accurate, and taking them lost up to 0.33 in
# the end. Default fits reached 89-100% at half the epochs (levers-v0.17.md). Only
# measured without landmarks (5,000 images or fewer).
RELABEL_AGREEMENT = 0.85


def relabel_epochs(fractions, max_epochs, seed, warm=False, neighbors=None):
    """``train``'s :class:`Relabelling`, or None for ``fractions`` None.
    ``fractions`` is one fraction of ``max_epochs`` or a sequence of them (each at
    least the first epoch). A warm start takes the model's clusters before its first
    epoch, unjudged (:func:`train`): the model is trained already, and a fresh
    graph's clusters would undo what it taught itself."""
    if fractions is None:
        return None
    epochs = sorted({max(1, int(f * max_epochs)) for f in np.atleast_1d(fractions)})
    if warm:
        epochs[0] = 0
    return Relabelling(tuple(epochs), seed, neighbors)


def train(module, optimiser, data, rows, loss_config, *, max_epochs, batch_size,
          held_out=None, n_iter_no_change=5, neighbors=None, neighbor_angles=None,
          graph_labels=None, relabel=None, pose_targets=None, progress=None):
    """Train ``module`` in place for up to ``max_epochs``; the per-epoch figures.

    ``data`` is (images, canonical images or None), both (n, C, H, W) arrays read
    one mini-batch at a time; ``rows`` the training indices, ``held_out`` those of
    early stopping (None for none). A KeyboardInterrupt ends training with a warning
    and keeps the epochs done; a non-finite loss raises FloatingPointError. With
    early stopping the best epoch's weights are restored. ``progress`` is a
    :class:`~skmcevae.progress.FitProgress` or None. ``relabel``, a
    :class:`Relabelling` or None: after each of its numbers of epochs the graph
    term's targets ``graph_labels`` become the model's own clusters
    (:func:`~skmcevae.readout.own_clusters`), if they keep
    :data:`RELABEL_AGREEMENT` of the agreement of the graph's clusters (the
    ``graph_labels`` passed in) with its pairs; before the first epoch (a warm
    start's relabelling) unjudged.
    """
    device = next(module.parameters()).device
    stopper = EarlyStopping(n_iter_no_change) if held_out is not None else None
    guard = DivergenceGuard(loss_config)
    on_batch = progress.batch_done if progress is not None else None
    history = []
    reference = _graph_agreement(relabel, graph_labels, rows)
    start = time.perf_counter()
    try:
        for _ in range(max_epochs):
            if relabel is not None and graph_labels is not None and len(history) in relabel.epochs:
                graph_labels = _relabelled(module, data[0], rows, graph_labels, relabel,
                                           reference if history else None, progress)
            epoch = run_epoch(module, optimiser, data, rows, loss_config, batch_size,
                              device, neighbors=neighbors,
                              neighbor_angles=neighbor_angles, graph_labels=graph_labels,
                              pose_targets=pose_targets, on_batch=on_batch)
            if stopper is not None:
                epoch["validation_loss"] = validation_loss(module, data[0], held_out)
            epoch["time"] = time.perf_counter() - start
            if guard.diverged(epoch, module, len(history)):
                break
            history.append(epoch)
            if progress is not None:
                progress.epoch_done(epoch)
            if stopper is not None and stopper.should_stop(epoch, module):
                break
        else:
            if stopper is not None:
                warnings.warn(f"The validation loss was still improving after "
                              f"max_epochs={max_epochs}; raise max_epochs.",
                              ConvergenceWarning)
    except KeyboardInterrupt:
        warnings.warn(f"Training interrupted after {len(history)} epochs; the model "
                      f"keeps the weights reached so far.", UserWarning)
    if stopper is not None:
        stopper.restore_best(module)
    module.eval()
    return history


def _graph_agreement(relabel, graph_labels, rows):
    """How many neighbour pairs the graph's clusters put together (None: unjudged)."""
    if relabel is None or relabel.neighbors is None or graph_labels is None:
        return None
    return neighbor_agreement(graph_labels, rows, relabel.neighbors)


def _relabelled(module, images, rows, graph_labels, relabel, reference, progress):
    """``graph_labels`` or the model's own clusters: those are taken unjudged when
    ``reference`` is None, else if :func:`_taken`."""
    start = time.perf_counter()
    labels = own_clusters(module, images, rows, graph_labels, relabel.seed)
    agreement = None
    if reference is not None:
        agreement = neighbor_agreement(labels, rows, relabel.neighbors)
    taken = agreement is None or _taken(agreement, reference)
    if progress is not None:
        changed = float(np.mean(labels[rows] != graph_labels[rows]))
        progress.stage(_relabel_report(taken, changed, agreement, reference),
                       time.perf_counter() - start)
    return labels if taken else graph_labels


def _taken(agreement, reference):
    """Whether clusters with neighbour ``agreement`` replace targets whose graph's
    clusters had ``reference``."""
    return agreement >= RELABEL_AGREEMENT * reference


def _relabel_report(taken, changed, agreement, reference):
    what = ("the model's own clusters from here on" if taken else
            "targets kept, the model's clusters not taken")
    verb = "change" if taken else "would change"
    judged = "" if agreement is None else (
        f"; they put {agreement / max(reference, 1e-12):.0%} as many neighbour pairs "
        f"together as the graph's")
    return f"graph term: {what} ({changed:.0%} of the images {verb} cluster{judged})"


def run_epoch(module, optimiser, data, rows, loss_config, batch_size, device,
              neighbors=None, neighbor_angles=None, graph_labels=None, pose_targets=None,
              on_batch=None):
    """One pass over shuffled mini-batches of ``data[rows]``; the mean of each loss term.

    ``data`` is (images, canonical images or None); one batch at a time is read from
    them (memmaps stay on disk) and moved to the device. ``neighbors`` (n, k), indices
    into the images or None, gives each image's pose-invariant neighbours: one is drawn
    at random per image and step; ``neighbor_angles`` (n, k), the angle at which each
    matched, or None; ``pose_targets`` (n, 2), each image's synchronised orientation
    and its piece of the graph (:func:`~skmcevae.synchronisation.pose_targets`), or
    None. The loss terms are summed on the device and read
    back once, at the end of the epoch. ``on_batch(done)`` is called after each step.
    """
    module.train()
    order = rows[torch.randperm(len(rows)).numpy()]
    totals = dict.fromkeys(TERMS, 0.0)
    for done, start in enumerate(range(0, len(order), batch_size), 1):
        index = np.sort(order[start:start + batch_size])
        x, target = (None if array is None else torch.from_numpy(array[index]).to(device)
                     for array in data)
        neighbor, angle = None, None
        if neighbors is not None:
            pick = torch.randint(neighbors.shape[1], (len(index),)).numpy()
            partners = neighbors[index, pick]
            neighbor = torch.from_numpy(np.asarray(data[0][partners])).to(device)
            if neighbor_angles is not None:
                angle = torch.from_numpy(neighbor_angles[index, pick]).to(device)
        labels = None
        if graph_labels is not None:
            labels = torch.from_numpy(graph_labels[index]).to(device)
        pose_target = None
        if pose_targets is not None:
            pose_target = torch.from_numpy(pose_targets[index]).to(device)
        loss, summary = batch_loss(module, x, target, loss_config, neighbor, labels,
                                   neighbor_angle=angle, pose_target=pose_target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        module.prior.update(*summary["posterior"])
        for name in TERMS:
            totals[name] = totals[name] + summary[name] * len(index)
        if on_batch is not None:
            on_batch(done)
    means = {name: float(total) / len(order) for name, total in totals.items()}
    if not math.isfinite(means["loss"]):
        raise FloatingPointError(
            "The training loss became non-finite. Lower learning_rate, check that X "
            "has no extreme values, or use likelihood='gaussian' for data that are "
            "not in [0, 1].")
    return means


def validation_loss(module, images, index=None):
    """Mean negative ELBO of the held-out images ``images[index]`` ((n, C, H, W))."""
    losses = apply_in_batches(module, images, lambda x: negative_elbo(module, x),
                              index=index)
    return float(losses.mean())
