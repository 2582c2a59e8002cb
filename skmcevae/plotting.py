"""Pictures of what a fitted :class:`~skmcevae.MCEVAE` learned (needs matplotlib).

Every function takes a fitted estimator (and data where it needs some) and returns a
:class:`matplotlib.figure.Figure`, made without pyplot so nothing global changes;
save it with ``fig.savefig("name.png")``. Install with ``pip install skmcevae[plots]``.

Examples
--------
>>> from skmcevae.plotting import plot_history
>>> # model: MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X), X: (40, 64)
>>> fig = plot_history(model)
>>> [ax.get_title() for ax in fig.axes][:2]
['loss', 'reconstruction']
"""

import math

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from .groups import GROUP_DIMS
from .objective import TERMS
from .validation import to_images

__all__ = ["canonical_images", "plot_canonical_by_cluster", "plot_reconstructions",
           "plot_samples", "plot_latent", "plot_pose", "plot_history"]


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("skmcevae.plotting needs matplotlib: pip install "
                          "matplotlib (or skmcevae[plots]).") from None
    return Figure(**kwargs)


def _as_pictures(model, X):
    """Images in any layout of the model's shape -> (n, H, W) or (n, H, W, 3) for
    imshow."""
    images, _ = to_images(X, model.image_shape_)
    if images.shape[1] == 3:
        return np.clip(images.transpose(0, 2, 3, 1), 0, 1)  # (n, 3, H, W) -> (n, H, W, 3)
    return images[:, 0]


def _image_grid(rows, row_labels, title):
    """A grid of pictures: ``rows`` is a list of (n_i, H, W[, 3]) arrays."""
    n_cols = max(1, max(len(r) for r in rows))
    fig = _figure(figsize=(0.9 * n_cols + 1.2, 0.9 * len(rows) + 0.6), layout="constrained")
    axes = fig.subplots(len(rows), n_cols, squeeze=False)
    for i, (pictures, label) in enumerate(zip(rows, row_labels)):
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(pictures):
                ax.imshow(pictures[j], cmap="gray", vmin=0, vmax=1)
            else:
                ax.set_axis_off()
        axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    return fig


def _codes(model, X):
    """``transform(X)`` as a numpy array, whatever ``set_output`` says."""
    return np.asarray(model.transform(X), dtype=np.float32)


def _without_pose(model, X, codes):
    """The codes of X from ``transform`` with the pose set to the display pose of
    each image's cluster: the cluster's display turn (its images' mean angle), the
    training images' mean shift and scale."""
    codes = codes.copy()
    pose = GROUP_DIMS[model.module_.config.group]
    if pose:
        images, _ = model._validate_predict_data(X)
        codes[:, -pose:] = model._display_poses(images)
    return codes


def canonical_images(model, X):
    """The decoder's pose-free picture of each image of X.

    Drawn by the decoder from the image's code at its cluster's display pose (the
    mean angle of the cluster's training images, their mean shift and scale): what
    the model thinks the object looks like in its typical pose, upright for digits
    turned within +-90 degrees. ``model.canonicalize(X)`` is the
    other canonical picture: the input's own pixels, turned (and centred) to match
    its cluster's prototype.

    Parameters
    ----------
    model : fitted MCEVAE
    X : array-like of images, as accepted by ``model.transform``

    Returns
    -------
    images : ndarray in the fitted X's layout
        ``inverse_transform`` of the codes of X with the pose set to the display
        pose of each image's cluster.

    Examples
    --------
    >>> # model: MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X), X: (40, 64)
    >>> canonical_images(model, X).shape
    (40, 64)
    """
    return model.inverse_transform(_without_pose(model, X, _codes(model, X)))


