"""Parallel fits: thread limits, joblib's loky and dask backends, memmapped data."""

import os
import tracemalloc

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, cross_validate

from skmcevae import MCEVAE


def test_fit_lowers_threads_to_the_worker_share_and_restores_them(
        digits, tiny_params, monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    model = MCEVAE(**tiny_params).fit(digits[0])
    assert model.n_threads_ == 1
    assert torch.get_num_threads() == before


def test_fit_never_raises_the_thread_count(digits, tiny_params, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1000")
    assert MCEVAE(**tiny_params).fit(digits[0]).n_threads_ == torch.get_num_threads()


def test_loky_workers_use_their_share_and_match_one_job(digits, tiny_params):
    X, _ = digits
    runs = [cross_validate(MCEVAE(**tiny_params), X, cv=2, n_jobs=n,
                           return_estimator=True) for n in (1, 2)]
    share = int(os.environ.get("OMP_NUM_THREADS", max(joblib.cpu_count() // 2, 1)))
    assert [m.n_threads_ for m in runs[1]["estimator"]] == [min(share, m.n_threads_)
                                                             for m in runs[0]["estimator"]]
    np.testing.assert_allclose(runs[0]["test_score"], runs[1]["test_score"], rtol=1e-4)


def test_grid_search_on_a_local_dask_cluster(digits, tiny_params):
    distributed = pytest.importorskip("distributed")
    X, _ = digits
    grid = {"latent_dim": [1, 2]}
    local = GridSearchCV(MCEVAE(**tiny_params), grid, cv=2).fit(X)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, joblib.parallel_config("dask"):
        remote = GridSearchCV(MCEVAE(**tiny_params), grid, cv=2).fit(X)
        workers = client.run(lambda: os.getpid())
    assert len(workers) == 2
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"], rtol=1e-4)
    assert remote.best_params_ == local.best_params_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_streams_a_memmap_without_copying_it(tmp_path, digits, tiny_params):
    X = digits[0]
    rows = np.tile(X, (300, 1)).astype(np.float32)  # 18,000 images, 4.6 MB
    path = tmp_path / "images.npy"
    np.save(path, rows)
    images = np.load(path, mmap_mode="r")
    params = dict(tiny_params, max_epochs=1, batch_size=500, validation_fraction=0.5,
                  n_iter_no_change=1)
    MCEVAE(**params).fit(X)  # first fit: lazy imports, which tracemalloc would count
    tracemalloc.start()
    try:
        model = MCEVAE(**params).fit(images)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # numpy allocations are traced: a copy of X, or of its training half, would show.
    assert peak < rows.nbytes / 2
    assert model.labels_.shape == (len(rows),)
