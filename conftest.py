"""Shared objects for the docstring examples: one small fitted model for them all.

Every method's example uses ``model``, fitted as in the :class:`skmcevae.MCEVAE`
example, and ``X``, its 40 flat 8x8 images, so the examples do not each train one.
"""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def _doctest_model():
    from skmcevae import MCEVAE
    X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images in [0, 1]
    return X, MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)


@pytest.fixture(autouse=True)
def _doctest_names(request, doctest_namespace):
    if isinstance(request.node, pytest.DoctestItem):
        X, model = request.getfixturevalue("_doctest_model")
        doctest_namespace.update(np=np, X=X.copy(), model=model)
