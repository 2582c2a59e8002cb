"""Experiment: the graph term on posed copies, and rotation consistency.

    python benchmarks/experiments/graph_copies.py so2 15 1 graph_on_copies=True

Arguments: data set, epochs, torch threads, LossConfig overrides. Fits on MNIST-5k
(seed 0) and prints accuracy and rotation consistency with test_rotations 1 and 7.
"""
import sys, time, numpy as np, torch
from dataclasses import replace
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from clustering import make_data, regroup_poses
from skmcevae import MCEVAE
from skmcevae.metrics import clustering_accuracy
data, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
overrides = dict(kv.split("=") for kv in sys.argv[4:])
overrides = {k: eval(v) for k, v in overrides.items()}
torch.set_num_threads(threads)
class V(MCEVAE):
    def _loss_config(self): return replace(super()._loss_config(), **overrides)
X, y, _ = make_data(data, 0, 5000); Xm, _ = regroup_poses(data, X, 0)
t = time.time(); m = V(max_epochs=epochs, random_state=0, test_rotations=1).fit(X); fit = time.time() - t
out = [f"{data} {overrides} epochs={epochs} fit={fit:.0f}s"]
for tr in (1, 7):
    m.test_rotations = tr; a, b = m.predict(X), m.predict(Xm)
    out.append(f"tr{tr}: acc={clustering_accuracy(y, a):.3f} cons={(a == b).mean():.3f}")
print(" ".join(out), flush=True)
