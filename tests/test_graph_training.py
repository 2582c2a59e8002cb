"""Pose-invariant neighbours in training: the graph term and the neighbour pairs."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from skmcevae import MCEVAE
from skmcevae.datasets import load_digits_images, random_poses
from skmcevae.model import MCEVAEModule, ModelConfig
from skmcevae.graph import graph_clusters, pose_invariant_neighbors
from skmcevae.objective import LossConfig, batch_loss


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


def _module_images_labels(**config):
    torch.manual_seed(0)
    module = MCEVAEModule(ModelConfig(image_shape=(1, 12, 12), n_clusters=3,
                                      latent_dim=2, hidden_size=16, **config))
    return module, torch.rand(6, 1, 12, 12), torch.tensor([0, 1, 2, 0, 1, 2])


def test_graph_term_is_the_cross_entropy_of_the_weights():
    # With a zero pose range the posed copy is the image itself, so the term is the
    # cross-entropy of x alone.
    module, x, labels = _module_images_labels(rotation_range=0.0)
    config = LossConfig(graph_weight=2.0)
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
    # relabel_at=None: the graph's clusters teach every epoch (by default the
    # model's own take over halfway, test below).
    model = MCEVAE(n_clusters=3, latent_dim=2, hidden_size=32, max_epochs=15,
                   batch_size=32, graph_weight=10.0, assign_by="weights",
                   relabel_at=None, random_state=0).fit(X)
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
    for group, differs in (("SO2", True), (None, False)):
        module, x, labels = _module_images_labels(group=group, rotation_range=math.pi / 2)
        alone = -module.encode(x)["c_logits"].log_softmax(1)[torch.arange(6),
                                                              labels].mean()
        config = LossConfig(graph_weight=1.0, invariance=None)
        _, summary = batch_loss(module, x, None, config, graph_labels=labels)
        assert bool(abs(summary["graph"] - alone) > 1e-4) == differs, group


def test_graph_on_landmarks_labels_the_rest_by_their_neighbours():
    # Nodes 0-11 form two cliques; images 12-15 point at nodes of one clique each
    # (image 15 splits 1 to 1 and takes its nearest, the first).
    halves = [np.arange(6), np.arange(6, 12)]
    rows = [[j for j in half if j != i][:3] for half in halves for i in half]
    rows += [[0, 1, 2], [6, 7, 8], [7, 1, 6], [2, 8, 9]]
    labels = graph_clusters(np.array(rows), 2, random_state=0, nodes=np.arange(12))
    first, second = labels[0], labels[6]
    assert first != second and (labels[:6] == first).all() and (labels[6:12] == second).all()
    assert labels[12:].tolist() == [first, second, second, second]


def test_graph_on_landmarks_is_as_pure_as_on_all_images(rotated_digits):
    X, y = rotated_digits
    X = X.reshape(-1, 1, 8, 8)
    nodes = np.sort(np.random.default_rng(0).choice(len(X), 75, replace=False))
    found = pose_invariant_neighbors(X, 7, "SO2", math.pi / 2, candidates=nodes)
    sampled = graph_clusters(found, 3, random_state=0, nodes=nodes)
    full = graph_clusters(pose_invariant_neighbors(X, 7, "SO2", math.pi / 2), 3,
                          random_state=0)
    # On 150 8x8 digits spectral clusters match the digits only loosely (ARI about
    # 0.45 on all images); the landmarks' must do about as well.
    assert (y[found] == y[:, None]).mean() > 0.8
    assert adjusted_rand_score(y, sampled) > adjusted_rand_score(y, full) - 0.1


def test_estimator_searches_among_n_landmarks(rotated_digits, monkeypatch):
    import skmcevae.graph as estimator
    seen = []

    def spy(images, *args, candidates=None, **kwargs):
        seen.append((len(images), candidates))
        return pose_invariant_neighbors(images, *args, candidates=candidates, **kwargs)

    monkeypatch.setattr(estimator, "pose_invariant_neighbors", spy)
    X, _ = rotated_digits
    params = dict(n_clusters=3, latent_dim=2, hidden_size=16, max_epochs=1,
                  random_state=0)
    labels = [MCEVAE(n_landmarks=60, **params).fit(X).labels_ for _ in range(2)]
    MCEVAE(n_landmarks=None, **params).fit(X)
    (n0, first), (n1, second), (n2, everything) = seen
    assert n0 == n1 == n2 == len(X)
    assert len(first) == 60 and len(np.unique(first)) == 60
    np.testing.assert_array_equal(first, second)  # drawn from random_state
    np.testing.assert_array_equal(labels[0], labels[1])
    assert everything is None


def _terms(history):
    return [{name: value for name, value in epoch.items() if name != "time"}
            for epoch in history]


def test_the_graph_term_takes_the_models_own_clusters_after_relabel_at(rotated_digits):
    X, _ = rotated_digits
    params = dict(n_clusters=3, latent_dim=2, hidden_size=16, max_epochs=4,
                  batch_size=32, random_state=0)
    kept = MCEVAE(relabel_at=None, **params).fit(X)
    relabelled = MCEVAE(relabel_at=0.5, **params).fit(X)
    # Two epochs on the graph's clusters alike; then other targets.
    assert _terms(kept.history_[:2]) == _terms(relabelled.history_[:2])
    assert kept.history_[2]["graph"] != relabelled.history_[2]["graph"]


def test_a_sequence_of_relabel_at_takes_the_models_clusters_afresh_each_time(
        rotated_digits):
    X, _ = rotated_digits
    params = dict(n_clusters=3, latent_dim=2, hidden_size=16, max_epochs=4,
                  batch_size=32, random_state=0)
    once = MCEVAE(relabel_at=0.25, **params).fit(X)
    again = MCEVAE(relabel_at=[0.25, 0.75], **params).fit(X)
    # Alike up to the second relabelling (after epoch 3 of 4), then other targets.
    assert _terms(once.history_[:3]) == _terms(again.history_[:3])
    assert once.history_[3]["graph"] != again.history_[3]["graph"]


def test_relabel_epochs_from_fractions():
    from skmcevae.training import relabel_epochs
    graph = np.zeros((4, 2), dtype=np.int64)
    assert relabel_epochs(None, 40, 0) is None
    assert relabel_epochs(0.5, 40, 3) == ((20,), 3, None)
    assert relabel_epochs((0.75, 0.25, 0.5), 40, 0) == ((10, 20, 30), 0, None)
    # Each at least after the first epoch, and the same epoch once.
    assert relabel_epochs([0.01, 0.02, 0.5], 10, 0).epochs == (1, 5)
    assert relabel_epochs(0.5, 40, 0, neighbors=graph).neighbors is graph
    # A warm start takes the model's clusters before its first epoch, then as asked;
    # the graph travels along to judge the later ones (train skips epoch 0).
    warm = relabel_epochs((0.25, 0.75), 40, 0, warm=True, neighbors=graph)
    assert warm.epochs == (0, 30) and warm.neighbors is graph


def test_the_models_clusters_are_taken_from_85_percent_of_the_graphs_agreement():
    from skmcevae.training import _taken
    assert _taken(0.85 * 0.8, 0.8) and _taken(0.8, 0.8) and _taken(0.1, 0.0)
    assert not _taken(0.84 * 0.8, 0.8)


def test_neighbor_agreement_counts_the_pairs_in_one_cluster():
    from skmcevae.graph import neighbor_agreement
    labels = np.array([0, 0, 1, 1, 5])
    neighbors = np.array([[1, 2], [0, 0], [3, 0], [2, 2], [0, 0]])
    # Row 4 is not a training row: its pairs do not count.
    assert neighbor_agreement(labels, np.arange(4), neighbors) == 6 / 8
    assert neighbor_agreement(labels, np.array([1, 3]), neighbors) == 1.0


def _train_with(relabel, X, graph_labels):
    from skmcevae.config import configs
    from skmcevae.training import build, train
    params = MCEVAE(n_clusters=3, latent_dim=2, hidden_size=16, batch_size=32).get_params()
    model_config, loss_config = configs(params, X.shape[1:])
    torch.manual_seed(0)
    module, optimiser = build(model_config, "cpu", 1e-3)
    history = train(module, optimiser, (X, None), np.arange(len(X)), loss_config,
                    max_epochs=3, batch_size=32, graph_labels=graph_labels.copy(),
                    relabel=relabel)
    return _terms(history)


def test_the_models_clusters_are_not_taken_when_they_split_the_graphs_pairs(
        rotated_digits):
    from skmcevae.training import Relabelling
    from skmcevae.validation import to_images
    X = to_images(rotated_digits[0])[0]
    # A graph whose pairs all lie within its own clusters, which ignore the images:
    # the model's clusters, read from the images, cannot keep 85% of its pairs.
    rng = np.random.default_rng(0)
    graph_labels = rng.permutation(np.arange(len(X)) % 3)
    neighbors = np.stack([rng.choice(np.flatnonzero(graph_labels == label), 5)
                          for label in graph_labels])
    never = _train_with(None, X, graph_labels)
    judged = _train_with(Relabelling((1,), 0, neighbors), X, graph_labels)
    unjudged = _train_with(Relabelling((1,), 0, None), X, graph_labels)
    assert judged == never
    assert unjudged[:1] == never[:1] and unjudged[1]["graph"] != never[1]["graph"]
    # A warm start's relabelling before the first epoch is taken unjudged.
    warm = _train_with(Relabelling((0,), 0, neighbors), X, graph_labels)
    assert warm[0]["graph"] != never[0]["graph"]


def test_own_clusters_are_numbered_after_the_graphs_and_leave_other_rows(
        rotated_digits):
    from skmcevae.readout import own_clusters
    X, _ = rotated_digits
    model = MCEVAE(n_clusters=3, latent_dim=2, hidden_size=16, max_epochs=3,
                   batch_size=32, random_state=0).fit(X)
    images = X.reshape(-1, 1, 8, 8).astype(np.float32)
    rows = np.arange(0, len(X), 2)
    first = own_clusters(model.module_, images, rows, np.zeros(len(X), np.int64), 0)
    assert len(set(first[rows])) == 3 and not first[1::2].any()
    # Graph clusters that are the model's own renamed: the same names come back.
    graph = np.full(len(X), 7)
    graph[rows] = np.array([2, 0, 1])[first[rows]]
    again = own_clusters(model.module_, images, rows, graph, 0)
    np.testing.assert_array_equal(again, graph)
