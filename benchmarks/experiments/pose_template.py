"""Experiment: canonical pose by matching each image to its cluster prototype.

    python benchmarks/experiments/pose_template.py MODEL.joblib

Searches rotations within a window around the encoder pose, or the whole circle (the
second is what `canonicalize(align="prototype")` now does). MODEL as for
pose_gradient.py. Prints pose error and canonical stability per window.
"""
import sys, numpy as np, joblib, torch, time, math
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
torch.set_num_threads(1)
from clustering import make_data, regroup_poses, angle_error
from skmcevae.groups import exp_map, warp, invert_affine, pose_matrix
from skmcevae.neighbors import blur
X, y, poses = make_data("so2", 0, 5000)
Xm, _ = regroup_poses("so2", X, 0)
m = joblib.load(sys.argv[1]); mod = m.module_.eval()
K = m.n_clusters
def rot(img, ang):
    n = img.shape[0]; return warp(img, pose_matrix(ang, torch.zeros(n, 2), torch.zeros(n)))
with torch.no_grad():
    templates = mod.decode_canonical(torch.from_numpy(m.cluster_centers_), torch.zeros(K, m.latent_dim))
def template_pose(Xa, window):
    x = torch.from_numpy(Xa.reshape(-1,1,28,28)).float()
    lab = torch.from_numpy(m.predict(Xa))
    with torch.no_grad():
        head = mod.encode(x)["tau_mean"][:, 0]
        xb = blur(x).flatten(1)
        best = torch.full((len(x),), math.inf); best_ang = head.clone()
        for d in np.radians(np.arange(-window, window + 0.1, 2)):
            ang = head + d if window < 180 else torch.full_like(head, float(d))
            r = blur(rot(templates[lab], ang)).flatten(1)
            dist = ((r - xb) ** 2).sum(1)
            better = dist < best; best = torch.where(better, dist, best); best_ang = torch.where(better, ang, best_ang)
    c = warp(x, invert_affine(exp_map(best_ang[:, None], "SO2"))).flatten(1).numpy()
    return np.degrees(best_ang.numpy()), c
moved = np.linalg.norm(X - Xm, axis=1).mean()
for window in (30, 60, 180):
    t = time.time(); th, c = template_pose(X, window); _, cm = template_pose(Xm, window)
    print(window, "pose err", round(angle_error(th, poses, m.labels_), 2), "stab", round(np.linalg.norm(c - cm, axis=1).mean() / moved, 3), round(time.time() - t, 1), "s", flush=True)
