"""The scikit-learn estimator around the MCE-VAE torch core."""

import copy
import math
import numbers
import time
import warnings
from functools import partial

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from .alignment import canonical_matrices
from .devices import cuda_devices, loadable_device, resolve_device
from .groups import (GROUP_DIMS, GROUP_PARAM_NAMES, exp_map, invert_affine, rotate,
                     warp)
from .images import check_unit_range, from_images, to_images
from .model import MCEVAEModule, ModelConfig
from .neighbors import graph_clusters, pose_invariant_neighbors
from .params import check_params
from .progress import FitProgress
from .threads import fit_threads, torch_threads
from .training import (TERMS, LossConfig, apply_in_batches, batch_loss, negative_elbo,
                       validation_loss)

# Measured fastest on a 2-core CPU for 28x28 images (benchmarks/results/speed-cpu.md).
_INFERENCE_BATCH = 128


class _EarlyStopping:
    """Tracks the validation loss, keeps the best weights, says when to stop."""

    def __init__(self, patience):
        self.patience = patience
        self.best = math.inf
        self.best_state = None
        self.since_best = 0

    def should_stop(self, epoch, module):
        if epoch["validation_loss"] < self.best:
            self.best, self.since_best = epoch["validation_loss"], 0
            self.best_state = copy.deepcopy(module.state_dict())
        else:
            self.since_best += 1
        return self.since_best >= self.patience

    def restore_best(self, module):
        if self.best_state is not None:
            module.load_state_dict(self.best_state)


class _Rows:
    """The rows ``rows`` of an array, read lazily (the array may be a memmap)."""

    def __init__(self, array, rows):
        self.array, self.rows = array, rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        return self.array[self.rows[index]]


