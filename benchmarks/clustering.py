"""Clustering benchmark: MCEVAE against KMeans and a Gaussian mixture on posed digits.

    python benchmarks/clustering.py            # full: MNIST-5k, 3 seeds
    python benchmarks/clustering.py --quick    # smoke run, under 2 minutes

Prints a table and writes it, with the date, machine, version and command, to
benchmarks/results/clustering[-quick].md.
"""

import argparse
import ast
import math
import resource
import time
from pathlib import Path

import joblib

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline

from skmcevae import MCEVAE
from skmcevae.datasets import load_digits_images, load_mnist, random_poses
from skmcevae.metrics import clustering_accuracy, clusters_used

from common import header, write_report

# name: (source, group of the data, rotation range in degrees, shift fraction)
DATASETS = {
    "plain": ("mnist", None, 0.0, 0.0),
    "so2": ("mnist", "SO2", 90.0, 0.0),
    "so2full": ("mnist", "SO2", 180.0, 0.0),
    "se2": ("mnist", "SE2", 90.0, 0.25),
    "digits8-so2": ("digits", "SO2", 90.0, 0.0),
}


def make_data(name, seed, n_samples):
    source, group, rotation, shift = DATASETS[name]
    X, y = load_mnist(random_state=seed) if source == "mnist" else load_digits_images(seed)
    X, y = X[:n_samples], y[:n_samples]
    if group is not None:
        X, poses = random_poses(X, group, rotation, shift, random_state=seed + 1000)
    else:
        poses = np.zeros((len(y), 4))
    return X, y, poses


def _params(items):
    return {name: ast.literal_eval(value)
            for name, value in (item.split("=", 1) for item in items)}


def _landmarks(text):
    return text if text == "default" else None if text == "None" else int(text)


def model_group(name, group="auto"):
    """The group MCEVAE is told to factor out: by default SE2 for shifted data, else
    SO2; ``group`` other than "auto" overrides it ("None" for no pose)."""
    if group != "auto":
        return None if group == "None" else group
    return "SE2" if DATASETS[name][1] == "SE2" else "SO2"


def methods(name, seed, epochs, group="auto", n_landmarks="default", params=None):
    extra = {} if epochs is None else {"max_epochs": epochs}
    if n_landmarks != "default":
        extra["n_landmarks"] = n_landmarks
    extra.update(params or {})
    mcevae = dict(group=model_group(name, group), random_state=seed, **extra)
    return {
        "MCEVAE": MCEVAE(**mcevae),
        "KMeans pixels": KMeans(10, n_init=10, random_state=seed),
        "KMeans PCA50": make_pipeline(PCA(50, random_state=seed),
                                      KMeans(10, n_init=10, random_state=seed)),
        "GMM PCA50": make_pipeline(PCA(50, random_state=seed),
                                   GaussianMixture(10, covariance_type="diag",
                                                   random_state=seed)),
        "KMeans MCEVAE": make_pipeline(MCEVAE(**mcevae),
                                       KMeans(10, n_init=10, random_state=seed)),
    }


def reuse_fitted(pipeline, fitted, X):
    """Put the already fitted MCEVAE into the pipeline and fit only its KMeans.

    The pipeline's MCEVAE has the same parameters and seed, and a fit on the CPU is
    deterministic, so refitting it would train the same model again (about 6 minutes).
    """
    pipeline.steps[0] = (pipeline.steps[0][0], fitted)
    pipeline.steps[-1][1].fit(fitted.transform(X))
    return pipeline


def regroup_poses(name, X, seed):
    """A fresh random pose of the data's own group for every image."""
    _, group, rotation, shift = DATASETS[name]
    if group is None:
        group, rotation = "SO2", 90.0
    return random_poses(X, group, rotation, shift, random_state=seed + 2000)


def pose_error(model, X, poses, labels):
    """Median |predicted - true| angle in degrees, per-cluster offsets removed."""
    config = model.module_.config
    theta = np.degrees(model.transform(X)[:, config.n_clusters + config.latent_dim])
    return angle_error(theta, poses, labels)


def angle_error(theta, poses, labels):
    """Median |theta - true angle| in degrees after removing, in each cluster of
    ``labels``, the circular mean of the difference (the cluster's canonical offset)."""
    diff = theta - poses[:, 0]
    errors = np.empty_like(diff)
    for k in np.unique(labels):
        inside = labels == k
        angles = np.radians(diff[inside])
        offset = math.degrees(math.atan2(np.sin(angles).mean(), np.cos(angles).mean()))
        errors[inside] = (diff[inside] - offset + 180) % 360 - 180
    return float(np.median(np.abs(errors)))


def canonical_stability(model, X, X_moved):
    moved = np.linalg.norm(X - X_moved, axis=1).mean()
    canon = np.linalg.norm(model.canonicalize(X) - model.canonicalize(X_moved), axis=1)
    return float(canon.mean() / moved)


def load_fitted(path):
    """A model saved by --save-models. Parameters added to MCEVAE since it was saved
    (they act only at inference) take their current defaults."""
    model = joblib.load(path)
    for name, default in MCEVAE().get_params().items():
        if name not in model.__dict__:
            setattr(model, name, default)
    return model


def saved_fits(args):
    """``(data, seed, X, y, model)`` for each of ``args.datasets`` and ``args.seeds``:
    the data as made here and the model that --save-models wrote to the folder
    ``args.models[0]`` (the experiments' common loop)."""
    for data in args.datasets:
        for seed in args.seeds:
            X, y, _ = make_data(data, seed, args.n_samples)
            model = load_fitted(Path(args.models[0]) / f"{data}-seed{seed}.joblib")
            yield data, seed, X, y, model


