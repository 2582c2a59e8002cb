"""Property-based: any input gives a result of the documented shape or a documented error."""

import re
import warnings

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from skmcevae import MCEVAE

DOCUMENTED_ERRORS = re.compile(
    "too small|more than the|needs X in \\[0, 1\\]|at least 2 images|not a square image")
POSE_DIMS = {None: 0, "SO2": 1, "SE2": 3, "SIM2": 4}


@st.composite
def problems(draw):
    n = draw(st.integers(1, 12))
    side = draw(st.integers(6, 11))
    channels = draw(st.integers(1, 2))
    ndim = draw(st.sampled_from([2, 3, 4])) if channels == 1 else draw(st.sampled_from([2, 4]))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int32, np.uint8]))
    scale = draw(st.sampled_from([1.0, 255.0]))
    seed = draw(st.integers(0, 2 ** 16))
    values = np.random.default_rng(seed).random((n, channels, side, side)) * scale
    X = values.astype(dtype)
    if ndim == 2:
        X = X.reshape(n, -1)
    elif ndim == 3:
        X = X.reshape(n, side, side)
    params = dict(
        n_clusters=draw(st.integers(1, 4)),
        latent_dim=draw(st.integers(1, 3)),
        group=draw(st.sampled_from(list(POSE_DIMS))),
        invariance=draw(st.sampled_from([None, "unsupervised"])),
        likelihood=draw(st.sampled_from(["bernoulli", "gaussian"])),
        assign_by=draw(st.sampled_from(["mixture", "centroids", "weights"])),
        image_shape=(channels, side, side) if (ndim == 2 and channels > 1) else None,
    )
    return X, params


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(problems())
def test_result_or_documented_error(problem):
    X, params = problem
    model = MCEVAE(max_epochs=1, hidden_size=4, batch_size=8, n_invariance_samples=1,
                   random_state=0, **params)
    try:
        with warnings.catch_warnings():
            # Empty clusters after one epoch warn; the warning is not under test here.
            warnings.simplefilter("ignore")
            model.fit(X)
    except ValueError as error:
        assert DOCUMENTED_ERRORS.search(str(error)), str(error)
        event("documented error")
        return
    event("fitted")
    n = X.shape[0]
    width = params["n_clusters"] + params["latent_dim"] + POSE_DIMS[params["group"]]
    assert model.predict(X).shape == (n,)
    proba = model.predict_proba(X)
    assert proba.shape == (n, params["n_clusters"])
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    Z = model.transform(X)
    assert Z.shape == (n, width) and np.isfinite(Z).all()
    assert model.inverse_transform(Z).shape == X.shape
    assert np.isfinite(model.score_samples(X)).all()

