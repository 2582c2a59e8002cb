"""Pose-invariant nearest neighbours: for each image, the images that show the same thing.

A rotated 7 is far from an upright 7 in pixel space, but close to it once one of the
two is turned back. The distance between two images is taken here as the smallest
over a grid of rotations of one of them, after each image is centred on its centre of
mass (groups with shifts) and brought to a common spread (SIM2). On rotated MNIST the
ten neighbours found this way share the image's digit 88% of the time, as on upright
digits, against 73% for plain pixel distances (benchmarks/results/neighbors.md).

The training loss uses these neighbours twice: as pairs that should fall in one
cluster, and through the spectral clusters of the graph that links each image to its
neighbours, which the cluster weights are trained to follow. On large data the
neighbours are searched among a sample of landmark images only, and only the
landmarks' graph is clustered (benchmarks/results/landmarks.md).
"""

import math
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse import csr_matrix
from sklearn.cluster import SpectralClustering

from .groups import compose, invert_affine, pose_matrix, rotate, rotation_matrix, warp
from .inference import module_device
from .readout import match_order

# Angles 15 degrees apart already find neighbours as pure as a 10-degree grid
# (benchmarks/results/neighbors.md); the search costs one pass per angle.
ANGLE_STEP = math.radians(15.0)
# A light blur makes pixel distances forgive strokes a pixel apart.
BLUR_SIGMA = 1.0
N_COMPONENTS = 64
# Distances are computed for this many (query, candidate) pairs at a time: blocks of
# 16 MB ran about 1.4x faster than blocks of 64 MB on the 2-core test machine.
_BLOCK_PAIRS = 2 ** 22


def search_angles(rotation_range):
    """Angles (radians) of the search grid for poses within ``rotation_range`` radians."""
    span = min(rotation_range, math.pi)
    steps = int(math.floor(span / ANGLE_STEP + 1e-9))
    angles = np.arange(-steps, steps + 1) * ANGLE_STEP
    if span >= math.pi - 1e-9:
        angles = angles[angles > -math.pi + 1e-9]  # -180 and 180 are one rotation
    return angles


def pixel_centres(n, like):
    """Coordinates of n pixel centres in affine_grid's frame (align_corners=False)."""
    return (2 * torch.arange(n, device=like.device, dtype=like.dtype) + 1) / n - 1


def pose_normalising_matrix(images, group):
    """Affine maps (B, 2, 3) that centre each image on its centre of mass (SE2, SIM2)
    and bring it to a common spread (SIM2); the identity for other groups.

    ``images`` (B, C, H, W) with non-negative values.
    """
    batch = images.shape[0]
    zero = torch.zeros(batch, device=images.device, dtype=images.dtype)
    shift = torch.zeros(batch, 2, device=images.device, dtype=images.dtype)
    if group not in ("SE2", "SIM2"):
        return pose_matrix(zero, shift, zero)
    mass = images.sum(1)  # (B, C, H, W) -> (B, H, W)
    total = mass.flatten(1).sum(1).clamp_min(1e-8)  # (B,)
    ys = pixel_centres(images.shape[2], images)
    xs = pixel_centres(images.shape[3], images)
    centre_x = (mass.sum(1) * xs).sum(1) / total
    centre_y = (mass.sum(2) * ys).sum(1) / total
    log_scale = zero
    if group == "SIM2":
        dx = xs.view(1, 1, -1) - centre_x.view(-1, 1, 1)
        dy = ys.view(1, -1, 1) - centre_y.view(-1, 1, 1)
        spread = ((dx ** 2 + dy ** 2) * mass).flatten(1).sum(1) / total
        # Scale every image to a spread of 0.25 (radius 0.5 of the unit half-side).
        log_scale = 0.5 * torch.log(spread.clamp_min(1e-8) / 0.25)
    # Bounds that an image of non-negative values never reaches (a one-pixel object
    # of 28x28 has a log-scale of -2.6): images with negative values (standardised
    # data) would otherwise put their "centre" at 1e9 and the neighbours' pose term
    # would explode.
    centre = torch.stack([centre_x, centre_y], dim=1).clamp(-1, 1)
    return pose_matrix(zero, centre, log_scale.clamp(-3, 3))


