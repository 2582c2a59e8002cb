"""Experiment: average predictions over turned copies (test_rotations), on saved models.

    python benchmarks/clustering.py --datasets so2 plain --seeds 1 --save-models DIR ...
    python benchmarks/experiments/test_rotations.py DIR

Prints accuracy and rotation consistency for several grids of angles.
"""
import sys, numpy as np, torch, math
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
torch.set_num_threads(1)
from clustering import make_data, regroup_poses, load_fitted
from skmcevae.metrics import clustering_accuracy
from skmcevae.groups import warp, pose_matrix
def rot(A, deg):
    x = torch.from_numpy(A.reshape(-1,1,28,28)).float(); n=len(x)
    return warp(x, pose_matrix(torch.full((n,), math.radians(deg)), torch.zeros(n,2), torch.zeros(n))).reshape(n,-1).numpy()
for data in ("so2", "plain"):
    X, y, _ = make_data(data, 0, 5000); Xm, _ = regroup_poses(data, X, 0)
    m = load_fitted(f"{sys.argv[1]}/{data}-seed0.joblib"); m.test_rotations = 1
    cache = {}
    def P(A, key, d):
        if (key, d) not in cache: cache[(key, d)] = m.predict_proba(rot(A, d))
        return cache[(key, d)]
    for grid in ([0], [-30, 0, 30], [-20, 0, 20], [-45, -15, 15, 45], [-60, -30, 0, 30, 60], [-90, -60, -30, 0, 30, 60, 90]):
        pa = np.mean([P(X, "x", d) for d in grid], 0); pm = np.mean([P(Xm, "m", d) for d in grid], 0)
        print(data, grid, "acc", round(clustering_accuracy(y, pa.argmax(1)), 3), "consistency", round((pa.argmax(1) == pm.argmax(1)).mean(), 3), flush=True)