class MCEVAE(ClusterMixin, TransformerMixin, BaseEstimator):
    """Multi-Clustering Equivariant Variational Autoencoder.

    Clusters images by what they show, whatever their pose (rotation, shift, scale),
    and recovers the pose and a canonical, pose-free image of each object. The
    cluster of an image is read from its cluster latent z_c.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters K (the size of z_c).
    latent_dim : int, default=3
        Size of the style latent z.
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
    n_neighbors : int, default=7
        Before training, each image's nearest neighbours are found by a pixel
        distance minimised over a grid of rotations within ``rotation_range``
        (after centring, for SE2 and SIM2; plain distances for ``group=None``).
        With unsupervised invariance the mutual information is also taken between
        each image and a posed copy of one of its neighbours. 0 turns the
        neighbours off, and with them ``graph_weight``.
    n_landmarks : int or None, default=10000
        With more training images than this, neighbours are searched only among a
        random sample of ``n_landmarks`` of them (the landmarks), so the search costs
        time in proportion to the number of images rather than its square; only the
        landmarks' graph is clustered and every other image takes the cluster most
        common among its neighbours. None searches and clusters all images.
    graph_weight : float, default=10.0
        Weight of the cross-entropy that pulls the cluster weights w, of each image
        and of a randomly posed copy of it, towards the spectral clusters of the
        graph linking each training image to its ``n_neighbors`` neighbours: images
        joined by many short paths show the same thing. 0 turns it off.
    test_rotations : int, default=1
        ``predict_proba``, ``predict`` and ``labels_`` average the cluster
        probabilities of this many turned copies of each image, at angles evenly
        spaced over [-rotation_range, rotation_range] (the image itself among them
        when odd), so that an image's cluster changes less when it turns. Inference
        costs proportionally more. On data whose poses do span the range it raised
        rotation consistency on rotated MNIST from 0.91 to 0.96 with 7; on upright
        data it costs accuracy, so 1 (the image alone) is the default. Ignored for
        ``group=None``.
    cluster_temperature : float or None, default=0.2
        The cluster weights are ``w = softmax(z_c mean / cluster_temperature)``, the
        responsibilities of the one-hot prior centres, so that w and z_c agree. None
        gives w an output layer of its own (the authors' design).
    assign_by : {"mixture", "centroids", "weights"}, default="mixture"
        How an image's cluster is read from z_c: "mixture" fits a Gaussian mixture
        (full covariances) to the z_c means of the training images after training,
        and ``predict_proba`` gives its responsibilities; "centroids" fits KMeans
        instead and assigns the nearest centre (``predict_proba`` is a softmax of
        the squared distances over one shared variance); "weights" takes the
        encoder's mixture weights w.
    hidden_size : int, default=512
        Width of the hidden layers of the z_c and z heads.
    max_epochs : int, default=20
        Passes over the data.
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
        afresh.

    Attributes
    ----------
    module_ : MCEVAEModule
        The trained torch module.
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training image; equals ``predict(X)``.
    n_iter_ : int
        Epochs run.
    history_ : list of dict
        Batch-averaged loss terms per epoch (``loss``, ``reconstruction``,
        ``invariance``, ``kl_z``, ``kl_tau``, ``kl_c``, ``consistency``), ``time``,
        and ``validation_loss`` with early stopping.
    n_features_in_ : int
        Pixels per image (C*H*W).
    image_shape_ : tuple
        ``(C, H, W)`` of the training images.
    cluster_centers_ : ndarray of shape (n_clusters, n_clusters) or None
        Centres of the clusters in z_c space (``assign_by`` "mixture" or
        "centroids").
    mixture_ : GaussianMixture or None
        The mixture fitted to the z_c means (``assign_by="mixture"``).
    n_threads_ : int
        Torch CPU threads used by the last fit: torch's count, lowered to the share
        of the CPUs that a joblib or dask worker was given (``OMP_NUM_THREADS``).

    Examples
    --------
    >>> import numpy as np
    >>> from skmcevae import MCEVAE
    >>> X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images in [0, 1]
    >>> model = MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)
    >>> model.predict(X).shape, model.transform(X).shape
    ((40,), (40, 6))
    """

    def __init__(self, n_clusters=10, *, latent_dim=3, group="SO2",
                 invariance="unsupervised", n_invariance_samples=2,
                 likelihood="bernoulli", rotation_range=90.0, translation_range=0.25,
                 scale_range=0.2, consistency_weight=10.0, n_neighbors=7,
                 n_landmarks=10000, graph_weight=10.0, test_rotations=1,
                 cluster_temperature=0.2,
                 assign_by="mixture", hidden_size=512, max_epochs=20, batch_size=100,
                 learning_rate=1e-3, beta=1.0,
                 validation_fraction=None, n_iter_no_change=5, device="auto",
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
        self.n_neighbors = n_neighbors
        self.n_landmarks = n_landmarks
        self.graph_weight = graph_weight
        self.test_rotations = test_rotations
        self.cluster_temperature = cluster_temperature
        self.assign_by = assign_by
        self.hidden_size = hidden_size
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.beta = beta
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
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
        X : array-like of shape (n_samples, C*H*W), (n_samples, H, W) or (n_samples, C, H, W)
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
        images, ndim = self._validate_fit_data(X, X_canonical)
        canonical = None
        if X_canonical is not None:
            canonical, _ = to_images(X_canonical, images.shape[1:], name="X_canonical")
            self._check_values(canonical, "X_canonical")
        device = resolve_device(self.device)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        with torch_threads(fit_threads()) as n_threads:
            with torch.random.fork_rng(devices=cuda_devices(device)):
                torch.manual_seed(seed)
                module, history = self._train(images, canonical, device)
            self.module_ = module
            self.history_ = history
            self.n_iter_ = len(history)
            self.image_shape_ = images.shape[1:]
            self.n_features_in_ = int(np.prod(images.shape[1:]))
            self._input_ndim = ndim
            self._device = device
            self._fit_centroids(images, seed)
            self.labels_ = self._predict_proba(images).argmax(1)
        self.n_threads_ = n_threads
        self._warn_on_empty_clusters()
        return self

    def _validate_fit_data(self, X, X_canonical):
        images, ndim = to_images(X, self.image_shape)
        if images.shape[0] < 2:
            raise ValueError(f"MCEVAE needs at least 2 images to fit, got "
                             f"{images.shape[0]}.")
        if self.n_clusters > images.shape[0]:
            raise ValueError(f"n_clusters={self.n_clusters} is more than the "
                             f"{images.shape[0]} images in X.")
        self._check_values(images, "X")
        if X_canonical is None and self.invariance == "supervised":
            raise ValueError("invariance='supervised' needs X_canonical, the canonical "
                             "images, in fit(X, X_canonical=...).")
        if X_canonical is not None and self.invariance != "supervised":
            raise ValueError(f"X_canonical is only used with invariance='supervised', "
                             f"but invariance={self.invariance!r}.")
        return images, ndim

    def _check_values(self, images, name):
        if self.likelihood == "bernoulli":
            check_unit_range(images, name)

    def _train(self, images, canonical, device):
        reuse = self.warm_start and hasattr(self, "module_")
        if reuse and tuple(self.module_.config.image_shape) != images.shape[1:]:
            raise ValueError("warm_start=True needs images of the fitted shape "
                             f"{self.image_shape_}, got {images.shape[1:]}.")
        module = copy.deepcopy(self.module_) if reuse else MCEVAEModule(self._config(images))
        module.to(device)
        history = list(self.history_) if reuse else []
        optimiser = torch.optim.Adam(module.parameters(), lr=self.learning_rate)
        loss_config = self._loss_config()
        train, held_out = self._split_validation(images.shape[0])
        neighbors, landmarks = self._neighbors(images, train, device)
        graph_labels = self._graph_labels(neighbors, train, landmarks)
        # Neighbour pairs enter the mutual information of the unsupervised invariance.
        pairs = neighbors if self.invariance == "unsupervised" else None
        stopper = _EarlyStopping(self.n_iter_no_change) if held_out is not None else None
        progress = FitProgress(self.verbose, len(history), self.max_epochs,
                               n_batches=-(-len(train) // self.batch_size))
        start = time.perf_counter()
        try:
            for _ in range(self.max_epochs):
                epoch = _run_epoch(module, optimiser, (images, canonical), train,
                                   loss_config, self.batch_size, device,
                                   neighbors=pairs, graph_labels=graph_labels,
                                   on_batch=progress.batch_done)
                if stopper is not None:
                    epoch["validation_loss"] = validation_loss(module, images, held_out)
                epoch["time"] = time.perf_counter() - start
                history.append(epoch)
                progress.epoch_done(epoch)
                if stopper is not None and stopper.should_stop(epoch, module):
                    break
            else:
                if stopper is not None:
                    warnings.warn(f"The validation loss was still improving after "
                                  f"max_epochs={self.max_epochs}; raise max_epochs.",
                                  ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn(f"Training interrupted after {len(history)} epochs; the "
                          f"model keeps the weights reached so far.", UserWarning)
        if stopper is not None:
            stopper.restore_best(module)
        module.eval()
        return module, history

    def _neighbors(self, images, rows, device):
        """(n, k) pose-invariant neighbours of the training ``rows`` among themselves
        or among their landmarks, as indices into ``images`` (rows elsewhere are never
        read), and the landmarks as positions in ``rows`` (None for all); (None, None)
        when neighbours are off."""
        if not self.n_neighbors or len(rows) < 2:
            return None, None
        subset = images if len(rows) == len(images) else _Rows(images, rows)
        landmarks = self._landmarks(len(rows))
        found = pose_invariant_neighbors(subset, self.n_neighbors, self.group,
                                         math.radians(self.rotation_range), device,
                                         candidates=landmarks)
        neighbors = np.zeros((len(images), found.shape[1]), dtype=np.int64)
        neighbors[rows] = rows[found]
        return neighbors, landmarks

    def _landmarks(self, n_rows):
        if self.n_landmarks is None or n_rows <= self.n_landmarks:
            return None
        rng = np.random.default_rng(int(torch.randint(2 ** 31 - 1, ()).item()))
        return np.sort(rng.choice(n_rows, self.n_landmarks, replace=False))

    def _graph_labels(self, neighbors, rows, landmarks):
        """Spectral clusters of the training rows' neighbour graph, indexed like the
        images (other rows are never read); None when off."""
        if neighbors is None or not self.graph_weight:
            return None
        seed = int(torch.randint(2 ** 31 - 1, ()).item())
        found = np.searchsorted(rows, neighbors[rows])  # image indices -> positions in rows
        labels = np.zeros(len(neighbors), dtype=np.int64)
        labels[rows] = graph_clusters(found, self.n_clusters, seed, nodes=landmarks)
        return labels

    def _split_validation(self, n_images):
        """Indices of the training and the held-out images (None without early stopping).

        Indices, not copies: X may be a memmap larger than memory.
        """
        if self.validation_fraction is None:
            return np.arange(n_images), None
        n_held = int(round(self.validation_fraction * n_images))
        if n_held < 1 or n_held >= n_images:
            raise ValueError(f"validation_fraction={self.validation_fraction} leaves no "
                             f"images to validate or to train on with {n_images} images.")
        order = torch.randperm(n_images).numpy()
        return np.sort(order[n_held:]), np.sort(order[:n_held])

    def _config(self, images):
        return ModelConfig(image_shape=tuple(images.shape[1:]), n_clusters=self.n_clusters,
                           latent_dim=self.latent_dim, group=self.group,
                           likelihood=self.likelihood, hidden_size=self.hidden_size,
                           cluster_temperature=self.cluster_temperature)

    def _loss_config(self):
        return LossConfig(likelihood=self.likelihood, beta=self.beta,
                          invariance=self.invariance,
                          n_samples=self.n_invariance_samples, group=self.group,
                          rotation_range=math.radians(self.rotation_range),
                          translation_range=2 * self.translation_range,
                          scale_range=self.scale_range,
                          consistency_weight=self.consistency_weight,
                          graph_weight=self.graph_weight,
                          mixed_precision=self.mixed_precision)

    def _fit_centroids(self, images, seed):
        """A Gaussian mixture (``assign_by="mixture"``) or KMeans ("centroids") on the
        z_c means of the training images.

        Measured on rotated MNIST, either read-out of the learned z_c code is a better
        cluster than the argmax of the encoder's weights w, and with the graph term the
        mixture was as good as KMeans or better in all ten runs recorded in
        benchmarks/results/readouts.md.
        """
        self.cluster_centers_ = self.cluster_scale_ = self.mixture_ = None
        if self.assign_by == "weights":
            return
        codes, = self._encode(images, ("c_mean",))
        if self.assign_by == "mixture":
            self.mixture_ = GaussianMixture(self.n_clusters, covariance_type="full",
                                            n_init=3, random_state=seed).fit(codes)
            self.cluster_centers_ = self.mixture_.means_.astype(np.float32)
            return
        kmeans = KMeans(self.n_clusters, n_init=10, random_state=seed).fit(codes)
        self.cluster_centers_ = kmeans.cluster_centers_.astype(np.float32)
        # One shared spherical variance turns distances into probabilities.
        self.cluster_scale_ = max(kmeans.inertia_ / codes.size, 1e-12)

    def _warn_on_empty_clusters(self):
        used = np.unique(self.labels_).size
        if used < self.n_clusters:
            warnings.warn(f"Only {used} of {self.n_clusters} clusters received training "
                          f"images; train longer or lower n_clusters.",
                          ConvergenceWarning)

    # --------------------------------------------------------------- inference
    def predict(self, X):
        """Cluster of each image, read from its cluster code z_c.

        Parameters
        ----------
        X : array-like of images, in the layout given to ``fit``

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The argmax of :meth:`predict_proba`.

        Examples
        --------
        >>> import numpy as np
        >>> from skmcevae import MCEVAE
        >>> X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images
        >>> model = MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)
        >>> labels = model.predict(X)
        >>> labels.shape, set(labels.tolist()) <= {0, 1}
        ((40,), True)
        """
        return self.predict_proba(X).argmax(1)

    def predict_proba(self, X):
        """How sure each assignment is: a probability per cluster.

        With ``assign_by="mixture"`` the responsibilities of the Gaussian mixture
        fitted to the z_c means; with "centroids" a softmax of the squared distances
        of the z_c mean to the cluster centres (one shared variance); with "weights"
        the encoder's mixture weights w.

        Parameters
        ----------
        X : array-like of images, in the layout given to ``fit``

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Rows sum to 1.

        Examples
        --------
        >>> import numpy as np
        >>> from skmcevae import MCEVAE
        >>> X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images
        >>> model = MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)
        >>> proba = model.predict_proba(X)
        >>> proba.shape, bool(np.allclose(proba.sum(1), 1))
        ((40, 2), True)
        """
        return self._predict_proba(self._validate_predict_data(X))

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
        X : array-like of images, in the layout given to ``fit``

        Returns
        -------
        Z : ndarray of shape (n_samples, n_clusters + latent_dim + d)
            Posterior means ``[z_c, z, tau]``; d is 0, 1, 3 or 4 for no group, SO2,
            SE2 and SIM2. Column names come from :meth:`get_feature_names_out`.

        Examples
        --------
        >>> import numpy as np
        >>> from skmcevae import MCEVAE
        >>> X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images
        >>> model = MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)
        >>> model.transform(X).shape
        (40, 6)
        >>> model.get_feature_names_out().tolist()
        ['z_c0', 'z_c1', 'z0', 'z1', 'z2', 'theta']
        """
        images = self._validate_predict_data(X)
        keys = ("c_mean", "z_mean", "tau_mean")
        return np.concatenate(self._encode(images, keys), axis=1)

    def inverse_transform(self, Z):
        """Images decoded from codes ``[z_c, z, tau]``, in the layout of the fitted X.

        Setting the pose columns to 0 gives the canonical, pose-free image.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_clusters + latent_dim + d)
            Codes as made by :meth:`transform`.

        Returns
        -------
        X : ndarray of shape (n_samples, C*H*W), (n_samples, H, W) or (n_samples, C, H, W)
            The fitted X's layout.

        Examples
        --------
        >>> import numpy as np
        >>> from skmcevae import MCEVAE
        >>> X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images
        >>> model = MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)
        >>> Z = model.transform(X)
        >>> Z[:, -1] = 0  # no rotation: the canonical images
        >>> model.inverse_transform(Z).shape
        (40, 64)
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=np.float32)
        width = self.n_clusters + self.latent_dim + GROUP_DIMS[self.group]
        if Z.shape[1] != width:
            raise ValueError(f"Z has {Z.shape[1]} columns, expected {width} "
                             f"(n_clusters + latent_dim + pose) as made by transform.")
        k, d = self.n_clusters, self.latent_dim

        def decode(codes):
            return self.module_.render(
                self.module_.decode_canonical(codes[:, :k], codes[:, k:k + d]),
                codes[:, k + d:])
        return from_images(self._batched(Z, decode), self._input_ndim)

    def canonicalize(self, X, align="prototype"):
        """The input images turned back to their canonical pose.

        Parameters
        ----------
        X : array-like of images, in the layout given to ``fit``
        align : {"prototype", "encoder"}, default="prototype"
            "prototype" turns each image (over a grid of 2-degree steps within twice
            ``rotation_range``, after centring for SE2 and SIM2) to best match the
            decoded image of its cluster's centre: an image and a turned copy of it
            get nearly the same canonical image. "encoder" undoes the encoder's pose
            tau (the pose :meth:`transform` reports), which is read off each image on
            its own and varies more between turned copies.

        Returns
        -------
        X_canonical : ndarray in X's layout

        Examples
        --------
        >>> import numpy as np
        >>> from skmcevae import MCEVAE
        >>> X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images
        >>> model = MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)
        >>> model.canonicalize(X[:5]).shape
        (5, 64)
        """
        if align not in ("prototype", "encoder"):
            raise ValueError(f"align must be 'prototype' or 'encoder', got {align!r}.")
        images = self._validate_predict_data(X)
        if align == "encoder" or self.group is None:
            def undo_pose(x):
                tau = self.module_.encode(x)["tau_mean"]
                return warp(x, invert_affine(exp_map(tau, self.group)))
            return from_images(self._batched(images, undo_pose), self._input_ndim)
        labels = self._predict_proba(images).argmax(1)
        prototypes = self._prototypes()
        rotation = math.radians(self.rotation_range)

        def align_batch(x, cluster):
            return warp(x, canonical_matrices(x, cluster, prototypes, self.group, rotation))
        aligned = self._batched(images, align_batch, alongside=labels)
        return from_images(aligned, self._input_ndim)

    def _prototypes(self):
        """Each cluster's canonical image: the decoded centre with z at its prior mean,
        (K, C, H, W) on the model's device."""
        k = self.n_clusters
        centres = self.cluster_centers_ if self.cluster_centers_ is not None else np.eye(k)
        device = next(self.module_.parameters()).device
        with torch.no_grad():
            return self.module_.decode_canonical(
                torch.as_tensor(centres, dtype=torch.float32, device=device),
                torch.zeros(k, self.latent_dim, device=device))

    def sample(self, n_samples=1, cluster=None, random_state=None):
        """Canonical images drawn from the prior, with their clusters.

        Parameters
        ----------
        n_samples : int, default=1
        cluster : int or None, default=None
            Draw every image from this cluster; None draws clusters uniformly.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X : ndarray in the fitted X's layout
        y : ndarray of shape (n_samples,)
            The cluster each image was drawn from.

        Examples
        --------
        >>> import numpy as np
        >>> from skmcevae import MCEVAE
        >>> X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images
        >>> model = MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)
        >>> images, clusters = model.sample(3, cluster=1, random_state=0)
        >>> images.shape, clusters.tolist()
        ((3, 64), [1, 1, 1])
        """
        check_is_fitted(self)
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        if cluster is not None and cluster not in range(self.n_clusters):
            raise ValueError(f"cluster must be in [0, {self.n_clusters}), got {cluster!r}.")
        rng = check_random_state(random_state)
        k, d = self.n_clusters, self.latent_dim
        y = rng.randint(k, size=n_samples) if cluster is None else np.full(n_samples, cluster)
        z_c = np.eye(k)[y] + rng.standard_normal((n_samples, k))
        z = rng.standard_normal((n_samples, d))
        codes = np.concatenate([z_c, z], axis=1).astype(np.float32)
        images = self._batched(codes, lambda c: self.module_.decode_canonical(c[:, :k], c[:, k:]))
        return from_images(images, self._input_ndim), y

    def score_samples(self, X):
        """ELBO of each image (higher is better).

        The reconstruction term is evaluated at the posterior means, so the score is
        deterministic; the KL terms are exact.

        Parameters
        ----------
        X : array-like of images, in the layout given to ``fit``

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        images = self._validate_predict_data(X)
        return -self._batched(images, partial(negative_elbo, self.module_))

    def score(self, X, y=None):
        """Mean ELBO per image (higher is better): model selection without labels.

        Parameters
        ----------
        X : array-like of images, in the layout given to ``fit``
        y : ignored

        Returns
        -------
        score : float

        Examples
        --------
        >>> import numpy as np
        >>> from skmcevae import MCEVAE
        >>> X = np.random.default_rng(0).random((40, 64))  # 40 flat 8x8 images
        >>> model = MCEVAE(n_clusters=2, max_epochs=2, random_state=0).fit(X)
        >>> bool(model.score(X) < 0)
        True
        """
        return float(self.score_samples(X).mean())

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of :meth:`transform`.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str
            ``z_c0 .. z_c{K-1}``, ``z0 .. z{d-1}`` and the pose parameters
            (``theta``; ``u1``, ``u2``; ``log_scale``).
        """
        check_is_fitted(self)
        names = ([f"z_c{i}" for i in range(self.n_clusters)]
                 + [f"z{i}" for i in range(self.latent_dim)]
                 + list(GROUP_PARAM_NAMES[self.group]))
        return np.asarray(names, dtype=object)

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        images, _ = to_images(X, self._predict_shape(X))
        if images.shape[1:] != tuple(self.image_shape_):
            raise ValueError(f"X holds images of shape {images.shape[1:]} (C, H, W), "
                             f"but MCEVAE was fitted on {tuple(self.image_shape_)}.")
        self._check_values(images, "X")
        return images

    def _predict_shape(self, X):
        # Flat rows are read with the fitted shape; a wrong width is reported as
        # scikit-learn does.
        if getattr(X, "ndim", np.ndim(X)) != 2:
            return None
        width = np.shape(X)[1]
        if width != self.n_features_in_:
            raise ValueError(f"X has {width} features, but MCEVAE is expecting "
                             f"{self.n_features_in_} features as input.")
        return self.image_shape_

    def _predict_proba(self, images):
        """Cluster probabilities (n, K), averaged over the turned copies of
        :meth:`_test_angles`."""
        mixture = getattr(self, "mixture_", None)  # absent in 0.2 pickles
        key = "c_logits" if mixture is None and self.cluster_centers_ is None else "c_mean"
        angles = self._test_angles()
        codes = self._encode_turned(images, key, angles)  # (n, A*K)
        codes = codes.reshape(-1, self.n_clusters)  # (n, A*K) -> (n*A, K)
        if mixture is not None:
            proba = mixture.predict_proba(codes.astype(np.float64))
        else:
            logits = codes
            if self.cluster_centers_ is not None:
                distance = ((codes[:, None, :] - self.cluster_centers_[None]) ** 2).sum(-1)
                logits = -distance / (2 * self.cluster_scale_)  # (n*A, K)
            logits = logits - logits.max(1, keepdims=True)
            proba = np.exp(logits.astype(np.float64))
            proba /= proba.sum(1, keepdims=True)
        return proba.reshape(len(images), len(angles), -1).mean(1)  # (n*A, K) -> (n, K)

    def _test_angles(self):
        """Angles (radians) of the turned copies whose probabilities are averaged:
        ``test_rotations`` of them, evenly over [-rotation_range, rotation_range]."""
        count = getattr(self, "test_rotations", 1)  # absent in 0.2 pickles
        if self.group is None or count == 1:
            return np.zeros(1)
        span = math.radians(self.rotation_range)
        return np.linspace(-span, span, count)

    def _encode_turned(self, images, key, angles):
        """The head ``key`` of each image turned by each angle, (n, A * size)."""
        def heads(x):
            return torch.cat([self.module_.encode(rotate(x, angle) if angle else x)[key]
                              for angle in angles], dim=1)
        return self._batched(images, heads)

    def _encode(self, images, keys):
        def heads(x):
            post = self.module_.encode(x)
            return torch.cat([post[key] for key in keys], dim=1)
        out = self._batched(images, heads)
        sizes = np.cumsum([self._head_size(key) for key in keys])[:-1]
        return np.split(out, sizes, axis=1)

    def _head_size(self, key):
        return {"c_mean": self.n_clusters, "c_logits": self.n_clusters,
                "z_mean": self.latent_dim, "tau_mean": GROUP_DIMS[self.group]}[key]

    def _batched(self, array, fn, alongside=None):
        """Apply ``fn`` to batches of ``array`` (and of ``alongside``) on the model's device."""
        return apply_in_batches(self.module_, array, fn, _INFERENCE_BATCH,
                                alongside=alongside)

    # ------------------------------------------------------------- persistence
    def __getstate__(self):
        state = self.__dict__.copy()
        if "module_" in state:
            # Stored as a CPU state dict, so any machine can load it.
            module = state.pop("module_")
            state["_module_state"] = (module.config, {k: v.detach().cpu() for k, v
                                                      in module.state_dict().items()})
        return state

    def __setstate__(self, state):
        saved = state.pop("_module_state", None)
        self.__dict__.update(state)
        if saved is not None:
            config, weights = saved
            module = MCEVAEModule(config)
            module.load_state_dict(weights)
            self.module_ = module.to(loadable_device(state.get("_device", "cpu"))).eval()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags


