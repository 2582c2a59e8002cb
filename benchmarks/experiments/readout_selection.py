"""Experiment: can the neighbour graph choose or repair the read-out's clusters?

    python benchmarks/generative.py --datasets so2 --seeds 1 --first-seed S --save-models DIR ...
    python benchmarks/experiments/readout_selection.py DIR --datasets so2 --seeds 0 1 2

Accuracy of a fit is bimodal (on so2 0.79 or 0.89-0.91): in the low mode the
read-out's Gaussian mixture on z_c merges two digits and splits another. The
pose-invariant neighbour graph (7 neighbours, as the fit uses) knows nothing of the
labels, so it can judge a partition without them: its modularity (the share of
edges inside clusters over what cluster sizes alone would give). For each saved
model this prints accuracy, NMI and modularity of

- default: the model's own ``predict``;
- mixture start s: a mixture on the z_c means from one start each (``--starts``,
  10 by default), and
  the start the mixture's likelihood picks against the ones the modularity, the
  likelihood under equal weights and the evenness of the cluster sizes pick;
- merged from K': a mixture with K' = 2K components, merged greedily (the pair whose
  merge raises the modularity most) down to K;
- spectral on the union graph: spectral clustering of the pixel graph's edges plus
  the edges of each image's 7 nearest z_c means (two views of "the same thing").
"""

import sys
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.cluster import SpectralClustering
from sklearn.metrics import normalized_mutual_info_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from skmcevae.graph import pose_invariant_neighbors
from skmcevae.inference import encode
from skmcevae.metrics import clustering_accuracy
from skmcevae.readout import equal_weight_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import saved_fits  # noqa: E402

N_NEIGHBORS = 7
STARTS = 10


def adjacency(neighbors):
    """The symmetric 0/1 adjacency of a neighbour list (n, k)."""
    n, k = neighbors.shape
    rows = np.repeat(np.arange(n), k)
    a = sparse.csr_matrix((np.ones(n * k), (rows, neighbors.ravel())), shape=(n, n))
    return ((a + a.T) > 0).astype(float)


def modularity(a, labels):
    """Newman's modularity of ``labels`` on the graph ``a``."""
    degree = np.asarray(a.sum(1)).ravel()
    total = degree.sum()
    q = 0.0
    for c in np.unique(labels):
        inside = labels == c
        q += a[inside][:, inside].sum() / total - (degree[inside].sum() / total) ** 2
    return float(q)


def merged(a, labels, k):
    """Merge clusters of ``labels`` greedily, the pair that raises modularity most,
    until k are left (computed on the cluster-level graph)."""
    names = np.unique(labels)
    one_hot = sparse.csr_matrix((np.ones(len(labels)), (np.arange(len(labels)),
                                 np.searchsorted(names, labels))))
    between = (one_hot.T @ a @ one_hot).toarray()  # edges between clusters
    total = between.sum()
    groups = [[i] for i in range(len(names))]
    while len(groups) > k:
        best, pair = -np.inf, None
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                e = between[np.ix_(groups[i], groups[j])].sum()
                di = between[groups[i]].sum()
                dj = between[groups[j]].sum()
                gain = 2 * e / total - 2 * di * dj / total ** 2
                if gain > best:
                    best, pair = gain, (i, j)
        i, j = pair
        groups[i] += groups.pop(j)
    target = np.empty(len(names), int)
    for g, members in enumerate(groups):
        target[members] = g
    return target[np.searchsorted(names, labels)]


def row(name, y, labels, a):
    return (f"| {name} | {clustering_accuracy(y, labels):.3f} | "
            f"{normalized_mutual_info_score(y, labels):.3f} | {modularity(a, labels):.4f} |")


def size_entropy(labels):
    share = np.bincount(labels) / len(labels)
    share = share[share > 0]
    return float(-(share * np.log(share)).sum())


def report(args):
    lines = []
    for data, seed, X, y, model in saved_fits(args):
        module = model.module_
        k = module.config.n_clusters
        images = X.reshape(len(X), *module.config.image_shape).astype(np.float32)
        neighbors = pose_invariant_neighbors(images, N_NEIGHBORS, module.config.group,
                                             module.config.rotation_range)
        a = adjacency(neighbors)
        codes, = encode(module, images, ("c_mean",))
        lines += [f"\n### {data}, seed {seed}\n", "| read-out | acc | nmi | modularity |",
                  "|---|---|---|---|", row("default (predict)", y, model.predict(X), a)]
        fits = []
        for start in range(args.first_start, args.first_start + args.starts):
            gm = GaussianMixture(k, covariance_type="full", random_state=start).fit(codes)
            labels = gm.predict(codes)
            fits.append((gm.score(codes), modularity(a, labels), labels,
                         equal_weight_score(gm, codes), size_entropy(labels)))
            lines.append(row(f"mixture start {start} (log-lik {fits[-1][0]:.2f})", y, labels, a))
        lines.append(row("start of highest likelihood", y, max(fits, key=lambda f: f[0])[2], a))
        lines.append(row("start of highest modularity", y, max(fits, key=lambda f: f[1])[2], a))
        lines.append(row("start most likely under equal weights", y,
                         max(fits, key=lambda f: f[3])[2], a))
        lines.append(row("start of most even cluster sizes", y, max(fits, key=lambda f: f[4])[2], a))
        over = GaussianMixture(2 * k, covariance_type="full", random_state=0).fit(codes)
        lines.append(row(f"mixture of {2 * k} merged to {k}", y,
                         merged(a, over.predict(codes), k), a))
        code_neighbors = NearestNeighbors(n_neighbors=N_NEIGHBORS + 1).fit(codes)
        own = code_neighbors.kneighbors(codes, return_distance=False)[:, 1:]
        union = ((a + adjacency(own)) > 0).astype(float)
        spectral = SpectralClustering(k, affinity="precomputed", random_state=seed,
                                      assign_labels="cluster_qr").fit_predict(union)
        lines.append(row("spectral on pixel + z_c graph", y, spectral, a))
        both = a.multiply(adjacency(own))
        lines.append(f"| (edges: pixel {a.nnz}, z_c {adjacency(own).nnz}, both {both.nnz}) | | | |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = experiment_parser(__doc__, models="folder of models saved by --save-models")
    parser.add_argument("--starts", type=int, default=STARTS)
    parser.add_argument("--first-start", type=int, default=0,
                        help="random_state of the first start (1000 in levers-v0.9.md's table)")
    print(report(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
