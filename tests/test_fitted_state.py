"""After fit, the model answers from its fitted state: parameters changed later, a
warm start, and the layout of the images it returns."""

import copy

import numpy as np
import pytest
import torch

from skmcevae import MCEVAE


def test_set_params_after_fit_changes_nothing_the_model_answers(fitted, digits):
    X = digits[0]
    before = (fitted.transform(X), fitted.predict(X), fitted.get_feature_names_out(),
              fitted.score(X), fitted.canonicalize(X[:5]))
    changed = copy.deepcopy(fitted).set_params(latent_dim=5, group="SE2", n_clusters=7,
                                               rotation_range=10.0, likelihood="gaussian",
                                               assign_by="weights")
    after = (changed.transform(X), changed.predict(X), changed.get_feature_names_out(),
             changed.score(X), changed.canonicalize(X[:5]))
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert changed.inverse_transform(changed.transform(X)).shape == X.shape
    assert changed.sample(3)[0].shape == (3, 64)


@pytest.mark.parametrize("change", [{"n_clusters": 4}, {"latent_dim": 3},
                                    {"group": "SE2"}, {"likelihood": "gaussian"},
                                    {"hidden_size": 8}])
def test_warm_start_refuses_a_new_architecture(digits, tiny_params, change):
    model = MCEVAE(**dict(tiny_params, warm_start=True, max_epochs=1)).fit(digits[0])
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"warm_start=True.*{name}.*warm_start=False"):
        model.set_params(**change).fit(digits[0])


def test_warm_start_refuses_another_image_size(digits, tiny_params, rng):
    model = MCEVAE(**dict(tiny_params, warm_start=True, max_epochs=1)).fit(digits[0])
    with pytest.raises(ValueError, match="warm_start=True.*image_shape"):
        model.fit(rng.random((60, 1, 9, 9)))


def test_warm_start_keeps_the_cluster_numbering(digits):
    X, _ = digits
    params = dict(n_clusters=4, latent_dim=2, hidden_size=32, batch_size=16,
                  max_epochs=6, random_state=0, warm_start=True)
    model = MCEVAE(**params).fit(X)
    first, first_graph = model.labels_.copy(), model.history_[-1]["graph"]
    # The second fit draws a new graph (other seed, so other spectral numbering).
    model.set_params(random_state=1, max_epochs=1).fit(X)
    assert model.n_iter_ == 7
    assert np.mean(model.labels_ == first) > 0.8
    # The graph term goes on from where it was rather than starting over.
    assert model.history_[-1]["graph"] < 1.5 * first_graph + 0.1


def test_warm_start_keeps_the_optimiser_state(digits, tiny_params):
    model = MCEVAE(**dict(tiny_params, warm_start=True, max_epochs=1)).fit(digits[0])
    steps = _adam_steps(model)
    assert steps == 4  # 60 images, batches of 16
    model.fit(digits[0])
    assert _adam_steps(model) == 2 * steps
    cold = MCEVAE(**dict(tiny_params, max_epochs=1)).fit(digits[0]).fit(digits[0])
    assert _adam_steps(cold) == steps


def _adam_steps(model):
    state = model._optimizer_state["state"]
    return int(torch.as_tensor(next(iter(state.values()))["step"]).item())


@pytest.mark.parametrize("fit_layout", ["flat", "hw", "chw", "hwc"])
def test_image_outputs_follow_one_rule(digits, tiny_params, fit_layout):
    # Methods given images answer in the layout of their input; methods that make
    # images from codes answer in the layout of the fitted X.
    layouts = {"flat": digits[0], "hw": digits[0].reshape(-1, 8, 8),
               "chw": digits[0].reshape(-1, 1, 8, 8), "hwc": digits[0].reshape(-1, 8, 8, 1)}
    model = MCEVAE(**dict(tiny_params, max_epochs=1)).fit(layouts[fit_layout])
    for X in layouts.values():
        assert model.canonicalize(X[:5]).shape == X[:5].shape
        assert model.canonicalize(X[:5], align="encoder").shape == X[:5].shape
        fitted_shape = layouts[fit_layout].shape[1:]
        assert model.inverse_transform(model.transform(X[:5])).shape == (5,) + fitted_shape
    assert model.sample(2)[0].shape == (2,) + layouts[fit_layout].shape[1:]
