"""Every misuse answers with a clear error that names the fix."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skmcevae import MCEVAE

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
    ("nan", _with_nan(), {}, ValueError, "NaN"),
    ("infinity", _with_inf(), {}, ValueError, "infinity"),
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
    ("unknown invariance", GOOD, {"invariance": "weak"}, ValueError, "invariance must be"),
    ("unknown likelihood", GOOD, {"likelihood": "poisson"}, ValueError, "likelihood must be"),
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
    ("nan", _with_nan(), ValueError, "NaN"),
    ("out of range", GOOD * 2, ValueError, "likelihood='bernoulli' needs X in"),
    ("1-D", GOOD[0], ValueError, r"reshape\(1, -1\)"),
]


@pytest.mark.parametrize("case", PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES])
@pytest.mark.parametrize("method", ["predict", "transform", "score_samples"])
def test_bad_predict_input(small_model, case, method):
    _, X, error, message = case
    with pytest.raises(error, match=message):
        getattr(small_model, method)(X)


def test_inverse_transform_checks_the_code_width(small_model):
    with pytest.raises(ValueError, match="expected 6 .*made by transform"):
        small_model.inverse_transform(np.zeros((2, 5)))


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
    assert names.tolist()[:2] == ["z_c0", "z_c1"] and len(names) == 6
    with pytest.raises(ValueError, match="not equal to feature_names_in_"):
        model.get_feature_names_out(columns[::-1])
    with pytest.raises(ValueError, match="feature names of X differ"):
        model.predict(frame[columns[::-1]])
    model.fit(GOOD)  # refitted on an array: the names are gone
    assert not hasattr(model, "feature_names_in_")


def test_get_feature_names_out_checks_its_argument(small_model):
    with pytest.raises(ValueError, match="length equal to the number of features"):
        small_model.get_feature_names_out(["a", "b"])
    assert len(small_model.get_feature_names_out([f"x{i}" for i in range(64)])) == 6


def test_tags_say_what_is_true():
    from sklearn.utils import get_tags
    tags = get_tags(MCEVAE())
    assert tags.input_tags.three_d_array and not tags.input_tags.allow_nan
    assert tags.input_tags.positive_only
    assert not get_tags(MCEVAE(likelihood="gaussian")).input_tags.positive_only
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    assert tags.estimator_type == "clusterer"