def plot_canonical_by_cluster(model, X, n_per_cluster=8):
    """What each cluster is: the decoder's pose-free images of its members.

    Each picture is :func:`canonical_images` of a member (decoded with no turn),
    not the member's own pixels turned (``model.canonicalize``).

    Parameters
    ----------
    model : fitted MCEVAE
    X : array-like of images, as accepted by ``model.predict``
    n_per_cluster : int, default=8
        Members shown per cluster (row), the most confident first.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One row per cluster, labelled with its index and size.

    Examples
    --------
    >>> # model: MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X), X: (40, 64)
    >>> fig = plot_canonical_by_cluster(model, X, n_per_cluster=4)
    >>> len(fig.axes)
    8
    """
    check_is_fitted(model)
    proba = model.predict_proba(X)
    labels = proba.argmax(1)
    canonical = _as_pictures(model, canonical_images(model, X))
    rows, names = [], []
    for k in range(model.module_.config.n_clusters):
        members = np.flatnonzero(labels == k)
        members = members[np.argsort(-proba[members, k])][:n_per_cluster]
        rows.append(canonical[members])
        names.append(f"{k} ({np.sum(labels == k)})")
    return _image_grid(rows, names,
                       "decoded pose-free images per cluster (cluster, size)")


def plot_reconstructions(model, X, n_images=8):
    """Inputs beside their canonical image and their reconstruction.

    Parameters
    ----------
    model : fitted MCEVAE
    X : array-like of images
    n_images : int, default=8
        The first ``n_images`` of X are drawn, one per column.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Three rows: input, canonical image, reconstruction.

    Examples
    --------
    >>> # model: MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X), X: (40, 64)
    >>> len(plot_reconstructions(model, X, n_images=5).axes)
    15
    """
    check_is_fitted(model)
    X = np.asarray(X)[:n_images]
    codes = _codes(model, X)
    rows = [_as_pictures(model, X),
            _as_pictures(model, model.inverse_transform(_without_pose(model, X, codes))),
            _as_pictures(model, model.inverse_transform(codes))]
    return _image_grid(rows, ["input", "canonical", "reconstruction"],
                       "inputs, canonical images and reconstructions")


def plot_samples(model, n_per_cluster=8, random_state=0):
    """Canonical images drawn from the prior of each cluster.

    Parameters
    ----------
    model : fitted MCEVAE
    n_per_cluster : int, default=8
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    fig : matplotlib.figure.Figure
        One row per cluster.

    Examples
    --------
    >>> # model: MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X), X: (40, 64)
    >>> len(plot_samples(model, n_per_cluster=3).axes)
    6
    """
    check_is_fitted(model)
    rows = [_as_pictures(model, model.sample(n_per_cluster, cluster=k,
                                             random_state=random_state)[0])
            for k in range(model.module_.config.n_clusters)]
    return _image_grid(rows, [str(k) for k in range(len(rows))],
                       "samples from each cluster's prior")


def plot_latent(model, X, y=None):
    """The cluster and style code [z_c, z] in 2-D (PCA), coloured by cluster.

    Parameters
    ----------
    model : fitted MCEVAE
    X : array-like of images
    y : array-like of shape (n_samples,) or None, default=None
        True labels; when given, a second panel colours the same points by them.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> # model: MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X), X: (40, 64)
    >>> len(plot_latent(model, X, y=np.arange(40) % 2).axes)
    2
    """
    check_is_fitted(model)
    config = model.module_.config
    codes = _codes(model, X)[:, :config.n_clusters + config.latent_dim]
    points = PCA(2, random_state=0).fit_transform(codes)
    clusters = model.predict(X)
    colourings = [("predicted cluster", clusters, {k: k for k in np.unique(clusters)})]
    if y is not None:
        y = np.asarray(y)
        colourings.append(("true label", y, _matched_colours(y, clusters)))
    fig = _figure(figsize=(5 * len(colourings), 4.5), layout="constrained")
    for ax, (name, values, colours) in zip(
            fig.subplots(1, len(colourings), squeeze=False)[0], colourings):
        for value, colour in colours.items():
            inside = values == value
            ax.scatter(points[inside, 0], points[inside, 1], s=6, label=str(value),
                       color=_colour(colour % 20))
        ax.legend(title=name, fontsize="small", loc="best", markerscale=2)
        ax.set_xlabel("PC 1 of [z_c, z]")
        ax.set_ylabel("PC 2")
        ax.set_title(f"latent code by {name}")
    return fig


