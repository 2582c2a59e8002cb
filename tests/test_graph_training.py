"""Pose-invariant neighbours in training: the graph term and the neighbour pairs."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from skmcevae import MCEVAE
from skmcevae.datasets import load_digits_images, random_poses
from skmcevae.model import MCEVAEModule, ModelConfig
from skmcevae.neighbors import graph_clusters, pose_invariant_neighbors
from skmcevae.training import LossConfig, batch_loss


def test_graph_clusters_separate_two_cliques():
    # Images 0-5 and 6-11 are each other's neighbours within their half only.
    halves = [np.arange(6), np.arange(6, 12)]
    neighbors = np.array([[j for j in half if j != i][:4] for half in halves for i in half])
    labels = graph_clusters(neighbors, 2, random_state=0)
    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1
    assert labels[0] != labels[6]


def test_graph_clusters_with_as_many_clusters_as_images():
    labels = graph_clusters(np.array([[1], [0]]), 2)
    assert sorted(labels.tolist()) == [0, 1]


def _module_images_labels():
    torch.manual_seed(0)
    module = MCEVAEModule(ModelConfig(image_shape=(1, 12, 12), n_clusters=3,
                                      latent_dim=2, hidden_size=16))
    return module, torch.rand(6, 1, 12, 12), torch.tensor([0, 1, 2, 0, 1, 2])


def test_graph_term_is_the_cross_entropy_of_the_weights():
    module, x, labels = _module_images_labels()
    # With a zero pose range the posed copy is the image itself, so the term is the
    # cross-entropy of x alone.
    config = LossConfig(graph_weight=2.0, rotation_range=0.0)
    torch.manual_seed(1)
    loss, summary = batch_loss(module, x, None, config, graph_labels=labels)
    torch.manual_seed(1)
    plain, _ = batch_loss(module, x, None, config)
    weights = module.encode(x)["c_logits"].log_softmax(1)
    expected = -weights[torch.arange(6), labels].mean()
    torch.testing.assert_close(summary["graph"], expected.detach(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(loss, plain + 2.0 * expected, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def rotated_digits():
    """150 rotated 8x8 digits of the classes 0, 1 and 7 (an easy, well-separated set)."""
    X, y = load_digits_images(random_state=0)
    keep = np.concatenate([np.flatnonzero(y == label)[:50] for label in (0, 1, 7)])
    X_rot, _ = random_poses(X[keep], "SO2", 90.0, random_state=1)
    return X_rot, y[keep]


def test_cluster_weights_follow_the_neighbour_graph(rotated_digits):
    X, _ = rotated_digits
    model = MCEVAE(n_clusters=3, latent_dim=2, hidden_size=32, max_epochs=15,
                   batch_size=32, graph_weight=10.0, assign_by="weights",
                   random_state=0).fit(X)
    graph = graph_clusters(pose_invariant_neighbors(X.reshape(-1, 1, 8, 8), 10, "SO2",
                                                    math.pi / 2), 3, random_state=0)
    assert model.history_[-1]["graph"] < model.history_[0]["graph"]
    assert adjusted_rand_score(graph, model.labels_) > 0.8


def test_without_neighbours_there_is_no_graph_term(rotated_digits):
    X, _ = rotated_digits
    model = MCEVAE(n_clusters=3, latent_dim=2, hidden_size=16, max_epochs=2,
                   n_neighbors=0, random_state=0).fit(X)
    assert all(epoch["graph"] == 0 for epoch in model.history_)
    off = MCEVAE(n_clusters=3, latent_dim=2, hidden_size=16, max_epochs=2,
                 graph_weight=0.0, random_state=0).fit(X)
    assert all(epoch["graph"] == 0 for epoch in off.history_)


def test_graph_term_also_reads_a_posed_copy():
    module, x, labels = _module_images_labels()
    alone = -module.encode(x)["c_logits"].log_softmax(1)[torch.arange(6), labels].mean()
    for group, differs in (("SO2", True), (None, False)):
        config = LossConfig(graph_weight=1.0, group=group, rotation_range=math.pi / 2,
                            invariance=None)
        _, summary = batch_loss(module, x, None, config, graph_labels=labels)
        assert bool(abs(summary["graph"] - alone) > 1e-4) == differs, group
