"""The generative half of :class:`skmcevae.MCEVAE`: images from codes, canonical
images, samples, and the ELBO. What only a model of the images can give; the cluster
half is in :mod:`skmcevae.estimator`.
"""

import numbers

import numpy as np
import torch
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from .alignment import align_to_prototypes
from .groups import pose_in_units
from .inference import apply_in_batches, decode, encode, undo_encoder_pose
from .objective import monte_carlo_elbo
from .readout import prototypes, sample_codes
from .validation import from_images

# Draws per image of the Monte-Carlo ELBO: on rotated MNIST digits an image's
# estimate varied by about 1.1 nats between seeds, the mean of 200 images by 0.1
# (benchmarks/results/score.md, measured with the fixed one-hot prior).
SCORE_DRAWS = 16


class GenerativeMixin:
    """Methods of a fitted MCEVAE that decode, canonicalise, sample and score.

    They read the fitted state only: ``module_``, ``readout_`` and the layout of the
    fitted X.
    """

    def predict_pose(self, X):
        """The pose of each image in named units (``pose_names_`` names the columns).

        ``angle_deg``: the turn from the canonical pose in degrees, counter-clockwise
        as the image is displayed (row 0 at the top), in (-180, 180] (SO2, SE2,
        SIM2); ``shift_x_px``, ``shift_y_px``: where the canonical image's centre went,
        in pixels, x to the right and y down (SE2, SIM2); ``scale``: the object's size
        over its canonical size (SIM2). The canonical image is the one ``sample``
        and the plots show for the image's cluster: at the mean angle of the
        cluster's training images (upright for digits turned within +-90 degrees)
        and at the training images' mean shift and scale, so angles, shifts and
        scales are about those means. :meth:`transform` keeps the raw latent tau,
        measured from the decoder's own frame.

        Parameters
        ----------
        X : array-like of images, in any layout ``fit`` accepts

        Returns
        -------
        pose : ndarray of shape (n_samples, n_pose)
            For a table: ``pandas.DataFrame(pose, columns=model.pose_names_)``.

        Examples
        --------
        >>> # model: fitted as in the class example (SO2: the angle alone)
        >>> model.predict_pose(X[:3]).shape, model.pose_names_
        ((3, 1), ('angle_deg',))
        """
        images, _ = self._validate_predict_data(X)
        config = self.module_.config
        tau, = encode(self.module_, images, ("tau_mean",))
        display = self._display_poses(images)
        return pose_in_units(tau, config.group, config.image_shape, display)

    def _display_poses(self, images):
        """The pose (n, d) at which each image's cluster's canonical image is shown."""
        clusters = self._proba(images).argmax(1)
        with torch.no_grad():
            pose = self.module_.display_pose(
                len(images), torch.from_numpy(clusters).to(self.module_.display.device))
        return pose.cpu().numpy()

    def inverse_transform(self, Z):
        """Images decoded from codes ``[z_c, z, tau]``, in the layout of the fitted X.

        Setting the pose columns to 0 gives the decoder's pose-free image in its own
        frame, which may be turned, shifted or scaled away from the images'
        (``module_.display_pose(n, clusters)`` gives the pose at which ``sample`` and
        the plots show each cluster's canonical images).

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_clusters + latent_dim + d)
            Codes as made by :meth:`transform`.

        Returns
        -------
        X : ndarray of shape (n_samples, C*H*W), (n_samples, H, W), (n_samples, C, H, W) or (n_samples, H, W, C)
            The fitted X's layout.

        Examples
        --------
        >>> Z = model.transform(X)  # model fitted as in the class example
        >>> Z[:, -1] = 0  # no rotation: the canonical images
        >>> model.inverse_transform(Z).shape
        (40, 64)
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=np.float32)
        width = len(self.get_feature_names_out())
        if Z.shape[1] != width:
            raise ValueError(f"Z has {Z.shape[1]} columns, expected {width} "
                             f"(n_clusters + latent_dim + pose) as made by transform.")
        return from_images(decode(self.module_, Z), self._fit_layout)

    def canonicalize(self, X, align="prototype"):
        """The input images turned back to their canonical pose.

        Parameters
        ----------
        X : array-like of images, in any layout ``fit`` accepts
        align : {"prototype", "encoder"}, default="prototype"
            "prototype" turns each image (over a grid of 2-degree steps within twice
            ``rotation_range``, after centring for SE2 and SIM2) to best match the
            decoded image of its cluster's centre: an image and a turned copy of it
            get nearly the same canonical image. "encoder" undoes the encoder's pose
            tau (the pose :meth:`transform` reports), which is read off each image on
            its own and varies more between turned copies.

        Returns
        -------
        X_canonical : ndarray in the layout of this call's X

        Examples
        --------
        >>> model.canonicalize(X[:5]).shape  # model fitted as in the class example
        (5, 64)
        """
        if align not in ("prototype", "encoder"):
            raise ValueError(f"align must be 'prototype' or 'encoder', got {align!r}.")
        images, layout = self._validate_predict_data(X)
        if align == "encoder" or self.module_.config.group is None:
            return from_images(undo_encoder_pose(self.module_, images), layout)
        labels = self._proba(images).argmax(1)
        aligned = align_to_prototypes(self.module_, prototypes(self.module_),
                                      images, labels)
        return from_images(aligned, layout)

    def sample(self, n_samples=1, cluster=None, random_state=None):
        """Canonical images drawn from the prior, with their clusters.

        Parameters
        ----------
        n_samples : int, default=1
        cluster : int or None, default=None
            Draw every image from this cluster; None draws clusters uniformly.
        random_state : int, RandomState instance or None, default=None
            None takes the estimator's ``random_state``, as scikit-learn's mixtures
            do: a seeded model draws the same images on every call.

        Returns
        -------
        X : ndarray in the fitted X's layout
        y : ndarray of shape (n_samples,)
            The cluster each image was drawn from.

        Examples
        --------
        >>> images, clusters = model.sample(3, cluster=1)  # model as in the class example
        >>> images.shape, clusters.tolist()
        ((3, 64), [1, 1, 1])
        """
        check_is_fitted(self)
        k = self.module_.config.n_clusters
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        if cluster is not None and cluster not in range(k):
            raise ValueError(f"cluster must be in [0, {k}), got {cluster!r}.")
        rng = check_random_state(self.random_state if random_state is None
                                 else random_state)
        codes, y = sample_codes(self.module_, n_samples, cluster, rng)
        return from_images(decode(self.module_, codes, y), self._fit_layout), y

    def score_samples(self, X):
        """Evidence lower bound (ELBO) of each image, in nats (higher is better).

        A Monte-Carlo estimate: the reconstruction log-likelihood averaged over
        ``SCORE_DRAWS`` draws of ``(z_c, z, tau)`` from the posterior, minus the
        exact KL terms (the cluster's as a mixture KL with the cluster as a latent
        variable). The draws come from ``random_state``: a seeded model gives the
        same scores on every call. With the Bernoulli likelihood on grey-level
        images the bound is a model-comparison score, not a log-probability (the
        Bernoulli is a density only for binary pixels).

        Parameters
        ----------
        X : array-like of images, in any layout ``fit`` accepts

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        images, _ = self._validate_predict_data(X)
        width = len(self.get_feature_names_out())
        noise = check_random_state(self.random_state).standard_normal(
            (len(images), SCORE_DRAWS, width)).astype(np.float32)
        return apply_in_batches(self.module_, images,
                                lambda x, z: monte_carlo_elbo(self.module_, x, z),
                                alongside=noise)

    def score(self, X, y=None):
        """Mean ELBO per image (higher is better): model selection without labels.

        Parameters
        ----------
        X : array-like of images, in any layout ``fit`` accepts
        y : ignored

        Returns
        -------
        score : float

        Examples
        --------
        >>> bool(model.score(X) < 0)  # model fitted as in the class example
        True
        """
        return float(self.score_samples(X).mean())
