"""One canonical orientation per image, from the angles at which its neighbours matched.

The neighbour search (:mod:`skmcevae.graph`) finds, for each pair of neighbours i, j,
the angle a_ij by which i must turn to match j. If every image i has an orientation
phi_i, then phi_j - phi_i = a_ij on every edge. Finding the phi from the a is angular
synchronisation (Singer, 2011): with ``H[j, i] = exp(1j a_ij)`` (and its conjugate for
the reverse edge), the vector ``exp(1j phi)`` is the leading eigenvector of H. Solved
for each cluster of the graph at once, it has no local minima, unlike a loss that asks
each pair to agree: trained pair by pair, a cluster of glyphs split into groups whose
canonical images were turned against each other (median pose error 19-27 degrees),
while the synchronised angles of the same graph are within 2.4 degrees of the truth
(benchmarks/results/levers-v0.7.md).
"""

import numpy as np
from scipy.sparse import coo_matrix, diags
from scipy.sparse.linalg import eigsh

# Below this many images a cluster's eigenvector is found densely: eigsh needs
# more rows than eigenvectors, and small matrices are quicker whole.
_DENSE_BELOW = 64


def synchronise_angles(neighbors, angles, rows, labels=None):
    """Each training image's orientation phi (n,) in radians, NaN where unknown.

    Parameters
    ----------
    neighbors : ndarray of shape (n, k)
        Indices of each image's neighbours (rows outside ``rows`` are not read).
    angles : ndarray of shape (n, k)
        The angle (radians) by which each image turned to match each neighbour.
    rows : ndarray of int
        The training images.
    labels : ndarray of shape (n,) or None
        The graph's cluster of each image: each cluster is synchronised on its own,
        over the edges inside it, and its angles have a circular mean of 0 (the
        canonical orientation is the cluster's average one). None: all rows as one.

    Returns
    -------
    phi : ndarray of shape (n,), float32
        So that the neighbour j of i has ``phi[j] - phi[i] ~ angles`` of the edge;
        NaN for images outside ``rows`` and for those linked to no image of their
        cluster.
    """
    phi = np.full(len(neighbors), np.nan, dtype=np.float32)
    rows = np.asarray(rows)
    groups = [rows] if labels is None else [rows[labels[rows] == k]
                                            for k in np.unique(labels[rows])]
    for members in groups:
        if len(members) > 1:
            phi[members] = _leading_phases(members, neighbors, angles)
    return phi


def _leading_phases(members, neighbors, angles):
    """The phases of the leading eigenvector of one cluster's edges, circular mean 0,
    NaN for members without an edge inside the cluster."""
    m = len(members)
    local = np.full(len(neighbors), -1, dtype=np.int64)
    local[members] = np.arange(m)
    source = np.repeat(np.arange(m), neighbors.shape[1])
    target = local[neighbors[members].ravel()]
    inside = target >= 0
    source, target = source[inside], target[inside]
    turn = np.exp(1j * angles[members].ravel()[inside].astype(np.float64))
    matrix = coo_matrix((turn, (target, source)), shape=(m, m)).tocsr()
    matrix = matrix + matrix.conj().T
    degree = np.asarray(abs(matrix).sum(1)).ravel()
    # Normalised by degree, as spectral clustering is: hubs do not own the vector.
    scale = diags(1.0 / np.sqrt(np.maximum(degree, 1e-12)))
    normalised = scale @ matrix @ scale
    if m < _DENSE_BELOW:
        vector = np.linalg.eigh(normalised.toarray())[1][:, -1]
    else:
        # A fixed start: the same graph gives the same angles on every call.
        _, vectors = eigsh(normalised, k=1, which="LA", v0=np.ones(m, dtype=complex))
        vector = vectors[:, 0]
    vector = scale @ vector
    phases = np.angle(vector)
    linked = degree > 0
    centre = np.angle(np.exp(1j * phases[linked]).sum()) if linked.any() else 0.0
    phases = np.angle(np.exp(1j * (phases - centre)))  # circular mean 0, in (-pi, pi]
    return np.where(linked, phases, np.nan)
