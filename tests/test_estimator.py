import copy
import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

import skmcevae.inference as inference_module
import skmcevae.training as training_module
from skmcevae import MCEVAE
from skmcevae.datasets import load_digits_images, random_poses
from skmcevae.inference import loadable_device, resolve_device
from skmcevae.readout import prototypes


def test_fit_sets_fitted_attributes(fitted, digits):
    X, _ = digits
    assert fitted.n_iter_ == 2 == len(fitted.history_)
    assert set(fitted.history_[0]) >= {"loss", "reconstruction", "invariance", "kl_z",
                                       "kl_tau", "kl_c", "consistency", "time"}
    assert fitted.n_features_in_ == 64
    assert tuple(fitted.image_shape_) == (1, 8, 8)
    assert isinstance(fitted.module_, torch.nn.Module)
    np.testing.assert_array_equal(fitted.labels_, fitted.predict(X))


def test_predict_and_proba_shapes(fitted, digits):
    X, _ = digits
    proba = fitted.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert (proba >= 0).all()
    labels = fitted.predict(X)
    assert labels.shape == (60,) and labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, proba.argmax(1))


def test_transform_columns_and_names(fitted, digits):
    Z = fitted.transform(digits[0])
    assert Z.shape == (60, 3 + 2 + 1) and Z.dtype == np.float32
    assert list(fitted.get_feature_names_out()) == ["z_c0", "z_c1", "z_c2", "z0", "z1",
                                                    "theta"]


def test_transform_to_pandas(digits, tiny_params):
    pd = pytest.importorskip("pandas")
    model = MCEVAE(**tiny_params).set_output(transform="pandas").fit(digits[0])
    frame = model.transform(digits[0])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns)[-1] == "theta" and frame.shape == (60, 6)


def test_fit_predict_equals_labels(digits, tiny_params):
    model = MCEVAE(**tiny_params)
    labels = model.fit_predict(digits[0])
    np.testing.assert_array_equal(labels, model.labels_)
    np.testing.assert_array_equal(labels, model.predict(digits[0]))


@pytest.mark.parametrize("layout", ["flat", "hw", "chw"])
def test_output_layout_follows_input_layout(digits, tiny_params, layout):
    X = {"flat": digits[0], "hw": digits[0].reshape(-1, 8, 8),
         "chw": digits[0].reshape(-1, 1, 8, 8)}[layout]
    model = MCEVAE(**tiny_params).fit(X)
    assert model.inverse_transform(model.transform(X)).shape == X.shape
    assert model.canonicalize(X).shape == X.shape
    assert model.sample(4)[0].shape == (4,) + X.shape[1:]


def test_multichannel_non_square_images(rng, tiny_params):
    X = rng.random((20, 3, 8, 12)).astype(np.float32)
    model = MCEVAE(**dict(tiny_params, group="SE2")).fit(X)
    assert model.transform(X).shape == (20, 3 + 2 + 3)
    assert model.inverse_transform(model.transform(X)).shape == X.shape
    flat = X.reshape(20, -1)
    model_flat = MCEVAE(**dict(tiny_params, image_shape=(3, 8, 12))).fit(flat)
    assert model_flat.predict(flat).shape == (20,)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64, np.uint8])
def test_any_numeric_dtype(dtype, digits, tiny_params):
    X = (digits[0] > 0.5).astype(dtype)  # integer images of 0s and 1s
    model = MCEVAE(**tiny_params).fit(X)
    reference = MCEVAE(**tiny_params).fit(X.astype(np.float32))
    np.testing.assert_allclose(model.transform(X), reference.transform(X), rtol=1e-5,
                               atol=1e-5)


