"""Experiment: better partitions of the pose-invariant neighbour graph.

    python benchmarks/experiments/graph_partition.py --datasets so2 --seeds 0 1 2

The fit trains its cluster weights towards the spectral clusters of the neighbour
graph, and inherits their mistakes (benchmarks/results/levers-v0.6.md). This scores,
without any training, partitions of the same graph made in other ways: the number of
neighbours, how the spectral embedding is cut into clusters, weighted edges, and
over-clustering into more clusters that are then merged along the graph's edges. Prints
accuracy and NMI of each against the true classes.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.sparse import csr_matrix
from sklearn.cluster import AgglomerativeClustering, SpectralClustering
from sklearn.manifold import spectral_embedding
from sklearn.metrics import normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

from skmcevae.graph import pose_invariant_neighbors
from skmcevae.metrics import clustering_accuracy
from skmcevae.validation import to_images

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import DATASETS, make_data, model_group  # noqa: E402

MAX_NEIGHBORS = 30


def adjacency(neighbors, k, weighted=False):
    """Symmetric (n, n) graph of the k nearest; weighted: 1 / rank, as a soft kNN."""
    n = len(neighbors)
    values = (1.0 / np.arange(1, k + 1))[None].repeat(n, 0) if weighted else np.ones((n, k))
    graph = csr_matrix((values.ravel(), (np.repeat(np.arange(n), k),
                                         neighbors[:, :k].ravel())), shape=(n, n))
    return graph.maximum(graph.T)


def spectral(graph, n_clusters, seed, assign="cluster_qr"):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        return SpectralClustering(n_clusters, affinity="precomputed", assign_labels=assign,
                                  random_state=seed).fit_predict(graph)


def embedding_mixture(graph, n_clusters, seed):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        embedded = spectral_embedding(graph, n_components=n_clusters, random_state=seed)
    embedded /= np.linalg.norm(embedded, axis=1, keepdims=True)
    return GaussianMixture(n_clusters, n_init=3, random_state=seed).fit_predict(embedded)


def merged(graph, fine, n_clusters):
    """Merge the clusters ``fine`` down to n_clusters, joining first the pair with the
    most edges between them for their sizes (average linkage on edge density)."""
    m = fine.max() + 1
    member = csr_matrix((np.ones(len(fine)), (fine, np.arange(len(fine)))),
                        shape=(m, len(fine)))
    between = (member @ graph @ member.T).toarray()
    sizes = np.bincount(fine, minlength=m)
    density = between / np.outer(sizes, sizes)
    np.fill_diagonal(density, 0)
    distance = 1.0 / (density + 1e-9)
    np.fill_diagonal(distance, 0)
    joined = AgglomerativeClustering(n_clusters, metric="precomputed",
                                     linkage="average").fit_predict(distance)
    return joined[fine]


def variants(neighbors, n_clusters, seed):
    yield "spectral k=7 cluster_qr (the fit's)", spectral(adjacency(neighbors, 7),
                                                           n_clusters, seed)
    for k in (5, 10, 15, 20, 30):
        yield f"spectral k={k}", spectral(adjacency(neighbors, k), n_clusters, seed)
    graph7 = adjacency(neighbors, 7)
    yield "spectral k=7 kmeans", spectral(graph7, n_clusters, seed, "kmeans")
    yield "spectral k=7 discretize", spectral(graph7, n_clusters, seed, "discretize")
    yield "spectral k=15 weighted 1/rank", spectral(adjacency(neighbors, 15, True),
                                                     n_clusters, seed)
    yield "embedding k=7 + mixture", embedding_mixture(graph7, n_clusters, seed)
    for factor in (2, 3):
        fine = spectral(graph7, factor * n_clusters, seed)
        yield f"spectral k=7 x{factor} then merged", merged(graph7, fine, n_clusters)
    graph15 = adjacency(neighbors, 15)
    fine = spectral(graph15, 2 * n_clusters, seed)
    yield "spectral k=15 x2 then merged", merged(graph15, fine, n_clusters)


def main(argv=None):
    parser = experiment_parser(__doc__)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for data in args.datasets:
        for seed in args.seeds:
            X, y, _ = make_data(data, seed, args.n_samples)
            images, _ = to_images(X)  # the estimator's reader: any image size
            rotation = np.radians(max(DATASETS[data][2], 90.0))
            neighbors = pose_invariant_neighbors(images, MAX_NEIGHBORS, model_group(data),
                                                 rotation)
            purity = np.mean(y[neighbors[:, :10]] == y[:, None])
            print(f"{data} seed {seed}: purity@10 {purity:.3f}", flush=True)
            start = time.perf_counter()
            for name, labels in variants(neighbors, 10, seed):
                print(f"  {name:38s} acc {clustering_accuracy(y, labels):.3f} nmi "
                      f"{normalized_mutual_info_score(y, labels):.3f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
                start = time.perf_counter()


if __name__ == "__main__":
    main()