def normalise_poses(images, group):
    """Centre each image on its centre of mass (SE2, SIM2) and equalise spread (SIM2).

    ``images`` (B, C, H, W) with non-negative values; returns the same shape.
    """
    if group not in ("SE2", "SIM2"):
        return images
    return warp(images, pose_normalising_matrix(images, group))


def neighbor_relation(images, neighbors, angle, group):
    """The affine maps M (B, 2, 3) with ``neighbors ~ warp(images, M)``, from the
    angle (B,) at which the search matched them.

    The search compared ``rotate(warp(x, N_x), a)`` with ``warp(x', N_x')``, N the
    normalising maps of :func:`pose_normalising_matrix`: so
    ``x' ~ warp(x, N_x R_a N_x'^-1)``.
    """
    turn = compose(pose_normalising_matrix(images, group), rotation_matrix(angle))
    return compose(turn, invert_affine(pose_normalising_matrix(neighbors, group)))


def blur(images, sigma=BLUR_SIGMA):
    """Separable Gaussian blur of each channel, (B, C, H, W) -> (B, C, H, W)."""
    radius = max(1, int(math.ceil(2 * sigma)))
    t = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    kernel = torch.exp(-t ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    row = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    column = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    images = F.conv2d(images, row, padding=(0, radius), groups=channels)
    return F.conv2d(images, column, padding=(radius, 0), groups=channels)


def _batches(n, size):
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _prepared(images, rows, group, device):
    # A copy of the block: a slice of a read-only memmap would make torch warn.
    x = torch.from_numpy(np.array(images[rows], dtype=np.float32)).to(device)
    return blur(normalise_poses(x, group))


def _principal_axes(images, group, device, n_fit=10000):
    """Mean (D,) and the top principal axes (D, p) of the prepared images."""
    rows = np.linspace(0, len(images) - 1, min(len(images), n_fit)).astype(int)
    sample = torch.cat([_prepared(images, rows[part], group, device).flatten(1)
                        for part in _batches(len(rows), 512)])
    mean = sample.mean(0)
    n_components = min(N_COMPONENTS, *sample.shape)
    # The exact SVD of the (D, D) scatter would be large for big images; a rank-p
    # randomised SVD is enough for distances.
    _, _, axes = torch.svd_lowrank(sample - mean, q=n_components + 8, niter=4)
    return mean, axes[:, :n_components]


def pose_invariant_neighbors(images, n_neighbors, group="SO2",
                             rotation_range=math.pi / 2, device="cpu", candidates=None,
                             return_angles=False):
    """Indices of each image's nearest neighbours under the poses of ``group``.

    Parameters
    ----------
    images : ndarray or memmap of shape (n, C, H, W)
        Read a block at a time.
    n_neighbors : int
        Neighbours per image (fewer if there are fewer other candidates).
    group : {"SO2", "SE2", "SIM2"} or None
        None searches no rotation (plain distances after the blur).
    rotation_range : float
        Half-width, in radians, of the grid of relative rotations searched.
    device : str or torch.device
    candidates : ndarray of int, optional
        Sorted positions of the images that may be neighbours; all by default. The
        search costs time in proportion to n times the number of candidates, so a
        sample of candidates keeps it linear in n for large data.
    return_angles : bool, default=False
        Also return the angle of the grid at which each neighbour matched best.

    Returns
    -------
    neighbors : ndarray of shape (n, n_neighbors), int64
        Positions in ``images``, nearest first; an image is never its own neighbour.
    angles : ndarray of shape (n, n_neighbors), float32
        Only with ``return_angles``: the angle a (radians) for which the image,
        normalised (centred for SE2 and SIM2, brought to a common spread for SIM2)
        and turned by a, best matched the neighbour, normalised alike
        (:func:`neighbor_relation` turns this into the map between the two).
    """
    n = len(images)
    pool = np.arange(n) if candidates is None else np.asarray(candidates, dtype=np.int64)
    k = min(n_neighbors, len(pool) - 1)
    angles = search_angles(rotation_range) if group is not None else np.zeros(1)
    with torch.no_grad():
        mean, axes = _principal_axes(images, group, device)
        base = torch.cat([(_prepared(images, pool[part], group, device).flatten(1) - mean)
                          @ axes for part in _batches(len(pool), 512)])  # (m, p)
        # |q - b|^2 = |q|^2 + |b|^2 - 2 q.b as one product [q, |q|^2, 1] . [-2b, 1, |b|^2],
        # so each (b, m) block of distances is one matrix product and one in-place
        # minimum per angle (this loop is bound by memory, not arithmetic).
        base = torch.cat([-2 * base, torch.ones_like(base[:, :1]),
                          (base ** 2).sum(1, keepdim=True)], dim=1).T.contiguous()
        found, found_angles = [], []
        for part in _batches(n, max(1, _BLOCK_PAIRS // len(pool))):
            query = _prepared(images, part, group, device)
            best, which = None, None
            # The queries are turned, not the candidates: on shifted digits (se2)
            # turning the candidates found neighbours as pure, yet trained clusters
            # 0.06 less accurate over five seeds (benchmarks/results/landmarks.md).
            for step, angle in enumerate(angles):
                q = (rotate(query, angle).flatten(1) - mean) @ axes  # (b, p)
                q = torch.cat([q, (q ** 2).sum(1, keepdim=True), torch.ones_like(q[:, :1])],
                              dim=1)
                if best is None:
                    best = q @ base
                    distance = torch.empty_like(best)
                    if return_angles:
                        which = torch.zeros_like(best, dtype=torch.int16)
                else:
                    torch.mm(q, base, out=distance)
                    if return_angles:
                        which.masked_fill_(distance < best, step)
                    torch.minimum(best, distance, out=best)
            rows, columns = _self_pairs(np.arange(part.start, part.stop), pool)
            best[torch.from_numpy(rows), torch.from_numpy(columns)] = math.inf
            nearest = best.topk(k, dim=1, largest=False).indices
            found.append(nearest.cpu())
            if return_angles:
                found_angles.append(which.gather(1, nearest).cpu())
    neighbors = pool[torch.cat(found).numpy()]
    if not return_angles:
        return neighbors
    return neighbors, angles[torch.cat(found_angles).numpy()].astype(np.float32)


def _self_pairs(queries, pool):
    """(query row, pool column) of each query that is itself in the sorted pool."""
    columns = np.minimum(np.searchsorted(pool, queries), len(pool) - 1)
    hit = pool[columns] == queries
    return np.flatnonzero(hit), columns[hit]


def graph_clusters(neighbors, n_clusters, random_state=None, nodes=None):
    """Spectral clusters of the symmetric k-nearest-neighbour graph, (n,) int64.

    ``neighbors`` (n, k) holds indices into the same n images. Images linked by many
    short paths share a cluster, which finds the digits of rotated MNIST far better
    than KMeans on any fixed code (benchmarks/results/neighbors.md).

    ``nodes``, sorted positions whose neighbours all lie among themselves (the
    candidates of the search), restricts the graph to them; every other image then
    takes the cluster most common among its neighbours, the nearest breaking ties.
    Spectral clustering grows faster than linearly in the number of nodes.
    """
    n, k = neighbors.shape
    nodes = np.arange(n) if nodes is None else np.asarray(nodes, dtype=np.int64)
    labels = np.zeros(n, dtype=np.int64)
    local = np.searchsorted(nodes, neighbors[nodes])  # image positions -> node positions
    labels[nodes] = _spectral_clusters(local, n_clusters, random_state)
    others = np.setdiff1d(np.arange(n), nodes)
    if len(others):
        labels[others] = _votes(labels[neighbors[others]], n_clusters)
    return labels


def _spectral_clusters(neighbors, n_clusters, random_state):
    n, k = neighbors.shape
    if n_clusters >= n:
        return np.arange(n, dtype=np.int64) % n_clusters
    graph = csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), neighbors.ravel())),
                       shape=(n, n))
    graph = ((graph + graph.T) > 0).astype(np.float64)
    spectral = SpectralClustering(n_clusters, affinity="precomputed",
                                  assign_labels="cluster_qr", random_state=random_state)
    with warnings.catch_warnings():
        # A graph in several pieces still clusters (the pieces part first); the
        # warning would only alarm.
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        return spectral.fit_predict(graph).astype(np.int64)


