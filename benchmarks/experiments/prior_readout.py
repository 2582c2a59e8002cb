"""Experiment: read clusters with the model's own prior instead of a mixture fitted
after training.

    python benchmarks/generative.py --datasets so2 --seeds 1 --save-models DIR ...
    python benchmarks/experiments/prior_readout.py DIR --datasets so2 --seeds 1

For each saved model, prints accuracy, NMI and sample fidelity (the fraction of
``sample(100, cluster=k)`` that ``predict`` puts in k) with each read-out of
``assign_by``, refitted on the training images: "prior" reads cluster k as the prior's
component k, the one ``sample(cluster=k)`` draws from.
"""

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from skmcevae.metrics import clustering_accuracy
from skmcevae.readout import fit_readout

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import load_fitted, make_data  # noqa: E402
from generative import sample_fidelity  # noqa: E402


def main(argv=None):
    parser = experiment_parser(__doc__, models="folders of models saved by generative.py")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for folder in args.models:
        for data in args.datasets:
            for seed in args.seeds:
                X, y, _ = make_data(data, seed, args.n_samples)
                model = load_fitted(Path(folder) / f"{data}-seed{seed}.joblib")
                images = X.reshape(-1, *model.image_shape_).astype(np.float32)
                for kind in ("mixture", "prior", "weights"):
                    model.readout_ = fit_readout(model.module_, images, kind, seed,
                                                 reference=model.labels_)
                    labels = model.predict(X)
                    print(f"{folder} {data} seed {seed} {kind:8s} acc "
                          f"{clustering_accuracy(y, labels):.3f} nmi "
                          f"{normalized_mutual_info_score(y, labels):.3f} fidelity "
                          f"{sample_fidelity(model, 100, seed):.3f}", flush=True)


if __name__ == "__main__":
    main()