def test_results_do_not_depend_on_inference_batching(fitted, digits, monkeypatch):
    X = digits[0]
    whole = fitted.transform(X), fitted.predict_proba(X), fitted.score_samples(X)
    monkeypatch.setattr(inference_module, "INFERENCE_BATCH", 7)
    pieces = fitted.transform(X), fitted.predict_proba(X), fitted.score_samples(X)
    for a, b in zip(whole, pieces):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_same_random_state_same_model(digits, tiny_params):
    X = digits[0]
    a = MCEVAE(**tiny_params).fit(X)
    b = MCEVAE(**tiny_params).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.history_[-1]["loss"] == b.history_[-1]["loss"]
    c = MCEVAE(**dict(tiny_params, random_state=1)).fit(X)
    assert not np.allclose(a.transform(X), c.transform(X))


def test_global_torch_rng_is_left_alone(digits, tiny_params):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MCEVAE(**tiny_params).fit(digits[0])
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("group", [None, "SO2", "SE2", "SIM2"])
@pytest.mark.parametrize("invariance", [None, "unsupervised", "supervised"])
def test_every_group_and_invariance_mode_trains(group, invariance, digits, tiny_params):
    X = digits[0]
    extra = {"X_canonical": X} if invariance == "supervised" else {}
    model = MCEVAE(**dict(tiny_params, group=group, invariance=invariance)).fit(X, **extra)
    assert np.isfinite([h["loss"] for h in model.history_]).all()
    width = 3 + 2 + {None: 0, "SO2": 1, "SE2": 3, "SIM2": 4}[group]
    assert model.transform(X).shape == (60, width)
    if invariance is None:  # what the term measures is tested in test_training.py
        assert model.history_[-1]["invariance"] == 0.0


def test_gaussian_likelihood_accepts_any_scale(digits, tiny_params):
    X = digits[0] * 16 - 3
    model = MCEVAE(**dict(tiny_params, likelihood="gaussian")).fit(X)
    assert np.isfinite(model.score(X))
    assert model.inverse_transform(model.transform(X)).min() < 0


def test_training_improves_the_elbo_and_reconstruction():
    X = load_digits_images(random_state=0)[0][:300]
    params = dict(n_clusters=3, latent_dim=4, hidden_size=32, batch_size=30,
                  random_state=0, invariance=None)
    untrained = MCEVAE(**dict(params, max_epochs=0)).fit(X)
    trained = MCEVAE(**dict(params, max_epochs=20)).fit(X)
    assert trained.score(X) > untrained.score(X) + 5
    assert trained.history_[-1]["loss"] < trained.history_[0]["loss"]
    rebuilt = trained.inverse_transform(trained.transform(X))
    error = np.mean((rebuilt - X) ** 2)
    assert error < np.mean((untrained.inverse_transform(untrained.transform(X)) - X) ** 2)
    assert error < np.mean((X.mean(0) - X) ** 2)  # better than the mean image


def test_score_samples_is_per_image_and_matches_score(fitted, digits):
    per_image = fitted.score_samples(digits[0])
    assert per_image.shape == (60,) and np.isfinite(per_image).all()
    assert fitted.score(digits[0]) == pytest.approx(per_image.mean(), rel=1e-6)
    assert fitted.score(np.zeros((5, 64))) != fitted.score(digits[0][:5])


def test_canonicalize_by_encoder_undoes_the_predicted_pose(fitted, digits):
    X = digits[0][:10]
    canonical = fitted.canonicalize(X, align="encoder")
    theta = fitted.transform(X)[:, -1]
    from skmcevae.groups import exp_map, invert_affine, warp
    expected = warp(torch.from_numpy(X.reshape(-1, 1, 8, 8)),
                    invert_affine(exp_map(torch.from_numpy(theta)[:, None], "SO2")))
    np.testing.assert_allclose(canonical, expected.numpy().reshape(10, -1), atol=1e-6)


def test_canonicalize_checks_align(fitted, digits):
    with pytest.raises(ValueError, match="align must be 'prototype' or 'encoder'"):
        fitted.canonicalize(digits[0], align="template")


