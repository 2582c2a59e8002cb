"""The benchmark scripts still run against the package (on tiny data, no timings)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import gpu_check  # noqa: E402
import speed  # noqa: E402


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
