import numpy as np
import pytest

from skmcevae.metrics import clustering_accuracy, clusters_used


def test_accuracy_is_invariant_to_label_names():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert clustering_accuracy(y, [2, 2, 0, 0, 1, 1]) == 1.0
    assert clustering_accuracy(y, [5, 5, 7, 7, 9, 9]) == 1.0


def test_accuracy_counts_the_best_matching():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert clustering_accuracy(y, [0, 0, 1, 1, 1, 1]) == pytest.approx(5 / 6)
    # Everything in one cluster: only the largest class can be matched.
    assert clustering_accuracy([0, 0, 1, 2], [3, 3, 3, 3]) == pytest.approx(0.5)


def test_accuracy_rejects_mismatched_input():
    with pytest.raises(ValueError, match="1-D of one length"):
        clustering_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="at least one sample"):
        clustering_accuracy([], [])


def test_clusters_used():
    assert clusters_used([3, 3, 1, 0]) == 3