def test_canonicalize_by_prototype_matches_each_cluster_prototype(fitted, digits):
    X = digits[0][:12]
    canonical = fitted.canonicalize(X)
    centres = prototypes(fitted.module_).numpy().reshape(3, -1)
    labels = fitted.predict(X)
    turned = canonical.reshape(12, -1)
    # Aligning can only bring an image closer to its prototype than it was.
    before = ((X - centres[labels]) ** 2).sum(1)
    after = ((turned - centres[labels]) ** 2).sum(1)
    assert (after <= before + 1e-3).mean() > 0.9
    assert canonical.shape == X.shape


def test_canonicalize_without_group_is_identity(digits, tiny_params):
    model = MCEVAE(**dict(tiny_params, group=None)).fit(digits[0])
    np.testing.assert_allclose(model.canonicalize(digits[0]), digits[0], atol=1e-6)


def test_sample_from_one_cluster(fitted):
    X, y = fitted.sample(6, cluster=2, random_state=0)
    assert X.shape == (6, 64) and y.tolist() == [2] * 6
    # Pixel means, shown at the cluster's display turn (corners turned in are 0).
    assert ((X >= 0) & (X < 1)).all() and (X > 0).mean() > 0.5
    X2, _ = fitted.sample(6, cluster=2, random_state=0)
    np.testing.assert_array_equal(X, X2)
    # The cluster asked for reaches the decoder: the same draws in another cluster
    # decode to other images.
    other, _ = fitted.sample(6, cluster=0, random_state=0)
    assert np.abs(other - X).max() > 1e-3
    mixed, clusters = fitted.sample(200, random_state=0)
    assert set(clusters.tolist()) == {0, 1, 2}
    with pytest.raises(ValueError, match="cluster must be in"):
        fitted.sample(2, cluster=3)


def test_sample_without_random_state_follows_the_estimators(fitted):
    # fitted has random_state=0: like scikit-learn's mixtures, every call draws the
    # same images, and they are those of random_state=0.
    first, second = fitted.sample(5)[0], fitted.sample(5)[0]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, fitted.sample(5, random_state=0)[0])
    assert np.abs(first - fitted.sample(5, random_state=1)[0]).max() > 1e-3


def test_warm_start_continues_training(digits, tiny_params):
    model = MCEVAE(**dict(tiny_params, warm_start=True)).fit(digits[0])
    first = model.module_
    model.fit(digits[0])
    assert model.n_iter_ == 4 and model.module_ is not first
    cold = MCEVAE(**tiny_params).fit(digits[0]).fit(digits[0])
    assert cold.n_iter_ == 2


def test_joblib_and_pickle_round_trip(fitted, digits, tmp_path):
    X = digits[0]
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.transform(X), fitted.transform(X))
    state = fitted.__getstate__()
    assert "module_" not in state
    assert all(t.device.type == "cpu" for t in state["_module_state"][1].values())


