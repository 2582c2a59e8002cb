"""The read-out's mixture: several starts, the one the neighbour graph agrees with kept."""

import numpy as np

from skmcevae.graph import modularity
from skmcevae.readout import _fit_mixture


def dense_modularity(neighbors, labels):
    """Newman's definition term by term, on the dense symmetric adjacency."""
    n = len(labels)
    a = np.zeros((n, n))
    for i, row in enumerate(neighbors):
        a[i, row] = a[row, i] = 1
    degree = a.sum(1)
    total = degree.sum()
    same = labels[:, None] == labels[None, :]
    return ((a - np.outer(degree, degree) / total) * same).sum() / total


def test_modularity_counts_edges_inside_clusters_against_chance():
    pairs = np.array([[1], [0], [3], [2]])  # two separate edges
    assert modularity(pairs, np.array([0, 0, 1, 1])) == 0.5
    assert modularity(pairs, np.array([0, 1, 0, 1])) == -0.5
    rng = np.random.default_rng(0)
    neighbors = rng.integers(0, 40, size=(40, 3))
    labels = rng.integers(0, 4, size=40)
    labels[0] = 7  # names need not be 0..K-1
    assert np.isclose(modularity(neighbors, labels), dense_modularity(neighbors, labels))


def triangle_of_blobs(seed=0):
    """Three equal blobs at the corners of an equilateral triangle (any two of them
    make an equally likely cluster), and a neighbour graph that links blobs 0 and 1
    and leaves blob 2 alone."""
    rng = np.random.default_rng(seed)
    corners = np.array([[0, 0], [4, 0], [2, 2 * np.sqrt(3)]])
    blob = np.repeat(np.arange(3), 60)
    codes = (corners[blob] + rng.normal(0, 0.5, (len(blob), 2))).astype(np.float32)
    neighbors = []
    for i, b in enumerate(blob):
        pool = np.flatnonzero((blob <= 1) == (b <= 1))
        neighbors.append(rng.choice(pool[pool != i], 3, replace=False))
    return codes, blob, np.array(neighbors)


def joined(labels, blob):
    """Which blobs share a cluster: the majority cluster of each blob."""
    return [np.bincount(labels[blob == b]).argmax() for b in range(3)]


def test_the_neighbour_graph_chooses_among_the_mixture_starts():
    codes, blob, neighbors = triangle_of_blobs()
    rows = np.arange(len(codes))
    for seed in range(3):
        by_likelihood = joined(_fit_mixture(codes, 2, seed).predict(codes), blob)
        # The data are such that the likelihood alone joins other blobs ...
        assert by_likelihood[0] != by_likelihood[1]
        by_graph = joined(_fit_mixture(codes, 2, seed, (neighbors, rows)).predict(codes),
                          blob)
        # ... and the graph's choice is the partition the graph holds.
        assert by_graph[0] == by_graph[1] != by_graph[2]


def test_the_graph_reads_only_the_training_rows():
    # Held-out images have no neighbours (their rows hold zeros): positions of the
    # training rows index the graph, and the others are never read.
    codes, blob, neighbors = triangle_of_blobs()
    held_out = np.array([5, 70, 150])
    rows = np.setdiff1d(np.arange(len(codes)), held_out)
    inside = np.isin(neighbors, held_out)
    # Edges to held-out images go to another image of the same side instead.
    neighbors = np.where(inside, np.where(blob <= 1, 1, 149)[:, None], neighbors)
    neighbors[held_out] = 0
    chosen = _fit_mixture(codes, 2, 0, (neighbors, rows)).predict(codes)
    by_graph = joined(chosen, blob)
    assert by_graph[0] == by_graph[1] != by_graph[2]
