"""The scikit-learn estimator around the MCE-VAE torch core.

``MCEVAE.fit`` reads as the method: validate, build the module, find the neighbour
graph, train, fit the cluster read-out, label the training images. The work lives in
module-level functions of :mod:`skmcevae.graph`, :mod:`skmcevae.training`,
:mod:`skmcevae.readout` and :mod:`skmcevae.inference`; the methods that decode,
canonicalise, sample and score come from :mod:`skmcevae.generative`, saving and
loading from :mod:`skmcevae.persistence`.
"""

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .config import architecture_changes, configs
from .generative import GenerativeMixin
from .graph import fit_graph
from .groups import GROUP_PARAM_NAMES, POSE_NAMES
from .inference import (cuda_devices, encode, fit_display, resolve_device,
                        warn_if_pose_unlearned)
from .persistence import PersistenceMixin
from .progress import FitProgress
from .readout import (cluster_proba, fit_prior_to_clusters, fit_readout,
                      reference_clusters, turn_angles)
from .synchronisation import pose_targets
from .threads import fit_threads, torch_threads
from .training import build, relabel_epochs, resolve_epochs, split_validation, train
from .validation import (check_column_names, check_feature_names, check_fit_data,
                         check_params, check_predict_data, column_names)


class MCEVAE(GenerativeMixin, PersistenceMixin, ClusterMixin, TransformerMixin,
             BaseEstimator):
    """Multi-Clustering Equivariant Variational Autoencoder.

    Clusters images by what they show, whatever their pose (rotation, shift, scale),
    and recovers the pose and a canonical, pose-free image of each object. The
    cluster of an image is read from its cluster latent z_c.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters K (the size of z_c).
    latent_dim : int, default=6
        Size of the style latent z (the paper: 3). Six gave better clusters on
        turned digits, though a fit uses one to three of them and reconstructs
        slightly worse (benchmarks/results/levers-v0.11.md).
    group : {"SO2", "SE2", "SIM2"} or None, default="SO2"
        The poses the model factors out: rotations, rotations and shifts, those and
        scale, or nothing.
    invariance : {"unsupervised", "supervised"} or None, default="unsupervised"
        How the invariant code is learned: from random posed copies of each image,
        from canonical images passed to ``fit`` as ``X_canonical``, or not at all.
    n_invariance_samples : int, default=2
        Posed copies per image in the unsupervised invariance term (S). For
        ``group="SO2"`` with the graph term on, the graph term's turned copy is the
        first of them, so S = 2 costs one extra encoder pass per image.
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        Bernoulli for images in [0, 1]; unit-variance Gaussian otherwise.
    rotation_range : float, default=90.0
        Posed copies are rotated by angles uniform in [-rotation_range,
        rotation_range] degrees.
    translation_range : float, default=0.25
        Posed copies (SE2, SIM2) are shifted by up to this fraction of the image side
        on each axis.
    scale_range : float, default=0.2
        Posed copies (SIM2) are scaled by ``exp(u)``, u uniform in [-scale_range,
        scale_range].
    consistency_weight : float, default=10.0
        Weight of the mutual information between the cluster weights of an image and
        of its posed copies (unsupervised invariance only); it keeps all clusters in
        use and the assignment pose-invariant.
    canonical_weight : float, default=0.0
        Weight of a comparison of the canonical images of an image and of its posed
        copies in the unsupervised invariance term, on top of their codes (for SO2,
        and for SE2 and SIM2 without the neighbour graph). 1.0 trains as before
        0.10.0, with blurrier reconstructions on 28x28 digits
        (benchmarks/results/levers-v0.10.md, levers-v0.11.md).
    n_neighbors : int, default=7
        Pose-invariant nearest neighbours found before training (pixel distance
        minimised over rotations, after centring for SE2 and SIM2); they pair images
        in the mutual information and make the graph of ``graph_weight``. 0 turns
        both off. See :mod:`skmcevae.graph`.
    n_landmarks : int or None, default=10000
        With more training images, neighbours are searched among a random sample of
        this many (time linear in the number of images) and only their graph is
        clustered. None searches all.
    graph_weight : float, default=10.0
        Weight of the cross-entropy pulling the cluster weights w of each image, and
        of a turned copy, towards the spectral clusters of the neighbour graph.
    relabel_at : float, sequence of floats or None, default=0.5
        After this fraction of ``max_epochs``, the graph term's targets become the
        model's own clusters: a Gaussian mixture on the z_c means, as ``predict``
        reads them, numbered after the graph's. The graph's partition teaches the
        first epochs and the model's, purer by then, the rest
        (benchmarks/results/generative-v0.14.md, clustering-v0.14-plain-digits8.md).
        A sequence, such as ``(0.25, 0.5, 0.75)``, takes the model's clusters afresh
        at each fraction. Each time, the model's clusters are taken only if they
        put at least 85% as many pairs of pose-invariant neighbours in one cluster
        as the graph's clusters do; else the targets stay (``verbose=1`` prints
        which). Three relabellings, measured before that judgement: on rotated
        MNIST (3 seeds) samples were ``predict``'s cluster more often (0.944 ->
        0.953) and the clusters less accurate (0.929 -> 0.915;
        benchmarks/results/levers-v0.15.md); on rotated 8x8 digits (3 seeds) more
        accurate (0.700 -> 0.747; every relabelling there is taken when judged);
        on rotated and shifted digits (``group="SE2"``, two seeds) much less
        (0.781 -> 0.640, 0.859 -> 0.532): there the model's clusters after a
        quarter of the epochs put only 66-72% as many pairs together as the
        graph's, and were less accurate. Judged, these two fits end at 0.809 and
        0.813 (benchmarks/results/levers-v0.16.md, levers-v0.17.md). A warm
        start's relabelling before its first epoch is not judged. None keeps the
        graph's clusters throughout (the behaviour before 0.14.0).
    pose_weight : float, default=10.0
        Weight of the pose's equivariance: the pose of a turned copy of an image
        must be the image's pose turned (``exp(tau(g.x)) = exp(tau(x)) g``), on the
        whole circle when ``rotation_range=180``. 0 turns it off (the pose is then
        learned from the reconstruction alone).
    neighbor_pose_weight : float, default=10.0
        Weight of the same equivariance between an image and each pose-invariant
        neighbour, at the angle at which the neighbour search matched them: unlike a
        turned copy, a neighbour is another object of the cluster, so the term ties
        the canonical pose of a cluster's objects together. Turn and scale only.
        On digits turned over the full circle it took the equivariance error from
        57-98 degrees to 4-5 and the pose error from 74-76 to 17 (two seeds,
        benchmarks/results/levers-v0.6.md). The same weight holds each image's
        pose at the one the whole graph gives it: the neighbours' angles
        synchronised over each graph cluster (:mod:`skmcevae.synchronisation`),
        with the image's centre of mass (SE2, SIM2) and spread (SIM2); pair by
        pair, clusters of glyphs kept canonical images turned against each other.
        0 turns both off; they act only with a group,
        ``invariance="unsupervised"`` and ``n_neighbors > 0``.
    pose_search_step : float or None, default=10.0
        The encoder's turn is refined by a search, in training and after: the
        canonical image is drawn at the encoder's pose turned by each multiple of
        this many degrees within [-rotation_range, rotation_range], and the turn
        at the vertex of the parabola through the best turn's reconstruction error
        and its neighbours' is kept (so the step does not bound the precision).
        Over the full circle the encoder alone left some clusters' canonical images
        in two orientations; with the search glyph poses went from 15 to 2 degrees
        (:mod:`skmcevae.pose_search`, benchmarks/results/generative-v0.8.md). Each
        encoder pass then costs a decoder pass and one warp per turn tried. None
        turns it off (the encoder's pose alone, as before 0.8.0).
    test_rotations : int, default=1
        ``predict_proba`` averages the probabilities of this many copies turned
        evenly over [-rotation_range, rotation_range]: steadier under rotation (0.91
        -> 0.96 consistency on rotated MNIST with 7), but it costs accuracy on
        upright data and time. The one parameter read at prediction time; every
        other acts through the fitted state.
    cluster_temperature : float or None, default=0.2
        The cluster weights are ``w = softmax(z_c mean / cluster_temperature)``: a
        code's largest entry names its cluster, so that w and z_c agree. None gives
        w an output layer of its own (the authors' design).
    assign_by : {"mixture", "centroids", "weights"}, default="mixture"
        How the cluster is read from z_c after training: a Gaussian mixture (full
        covariances) fitted to the training images' z_c means, KMeans (a softmax of
        squared distances gives ``predict_proba``), or the encoder's weights w.
        The mixture is fitted from several starts; among those the data cannot
        tell from the most likely (``readout.tied_starts``), the one most likely
        under equal cluster weights (the model's prior) is kept, so ties go to
        clusters of equal size.
    hidden_size : int, default=512
        Width of the hidden layers of the z_c and z heads.
    decoder : {"dense", "conv"}, default="dense"
        The decoder of the canonical image: the authors' gated dense layers, or
        transposed convolutions up from a quarter of the resolution. On rotated
        MNIST (3 seeds, before the neighbours' pose term) "conv" reconstructed better (0.40 of the mean image's error
        against 0.44) with a better ELBO (-152.7 against -157.4 nats) and samples
        that ``predict`` puts in their cluster a little more often (0.81 against
        0.78), at the same clustering (accuracy 0.78 against 0.80, NMI 0.77
        against 0.76) and 1.5 times the fit time.
    max_epochs : int or "auto", default="auto"
        Passes over the data. "auto" trains for 2,000 optimiser steps within at
        most 40 epochs (5,000 images: 40 epochs), and never fewer than 20 epochs or
        1,000 steps (60,000 images: 20 epochs; 600 images: 167), since 120 steps
        learned the clusters but neither the pose nor recognisable pictures.
    batch_size : int, default=100
    learning_rate : float, default=1e-3
        Adam's step size.
    beta : float, default=1.0
        Weight of the KL terms of z and tau.
    validation_fraction : float or None, default=None
        Early stopping: hold out this fraction of the images, stop when their loss
        (the negative ELBO) has not improved for ``n_iter_no_change`` epochs, and
        keep the weights of the best epoch. None trains for ``max_epochs``.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    device : str, default="auto"
        Torch device; "auto" takes CUDA when available. Asking for "cuda" on a
        machine without CUDA raises a ValueError. A model pickled on a GPU loads on
        the CPU of a machine without one, with a warning.
    n_threads : int or None, default=None
        Torch CPU threads during ``fit``. None takes torch's count, lowered to the
        share a joblib or dask worker was given (``OMP_NUM_THREADS``). On a busy
        machine 1 can be several times faster than 2.
    mixed_precision : bool, default=False
        Run the network passes in bfloat16 autocast (the loss terms stay in
        float32). Worth it on GPUs with bf16 units; on most CPUs it is slower.
    random_state : int, RandomState instance or None, default=None
        Seeds weights, mini-batch order and sampling; on the CPU the same seed gives
        the same model.
    verbose : int, default=0
        0 prints nothing; 1 prints a line per epoch to standard output, with every
        loss term, the time elapsed and an estimate of the time left; 2 adds a
        progress bar within each epoch.
    image_shape : tuple or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of flat rows; None takes a square, single-channel
        image. Ignored for 3-D and 4-D input except as a check.
    warm_start : bool, default=False
        Continue training the fitted model on the next ``fit`` instead of starting
        afresh: its weights, optimiser state and cluster numbering carry over (the
        neighbour graph's clusters are renumbered to match). Parameters that shape
        the weights (``n_clusters``, ``latent_dim``, ``group``, ``likelihood``,
        ``hidden_size``, ``cluster_temperature``) cannot change; the image size
        neither.

    Attributes
    ----------
    module_ : MCEVAEModule
        The trained torch module.
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training image; equals ``predict(X)``.
    n_iter_ : int
        Epochs run.
    history_ : list of dict
        Batch-averaged loss terms per epoch (the names in
        ``skmcevae.objective.TERMS``: ``loss``, ``reconstruction``, the KL terms
        and the terms the loss adds), ``time``, and ``validation_loss`` with early
        stopping.
    n_features_in_ : int
        Pixels per image (C*H*W).
    image_shape_ : tuple
        ``(C, H, W)`` of the training images.
    cluster_centers_ : ndarray of shape (n_clusters, n_clusters) or None
        Centres of the clusters in z_c space (``assign_by`` "mixture" or
        "centroids").
    mixture_ : GaussianMixture or None
        The mixture fitted to the z_c means (``assign_by="mixture"``).
    readout_ : ClusterReadout
        How clusters are read from codes (:mod:`skmcevae.readout`).
    feature_names_in_ : ndarray of str
        Column names of X, when X was a DataFrame with string column names.
    pose_names_ : tuple of str
        Columns of :meth:`predict_pose`: ``angle_deg``, ``shift_x_px``,
        ``shift_y_px``, ``scale`` as far as the group has them.
    n_threads_ : int
        Torch CPU threads used by the last fit: torch's count, lowered to the share
        of the CPUs that a joblib or dask worker was given (``OMP_NUM_THREADS``).

    Notes
    -----
    Images come in as flat rows ``(n, C*H*W)``, ``(n, H, W)``, ``(n, C, H, W)`` or
    channels-last ``(n, H, W, C)``, the layout of image libraries. A 4-D array is
    read as channels-last when its last axis has 1, 3 or 4 entries and its second
    does not; otherwise, ambiguous shapes such as ``(n, 3, 8, 3)`` included, as
    channels-first. Methods that take images (``canonicalize``) return them in the
    layout of their own input; methods that make images from codes
    (``inverse_transform``, ``sample``) return the layout of the X given to ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmcevae import MCEVAE
    >>> X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images in [0, 1]
    >>> model = MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)
    >>> model.predict(X).shape, model.transform(X).shape
    ((40,), (40, 9))
    """

    def __init__(self, n_clusters=10, *, latent_dim=6, group="SO2",
                 invariance="unsupervised", n_invariance_samples=2,
                 likelihood="bernoulli", rotation_range=90.0, translation_range=0.25,
                 scale_range=0.2, consistency_weight=10.0, canonical_weight=0.0,
                 n_neighbors=7, n_landmarks=10000, graph_weight=10.0, relabel_at=0.5,
                 pose_weight=10.0,
                 neighbor_pose_weight=10.0, pose_search_step=10.0, test_rotations=1,
                 cluster_temperature=0.2,
                 assign_by="mixture", hidden_size=512, decoder="dense",
                 max_epochs="auto", batch_size=100,
                 learning_rate=1e-3, beta=1.0,
                 validation_fraction=None, n_iter_no_change=5, device="auto",
                 n_threads=None,
                 mixed_precision=False, random_state=None, verbose=0,
                 image_shape=None, warm_start=False):
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.group = group
        self.invariance = invariance
        self.n_invariance_samples = n_invariance_samples
        self.likelihood = likelihood
        self.rotation_range = rotation_range
        self.translation_range = translation_range
        self.scale_range = scale_range
        self.consistency_weight = consistency_weight
        self.canonical_weight = canonical_weight
        self.n_neighbors = n_neighbors
        self.n_landmarks = n_landmarks
        self.graph_weight = graph_weight
        self.relabel_at = relabel_at
        self.pose_weight = pose_weight
        self.neighbor_pose_weight = neighbor_pose_weight
        self.pose_search_step = pose_search_step
        self.test_rotations = test_rotations
        self.cluster_temperature = cluster_temperature
        self.assign_by = assign_by
        self.hidden_size = hidden_size
        self.decoder = decoder
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.beta = beta
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.mixed_precision = mixed_precision
        self.verbose = verbose
        self.image_shape = image_shape
        self.warm_start = warm_start

    # ----------------------------------------------------------------- fitting
    def fit(self, X, y=None, X_canonical=None):
        """Train the model on images X.

        Parameters
        ----------
        X : array-like of shape (n_samples, C*H*W), (n_samples, H, W), (n_samples, C, H, W) or (n_samples, H, W, C)
            Training images, in [0, 1] for the Bernoulli likelihood.
        y : ignored
        X_canonical : array-like of the shape of X, default=None
            The same images in their canonical pose; required by, and only used by,
            ``invariance="supervised"``.

        Returns
        -------
        self : MCEVAE
        """
        check_params(self)
        images, canonical, layout = check_fit_data(self.get_params(), X, X_canonical)
        model_config, loss_config = configs(self.get_params(), images.shape[1:])
        previous = self._previous_fit(model_config, images)
        device = resolve_device(self.device)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        with torch_threads(self.n_threads or fit_threads()) as n_threads:
            with torch.random.fork_rng(devices=cuda_devices(device)):
                torch.manual_seed(seed)
                module, optimiser = build(model_config, device, self.learning_rate,
                                          previous["module"], previous["optimizer"])
                rows, held_out = split_validation(len(images), self.validation_fraction)
                epochs = resolve_epochs(self.max_epochs, len(rows), self.batch_size)
                progress = FitProgress(self.verbose, len(previous["history"]), epochs,
                                       -(-len(rows) // self.batch_size))
                neighbors, graph_labels, angles = fit_graph(
                    images, rows, module, self.n_neighbors, self.n_landmarks,
                    bool(self.graph_weight), previous["labels"], progress)
                pairs = self.invariance == "unsupervised"
                history = train(
                    module, optimiser, (images, canonical), rows, loss_config,
                    max_epochs=epochs, batch_size=self.batch_size, held_out=held_out,
                    n_iter_no_change=self.n_iter_no_change,
                    neighbors=neighbors if pairs else None,
                    neighbor_angles=angles if pairs else None,
                    graph_labels=graph_labels,
                    relabel=relabel_epochs(self.relabel_at, epochs, seed,
                                           warm=previous["module"] is not None,
                                           neighbors=neighbors),
                    pose_targets=pose_targets(
                        module, images, neighbors, angles, rows, graph_labels,
                        warm=previous["module"] is not None)
                    if pairs and self.neighbor_pose_weight else None,
                    progress=progress)
            reference = reference_clusters(module, images, rows, graph_labels,
                                           previous["labels"])
            readout = fit_readout(module, images, self.assign_by, seed, reference)
            proba = cluster_proba(module, readout, images, self._turn_angles(module))
            labels = proba.argmax(1)
            # Both from the training rows: held-out images stay unseen.
            fit_prior_to_clusters(module, images, proba, rows)
            fit_display(module, images, labels, rows)
        self._set_fitted(module, optimiser, readout, labels, previous["history"] + history,
                         layout, X, n_threads)
        warn_if_pose_unlearned(self.module_, images)
        return self

    def _previous_fit(self, model_config, images):
        """What a warm start carries over (nothing when it does not): the module, the
        optimiser state, the history and the previous fit's cluster of each image."""
        if not (self.warm_start and hasattr(self, "module_")):
            return {"module": None, "optimizer": None, "history": [], "labels": None}
        fitted = self.module_.config
        changed = architecture_changes(fitted, model_config)
        if changed:
            detail = ", ".join(f"{name} {getattr(fitted, name)!r} -> "
                               f"{getattr(model_config, name)!r}" for name in changed)
            raise ValueError(f"warm_start=True continues the fitted model, whose weights "
                             f"do not fit the new settings ({detail}); restore them or "
                             f"set warm_start=False to train a new model.")
        labels = self._proba(images).argmax(1)
        return {"module": self.module_, "optimizer": self._optimizer_state,
                "history": list(self.history_), "labels": labels}

    def _set_fitted(self, module, optimiser, readout, labels, history, layout, X,
                    n_threads):
        self.module_ = module
        self._optimizer_state = optimiser.state_dict()
        self.readout_ = readout
        self.cluster_centers_ = readout.centers
        self.mixture_ = readout.mixture
        self.labels_ = labels
        self.history_ = history
        self.n_iter_ = len(history)
        self.image_shape_ = tuple(module.config.image_shape)
        self.pose_names_ = POSE_NAMES[module.config.group]
        self.n_features_in_ = int(np.prod(self.image_shape_))
        self._fit_layout = layout
        names = column_names(X)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_threads_ = n_threads
        used = np.unique(labels).size
        if used < module.config.n_clusters:
            warnings.warn(f"Only {used} of {module.config.n_clusters} clusters received "
                          f"training images; train longer or lower n_clusters.",
                          ConvergenceWarning)

    # --------------------------------------------------------------- inference
    def predict(self, X):
        """Cluster of each image, read from its cluster code z_c.

        Parameters
        ----------
        X : array-like of images, in any layout ``fit`` accepts

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The argmax of :meth:`predict_proba`.

        Examples
        --------
        >>> # model: MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X), as in
        >>> # the class example
        >>> labels = model.predict(X)
        >>> labels.shape, set(labels.tolist()) <= {0, 1}
        ((40,), True)
        """
        return self.predict_proba(X).argmax(1)

    def predict_proba(self, X):
        """How sure each assignment is: a probability per cluster.

        The read-out of ``assign_by`` applied to the z_c code, averaged over
        ``test_rotations`` turned copies of each image.

        Parameters
        ----------
        X : array-like of images, in any layout ``fit`` accepts

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Rows sum to 1.

        Examples
        --------
        >>> proba = model.predict_proba(X)  # model fitted as in the class example
        >>> proba.shape, bool(np.allclose(proba.sum(1), 1))
        ((40, 2), True)
        """
        images, _ = self._validate_predict_data(X)
        return self._proba(images)

    def _proba(self, images):
        """The fitted read-out's cluster probabilities (n, K) of validated images."""
        return cluster_proba(self.module_, self.readout_, images,
                             self._turn_angles(self.module_))

    def _turn_angles(self, module):
        return turn_angles(module.config.group, module.config.rotation_range,
                           self.test_rotations)

    def fit_predict(self, X, y=None, X_canonical=None):
        """Fit and return the cluster of each training image.

        Parameters
        ----------
        X, y, X_canonical : as for :meth:`fit`

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``labels_``, equal to ``predict(X)``.
        """
        return self.fit(X, X_canonical=X_canonical).labels_

    def transform(self, X):
        """The latent code of each image: cluster part, style part and pose.

        Parameters
        ----------
        X : array-like of images, in any layout ``fit`` accepts

        Returns
        -------
        Z : ndarray of shape (n_samples, n_clusters + latent_dim + d)
            Posterior means ``[z_c, z, tau]``; d is 0, 1, 3 or 4 for no group, SO2,
            SE2 and SIM2. Column names come from :meth:`get_feature_names_out`.

        Examples
        --------
        >>> model.transform(X).shape  # model fitted as in the class example
        (40, 9)
        >>> model.get_feature_names_out().tolist()
        ['z_c0', 'z_c1', 'z0', 'z1', 'z2', 'z3', 'z4', 'z5', 'theta']
        """
        images, _ = self._validate_predict_data(X)
        heads = encode(self.module_, images, ("c_mean", "z_mean", "tau_mean"))
        return np.concatenate(heads, axis=1)

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of :meth:`transform`.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked as scikit-learn checks it: when given, it must hold
            ``n_features_in_`` names, equal to ``feature_names_in_`` if X had
            column names. The output names do not depend on it.

        Returns
        -------
        names : ndarray of str
            ``z_c0 .. z_c{K-1}``, ``z0 .. z{d-1}`` and the pose parameters
            (``theta``; ``u1``, ``u2``; ``log_scale``).
        """
        check_is_fitted(self)
        check_feature_names(self, input_features)
        config = self.module_.config
        names = ([f"z_c{i}" for i in range(config.n_clusters)]
                 + [f"z{i}" for i in range(config.latent_dim)]
                 + list(GROUP_PARAM_NAMES[config.group]))
        return np.asarray(names, dtype=object)

    def _validate_predict_data(self, X):
        """Images (n, C, H, W) and the layout of X, checked against the fitted shape."""
        check_is_fitted(self)
        check_column_names(self, X)
        return check_predict_data(X, self.image_shape_, self.module_.config.likelihood)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # (n, H, W) and (n, C, H, W) images
        tags.input_tags.positive_only = self.likelihood == "bernoulli"
        tags.transformer_tags.preserves_dtype = ["float32"]  # codes are float32
        return tags
