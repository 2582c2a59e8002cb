"""Turning codes into clusters: the read-out fitted to z_c after training, the
cluster probabilities of images (averaged over turned copies), and each cluster's
prototype image.

Measured on rotated MNIST, a read-out fitted to the learned z_c code is a better
cluster than the argmax of the encoder's weights w, and with the graph term the
Gaussian mixture was as good as KMeans or better in all ten runs recorded in
benchmarks/results/readouts.md.
"""

import copy
import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
import torch
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import confusion_matrix
from sklearn.mixture import GaussianMixture

from .inference import encode, encode_turned

# Starts of the read-out's mixture, each fitted alone.
MIXTURE_STARTS = 20
# A start counts as a tie with the most likely one when, image by image, the most
# likely start's advantage in log-likelihood averages less than this fraction of its
# spread over the images (an effect size; levers-v0.10.md: the right start of rotated
# and shifted digits 0.00-0.04 behind, clearly more likely unequal clusters of blobs
# 0.20-0.21 ahead) ...
TIE_EFFECT_SIZE = 0.1
# ... and less than this many nats per image (three times the largest tie measured).
MAX_TIE_DEFICIT = 0.1


class ClusterReadout:
    """How a fitted model reads an image's cluster from its code.

    Parameters
    ----------
    kind : {"mixture", "centroids", "weights"}
    mixture : GaussianMixture or None
        Fitted to the z_c means ("mixture").
    centers : ndarray of shape (K, K) or None
        Cluster centres in z_c space ("mixture", "centroids").
    scale : float or None
        The shared variance that turns distances to the centres into
        probabilities ("centroids").
    """

    def __init__(self, kind, mixture=None, centers=None, scale=None):
        self.kind, self.mixture, self.centers, self.scale = kind, mixture, centers, scale

    def reordered(self, order):
        """The same read-out with cluster j renamed from cluster ``order[j]``."""
        mixture = None
        if self.mixture is not None:
            mixture = copy.deepcopy(self.mixture)
            for name in ("weights_", "means_", "covariances_", "precisions_",
                         "precisions_cholesky_"):
                setattr(mixture, name, getattr(mixture, name)[order])
        centers = None if self.centers is None else self.centers[order]
        return ClusterReadout(self.kind, mixture, centers, self.scale)

    @property
    def key(self):
        """The encoder head the read-out takes: the z_c mean or the logits of w."""
        return "c_logits" if self.kind == "weights" else "c_mean"

    def proba(self, codes):
        """Cluster probabilities (m, K) of the codes (m, K) of the head :attr:`key`."""
        if self.mixture is not None:
            return self.mixture.predict_proba(codes.astype(np.float64))
        logits = codes
        if self.centers is not None:
            distance = ((codes[:, None, :] - self.centers[None]) ** 2).sum(-1)
            logits = -distance / (2 * self.scale)  # (m, K)
        logits = logits - logits.max(1, keepdims=True)
        proba = np.exp(logits.astype(np.float64))
        return proba / proba.sum(1, keepdims=True)


def fit_readout(module, images, assign_by, seed, reference=None):
    """A :class:`ClusterReadout` fitted to the z_c means of the training ``images``:
    a Gaussian mixture with full covariances ("mixture"), KMeans ("centroids"), or
    the encoder's own weights ("weights").

    A mixture or KMeans numbers its clusters arbitrarily; with ``reference``, a
    cluster per image (-1 where unknown), they are renumbered to agree best with
    it, so that cluster k means what it meant to the graph term and to a previous
    fit.
    """
    if assign_by == "weights":
        return ClusterReadout("weights")
    k = module.config.n_clusters
    codes, = encode(module, images, ("c_mean",))
    if assign_by == "mixture":
        mixture = _fit_mixture(codes, k, seed)
        readout = ClusterReadout("mixture", mixture=mixture,
                                 centers=mixture.means_.astype(np.float32))
    else:
        kmeans = KMeans(k, n_init=10, random_state=seed).fit(codes)
        # One shared spherical variance turns distances into probabilities.
        scale = max(kmeans.inertia_ / codes.size, 1e-12)
        readout = ClusterReadout("centroids", scale=scale,
                                 centers=kmeans.cluster_centers_.astype(np.float32))
    if reference is None:
        return readout
    known = reference >= 0
    own = readout.proba(codes[known]).argmax(1)
    return readout.reordered(match_order(own, reference[known], k))