def _votes(labels, n_clusters):
    """Most common label of each row of (m, k) labels, nearest (first) breaking ties."""
    m, k = labels.shape
    weights = 1.0 + np.linspace(1e-3, 0.0, k)  # below one vote in total
    counts = np.zeros((m, n_clusters))
    np.add.at(counts, (np.repeat(np.arange(m), k), labels.ravel()), np.tile(weights, m))
    return counts.argmax(1).astype(np.int64)


class Rows:
    """The rows ``rows`` of an array, read lazily (the array may be a memmap)."""

    def __init__(self, array, rows):
        self.array, self.rows = array, rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        return self.array[self.rows[index]]


def neighbor_graph(images, rows, n_neighbors, n_clusters, group, rotation_range,
                   n_landmarks=None, cluster=True, device="cpu"):
    """Pose-invariant neighbours of the training ``rows`` and their graph's clusters.

    Parameters
    ----------
    images : ndarray or memmap of shape (n, C, H, W)
        Only the rows ``rows`` are read.
    rows : ndarray of int
        Sorted indices of the training images.
    n_neighbors, n_clusters : int
        Neighbours per image (0 turns the graph off) and clusters of the graph.
    group, rotation_range : as for :func:`pose_invariant_neighbors`
    n_landmarks : int or None
        With more rows than this, neighbours are searched among a random sample of
        this many of them, and only their graph is clustered.
    cluster : bool
        Whether to cluster the graph (False when the graph term is off).
    device : str or torch.device

    Returns
    -------
    neighbors : ndarray of shape (n, k) or None
        Indices into ``images`` (rows outside ``rows`` hold zeros, never read); None
        when neighbours are off.
    labels : ndarray of shape (n,) or None
        The graph's cluster of each training image, indexed like ``images``; None
        when off. The random choices (landmarks, spectral seed) come from torch's
        random state, so a seeded fit repeats them.
    angles : ndarray of shape (n, k) or None
        The angle at which each neighbour matched (see
        :func:`pose_invariant_neighbors`); None when neighbours are off.
    """
    if not n_neighbors or len(rows) < 2:
        return None, None, None
    subset = images if len(rows) == len(images) else Rows(images, rows)
    landmarks = _landmarks(len(rows), n_landmarks)
    found, found_angles = pose_invariant_neighbors(
        subset, n_neighbors, group, rotation_range, device, candidates=landmarks,
        return_angles=True)
    neighbors = np.zeros((len(images), found.shape[1]), dtype=np.int64)
    neighbors[rows] = rows[found]
    angles = np.zeros(neighbors.shape, dtype=np.float32)
    angles[rows] = found_angles
    if not cluster:
        return neighbors, None, angles
    seed = int(torch.randint(2 ** 31 - 1, ()).item())
    labels = np.zeros(len(images), dtype=np.int64)
    labels[rows] = graph_clusters(found, n_clusters, seed, nodes=landmarks)
    return neighbors, labels, angles


