"""The read-out's mixture: of several starts, the one most likely under the model's
prior of equal cluster weights."""

import numpy as np
from sklearn.mixture import GaussianMixture

from skmcevae.readout import _equal_weight_score, _fit_mixture


def merge_or_split(seed=0):
    """Three clusters of 100 codes: A and B 3 sd apart, C two halves 5 sd apart.
    Merging A with B and splitting C is the more likely mixture when each
    component has its own weight (2/3, 1/6, 1/6); with equal weights it is not."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [3, 0], [20, -2.5], [20, 2.5]])
    part = np.repeat([0, 1, 2, 3], [100, 100, 50, 50])
    return (centres[part] + rng.normal(0, 1, (300, 2))).astype(np.float32), part


def true_clusters_found(labels, part):
    """A and B apart, C's halves together (by each part's majority cluster)."""
    major = [np.bincount(labels[part == p]).argmax() for p in range(4)]
    return major[0] != major[1] and major[2] == major[3] != major[0]


def test_equal_weight_score_is_the_likelihood_with_weights_replaced():
    codes, _ = merge_or_split()
    mixture = GaussianMixture(3, random_state=0).fit(codes)
    weights = mixture.weights_.copy()
    by_hand = GaussianMixture(3).fit(codes)
    for name in ("means_", "covariances_", "precisions_cholesky_"):
        setattr(by_hand, name, getattr(mixture, name))
    by_hand.weights_ = np.full(3, 1 / 3)
    assert np.isclose(_equal_weight_score(mixture, codes), by_hand.score(codes))
    assert np.array_equal(mixture.weights_, weights)  # the fitted mixture unchanged


def test_the_read_out_prefers_equal_clusters_to_a_merge_and_a_split():
    codes, part = merge_or_split()
    # The data are such that the most likely of many starts merges and splits ...
    most_likely = GaussianMixture(3, n_init=20, random_state=0).fit(codes)
    assert not true_clusters_found(most_likely.predict(codes), part)
    # ... and the read-out's choice finds the three clusters.
    for seed in range(3):
        mixture = _fit_mixture(codes, 3, seed)
        assert true_clusters_found(mixture.predict(codes), part)