def _colour(index):
    """The index-th colour of tab10, then of tab20 for more."""
    from matplotlib import colormaps
    name, size = ("tab10", 10) if index < 10 else ("tab20", 20)
    return colormaps[name].colors[index % size]


def _matched_colours(labels, clusters):
    """Colour of each true label: that of the cluster it is matched with (Hungarian
    matching of the confusion counts), so that the two panels agree where the
    clusters are right; labels left unmatched get colours of their own."""
    names = np.unique(labels)
    k = max(int(clusters.max()) + 1, 1)
    counts = np.zeros((len(names), k))
    np.add.at(counts, (np.searchsorted(names, labels), clusters), 1)
    rows, columns = linear_sum_assignment(counts, maximize=True)
    colours = dict(zip(names[rows], columns))
    spare = iter(range(k, k + len(names)))
    return {name: colours[name] if name in colours else next(spare) for name in names}


def plot_pose(model, X, true_angle):
    """Predicted rotation against the true one, in degrees, one colour per cluster.

    Each cluster's canonical image may sit at its own angle, so the points of a
    cluster lie on a line parallel to the diagonal, offset by that angle.

    Parameters
    ----------
    model : fitted MCEVAE with a group that rotates (SO2, SE2, SIM2)
    X : array-like of images
    true_angle : array-like of shape (n_samples,)
        The true rotations in degrees, e.g. ``random_poses(...)[1][:, 0]``.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> # model: MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X), X: (40, 64)
    >>> fig = plot_pose(model, X, true_angle=np.zeros(40))
    >>> fig.axes[0].get_xlabel()
    'true angle (degrees)'
    """
    check_is_fitted(model)
    config = model.module_.config
    if config.group is None:
        raise ValueError("plot_pose needs a model with a pose: group is None.")
    angle = model.predict_pose(X)[:, 0]  # degrees, as predict_pose reports it
    true_angle = np.asarray(true_angle)
    fig = _figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.subplots()
    scatter = ax.scatter(true_angle, angle, c=model.predict(X), cmap="tab10", s=6)
    ax.legend(*scatter.legend_elements(), title="cluster", fontsize="small",
              loc="upper left", markerscale=0.8)
    low, high = min(true_angle.min(), -180), max(true_angle.max(), 180)
    ax.plot([low, high], [low, high], color="grey", linewidth=0.8,
            label="predicted = true")
    ax.set_xlabel("true angle (degrees)")
    ax.set_ylabel("predicted angle, predict_pose (degrees)")
    ax.set_title("pose: predicted against true (diagonal: equal)")
    return fig


def plot_history(model):
    """Each loss term per epoch (and the validation loss with early stopping).

    Parameters
    ----------
    model : fitted MCEVAE

    Returns
    -------
    fig : matplotlib.figure.Figure
        One panel per term of ``model.history_``.
    """
    check_is_fitted(model)
    if not model.history_:
        raise ValueError("The model has no training history: it was fitted with "
                         "max_epochs=0.")
    names = list(TERMS) + (["validation_loss"] if "validation_loss" in model.history_[0]
                           else [])
    n_cols = 4
    fig = _figure(figsize=(3 * n_cols, 2.4 * math.ceil(len(names) / n_cols)),
                  layout="constrained")
    axes = fig.subplots(math.ceil(len(names) / n_cols), n_cols, squeeze=False).ravel()
    epochs = np.arange(1, len(model.history_) + 1)
    for ax, name in zip(axes, names):
        # Epochs of older versions lack the terms added since (NaN: not drawn).
        ax.plot(epochs, [epoch.get(name, np.nan) for epoch in model.history_],
                marker=".")
        ax.set_title(name)
        ax.set_xlabel("epoch")
    for ax in axes[len(names):]:
        ax.set_axis_off()
    return fig
