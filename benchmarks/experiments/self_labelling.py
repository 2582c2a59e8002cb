"""Experiment: does self-labelling improve on the graph's partition?

    python benchmarks/clustering.py --datasets so2 --seeds 1 --save-models DIR ...
    python benchmarks/experiments/self_labelling.py DIR --datasets so2 --seeds 0 1

SCAN's last step, applied to a fitted model: the images whose cluster ``predict_proba``
gives with at least ``--confidence`` become the targets of the graph term in place of
the neighbour graph's spectral clusters, and training goes on for ``--epochs`` epochs
on them (all other terms as in the fit, each confident image and a turned copy of it
pulled towards its own cluster); then the read-out is refitted. Repeated ``--rounds``
times. Prints, per round, the share of confident images and their accuracy, and the
accuracy and NMI of the refitted model on all images.
"""

import copy
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from skmcevae.config import configs
from skmcevae.graph import pose_invariant_neighbors
from skmcevae.readout import cluster_proba, fit_readout
from skmcevae.training import run_epoch
from skmcevae.metrics import clustering_accuracy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import saved_fits  # noqa: E402


def main(argv=None):
    parser = experiment_parser(__doc__, models="folder of models saved by clustering.py")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for data, seed, X, y, model in saved_fits(args):
        torch.manual_seed(seed)
        images = X.reshape(-1, *model.image_shape_).astype(np.float32)
        module = copy.deepcopy(model.module_)
        _, loss_config = configs(model.get_params(), model.image_shape_)
        neighbors = pose_invariant_neighbors(images, model.n_neighbors,
                                             module.config.group,
                                             module.config.rotation_range)
        readout = model.readout_
        optimiser = torch.optim.Adam(module.parameters(), lr=model.learning_rate)
        proba = model.predict_proba(X)
        print(f"{data} seed {seed}: start acc {clustering_accuracy(y, proba.argmax(1)):.3f}"
              f" nmi {normalized_mutual_info_score(y, proba.argmax(1)):.3f}", flush=True)
        for round_ in range(args.rounds):
            targets = proba.argmax(1)
            confident = np.flatnonzero(proba.max(1) >= args.confidence)
            for _ in range(args.epochs):
                run_epoch(module, optimiser, (images, None), confident, loss_config,
                          model.batch_size, "cpu", neighbors=neighbors,
                          graph_labels=targets)
            module.eval()
            readout = fit_readout(module, images, "mixture", seed, reference=targets)
            proba = cluster_proba(module, readout, images, np.zeros(1))
            labels = proba.argmax(1)
            print(f"  round {round_ + 1}: confident {len(confident) / len(X):.3f} "
                  f"(acc {clustering_accuracy(y[confident], targets[confident]):.3f}) "
                  f"-> acc {clustering_accuracy(y, labels):.3f} "
                  f"nmi {normalized_mutual_info_score(y, labels):.3f}", flush=True)


if __name__ == "__main__":
    main()
