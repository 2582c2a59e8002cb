"""Experiment: how much of the true shift does the learned pose explain, by three measures?

    python benchmarks/generative.py --datasets se2 --seeds 1 --first-seed S --save-models DIR ...
    python benchmarks/experiments/shift_measure.py DIR --datasets se2 glyphs --seeds 0 1 2

For each saved model this prints the R^2 (one linear map per cluster, as
``generative.shift_r2``) of:

- offsets: the pose matrices' translations against the poses' sampling offsets
  (the generative benchmark's measure before 0.11.0);
- shift: ``predict_pose``'s shift columns against where each image's centre went
  (``generative.true_shift``, in pixels);
- shift + turn: the same plus the turn of a fixed point of the object
  (``generative.predicted_shift``, the benchmark's measure since 0.11.0);
- centre of mass: the images' centres of mass against where their centres went, a
  reference that needs no model.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import experiment_parser  # noqa: E402
from clustering import load_fitted  # noqa: E402
from generative import (data_and_model, pose_matrices, predicted_shift,  # noqa: E402
                        shift_r2, true_shift)


def centre_of_mass(X, size):
    """Each image's centre of mass (n, 2) in pixels from the image's centre, x right,
    y down (channels summed)."""
    height, width = size
    images = np.asarray(X, dtype=np.float64).reshape(len(X), -1, height, width).sum(1)
    rows, cols = np.mgrid[:height, :width]
    mass = images.sum((1, 2))
    return np.stack([(images * (cols - (width - 1) / 2)).sum((1, 2)) / mass,
                     (images * (rows - (height - 1) / 2)).sum((1, 2)) / mass], axis=1)


def main():
    parser = experiment_parser(__doc__, models="folder of models saved by --save-models")
    args = parser.parse_args()
    print("| data | seed | offsets | shift | shift + turn | centre of mass |")
    print("|---|---|---|---|---|---|")
    for data in args.datasets:
        for seed in args.seeds:
            X, _, poses, _ = data_and_model(data, seed, args.n_samples, {})
            model = load_fitted(Path(args.models[0]) / f"{data}-seed{seed}.joblib")
            labels = model.predict(X)
            size = model.module_.config.image_shape[1:]
            truth, features = true_shift(poses, size), predicted_shift(model, X)
            figures = (shift_r2(pose_matrices(model, X)[:, :, 2], poses[:, 1:3], labels),
                       shift_r2(features[:, :2], truth, labels),
                       shift_r2(features, truth, labels),
                       shift_r2(centre_of_mass(X, size), truth, labels))
            print(f"| {data} | {seed} | " + " | ".join(f"{f:.3f}" for f in figures) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
