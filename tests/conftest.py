import numpy as np
import pytest
import torch

from skmcevae.datasets import load_digits_images

# The models here are tiny: one thread runs them faster than two, whose hand-offs
# cost more than the work they split (the suite: 67 s -> 59 s on the 2-core machine).
torch.set_num_threads(1)

# Small and fast: enough to exercise every code path, not to learn anything.
TINY = dict(n_clusters=3, latent_dim=2, hidden_size=16, max_epochs=2, batch_size=16,
            n_invariance_samples=2, random_state=0)


@pytest.fixture(scope="session")
def digits():
    """60 flat 8x8 digit images in [0, 1] and their labels."""
    X, y = load_digits_images(random_state=0)
    return X[:60], y[:60]


@pytest.fixture(scope="session")
def tiny_params():
    return dict(TINY)


@pytest.fixture(scope="session")
def fitted(digits):
    from skmcevae import MCEVAE
    return MCEVAE(**TINY).fit(digits[0])


@pytest.fixture
def rng():
    return np.random.default_rng(0)