def fit_prior_to_clusters(module, images, proba, rows=None):
    """Set the module's prior to the moments of the posteriors of ``images`` (of the
    training ``rows``) weighted by their cluster probabilities ``proba`` (n, K), the
    read-out's: the M-step of the prior for the clusters that ``predict`` gives.

    During training the prior follows the encoder's weights w, while ``predict`` reads
    a mixture fitted afterwards; the two disagree on some images (on rotated MNIST a
    mixture re-split two merged digits that w kept merged). After this step cluster
    k of ``predict``, of ``sample(cluster=k)``, of the prototypes and of the ELBO is
    one cluster.
    """
    c_mean, c_logvar, z_mean, z_logvar = encode(
        module, images, ("c_mean", "c_logvar", "z_mean", "z_logvar"), index=rows)
    proba = proba if rows is None else proba[rows]
    prior = module.prior
    device = prior.weight.device

    def tensor(*parts):
        return torch.from_numpy(np.concatenate(parts, axis=1)).to(device, torch.float32)
    prior.update(torch.from_numpy(proba).to(device, torch.float32),
                 tensor(c_mean, z_mean), tensor(np.exp(c_logvar), np.exp(z_logvar)),
                 momentum=1.0)


def _fit_mixture(codes, n_clusters, seed):
    """A full-covariance Gaussian mixture of the codes from :data:`MIXTURE_STARTS`
    starts: of the starts tied with the most likely one (:func:`tied_starts`), the
    one most likely under equal cluster weights.

    Why: starts that merge two clusters and split a third can be as likely as the
    right one to 0.01-0.03 nats per image, and the most likely start then picks
    either at random (rotated MNIST: accuracy 0.79 or 0.91; shifted, 0.65 or 0.83).
    The model's prior gives every cluster the weight 1/K, and under it such a start
    pays about log(2)/K per image. The tie keeps that preference to starts the data
    cannot tell apart: where clusters of unequal sizes are clearly more likely, they
    are kept (benchmarks/results/levers-v0.10.md). The kept mixture keeps its
    fitted weights.

    A start that cannot invert a component's covariance (codes collapsed onto a
    point, seen on diverged 8x8-digit fits) is left out; only if every start fails
    are they refitted with more regularisation, with a warning.
    """
    codes = codes.astype(np.float64)
    starts = np.random.RandomState(seed).randint(np.iinfo(np.int32).max,
                                                 size=MIXTURE_STARTS)
    fits = _fit_starts(codes, n_clusters, starts, 1e-6)  # scikit-learn's default
    if not fits:
        warnings.warn("The cluster codes of some clusters collapsed onto a point; "
                      "the read-out's mixture was fitted with more regularisation. "
                      "The fit may have diverged: try another random_state or a "
                      "lower learning_rate.", ConvergenceWarning)
        # A thousandth of the codes' largest variance: the codes' own scale.
        fits = _fit_starts(codes, n_clusters, starts,
                           1e-3 * max(1.0, float(codes.var(0).max())))
    if not fits:
        raise ValueError("The read-out's mixture could not be fitted to the cluster "
                         "codes; the fit diverged: try another random_state or a "
                         "lower learning_rate.")
    tied = tied_starts(fits, codes)
    return max((fits[i] for i in tied), key=lambda mixture: equal_weight_score(mixture, codes))


def tied_starts(mixtures, codes):
    """Indices of the ``mixtures`` tied with the most likely one on the ``codes``:
    those whose per-image log-likelihood deficit against it averages at most
    :data:`TIE_EFFECT_SIZE` of the deficit's spread over the images, and at most
    :data:`MAX_TIE_DEFICIT` nats.

    A paired effect size rather than a margin in nats: on shifted digits the right
    start was 0.033 nats per image behind, on two-dimensional blobs a clearly better
    partition only 0.067 ahead, but the per-image differences scatter by about 0.9
    nats in the first case and 0.3 in the second. The cap keeps a start that a few
    outlying images make scatter widely from counting as tied. One start's
    per-image figures at a time: memory grows with the images, not with the starts.
    """
    best = mixtures[int(np.argmax([m.score(codes) for m in mixtures]))].score_samples(codes)
    return [i for i, mixture in enumerate(mixtures)
            if is_tie(best - mixture.score_samples(codes))]


def is_tie(deficit):
    """Whether per-image log-likelihood deficits (n,) against the most likely start
    make a tie (see :func:`tied_starts`)."""
    mean = float(deficit.mean())
    return mean <= min(TIE_EFFECT_SIZE * float(deficit.std()), MAX_TIE_DEFICIT)