def _run_epoch(module, optimiser, data, rows, loss_config, batch_size, device,
               neighbors=None, graph_labels=None, on_batch=None):
    """One pass over shuffled mini-batches of ``data[rows]``; the mean of each loss term.

    ``data`` is (images, canonical images or None); one batch at a time is read from
    them (memmaps stay on disk) and moved to the device. ``neighbors`` (n, k), indices
    into the images or None, gives each image's pose-invariant neighbours: one is drawn
    at random per image and step. The loss terms are summed on the device and read
    back once, at the end of the epoch. ``on_batch(done)`` is called after each step.
    """
    module.train()
    order = rows[torch.randperm(len(rows)).numpy()]
    totals = dict.fromkeys(TERMS, 0.0)
    for done, start in enumerate(range(0, len(order), batch_size), 1):
        index = np.sort(order[start:start + batch_size])
        x, target = (None if array is None else torch.from_numpy(array[index]).to(device)
                     for array in data)
        neighbor = None
        if neighbors is not None:
            pick = torch.randint(neighbors.shape[1], (len(index),)).numpy()
            partners = neighbors[index, pick]
            neighbor = torch.from_numpy(np.asarray(data[0][partners])).to(device)
        labels = None
        if graph_labels is not None:
            labels = torch.from_numpy(graph_labels[index]).to(device)
        loss, summary = batch_loss(module, x, target, loss_config, neighbor, labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        for name in TERMS:
            totals[name] = totals[name] + summary[name] * len(index)
        if on_batch is not None:
            on_batch(done)
    means = {name: float(total) / len(order) for name, total in totals.items()}
    if not math.isfinite(means["loss"]):
        raise FloatingPointError(
            "The training loss became non-finite. Lower learning_rate, check that X "
            "has no extreme values, or use likelihood='gaussian' for data that are "
            "not in [0, 1].")
    return means
