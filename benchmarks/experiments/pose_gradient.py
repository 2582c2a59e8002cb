"""Experiment: refine the encoder pose by gradient steps on the reconstruction error.

    python benchmarks/experiments/pose_gradient.py MODEL.joblib

MODEL: an MCEVAE fitted on the so2 data of the clustering benchmark (seed 0), e.g. by
`pose_refinement.py --epochs 25 --save MODEL.joblib`. Prints the pose error and the
canonical stability of the clustering benchmark for several step counts.
"""
import sys, numpy as np, joblib, torch, time
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
torch.set_num_threads(1)
from clustering import make_data, regroup_poses, angle_error
from skmcevae.groups import exp_map, warp, invert_affine
from skmcevae.losses import reconstruction_error
from skmcevae.neighbors import blur
X, y, poses = make_data("so2", 0, 5000)
Xm, _ = regroup_poses("so2", X, 0)
m = joblib.load(sys.argv[1]); mod = m.module_.eval()
def refine(Xa, steps, lr, sigma):
    x = torch.from_numpy(Xa.reshape(-1,1,28,28)).float()
    with torch.no_grad():
        post = mod.encode(x); canon = mod.decode_canonical(post["c_mean"], post["z_mean"])
    tau = post["tau_mean"].clone().requires_grad_(True)
    opt = torch.optim.Adam([tau], lr=lr)
    xt = blur(x, sigma) if sigma else x
    for _ in range(steps):
        rec = warp(canon, exp_map(tau, "SO2"))
        if sigma: loss = ((blur(rec, sigma) - xt)**2).flatten(1).sum(1).sum()
        else: loss = reconstruction_error(rec, x, "bernoulli").sum()
        opt.zero_grad(); loss.backward(); opt.step()
    tau = tau.detach()
    c = warp(x, invert_affine(exp_map(tau, "SO2"))).flatten(1).numpy()
    return np.degrees(tau[:,0].numpy()), c
moved = np.linalg.norm(X - Xm, axis=1).mean()
for steps, lr, sigma in [(0,0.05,0),(20,0.05,0),(50,0.02,0),(30,0.05,1.0),(50,0.05,1.5)]:
    t=time.time()
    th, c = refine(X, steps, lr, sigma); _, cm = refine(Xm, steps, lr, sigma)
    print(steps, lr, sigma, "pose err", round(angle_error(th, poses, m.labels_),2), "stab", round(np.linalg.norm(c-cm,axis=1).mean()/moved,3), round(time.time()-t,1), "s", flush=True)