def _fit_starts(codes, n_clusters, starts, reg_covar):
    """The mixtures of the starts that could be fitted."""
    fits = []
    for start in starts:
        try:
            fits.append(GaussianMixture(n_clusters, covariance_type="full",
                                        reg_covar=reg_covar, random_state=start).fit(codes))
        except ValueError:  # a component's covariance could not be inverted
            continue
    return fits


def equal_weight_score(mixture, codes):
    """Mean log-likelihood of the codes under ``mixture`` with its weights equal."""
    equal = copy.copy(mixture)  # shallow: only the weights are replaced
    equal.weights_ = np.full(mixture.n_components, 1.0 / mixture.n_components)
    return float(equal.score(codes))


def own_clusters(module, images, rows, graph_labels, seed):
    """The graph term's targets taken from the model itself: ``graph_labels`` (n,)
    with the training ``rows`` replaced by the clusters of a Gaussian mixture on
    their z_c means (the read-out's, without its turned copies), numbered to agree
    best with the graph's so that cluster k keeps its meaning."""
    codes, = encode(module, images, ("c_mean",), index=rows)
    k = module.config.n_clusters
    own = _fit_mixture(codes, k, seed).predict(codes.astype(np.float64))
    renamed = np.argsort(match_order(own, graph_labels[rows], k))  # own j -> graph's
    labels = graph_labels.copy()
    labels[rows] = renamed[own]
    return labels


def reference_clusters(module, images, rows, graph_labels=None, previous_labels=None):
    """The clusters a read-out is numbered after (-1 where unknown): the graph's on the
    training ``rows``, else a warm start's previous clusters, else the encoder's
    weights w, whose cluster k is the prior's component k."""
    if graph_labels is None:
        if previous_labels is not None:
            return previous_labels
        logits, = encode(module, images, ("c_logits",))
        return logits.argmax(1)
    reference = np.full(len(graph_labels), -1, dtype=np.int64)
    reference[rows] = graph_labels[rows]
    return reference


def match_order(labels, reference, n_clusters):
    """The renumbering ``order`` (new cluster j is old cluster ``order[j]``) under
    which ``labels`` agree best with ``reference`` (Hungarian matching)."""
    counts = confusion_matrix(reference, labels, labels=np.arange(n_clusters))
    rows, columns = linear_sum_assignment(counts, maximize=True)
    order = np.empty(n_clusters, dtype=np.int64)
    order[rows] = columns
    return order


def turn_angles(group, rotation_range, count):
    """Angles (radians) of the turned copies whose probabilities are averaged:
    ``count`` of them, evenly over [-rotation_range, rotation_range] radians."""
    if group is None or count == 1:
        return np.zeros(1)
    return np.linspace(-rotation_range, rotation_range, count)


def cluster_proba(module, readout, images, angles):
    """Cluster probabilities (n, K) of the images (n, C, H, W), averaged over copies
    turned by each of ``angles``."""
    k = module.config.n_clusters
    codes = encode_turned(module, images, readout.key, angles)  # (n, A*K)
    proba = readout.proba(codes.reshape(-1, k))  # (n, A*K) -> (n*A, K)
    return proba.reshape(len(images), len(angles), -1).mean(1)  # (n*A, K) -> (n, K)


def prototypes(module):
    """Each cluster's canonical image: the decoded mean of its prior component, shown
    at the cluster's display pose, (K, C, H, W) on the module's device."""
    prior = module.prior
    with torch.no_grad():
        clusters = torch.arange(module.config.n_clusters, device=prior.weight.device)
        return module.show(module.decode_canonical(prior.c_mean, prior.z_mean), clusters)


def sample_codes(module, n_samples, cluster, rng):
    """Codes ``[z_c, z]`` (n, K + d) drawn from the module's prior, and the cluster
    of each: ``cluster``, or uniform when None. Cluster k is the prior's component k,
    which the encoder's weights, the graph term and the read-out all number alike."""
    prior = module.prior
    k, d = module.config.n_clusters, module.config.latent_dim
    y = rng.randint(k, size=n_samples) if cluster is None else np.full(n_samples, cluster)
    mean, variance = (t.detach().cpu().numpy() for t in prior.moments())  # (K, K + d)
    codes = mean[y] + np.sqrt(variance[y]) * rng.standard_normal((n_samples, k + d))
    return codes.astype(np.float32), y
