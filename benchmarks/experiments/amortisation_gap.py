"""Experiment: is the reconstruction gap to the no-pose VAE the decoder's or the encoder's?

    python benchmarks/generative.py --datasets so2 --seeds 1 --save-models DIR ...
    python benchmarks/experiments/amortisation_gap.py DIR --datasets so2 --seeds 0

For each saved model (DIR/<data>-seed<N>.joblib), on 1,000 of its training images:
the posterior spread of each latent dimension and the spread of its means over the
images (a collapsed style dimension has both near 0 and 1), the reconstruction
error at the posterior means (``recon`` of generative.py: squared error over the
mean image's), and the same error after the codes of each image are optimised
(Adam, 300 steps, the model's own likelihood) with the decoder held fixed: the pose
alone, the cluster and style codes, all three. If optimised codes reconstruct as
well as the no-pose VAE, the decoder can draw the images and the encoder's codes
are what falls short (an amortisation gap), not the decoder's capacity.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from skmcevae.losses import reconstruction_error

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import saved_fits  # noqa: E402

N_IMAGES = 1000
STEPS = 300
FREE = (("tau",), ("c", "z"), ("c", "z", "tau"))


def spreads(post):
    """Median posterior sd and spread of the means, per dimension, of each code."""
    rows = []
    for name in ("c", "z", "tau"):
        mean, logvar = post[f"{name}_mean"], post[f"{name}_logvar"]
        if mean.shape[1]:
            sd = np.median(torch.exp(0.5 * logvar).numpy(), axis=0)
            rows.append(f"| {name} | {_listed(sd)} | {_listed(mean.std(0).numpy())} |")
    return rows


def _listed(values):
    return ", ".join(f"{v:.2f}" for v in values)


def optimised_ratio(module, x, post, free, error_of):
    """The reconstruction ratio after optimising the codes named in ``free``."""
    codes = {name: post[f"{name}_mean"].clone().requires_grad_(
        name in free and post[f"{name}_mean"].shape[1] > 0) for name in ("c", "z", "tau")}
    params = [p for p in codes.values() if p.requires_grad]
    if not params:
        return float("nan")  # a model without pose has no tau to optimise
    optimiser = torch.optim.Adam(params, lr=0.02)
    for _ in range(STEPS):
        optimiser.zero_grad()
        image = module.render(module.decode_canonical(codes["c"], codes["z"]), codes["tau"])
        reconstruction_error(image, x, module.config.likelihood).mean().backward()
        optimiser.step()
    with torch.no_grad():
        return error_of(module.render(module.decode_canonical(codes["c"], codes["z"]),
                                      codes["tau"]))


def report(args):
    lines = ["| data | seed | codes optimised | recon |", "|---|---|---|---|"]
    spread_lines = ["| data | seed | code | median posterior sd | spread of means |",
                    "|---|---|---|---|---|"]
    for data, seed, X, _, model in saved_fits(args):
        module = model.module_.eval()
        for p in module.parameters():
            p.requires_grad_(False)  # the decoder (and all else) held fixed
        flat_all = X.reshape(len(X), -1)
        base = float(((flat_all.mean(0) - flat_all) ** 2).mean())
        rows = np.random.default_rng(seed).choice(len(X), min(N_IMAGES, len(X)), replace=False)
        x = torch.from_numpy(X[rows].reshape(len(rows), *module.config.image_shape)).float()

        def error_of(image):
            return float(((image - x) ** 2).mean()) / base
        with torch.no_grad():
            post = module.encode(x)
            at_means = module.render(module.decode_canonical(post["c_mean"], post["z_mean"]),
                                     post["tau_mean"])
        lines.append(f"| {data} | {seed} | none (posterior means) | {error_of(at_means):.3f} |")
        for free in FREE:
            ratio = optimised_ratio(module, x, post, free, error_of)
            lines.append(f"| {data} | {seed} | {', '.join(free)} | {ratio:.3f} |")
        spread_lines += [f"| {data} | {seed} " + row for row in spreads(post)]
    return "\n".join(lines + [""] + spread_lines) + "\n"


def main(argv=None):
    parser = experiment_parser(__doc__, models="folder of models saved by --save-models")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    print(report(args))


if __name__ == "__main__":
    main()
