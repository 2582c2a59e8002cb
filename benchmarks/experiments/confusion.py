"""Experiment: which digits each cluster of a saved model holds.

    python benchmarks/clustering.py --datasets plain --seeds 1 --save-models DIR ...
    python benchmarks/experiments/confusion.py DIR --datasets plain --seeds 0

For each saved model, prints its accuracy and NMI, then one line per cluster: its
size and the classes in it with their counts, largest first (classes under 5% of
the cluster left out). Two clusters that each hold two classes in similar shares
are a pair split by something other than the class (the 4s and 9s, say). Last, the
accuracy of k-means (10 starts) on the z_c means: whether the codes or the
read-out's choice of partition moved.
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from skmcevae.metrics import clustering_accuracy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import saved_fits  # noqa: E402


def cluster_lines(y, labels):
    """One line per cluster: size and its classes (at least 5% of it) by count."""
    classes, clusters = np.unique(y), np.unique(labels)
    counts = contingency_matrix(y, labels)  # classes x clusters, both sorted
    lines = []
    for cluster, column in zip(clusters, counts.T):
        order = [c for c in np.argsort(-column, kind="stable")
                 if column[c] >= 0.05 * column.sum()]
        parts = ", ".join(f"{classes[c]}: {column[c]}" for c in order)
        lines.append(f"  cluster {cluster}: {column.sum()} images; {parts}")
    return lines


def main(argv=None):
    args = experiment_parser(__doc__, models="folder of models saved by "
                                             "clustering.py").parse_args(argv)
    for data, seed, X, y, model in saved_fits(args):
        labels = model.predict(X)
        print(f"{data} seed {seed}: acc {clustering_accuracy(y, labels):.3f} "
              f"nmi {normalized_mutual_info_score(y, labels):.3f}")
        print("\n".join(cluster_lines(y, labels)))
        z_c = model.transform(X)[:, :model.n_clusters]
        kmeans = KMeans(model.n_clusters, n_init=10, random_state=0).fit_predict(z_c)
        print(f"  k-means on the z_c means: acc {clustering_accuracy(y, kmeans):.3f} "
              f"nmi {normalized_mutual_info_score(y, kmeans):.3f}", flush=True)


if __name__ == "__main__":
    main()
