"""Every misuse answers with a clear error that names the fix."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skmcevae import MCEVAE
from skmcevae.validation import from_images, image_layout, to_images

GOOD = np.random.default_rng(0).random((20, 64)).astype(np.float32)


def _with_nan():
    X = GOOD.copy()
    X[3, 5] = np.nan
    return X


def _with_inf():
    X = GOOD.copy()
    X[0, 0] = np.inf
    return X


FIT_CASES = [
    ("nan", _with_nan(), {}, ValueError, r"in 1 image \(row 3\).*np.nan_to_num\(X"),
    ("infinity", _with_inf(), {}, ValueError,
     r"NaN or infinity in 1 image \(row 0\).*posinf=1.0"),
    ("empty", np.zeros((0, 64)), {}, ValueError, "0 sample"),
    ("one sample", GOOD[:1], {}, ValueError, "at least 2 images"),
    ("strings", np.array([["a"] * 64] * 4), {}, TypeError, "must hold numbers.*np.asarray"),
    ("objects", np.array([[object()] * 64] * 4, dtype=object), {}, TypeError,
     "must hold numbers.*np.asarray"),
    ("sparse", sp.csr_matrix(GOOD), {}, TypeError, "dense data is required|toarray"),
    ("1-D", GOOD[0], {}, ValueError, r"reshape\(1, -1\)"),
    ("not square", GOOD[:, :60], {}, ValueError, "not a square image; pass image_shape"),
    ("shape mismatch", GOOD, {"image_shape": (7, 7)}, ValueError, "holds 49 pixels"),
    ("too small", np.random.default_rng(0).random((20, 16)), {}, ValueError,
     "too small.*at least 8x8"),
    ("above one", GOOD * 255, {}, ValueError, r"X / 255.0\) or use likelihood='gaussian'"),
    ("below zero", GOOD - 0.5, {}, ValueError, r"\[0, 1\]"),
    ("unknown group", GOOD, {"group": "SO3"}, ValueError, "group must be one of"),
    ("no clusters", GOOD, {"n_clusters": 0}, ValueError, "n_clusters must be at least 1"),
    ("more clusters than images", GOOD, {"n_clusters": 21}, ValueError,
     "more than the 20 images"),
    ("negative learning rate", GOOD, {"learning_rate": -1e-3}, ValueError,
     "learning_rate must be a finite positive"),
    ("zero batch size", GOOD, {"batch_size": 0}, ValueError, "batch_size must be at least 1"),
    ("float epochs", GOOD, {"max_epochs": 2.5}, TypeError, "max_epochs must be an integer"),
    ("negative neighbours", GOOD, {"n_neighbors": -1}, ValueError,
     "n_neighbors must be at least 0"),
    ("float neighbours", GOOD, {"n_neighbors": 2.5}, TypeError,
     "n_neighbors must be an integer"),
    ("one landmark", GOOD, {"n_landmarks": 1}, ValueError, "n_landmarks must be at least 2"),
    ("float landmarks", GOOD, {"n_landmarks": 100.0}, TypeError,
     "n_landmarks must be an integer"),
    ("negative graph weight", GOOD, {"graph_weight": -1.0}, ValueError,
     "graph_weight must be a finite non-negative"),
    ("relabel at the end", GOOD, {"relabel_at": 1.0}, ValueError,
     r"relabel_at must be in \(0, 1\)"),
    ("relabel at the start", GOOD, {"relabel_at": 0}, ValueError,
     r"relabel_at must be in \(0, 1\)"),
    ("relabel at the end of a sequence", GOOD, {"relabel_at": (0.5, 1.0)}, ValueError,
     r"relabel_at must be in \(0, 1\).*got \(0.5, 1.0\)"),
    ("relabel at no epoch", GOOD, {"relabel_at": []}, ValueError,
     "relabel_at must hold at least one fraction"),
    ("relabel at a word", GOOD, {"relabel_at": ("half",)}, TypeError,
     "relabel_at must be a number in \\(0, 1\\), a sequence"),
    ("zero search step", GOOD, {"pose_search_step": 0}, ValueError,
     "pose_search_step must be a finite positive"),
    ("tiny search step", GOOD, {"pose_search_step": 0.1}, ValueError,
     "pose_search_step must be at least 0.5 degrees"),
    ("unknown invariance", GOOD, {"invariance": "weak"}, ValueError, "invariance must be"),
    ("unknown likelihood", GOOD, {"likelihood": "poisson"}, ValueError, "likelihood must be"),
    ("unknown decoder", GOOD, {"decoder": "deconv"}, ValueError, "decoder must be"),
    ("bad image_shape", GOOD, {"image_shape": (8,)}, ValueError, "image_shape must be"),
    ("supervised without canonical", GOOD, {"invariance": "supervised"}, ValueError,
     "needs X_canonical"),
]


@pytest.mark.parametrize("case", FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_bad_fit_input(case):
    _, X, params, error, message = case
    model = MCEVAE(**{"max_epochs": 1, "n_clusters": 2, **params})
    with pytest.raises(error, match=message):
        model.fit(X)
    assert not hasattr(model, "module_")


def test_canonical_images_of_another_shape():
    model = MCEVAE(invariance="supervised", n_clusters=2, max_epochs=1)
    with pytest.raises(ValueError, match="X_canonical"):
        model.fit(GOOD, X_canonical=GOOD[:, :49])


def test_canonical_images_without_supervised_mode():
    with pytest.raises(ValueError, match="only used with invariance='supervised'"):
        MCEVAE(n_clusters=2, max_epochs=1).fit(GOOD, X_canonical=GOOD)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "transform",
                                    "score", "canonicalize"])
def test_predict_before_fit(method):
    with pytest.raises(NotFittedError):
        getattr(MCEVAE(), method)(GOOD)


@pytest.fixture(scope="module")
def small_model():
    return MCEVAE(n_clusters=2, max_epochs=1, hidden_size=8, random_state=0).fit(GOOD)


PREDICT_CASES = [
    ("other size", np.random.default_rng(1).random((5, 100)), ValueError,
     "X has 100 features, but MCEVAE is expecting 64"),
    ("other channels", np.random.default_rng(1).random((5, 3, 8, 8)), ValueError,
     r"fitted on \(1, 8, 8\)"),
    ("nan", _with_nan(), ValueError, r"in 1 image \(row 3\).*np.nan_to_num\(X"),
    ("out of range", GOOD * 2, ValueError, "likelihood='bernoulli' needs X in"),
    ("1-D", GOOD[0], ValueError, r"reshape\(1, -1\)"),
    ("single image", GOOD[0].reshape(8, 8), ValueError,
     r"single image of shape \(8, 8\).*X\[None\], of shape \(1, 8, 8\)"),
    ("rows of another width", GOOD[:8, :9], ValueError,
     "X has 9 features, but MCEVAE is expecting 64"),
    ("empty list", [], ValueError, "X holds no images: pass at least one"),
    ("images of different sizes", [GOOD[0].reshape(8, 8), np.zeros((9, 9))], ValueError,
     r"differ in shape \(\(8, 8\), \(9, 9\)\); all must have one shape"),
]


@pytest.mark.parametrize("case", PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES])
@pytest.mark.parametrize("method", ["predict", "transform", "score_samples"])
def test_bad_predict_input(small_model, case, method):
    _, X, error, message = case
    with pytest.raises(error, match=message):
        getattr(small_model, method)(X)


def test_inverse_transform_checks_the_code_width(small_model):
    width = 2 + small_model.latent_dim + 1  # z_c, z and the SO2 angle
    with pytest.raises(ValueError, match=f"expected {width} .*made by transform"):
        small_model.inverse_transform(np.zeros((2, width - 1)))


def test_canonical_images_of_another_count_are_refused_before_any_work():
    model = MCEVAE(invariance="supervised", n_clusters=2, max_epochs=1)
    with pytest.raises(ValueError, match="X_canonical holds 10 images but X holds 20"):
        model.fit(GOOD, X_canonical=GOOD[:10])
    assert not hasattr(model, "module_")


def test_feature_names_of_a_dataframe(small_model):
    pd = pytest.importorskip("pandas")
    columns = [f"pixel{i}" for i in range(64)]
    frame = pd.DataFrame(GOOD, columns=columns)
    model = MCEVAE(n_clusters=2, max_epochs=1, hidden_size=8, random_state=0).fit(frame)
    assert model.feature_names_in_.tolist() == columns
    names = model.get_feature_names_out(columns)
    assert names.tolist()[:2] == ["z_c0", "z_c1"] and len(names) == 2 + model.latent_dim + 1
    with pytest.raises(ValueError, match="not equal to feature_names_in_"):
        model.get_feature_names_out(columns[::-1])
    with pytest.raises(ValueError, match="feature names of X differ"):
        model.predict(frame[columns[::-1]])
    model.fit(GOOD)  # refitted on an array: the names are gone
    assert not hasattr(model, "feature_names_in_")


def test_get_feature_names_out_checks_its_argument(small_model):
    with pytest.raises(ValueError, match="length equal to the number of features"):
        small_model.get_feature_names_out(["a", "b"])
    names = small_model.get_feature_names_out([f"x{i}" for i in range(64)])
    assert len(names) == 2 + small_model.latent_dim + 1


def test_tags_say_what_is_true():
    from sklearn.utils import get_tags
    tags = get_tags(MCEVAE())
    assert tags.input_tags.three_d_array and not tags.input_tags.allow_nan
    assert tags.input_tags.positive_only
    assert not get_tags(MCEVAE(likelihood="gaussian")).input_tags.positive_only
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    assert tags.estimator_type == "clusterer"


def test_nan_advice_is_about_images_not_tables():
    with pytest.raises(ValueError) as error:
        to_images(_with_nan())
    assert "HistGradientBoosting" not in str(error.value)
    assert "drop the images that hold them" in str(error.value)


@pytest.mark.parametrize("shape, layout", [
    ((5, 64), "flat"), ((5, 8, 8), "HW"), ((5, 3, 8, 8), "CHW"), ((5, 1, 8, 8), "CHW"),
    ((5, 8, 8, 8), "CHW"), ((5, 32, 32, 3), "HWC"), ((5, 8, 8, 1), "HWC"),
    ((5, 8, 12, 4), "HWC"), ((5, 3, 8, 3), "CHW"), ((5, 4, 16, 1), "CHW"),
    ((5, 40, 40, 2), "HWC"), ((5, 12, 12, 5), "HWC"), ((5, 2, 40, 40), "CHW")])
def test_image_layout_takes_the_last_axis_as_channels_only_when_the_second_is_not(
        shape, layout):
    assert image_layout(shape) == layout


def test_channels_last_images_are_read_and_restored():
    X = np.random.default_rng(2).random((6, 32, 32, 3)).astype(np.float32)
    images, layout = to_images(X)
    assert layout == "HWC" and images.shape == (6, 3, 32, 32)
    np.testing.assert_array_equal(images[2, 1], X[2, :, :, 1])
    np.testing.assert_array_equal(from_images(images, layout), X)


def test_two_channel_images_last_fit_and_answer_in_their_layout():
    # A last axis shorter than any image side holds channels (a two-channel
    # microscopy stack); it used to be read as 40 channels of 40x2 images.
    X = np.random.default_rng(4).random((10, 12, 12, 2)).astype(np.float32)
    model = MCEVAE(n_clusters=2, max_epochs=1, hidden_size=8, random_state=0).fit(X)
    assert model.module_.config.image_shape == (2, 12, 12)
    assert model.inverse_transform(model.transform(X[:3])).shape == (3, 12, 12, 2)
    assert model.sample(2)[0].shape == (2, 12, 12, 2)


def test_a_shape_that_may_be_channels_last_is_read_channels_first_with_a_warning():
    X = np.random.default_rng(4).random((10, 12, 12, 9)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"12 channels of 12x9 images.*"
                                         r"np.moveaxis\(X, -1, 1\)"):
        model = MCEVAE(n_clusters=2, max_epochs=1, hidden_size=8).fit(X)
    assert model.module_.config.image_shape == (12, 12, 9)


def test_an_ambiguous_shape_is_read_channels_first():
    X = np.random.default_rng(2).random((5, 3, 8, 3))
    with pytest.raises(ValueError, match=r"8x3 pixels are too small \(X of shape "
                                         r"\(5, 3, 8, 3\) read as \(n, C, H, W\)\)"):
        MCEVAE(n_clusters=2, max_epochs=1).fit(X)


RGB_FIRST = np.random.default_rng(3).random((20, 3, 8, 8)).astype(np.float32)
RGB_LAST = np.ascontiguousarray(np.moveaxis(RGB_FIRST, 1, -1))  # (20, 8, 8, 3)


@pytest.fixture(scope="module")
def rgb_models():
    params = dict(n_clusters=2, max_epochs=1, hidden_size=8, random_state=0)
    return MCEVAE(**params).fit(RGB_FIRST), MCEVAE(**params).fit(RGB_LAST)


def test_channels_last_fits_the_same_model_and_answers_channels_last(rgb_models):
    first, last = rgb_models
    assert last.image_shape_ == (3, 8, 8)
    np.testing.assert_allclose(last.transform(RGB_LAST), first.transform(RGB_FIRST),
                               atol=1e-5)
    # canonicalize answers in its input's layout, whatever fit saw.
    np.testing.assert_allclose(first.canonicalize(RGB_LAST),
                               np.moveaxis(first.canonicalize(RGB_FIRST), 1, -1),
                               atol=1e-5)
    # Images made from codes come back in the fitted X's layout.
    assert last.inverse_transform(last.transform(RGB_LAST[:4])).shape == (4, 8, 8, 3)
    assert last.sample(2)[0].shape == (2, 8, 8, 3)


@pytest.mark.parametrize("image", [RGB_FIRST[0], RGB_LAST[0]], ids=["CHW", "HWC"])
@pytest.mark.parametrize("method", ["predict", "transform"])
def test_a_single_colour_image_is_told_to_become_a_batch(rgb_models, image, method):
    with pytest.raises(ValueError, match=rf"single image of shape "
                                         rf"\({image.shape[0]}, 8, .*X\[None\]"):
        getattr(rgb_models[0], method)(image)
    assert getattr(rgb_models[0], method)(image[None]).shape[0] == 1


def test_group_names_in_any_case():
    model = MCEVAE(n_clusters=2, max_epochs=1, hidden_size=8, group="se2",
                   random_state=0).fit(GOOD)
    assert model.module_.config.group == "SE2" and model.group == "se2"
    assert model.pose_names_ == ("angle_deg", "shift_x_px", "shift_y_px")


def test_gaussian_likelihood_warns_on_eight_bit_values():
    with pytest.warns(UserWarning, match="unit variance.*standardise X"):
        MCEVAE(n_clusters=2, max_epochs=1, hidden_size=8, likelihood="gaussian",
               random_state=0).fit(GOOD * 255)
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="likelihood='gaussian'")
        MCEVAE(n_clusters=2, max_epochs=1, hidden_size=8, likelihood="gaussian",
               random_state=0).fit((GOOD - 0.5) * 4)


def test_the_error_for_non_finite_pixels_counts_the_images_past_the_first_chunk():
    X = np.random.default_rng(0).random((1100, 64))
    bad = [2, 9, 40, 300, 1023, 1024, 1099]
    X[bad[:4], 1] = np.nan
    X[bad[4:], 7] = -np.inf
    with pytest.raises(ValueError, match=r"in 7 images \(rows 2, 9, 40, 300, 1023, \.\.\.\)"):
        MCEVAE(max_epochs=1).fit(X)