@pytest.mark.parametrize("device", ["cuda:0", "cuda:1"])
def test_model_fitted_on_gpu_loads_on_cpu(fitted, digits, monkeypatch, device):
    # What a model pickled on that GPU holds: the state, stored on the CPU, and the
    # name of the device it was fitted on.
    state = fitted.__getstate__()
    assert state["_fitted_device"] == "cpu"
    state["_fitted_device"] = device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = MCEVAE.__new__(MCEVAE)
    with pytest.warns(UserWarning, match=f"fitted on '{device}'.*loaded on the CPU"):
        loaded.__setstate__(state)
    assert next(loaded.module_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(loaded.predict(digits[0]), fitted.predict(digits[0]))


def test_a_model_from_a_second_gpu_loads_on_the_first(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.warns(UserWarning, match="fitted on 'cuda:1'.*loaded on 'cuda:0'"):
        assert loadable_device("cuda:1") == "cuda:0"
    assert loadable_device("cuda:0") == "cuda:0" and loadable_device("cuda") == "cuda"


def test_cuda_request_without_cuda_is_a_clear_error(digits, tiny_params, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available.*device='cpu'"):
        MCEVAE(**dict(tiny_params, device="cuda")).fit(digits[0])
    model = MCEVAE(**dict(tiny_params, device="auto")).fit(digits[0])
    assert next(model.module_.parameters()).device.type == "cpu"


def test_keyboard_interrupt_keeps_the_epochs_done(digits, tiny_params, monkeypatch):
    real_epoch = training_module.run_epoch
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training_module, "run_epoch", interrupted)
    with pytest.warns(UserWarning, match="interrupted after 1 epochs"):
        model = MCEVAE(**dict(tiny_params, max_epochs=5)).fit(digits[0])
    assert model.n_iter_ == 1
    assert model.predict(digits[0]).shape == (60,)


def test_a_diverging_fit_raises_floating_point_error(rng, tiny_params):
    # No shortcut: a learning rate this large makes the weights, then the images,
    # NaN. The Bernoulli likelihood must carry the NaN to the guard, not fail inside
    # torch (on CUDA that failure is a device-side assert).
    X = rng.random((64, 64)).astype(np.float32)
    model = MCEVAE(**dict(tiny_params, learning_rate=1e6, max_epochs=3))
    with pytest.raises(FloatingPointError, match="Lower learning_rate"):
        model.fit(X)
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_empty_clusters_warn(digits, tiny_params):
    with pytest.warns(Warning, match="clusters received training images"):
        MCEVAE(**dict(tiny_params, n_clusters=40, max_epochs=0,
                      assign_by="weights")).fit(digits[0])


def test_centroid_assignment_is_the_nearest_centre_of_z_c(digits, tiny_params):
    model = MCEVAE(**dict(tiny_params, assign_by="centroids",
                          test_rotations=1)).fit(digits[0])
    z_c = model.transform(digits[0])[:, :3]
    distance = ((z_c[:, None] - model.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(model.predict(digits[0]), distance.argmin(1))
    assert model.cluster_centers_.shape == (3, 3) and model.mixture_ is None


def test_mixture_assignment_gives_the_mixture_responsibilities(fitted, digits):
    fitted = copy.copy(fitted).set_params(test_rotations=1)
    z_c = fitted.transform(digits[0])[:, :3].astype(np.float64)
    proba = fitted.predict_proba(digits[0])
    np.testing.assert_allclose(proba, fitted.mixture_.predict_proba(z_c), rtol=1e-6)
    np.testing.assert_allclose(fitted.cluster_centers_, fitted.mixture_.means_,
                               rtol=1e-6)
    assert fitted.mixture_.covariance_type == "full"


@pytest.mark.parametrize("temperature", [0.2, None])
def test_weight_assignment_reads_the_encoder_weights(digits, tiny_params, temperature):
    model = MCEVAE(**dict(tiny_params, assign_by="weights", test_rotations=1,
                          cluster_temperature=temperature)).fit(digits[0])
    assert model.cluster_centers_ is None
    x = torch.from_numpy(digits[0].reshape(-1, 1, 8, 8))
    with torch.no_grad():
        w = torch.softmax(model.module_.encode(x)["c_logits"], 1).numpy()
    np.testing.assert_allclose(model.predict_proba(digits[0]), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.labels_, w.argmax(1))
    if temperature:  # tied: w is the softmax of the z_c mean
        z_c = model.transform(digits[0])[:, :3]
        np.testing.assert_allclose(np.log(w) - np.log(w).mean(1, keepdims=True),
                                   (z_c - z_c.mean(1, keepdims=True)) / temperature,
                                   rtol=1e-3, atol=1e-3)


def test_probabilities_average_the_turned_copies(fitted, digits):
    X = digits[0][:20]
    one = copy.copy(fitted).set_params(test_rotations=1)
    turned = [_turned(X, angle) for angle in (-90.0, 0.0, 90.0)]
    expected = np.mean([one.predict_proba(t) for t in turned], axis=0)
    three = copy.copy(fitted).set_params(test_rotations=3)
    np.testing.assert_allclose(three.predict_proba(X), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(fitted.labels_, fitted.predict(digits[0]))


def _turned(X, degrees):
    """Every image of X turned by the same angle, as the model turns its copies."""
    from skmcevae.groups import pose_matrix, warp
    x = torch.from_numpy(X.reshape(-1, 1, 8, 8))
    n = len(x)
    angle = torch.full((n,), np.radians(degrees), dtype=torch.float32)
    return warp(x, pose_matrix(angle, torch.zeros(n, 2), torch.zeros(n))).reshape(n, -1).numpy()


def test_auto_device_takes_cuda_when_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda:1") == "cuda:1"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ValueError, match="not a torch device"):
        resolve_device("gpu0")


def test_score_is_a_monte_carlo_elbo(fitted, digits):
    from skmcevae.objective import elbo_terms
    X = digits[0][:30]
    scores = fitted.score_samples(X)
    np.testing.assert_array_equal(scores, fitted.score_samples(X))  # random_state=0
    # An independent estimate: many draws through the module's own sampling path.
    module = fitted.module_.eval()
    x = torch.from_numpy(X.reshape(-1, 1, 8, 8))
    torch.manual_seed(0)
    with torch.no_grad():
        draws = torch.stack([elbo_terms(module, x)[1]["reconstruction"]
                             for _ in range(500)])
        _, terms = elbo_terms(module, x, sample=False)
    expected = -(draws.mean(0) + terms["kl_z"] + terms["kl_tau"] + terms["kl_c"]).numpy()
    spread = draws.std(0).numpy() / np.sqrt(16)  # standard error of 16 draws
    assert np.all(np.abs(scores - expected) < 5 * spread + 1e-3)
    assert abs(scores.mean() - expected.mean()) < 2 * spread.mean()
    # Evaluated at the means instead, the reconstruction term is not a bound: it is
    # what score used to report, and it is optimistic by more than the independent
    # estimate's own error (500 draws).
    at_means = -sum(terms.values()).numpy()
    error = np.sqrt((draws.var(0).numpy() / 500).sum()) / len(X)  # of the mean
    assert (at_means - expected).mean() > 5 * error


def test_predict_pose_reads_the_encoders_pose_in_named_units(digits, tiny_params):
    X = digits[0]
    model = MCEVAE(**dict(tiny_params, group="SE2")).fit(X)
    pose = model.predict_pose(X)
    assert pose.shape == (60, 3) and model.pose_names_ == ("angle_deg", "shift_x_px",
                                                           "shift_y_px")
    assert np.all(np.abs(pose[:, 0]) <= 180)
    flat = MCEVAE(**dict(tiny_params, group=None)).fit(X)
    assert flat.predict_pose(X).shape == (60, 0) and flat.pose_names_ == ()


def test_without_the_graph_cluster_k_is_still_the_priors_component_k(digits,
                                                                     tiny_params):
    # The read-out is numbered after the encoder's weights, whose cluster k is the
    # prior's component k that sample(cluster=k) and the prototypes draw from.
    from itertools import permutations
    X = digits[0]
    for seed in (0, 1, 2):
        model = MCEVAE(**dict(tiny_params, n_neighbors=0, random_state=seed)).fit(X)
        x = torch.from_numpy(X.reshape(-1, 1, 8, 8))
        with torch.no_grad():
            w = model.module_.encode(x)["c_logits"].argmax(1).numpy()
        agreement = {order: np.mean(np.array(order)[model.labels_] == w)
                     for order in permutations(range(3))}
        assert agreement[(0, 1, 2)] == max(agreement.values())


def test_a_failed_warm_start_leaves_the_optimiser_state_alone(digits, tiny_params):
    model = MCEVAE(**dict(tiny_params, warm_start=True, max_epochs=1)).fit(digits[0])
    before = copy.deepcopy(model._optimizer_state)
    with pytest.raises(FloatingPointError):
        model.set_params(learning_rate=1e6, max_epochs=3).fit(digits[0])
    for key, state in before["state"].items():
        for name, value in state.items():
            torch.testing.assert_close(model._optimizer_state["state"][key][name], value)


def test_an_unlearned_pose_warns(digits, tiny_params):
    from sklearn.exceptions import ConvergenceWarning
    X, _ = random_poses(digits[0], "SO2", random_state=0)
    with pytest.warns(ConvergenceWarning, match="pose has hardly been learned"):
        MCEVAE(**dict(tiny_params, max_epochs=0)).fit(X)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MCEVAE(**dict(tiny_params, group=None, max_epochs=0)).fit(X)


def test_the_prior_is_fitted_to_the_clusters_that_predict_gives(fitted, digits):
    # Component k of the prior (what sample(cluster=k) draws from) is the mean of the
    # codes weighted by predict_proba's column k, not the running mean of training,
    # which follows the encoder's weights w.
    X = digits[0]
    k, d = fitted.n_clusters, fitted.latent_dim
    proba = fitted.predict_proba(X)
    codes = np.asarray(fitted.transform(X))[:, :k + d]  # posterior means of [z_c, z]
    expected = proba.T @ codes / proba.sum(0)[:, None]
    mean, _ = fitted.module_.prior.moments()
    np.testing.assert_allclose(mean.detach().numpy(), expected, rtol=1e-3, atol=1e-3)


def test_a_conv_decoder_fits_and_a_warm_start_cannot_swap_the_decoder(digits, tiny_params):
    X = digits[0]
    model = MCEVAE(**dict(tiny_params, decoder="conv", warm_start=True)).fit(X)
    assert model.inverse_transform(model.transform(X)).shape == X.shape
    assert any(isinstance(layer, torch.nn.ConvTranspose2d)
               for layer in model.module_.decoder.modules())
    with pytest.raises(ValueError, match="decoder 'conv' -> 'dense'"):
        model.set_params(decoder="dense").fit(X)


def test_canonical_images_are_shown_at_the_training_images_mean_shift_and_scale(
        digits, tiny_params):
    from skmcevae.groups import compose, exp_map, log_map, pose_matrix, rotation_matrix
    X = digits[0]
    model = MCEVAE(**dict(tiny_params, group="SIM2")).fit(X)
    tau = torch.from_numpy(np.asarray(model.transform(X))[:, -4:]).double()
    shift = exp_map(tau, "SIM2")[:, :, 2].mean(0)
    expected = pose_matrix(torch.zeros(1, dtype=torch.float64), shift[None],
                           tau[:, 3].mean()[None])
    display = model.module_.display.double()[None]
    assert display[0, 0] == 0  # no turn
    torch.testing.assert_close(exp_map(display, "SIM2"), expected, atol=1e-5, rtol=1e-4)
    # sample() draws canonical images at that pose turned by the cluster's display
    # turn: the same as decoding the prior's codes with that pose appended.
    images, _ = model.sample(4, cluster=0, random_state=0)
    from skmcevae.readout import sample_codes
    codes, _ = sample_codes(model.module_, 4, 0, np.random.RandomState(0))
    turn = model.module_.display_turn[:1].double()
    shown = compose(exp_map(display, "SIM2"), rotation_matrix(turn))  # D R
    with_pose = np.hstack([codes, np.repeat(log_map(shown, "SIM2").float().numpy(), 4, 0)])
    np.testing.assert_allclose(images, model.inverse_transform(with_pose), atol=1e-5)
    # predict_pose measures from the canonical image as shown: sizes about the mean's.
    assert abs(np.log(model.predict_pose(X)[:, 3]).mean()) < 1e-4


def test_a_model_saved_by_0_5_loads_predicts_samples_and_refits(digits, tiny_params):
    # 0.5.0 saved no display pose and knew neither decoder nor neighbor_pose_weight.
    X = digits[0]
    model = MCEVAE(**dict(tiny_params, group="SIM2")).fit(X)
    state = model.__getstate__()
    config, weights = state["_module_state"]
    del weights["display"]
    del state["decoder"], state["neighbor_pose_weight"], state["canonical_weight"]
    del state["relabel_at"]
    old = MCEVAE.__new__(MCEVAE)
    old.__setstate__(copy.deepcopy(state))
    assert old.get_params()["decoder"] == "dense"
    assert old.get_params()["neighbor_pose_weight"] == 0.0  # as it was trained
    assert old.get_params()["canonical_weight"] == 1.0
    assert old.get_params()["relabel_at"] is None  # trained on the graph's clusters
    assert torch.equal(old.module_.display, torch.zeros(4))
    np.testing.assert_array_equal(old.predict(X), model.predict(X))
    images, _ = old.sample(3, random_state=0)
    assert np.isfinite(images).all()
    # Its history lacks the terms added since: the history plot still draws.
    for epoch in old.history_:
        del epoch["pose_target"], epoch["code_bound"]
    pytest.importorskip("matplotlib")
    from skmcevae.plotting import plot_history
    assert len(plot_history(old).axes) > 0
    from sklearn.base import clone
    clone(old).fit(X)


def test_collapsed_codes_give_a_read_out_not_a_traceback(digits, tiny_params):
    # A fit that diverged can leave codes far apart and some clusters collapsed onto
    # a point; scikit-learn's mixture then cannot invert a covariance.
    from skmcevae.readout import fit_readout
    X = digits[0]
    # Weights in which the scaled codes below collapse (the pose search's training
    # gives others, whose mixture happens to fit); the search plays no part here.
    model = MCEVAE(**dict(tiny_params, pose_search_step=None)).fit(X)
    with torch.no_grad():
        model.module_.cluster_head.out.weight.mul_(1e5)  # codes of a diverged fit
    images = np.concatenate([np.zeros((30, 64), np.float32), X]).reshape(-1, 1, 8, 8)
    # Before 0.9.0 one start on float32 codes failed here and all were refitted with
    # more regularisation, with a warning; read in float64, with starts that fail
    # left out, the mixture fits.
    readout = fit_readout(model.module_, images, "mixture", 0)
    proba = readout.proba(np.zeros((4, 3), dtype=np.float32))
    assert np.isfinite(proba).all() and np.allclose(proba.sum(1), 1)


def test_codes_no_mixture_can_fit_give_a_clear_error():
    from sklearn.exceptions import ConvergenceWarning
    from skmcevae.readout import _fit_mixture
    codes = np.full((40, 3), np.nan)
    with pytest.warns(ConvergenceWarning, match="collapsed onto a point"):
        with pytest.raises(ValueError, match="could not be fitted to the cluster codes"):
            _fit_mixture(codes, 3, 0)


def test_each_clusters_canonical_image_is_shown_at_its_images_mean_angle(digits,
                                                                        tiny_params):
    """With the pose search the decoder draws a cluster in any orientation; shown
    turned by the cluster's display turn, its images' angles from the canonical
    image as shown (predict_pose) average 0 in every cluster."""
    X, _ = random_poses(digits[0], "SO2", random_state=0)
    model = MCEVAE(**tiny_params).fit(X)
    angle = np.radians(model.predict_pose(X)[:, 0])
    for k in np.unique(model.labels_):
        inside = model.labels_ == k
        assert abs(np.degrees(np.angle(np.exp(1j * angle[inside]).mean()))) < 0.5
    turns = model.module_.display_turn.numpy()
    assert np.abs(turns).max() > 0  # the test would pass trivially without turns
