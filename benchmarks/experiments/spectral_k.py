"""Experiment: spectral clustering of the pose-invariant neighbour graph, by k.

    python benchmarks/experiments/spectral_k.py

Accuracy of spectral clustering (cluster_qr) on the k-nearest-neighbour graph, for
so2, se2 and plain MNIST-5k and seeds 0-2: the clusters the graph term trains towards.
"""
import math, sys, numpy as np, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from clustering import make_data
from scipy.sparse import csr_matrix
from sklearn.cluster import SpectralClustering
from skmcevae.neighbors import pose_invariant_neighbors
from skmcevae.metrics import clustering_accuracy
for name, grp in [("so2","SO2"),("se2","SE2"),("plain","SO2")]:
  for seed in (0, 1, 2):
    X, y, _ = make_data(name, seed, 5000)
    nb = pose_invariant_neighbors(X.reshape(-1,1,28,28), 30, grp, math.pi/2)
    out = []
    for k in (3, 5, 7, 10, 15, 20, 30):
        n = len(nb); A = csr_matrix((np.ones(n*k), (np.repeat(np.arange(n), k), nb[:, :k].ravel())), shape=(n, n))
        A = ((A + A.T) > 0).astype(float)
        for assign in ("cluster_qr",):
            lab = SpectralClustering(10, affinity="precomputed", assign_labels=assign, random_state=0).fit_predict(A)
            out.append(f"k{k}/{assign[:2]}={clustering_accuracy(y, lab):.3f}")
    print(name, seed, " ".join(out), flush=True)
