"""Experiment: where the time of one default training step goes.

    python benchmarks/experiments/step_parts.py

One batch of 100 MNIST digits (28x28), the paper-sized model, torch's threads. Times,
as medians over interleaved rounds: a full default step (loss, backward, Adam), a step
with ``invariance=None`` and no graph (the speed issue's baseline), and the passes the
default adds: the no-grad posed copies, the no-grad posed neighbour, and the turned
copy of the graph term (forward and backward). Each ``--set`` gives MCEVAE parameters
for the full step (e.g. ``n_invariance_samples=1``). Writes
benchmarks/results/step-parts.md.
"""

import argparse
import ast
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from skmcevae import MCEVAE, objective
from skmcevae.config import configs
from skmcevae.datasets import load_mnist
from skmcevae.model import MCEVAEModule

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import header, write_report  # noqa: E402


def milliseconds(fn, n):
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000


def step_functions(x, params):
    model_config, config = configs(MCEVAE(**params).get_params(), x.shape[1:])
    module = MCEVAEModule(model_config)
    optimiser = torch.optim.Adam(module.parameters())
    labels = torch.zeros(len(x), dtype=torch.long)
    plain = replace(config, invariance=None, graph_weight=0.0, consistency_weight=0.0)

    def step(cfg, **inputs):
        optimiser.zero_grad()
        loss, _ = objective.batch_loss(module, x, None, cfg, **inputs)
        loss.backward()
        optimiser.step()

    def turned():
        module.zero_grad()
        objective.turned_encoding(module, x, config)["c_logits"].sum().backward()

    copies = max(config.n_samples - 1, 0)  # the turned copy stands in for one (SO2)
    return {
        "full default step": lambda: step(config, x_neighbor=x, graph_labels=labels),
        "invariance=None step": lambda: step(plain),
        f"posed copies, no grad ({copies} per image)":
            lambda: copies and objective.encode_copies(module, x, config, copies),
        "posed neighbour, no grad": lambda: objective.encode_posed(module, x, config,
                                                                   pose=True),
        "turned copy, forward and backward": turned,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    params = {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in args.set)}
    X, _ = load_mnist(random_state=0)
    x = torch.from_numpy(np.ascontiguousarray(X[:100].reshape(-1, 1, 28, 28)))
    torch.manual_seed(0)
    functions = step_functions(x, params)
    times = {name: [] for name in functions}
    for _ in range(args.rounds):
        for name, fn in functions.items():
            times[name].append(milliseconds(fn, args.steps))
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["invariance=None step"]
    rows = ["| part | median ms | x invariance=None step | rounds (ms) |",
            "|---|---|---|---|"]
    rows += [f"| {name} | {value:.1f} | {value / base:.2f} | "
             f"{', '.join(f'{t:.0f}' for t in times[name])} |"
             for name, value in median.items()]
    print("\n".join(rows))
    report = header("Parts of a default training step", "experiments/step_parts.py", argv,
                    [f"- batch of 100 MNIST digits, 28x28; MCEVAE parameters: "
                     f"{params or 'defaults'}; {args.rounds} interleaved rounds of "
                     f"{args.steps} calls"])
    write_report(report + "\n".join(rows) + "\n", args.output, "step-parts.md")


if __name__ == "__main__":
    main()
