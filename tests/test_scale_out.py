"""Parallel fits: thread limits, joblib's loky and dask backends, memmapped data."""

import os
import subprocess
import sys
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


def _traced_fit_peak(images, params):
    tracemalloc.start()
    try:
        model = MCEVAE(**params).fit(images)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return model, peak


def _memmap(tmp_path, name, rows):
    np.save(tmp_path / name, rows)
    return np.load(tmp_path / name, mmap_mode="r")


def _doubled(images):
    """8x8 images as 16x16 (each pixel doubled), flat float32 rows."""
    big = images.reshape(-1, 8, 8).repeat(2, axis=1).repeat(2, axis=2)
    return big.reshape(-1, 256).astype(np.float32)


_STREAM = dict(max_epochs=1, batch_size=500, validation_fraction=0.5, n_iter_no_change=1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_streams_a_memmap_without_copying_it(tmp_path, digits, tiny_params):
    X = _doubled(digits[0])
    rows = np.tile(X, (300, 1))  # 18,000 16x16 images, 18 MB
    images = _memmap(tmp_path, "images.npy", rows)
    # Without the neighbour graph, whose O(n_neighbors) integers per image would
    # weigh nearly as much as these small images (the next test bounds it). The
    # read-out's O(n_clusters) numbers per image stay.
    params = dict(tiny_params, n_neighbors=0, **_STREAM)
    MCEVAE(**params).fit(X)  # first fit: lazy imports, which tracemalloc would count
    model, peak = _traced_fit_peak(images, params)
    # numpy allocations are traced: a copy of X, or of its training half, would show.
    assert peak < rows.nbytes / 2
    assert model.labels_.shape == (len(rows),)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_neighbour_graph_memory_does_not_grow_with_the_image_size(tmp_path, digits,
                                                                  tiny_params):
    small = np.tile(digits[0], (150, 1)).astype(np.float32)  # 9,000 8x8 images
    large = _doubled(small)  # four times the bytes
    params = dict(tiny_params, **_STREAM)
    MCEVAE(**params).fit(digits[0])
    _, peak_small = _traced_fit_peak(_memmap(tmp_path, "small.npy", small), params)
    _, peak_large = _traced_fit_peak(_memmap(tmp_path, "large.npy", large), params)
    # A copy of the larger training half would add 2.3 MB more than the smaller one.
    assert peak_large - peak_small < (large.nbytes - small.nbytes) / 8


_READ_ONLY_FIT = """
import warnings, numpy as np
from sklearn.exceptions import ConvergenceWarning
from skmcevae import MCEVAE
np.save("x.npy", np.random.default_rng(0).random((40, 64)).astype(np.float32))
warnings.simplefilter("error")
warnings.simplefilter("ignore", ConvergenceWarning)
X = np.load("x.npy", mmap_mode="r")
MCEVAE(n_clusters=2, latent_dim=2, hidden_size=8, max_epochs=1).fit(X).predict(X)
"""


def test_a_read_only_memmap_fits_without_warnings(tmp_path):
    # torch warns once per process about non-writable arrays, so the fit runs in a
    # fresh interpreter with warnings as errors.
    result = subprocess.run([sys.executable, "-c", _READ_ONLY_FIT], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


_TRANSFORM_PEAK = """
import sys, threading, time, warnings
import numpy as np, torch
from skmcevae import MCEVAE
warnings.simplefilter("ignore")
torch.set_num_threads(int(sys.argv[1]))
pages = lambda: int(open("/proc/self/statm").read().split()[1])
rng = np.random.default_rng(0)
model = MCEVAE(n_clusters=3, max_epochs=1, n_neighbors=0, random_state=0).fit(
    rng.random((100, 28, 28), dtype=np.float32))
images = rng.random((28000, 28, 28), dtype=np.float32)
model.transform(images[:500])  # first call: lazy allocations, not counted
base = peak = pages()
running = True
def watch():
    global peak
    while running:
        peak = max(peak, pages())
        time.sleep(0.002)
watcher = threading.Thread(target=watch)
watcher.start()
model.transform(images)
running = False
watcher.join()
print((max(peak, pages()) - base) * 4096 / 2 ** 20)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads Linux's /proc")
@pytest.mark.parametrize("threads", [1, 2])
def test_transform_memory_does_not_grow_with_the_number_of_images(threads):
    # In a fresh interpreter: resident memory depends on what ran before. Up to
    # 0.13.0, transform kept every batch's result in a list while the pose search's
    # temporaries came and went, and its peak grew with the images: 277-794 MB here
    # (six runs), against 15-68 MB since.
    result = subprocess.run([sys.executable, "-c", _TRANSFORM_PEAK, str(threads)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    # The result is 28,000 x 10 x 4 bytes; the input, already resident, 88 MB.
    assert float(result.stdout.split()[-1]) < 150
