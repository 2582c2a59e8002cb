"""Experiment: are neighbours in the learned code purer than the pixel-space graph?

    python benchmarks/clustering.py --datasets so2 --seeds 1 --save-models DIR ...
    python benchmarks/experiments/code_neighbors.py DIR --datasets so2 --seeds 0 1

For each saved model, finds each training image's 10 nearest neighbours in several
codes and prints their purity (fraction sharing the image's true class) and the
accuracy and NMI of the spectral clusters of that neighbour graph (what a refreshed
graph term would train towards), beside the model's own clusters:

- pixels: the pose-invariant pixel-space search the fit uses;
- z_c: the cluster code's posterior means;
- z_c+z: cluster and style codes;
- features: the encoder's convolutional features (before the heads);
- z_c turned: z_c averaged over copies turned by -30, 0 and 30 degrees.
"""

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score
from sklearn.neighbors import NearestNeighbors

from skmcevae.graph import graph_clusters, pose_invariant_neighbors
from skmcevae.inference import apply_in_batches, encode, encode_turned
from skmcevae.metrics import clustering_accuracy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import saved_fits  # noqa: E402

K_NEAREST = 10


def code_neighbors(codes, k):
    search = NearestNeighbors(n_neighbors=k + 1).fit(codes)
    return search.kneighbors(codes, return_distance=False)[:, 1:]


def report(name, neighbors, y, n_clusters, seed):
    purity = float(np.mean(y[neighbors] == y[:, None]))
    labels = graph_clusters(neighbors[:, :7], n_clusters, seed)
    print(f"  {name:12s} purity {purity:.3f}  graph clusters acc "
          f"{clustering_accuracy(y, labels):.3f} nmi "
          f"{normalized_mutual_info_score(y, labels):.3f}", flush=True)


def main(argv=None):
    parser = experiment_parser(__doc__, models="folder of models saved by clustering.py")
    parser.add_argument("--skip-pixels", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for data, seed, X, y, model in saved_fits(args):
        module, k = model.module_, model.n_clusters
        images = X.reshape(-1, *model.image_shape_).astype(np.float32)
        labels = model.predict(X)
        print(f"{data} seed {seed}: model acc {clustering_accuracy(y, labels):.3f} "
              f"nmi {normalized_mutual_info_score(y, labels):.3f}")
        if not args.skip_pixels:
            found = pose_invariant_neighbors(images, K_NEAREST, module.config.group,
                                             module.config.rotation_range)
            report("pixels", found, y, k, seed)
        c_mean, z_mean = encode(module, images, ("c_mean", "z_mean"))
        report("z_c", code_neighbors(c_mean, K_NEAREST), y, k, seed)
        report("z_c+z", code_neighbors(np.hstack([c_mean, z_mean]), K_NEAREST), y, k,
               seed)
        features = apply_in_batches(module, images, module.encoder)
        report("features", code_neighbors(features, K_NEAREST), y, k, seed)
        turned = encode_turned(module, images, "c_mean", np.radians([-30, 0, 30]))
        report("z_c turned", code_neighbors(turned.reshape(len(X), 3, k).mean(1),
                                            K_NEAREST), y, k, seed)


if __name__ == "__main__":
    main()
