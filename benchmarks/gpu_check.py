"""The checks that need a GPU, as one short script for a lent GPU machine.

    python benchmarks/gpu_check.py                  # on the GPU machine (device cuda)
    python benchmarks/gpu_check.py --device cpu     # smoke run of the script itself

Each check prints PASS or FAIL with its figures; the exit status is 1 if any failed.
1. sync-free step: one training step (loss and backward, default settings) under
   ``torch.cuda.set_sync_debug_mode("error")``: any host read inside it raises.
2. fit and predict on the device: a default fit of 1,000 rotated digits for 2 epochs;
   ``labels_`` equals ``predict``, and all parameters live on the device.
3. a model fitted here loads on a CPU-only machine: ``joblib.dump``, then a fresh
   interpreter with ``CUDA_VISIBLE_DEVICES=""`` loads it and predicts the same clusters
   (at least 99% equal, with float differences between the devices).
4. mixed precision: held-out ``score`` (mean ELBO) of bf16-autocast and float32 fits,
   same seed, within 2% of each other.
Then ``--speed`` runs ``benchmarks/speed.py --device DEVICE --epochs 1`` as well.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import torch

from skmcevae import MCEVAE
from skmcevae.datasets import load_mnist, random_poses
from skmcevae.config import configs
from skmcevae.model import MCEVAEModule
from skmcevae.objective import batch_loss

HERE = Path(__file__).parent


def data(n):
    X, _ = load_mnist(random_state=0)
    X, _ = random_poses(X[:n], "SO2", 90.0, random_state=1)
    return X.reshape(-1, 1, 28, 28).astype(np.float32)


def check_sync_free_step(X, device):
    model_config, loss_config = configs(MCEVAE(device=device).get_params(), X.shape[1:])
    module = MCEVAEModule(model_config).to(device)
    x = torch.from_numpy(X[:100]).to(device)
    labels = torch.zeros(len(x), dtype=torch.long, device=device)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
    try:
        loss, _ = batch_loss(module, x, None, loss_config, x, labels)
        loss.backward()
    finally:
        if cuda:
            torch.cuda.set_sync_debug_mode("default")
    if not cuda:
        return True, "not a CUDA device: ran without the sync check"
    return True, "loss and backward ran with sync debug mode 'error'"


def check_fit(X, device):
    start = time.perf_counter()
    model = MCEVAE(max_epochs=2, device=device, random_state=0).fit(X)
    seconds = time.perf_counter() - start
    on_device = all(p.device.type == torch.device(device).type
                    for p in model.module_.parameters())
    same = np.array_equal(model.labels_, model.predict(X))
    return on_device and same, (f"fit {seconds:.1f} s, parameters on {device}: "
                                f"{on_device}, labels_ == predict: {same}"), model


_LOAD = """
import sys, joblib, numpy as np, torch
assert not torch.cuda.is_available()
model = joblib.load(sys.argv[1])
np.save(sys.argv[3], model.predict(np.load(sys.argv[2])))
"""


def check_cpu_load(model, X):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        joblib.dump(model, folder / "model.joblib")
        np.save(folder / "x.npy", X)
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
        result = subprocess.run([sys.executable, "-c", _LOAD, str(folder / "model.joblib"),
                                 str(folder / "x.npy"), str(folder / "y.npy")],
                                env=env, capture_output=True, text=True, timeout=300)
        if result.returncode:
            return False, result.stderr[-1500:]
        agree = float((np.load(folder / "y.npy") == model.predict(X)).mean())
    return agree >= 0.99, f"CPU-only load predicts the same cluster for {agree:.3f}"


def check_mixed_precision(X, device):
    train, held_out = X[:800], X[800:]
    scores = {}
    for mixed in (False, True):
        model = MCEVAE(max_epochs=2, device=device, mixed_precision=mixed, random_state=0)
        scores[mixed] = model.fit(train).score(held_out)
    gap = abs(scores[True] - scores[False]) / abs(scores[False])
    return gap <= 0.02, (f"score float32 {scores[False]:.2f}, bf16 {scores[True]:.2f}, "
                         f"relative gap {gap:.4f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--speed", action="store_true",
                        help="also run the speed benchmark on the device")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    X = data(1000)
    results = {"sync-free step": check_sync_free_step(X, args.device)}
    ok, text, model = check_fit(X, args.device)
    results["fit and predict on the device"] = (ok, text)
    results["loads on a CPU-only machine"] = check_cpu_load(model, X)
    results["mixed precision"] = check_mixed_precision(X, args.device)
    for name, (passed, text) in results.items():
        print(f"{'PASS' if passed else 'FAIL'} {name}: {text}", flush=True)
    if args.speed:
        subprocess.run([sys.executable, str(HERE / "speed.py"), "--device", args.device,
                        "--epochs", "1"], check=False)
    return 0 if all(passed for passed, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