def fit_graph(images, rows, module, n_neighbors, n_landmarks, cluster, previous_labels,
              progress):
    """The graph stage of a fit: :func:`neighbor_graph` for the module's settings,
    reported to ``progress``. On a warm start (``previous_labels``, the previous
    fit's cluster of each image) the graph's clusters are renumbered to agree with
    the previous fit's, so that cluster k keeps its meaning."""
    config = module.config
    if n_neighbors and len(rows) > 1:
        progress.stage(f"neighbour graph: searching {len(rows)} images ...")
    start = time.perf_counter()
    neighbors, labels, angles = neighbor_graph(
        images, rows, n_neighbors, config.n_clusters, config.group,
        config.rotation_range, n_landmarks, cluster=cluster, device=module_device(module))
    if neighbors is not None:
        found = f"{n_neighbors} pose-invariant neighbours of {len(rows)} images"
        clusters = f", {config.n_clusters} clusters" if labels is not None else ""
        progress.stage(f"neighbour graph: {found}{clusters}", time.perf_counter() - start)
    if labels is not None and previous_labels is not None:
        order = match_order(labels[rows], previous_labels[rows], config.n_clusters)
        renamed = np.argsort(order)  # old cluster order[j] -> j
        labels[rows] = renamed[labels[rows]]
    return neighbors, labels, angles


def neighbor_agreement(labels, rows, neighbors):
    """The share of the graph's pairs (each training row and each of its
    ``neighbors``) that ``labels`` put in one cluster."""
    return float(np.mean(labels[rows][:, None] == labels[neighbors[rows]]))


def _landmarks(n_rows, n_landmarks):
    if n_landmarks is None or n_rows <= n_landmarks:
        return None
    rng = np.random.default_rng(int(torch.randint(2 ** 31 - 1, ()).item()))
    return np.sort(rng.choice(n_rows, n_landmarks, replace=False))