def evaluate(name, method, model, X, y, poses, seed, fitted=None):
    start = time.perf_counter()
    if fitted is not None and method == "KMeans MCEVAE":
        labels = reuse_fitted(model, fitted, X).predict(X)
        seconds = time.perf_counter() - start + fitted.fit_seconds
    elif hasattr(model, "fit_seconds"):  # loaded with --load-models
        labels = model.predict(X)
        seconds = model.fit_seconds
    else:
        labels = model.fit_predict(X)
        seconds = time.perf_counter() - start
    model.fit_seconds = seconds
    X_moved, _ = regroup_poses(name, X, seed)
    row = {"acc": clustering_accuracy(y, labels),
           "nmi": normalized_mutual_info_score(y, labels),
           "ari": adjusted_rand_score(y, labels),
           "used": clusters_used(labels),
           "consistency": float(np.mean(model.predict(X_moved) == labels)),
           "fit_s": seconds,
           "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}
    if method == "MCEVAE":
        posed = DATASETS[name][1] is not None and model.module_.config.group is not None
        row["pose_err"] = pose_error(model, X, poses, labels) if posed else math.nan
        row["canon_stab"] = canonical_stability(model, X, X_moved)
    return row


COLUMNS = ("acc", "nmi", "ari", "used", "consistency", "pose_err", "canon_stab", "fit_s",
           "peak_rss_gb")


def summarise(rows):
    out = {}
    for col in COLUMNS:
        values = np.array([r.get(col, math.nan) for r in rows], dtype=float)
        out[col] = (np.nan, np.nan) if np.isnan(values).all() else (values.mean(), values.std())
    return out


def table(results):
    head = "| data | method | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for (data, method), summary in results.items():
        cells = []
        for col in COLUMNS:
            mean, std = summary[col]
            cells.append("-" if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}")
        lines.append(f"| {data} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, 1,000 images, 3 epochs, so2 and digits8 only")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="run seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", default=None,
                        help="subset of methods (default: all)")
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=None,
                        help="MCEVAE epochs (default: the estimator's default)")
    parser.add_argument("--group", default="auto",
                        choices=("auto", "None", "SO2", "SE2", "SIM2"),
                        help="MCEVAE's group (default: SE2 on se2, else SO2)")
    parser.add_argument("--n-landmarks", type=_landmarks, default="default",
                        help="MCEVAE's n_landmarks, an integer or None "
                             "(default: the estimator's default)")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="other MCEVAE parameters, values as Python literals")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's own)")
    parser.add_argument("--output", default=None)
    parser.add_argument("--save-models", default=None, metavar="DIR",
                        help="write each fitted MCEVAE to DIR/<data>-seed<N>.joblib")
    parser.add_argument("--load-models", default=None, metavar="DIR",
                        help="evaluate the MCEVAE models saved in DIR instead of "
                             "fitting them (fit_s is the saved fit's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.seeds, args.n_samples, args.epochs = 1, 1000, 3
        args.datasets = ["so2", "digits8-so2"]
    results = {}
    for data in args.datasets:
        rows = {}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            X, y, poses = make_data(data, seed, args.n_samples)
            fitted = {}
            for method, model in methods(data, seed, args.epochs, args.group,
                                          args.n_landmarks, _params(args.set)).items():
                if args.methods and method not in args.methods:
                    continue
                if method == "MCEVAE" and args.load_models:
                    model = load_fitted(Path(args.load_models) / f"{data}-seed{seed}.joblib")
                row = evaluate(data, method, model, X, y, poses, seed,
                               fitted.get("MCEVAE"))
                fitted[method] = model
                if method == "MCEVAE" and args.save_models:
                    Path(args.save_models).mkdir(parents=True, exist_ok=True)
                    joblib.dump(model, Path(args.save_models) / f"{data}-seed{seed}.joblib")
                rows.setdefault(method, []).append(row)
                print(f"{data} seed={seed} {method}: " + " ".join(
                    f"{k}={v:.3f}" for k, v in row.items()), flush=True)
        for method, method_rows in rows.items():
            results[(data, method)] = summarise(method_rows)
    report = report_header(args, argv) + table(results) + "\n"
    write_report(report, args.output,
                 "clustering-quick.md" if args.quick else "clustering.md")


def report_header(args, argv):
    return header("Clustering benchmark", "clustering.py", argv, [
        f"- seeds: {args.seeds} from {args.first_seed}; images: {args.n_samples}; "
        f"MCEVAE epochs: {args.epochs or 'default'}; MCEVAE group: {args.group}; "
        f"MCEVAE n_landmarks: {args.n_landmarks}; "
        f"other MCEVAE parameters: {_params(args.set) or 'none'}",
        "- mean ± std over seeds; fit_s is wall time of fit_predict; peak_rss_gb is "
        "the process peak so far (monotone)",
        "- KMeans MCEVAE: the MCEVAE row's fitted model inside the Pipeline (a refit with "
        "the same seed trains the same model), KMeans fitted on its transform; its "
        "fit_s adds the MCEVAE fit"]
        + ([f"- MCEVAE models loaded from {args.load_models}, as saved by an earlier "
            "run with --save-models; only inference ran here"] if args.load_models else []))


if __name__ == "__main__":
    main()
