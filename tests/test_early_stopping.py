import copy

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

import skmcevae.training as training_module
from skmcevae import MCEVAE


def _scripted_validation(monkeypatch, losses, snapshots):
    """Make the validation loss follow ``losses``; keep the weights at each epoch."""
    calls = iter(losses)

    def scripted(module, images, index):
        snapshots.append(copy.deepcopy(module.state_dict()))
        return next(calls)

    monkeypatch.setattr(training_module, "validation_loss", scripted)


def test_stops_after_patience_and_restores_best_weights(digits, tiny_params, monkeypatch):
    snapshots = []
    _scripted_validation(monkeypatch, [5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 1.0], snapshots)
    model = MCEVAE(**dict(tiny_params, max_epochs=20, validation_fraction=0.25,
                          n_iter_no_change=2)).fit(digits[0])
    assert model.n_iter_ == 5  # best at epoch 3, two epochs without improvement
    assert [h["validation_loss"] for h in model.history_] == [5.0, 4.0, 3.0, 3.5, 3.6]
    best = snapshots[2]
    for name, value in model.module_.state_dict().items():
        # The prior, the display pose and turns are set after training, from the data.
        if not name.startswith("prior.") and name not in ("display", "display_turn"):
            torch.testing.assert_close(value, best[name])
    assert not torch.equal(snapshots[4]["decoder.net.2.weight"],
                           best["decoder.net.2.weight"])


def test_warns_when_still_improving_at_max_epochs(digits, tiny_params, monkeypatch):
    _scripted_validation(monkeypatch, [3.0, 2.0, 1.0], [])
    with pytest.warns(ConvergenceWarning, match="still improving.*raise max_epochs"):
        model = MCEVAE(**dict(tiny_params, max_epochs=3,
                              validation_fraction=0.2)).fit(digits[0])
    assert model.n_iter_ == 3


def test_real_validation_loss_is_recorded_and_labels_cover_all_images(digits, tiny_params):
    model = MCEVAE(**dict(tiny_params, max_epochs=3, validation_fraction=0.3,
                          n_iter_no_change=10))
    with pytest.warns(ConvergenceWarning):
        model.fit(digits[0])
    losses = [h["validation_loss"] for h in model.history_]
    assert len(losses) == 3 and np.isfinite(losses).all() and min(losses) > 0
    assert model.labels_.shape == (60,)
    np.testing.assert_array_equal(model.labels_, model.predict(digits[0]))


@pytest.mark.parametrize("fraction, message", [(1.5, r"in \(0, 1\)"),
                                                (0.001, "leaves no images"),
                                                (0.0, "finite positive")])
def test_bad_validation_fraction(digits, tiny_params, fraction, message):
    with pytest.raises(ValueError, match=message):
        MCEVAE(**dict(tiny_params, validation_fraction=fraction)).fit(digits[0])
