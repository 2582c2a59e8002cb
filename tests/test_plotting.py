"""Each picture renders to a PNG that is not blank."""

import io

import numpy as np
import pytest

from skmcevae import MCEVAE, plotting
from skmcevae.datasets import load_digits_images, random_poses

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.image import imread  # noqa: E402


def _png_pixels(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    buffer.seek(0)
    return imread(buffer)[..., :3]  # (H, W, RGBA) -> RGB in [0, 1]


def _assert_not_blank(fig):
    pixels = _png_pixels(fig)
    # A blank canvas is one colour; a drawn one has dark ink on a light page.
    assert pixels.std() > 0.05
    assert (pixels.mean(-1) < 0.5).mean() > 0.005


@pytest.fixture(scope="module")
def posed(digits):
    X, angles = random_poses(digits[0], "SO2", random_state=0)
    return X, digits[1], angles[:, 0]


def test_canonical_by_cluster(fitted, posed):
    fig = plotting.plot_canonical_by_cluster(fitted, posed[0], n_per_cluster=5)
    assert len(fig.axes) == 3 * 5
    _assert_not_blank(fig)


def test_reconstructions(fitted, posed):
    fig = plotting.plot_reconstructions(fitted, posed[0], n_images=6)
    assert len(fig.axes) == 3 * 6
    _assert_not_blank(fig)


def test_pictures_of_channels_last_colour_images_show_those_images(rng):
    X = rng.random((20, 8, 8, 3)).astype(np.float32)
    model = MCEVAE(n_clusters=2, max_epochs=1, hidden_size=8, random_state=0).fit(X)
    fig = plotting.plot_reconstructions(model, X, n_images=2)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), X[0])
    assert fig.axes[2].images[0].get_array().shape == (8, 8, 3)  # the canonical image


def test_samples(fitted):
    fig = plotting.plot_samples(fitted, n_per_cluster=4)
    assert len(fig.axes) == 3 * 4
    _assert_not_blank(fig)


def test_latent_with_and_without_labels(fitted, posed):
    assert len(plotting.plot_latent(fitted, posed[0]).axes) == 1
    fig = plotting.plot_latent(fitted, posed[0], posed[1])
    assert len(fig.axes) == 2
    _assert_not_blank(fig)


def test_pose(fitted, posed):
    fig = plotting.plot_pose(fitted, posed[0], posed[2])
    _assert_not_blank(fig)
    offsets = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 0], posed[2])
    np.testing.assert_allclose(offsets[:, 1], fitted.predict_pose(posed[0])[:, 0],
                               rtol=1e-5, atol=1e-4)
    diagonal = fig.axes[0].get_lines()[0].get_xydata()
    np.testing.assert_allclose(diagonal[:, 0], diagonal[:, 1])
    assert fig.axes[0].get_legend().get_title().get_text() == "cluster"


def test_pose_needs_a_group(digits, tiny_params):
    model = MCEVAE(**dict(tiny_params, group=None, max_epochs=1)).fit(digits[0])
    with pytest.raises(ValueError, match="group is None"):
        plotting.plot_pose(model, digits[0], np.zeros(60))


def test_history(fitted):
    fig = plotting.plot_history(fitted)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [e["loss"] for e in fitted.history_])
    _assert_not_blank(fig)


def test_canonical_images_remove_the_pose():
    # Trained with the upright images as the canonical target, the decoder's image
    # at tau = 0 must be nearer the upright digit than the posed input is, and the
    # pose must be what brings the reconstruction back to the posed input.
    X, _ = load_digits_images(random_state=0)
    upright = X[:200]
    posed, _ = random_poses(upright, "SO2", random_state=0)
    model = MCEVAE(n_clusters=3, latent_dim=2, hidden_size=32, batch_size=20,
                   max_epochs=15, invariance="supervised", n_neighbors=0,
                   random_state=0).fit(posed, X_canonical=upright)
    canonical = plotting.canonical_images(model, posed)
    rebuilt = model.inverse_transform(model.transform(posed))

    def error(a, b):
        return float(np.mean((a - b) ** 2))
    assert error(canonical, upright) < 0.7 * error(posed, upright)
    assert error(canonical, upright) < error(rebuilt, upright)
    assert error(rebuilt, posed) < error(canonical, posed)


def test_latent_colours_each_true_label_as_its_cluster(fitted, posed):
    X = posed[0]
    clusters = fitted.predict(X)
    renamed = np.array([30, 10, 20])[clusters]  # the true labels, named otherwise
    fig = plotting.plot_latent(fitted, X, renamed)
    by_cluster, by_label = ({tuple(c.get_offsets()[0]): c.get_facecolor()[0].tolist()
                             for c in ax.collections} for ax in fig.axes)
    assert by_cluster == by_label  # the same points in the same colours


@pytest.mark.parametrize("name", ["plot_canonical_by_cluster", "plot_reconstructions",
                                  "plot_samples", "plot_latent", "plot_pose",
                                  "plot_history"])
def test_every_plot_works_with_pandas_output(digits, tiny_params, posed, name):
    pytest.importorskip("pandas")
    model = MCEVAE(**tiny_params).set_output(transform="pandas").fit(digits[0])
    arguments = {"plot_canonical_by_cluster": (posed[0],), "plot_reconstructions":
                 (posed[0],), "plot_samples": (), "plot_latent": (posed[0], posed[1]),
                 "plot_pose": (posed[0], posed[2]), "plot_history": ()}[name]
    _assert_not_blank(getattr(plotting, name)(model, *arguments))
