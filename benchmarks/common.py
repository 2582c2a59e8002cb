"""What every benchmark's results file starts with, and where it goes."""

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

import skmcevae

RESULTS = Path(__file__).parent / "results"


def header(title, script, argv, details):
    """Markdown header: date, exact command, machine, versions, then ``details`` lines."""
    args = argv if argv is not None else sys.argv[1:]
    command = f"python benchmarks/{script} {shlex.join(args)}".strip()
    lines = [f"- date: {datetime.date.today()}", f"- command: `{command}`",
             f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, "
             f"{torch.get_num_threads()} torch threads, torch {torch.__version__}",
             f"- skmcevae {skmcevae.__version__}", *details]
    return f"# {title}\n\n" + "\n".join(lines) + "\n\n"


def write_report(report, output, default_name):
    print(report)
    path = Path(output or RESULTS / default_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report)
    print(f"written to {path}")


def experiment_parser(doc, models=None):
    """Arguments shared by the experiments: the data sets, seeds and images, and with
    ``models`` (a help text) the folders of saved models to read."""
    import argparse
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if models is not None:
        parser.add_argument("models", nargs="+", help=models)
    parser.add_argument("--datasets", nargs="+", default=["so2"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--n-samples", type=int, default=5000)
    return parser
