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
