"""Clustering metrics that need no agreement on label names."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import confusion_matrix, make_scorer

__all__ = ["clustering_accuracy", "clusters_used", "clustering_accuracy_scorer"]


def clustering_accuracy(y_true, y_pred):
    """Accuracy under the best one-to-one matching of clusters to classes.

    The matching is found with the Hungarian algorithm; clusters left without a
    class count as errors.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)

    Returns
    -------
    accuracy : float in [0, 1]

    Examples
    --------
    >>> clustering_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of one length, got "
                         f"{y_true.shape} and {y_pred.shape}.")
    if y_true.size == 0:
        raise ValueError("clustering_accuracy needs at least one sample.")
    labels = np.union1d(y_true, y_pred)
    counts = confusion_matrix(y_true, y_pred, labels=labels)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / y_true.size)


def clusters_used(y_pred):
    """Number of distinct clusters that received at least one sample.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)

    Returns
    -------
    n_clusters : int

    Examples
    --------
    >>> clusters_used([3, 3, 0, 7])
    3
    """
    return int(np.unique(np.asarray(y_pred)).size)


#: Scorer for ``GridSearchCV(..., scoring=clustering_accuracy_scorer)``: true labels
#: passed to ``fit(X, y)`` are compared with ``predict(X)`` by :func:`clustering_accuracy`.
clustering_accuracy_scorer = make_scorer(clustering_accuracy)
