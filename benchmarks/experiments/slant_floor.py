"""Experiment: how far upright MNIST digits are turned from their class template.

    python benchmarks/experiments/slant_floor.py

Aligns every upright digit (true labels) to its class mean by rotation, iterating the
template, and prints the median angle: the spread of natural slant that any
pose-free canonical image absorbs, a floor for the benchmark pose error.
"""
import sys, numpy as np, torch, math
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
torch.set_num_threads(1)
from clustering import make_data, angle_error
from skmcevae.groups import warp, pose_matrix
from skmcevae.neighbors import blur
X, y, _ = make_data("plain", 0, 5000)
x = torch.from_numpy(X.reshape(-1,1,28,28)).float(); n = len(x)
def rot(img, a): return warp(img, pose_matrix(a, torch.zeros(len(img),2), torch.zeros(len(img))))
# Iterated: template = mean of the class after alignment (Procrustes-like), 3 rounds.
ang = torch.zeros(n)
lab = torch.from_numpy(y)
for it in range(4):
    aligned = rot(x, ang)  # output p samples x at R(ang)p: undoes a rotation by ang
    templ = torch.stack([aligned[lab == c].mean(0) for c in range(10)])
    tb = blur(templ)
    best = torch.full((n,), math.inf); new = ang.clone()
    for d in np.radians(np.arange(-45, 45.1, 1.5)):
        a = ang + float(d)
        dist = ((blur(rot(x, a)) - tb[lab]) ** 2).flatten(1).sum(1)
        b = dist < best; best = torch.where(b, dist, best); new = torch.where(b, a, new)
    ang = new - torch.stack([new[lab == c].mean() for c in range(10)])[lab]
    print("round", it, "median |alignment angle| to the class template (deg):", round(float(np.median(np.abs(np.degrees(ang.numpy())))), 2))
