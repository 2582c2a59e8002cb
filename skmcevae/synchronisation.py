"""One canonical orientation per image, from the angles at which its neighbours matched.

The neighbour search (:mod:`skmcevae.graph`) finds, for each pair of neighbours i, j,
the angle a_ij by which i must turn to match j. If every image i has an orientation
phi_i, then phi_j - phi_i = a_ij on every edge. Finding the phi from the a is angular
synchronisation (Singer, 2011): with ``H[j, i] = exp(1j a_ij)`` (and its conjugate for
the reverse edge), the vector ``exp(1j phi)`` is the leading eigenvector of H, found
for each connected piece of each graph cluster. Solved for a whole piece at once, it
has no local minima, unlike a loss that asks each pair to agree: in a glyph model
trained pair by pair, three of six clusters kept canonical images turned against each
other (median pose error 17-27 degrees), while the synchronised angles of the same
graph are within 2.4 degrees of the truth (benchmarks/results/levers-v0.7.md).
"""

import numpy as np
from scipy.sparse import coo_matrix, diags
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import eigsh

from .inference import encode

# Below this many images a piece's eigenvector is found densely: eigsh needs
# more rows than eigenvectors, and small matrices are quicker whole.
_DENSE_BELOW = 64
# Pieces of the graph smaller than this get no orientation: a pair or a triangle
# agrees with any angles, and its images learn their pose from the other terms.
MIN_PIECE = 5


def pose_targets(module, images, neighbors, angles, rows, labels, warm):
    """The orientations a fit holds the pose at, (n, 2): :func:`synchronise_angles`
    of the training ``rows`` and the piece of the graph each was synchronised in
    (-1 where none); None where the model has no pose or there are no neighbours'
    angles. On a ``warm`` start they agree with the trained encoder's angles: a
    synchronisation over new rows would otherwise turn each cluster's canonical
    orientation (by tens of degrees on full-circle data)."""
    if angles is None or module.config.group is None:
        return None
    reference = None
    if warm:
        reference = np.zeros(len(images))
        tau, = encode(module, images, ("tau_mean",), index=rows)
        reference[rows] = tau[:, 0]
    phi, piece = synchronise_angles(neighbors, angles, rows, labels, reference,
                                    return_pieces=True)
    return np.stack([phi, piece.astype(np.float32)], axis=1)


def synchronise_angles(neighbors, angles, rows, labels=None, reference=None,
                       return_pieces=False):
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
        The graph's cluster of each image: only edges inside a cluster are used.
        None: all edges.
    reference : ndarray of shape (n,) or None
        Angles (radians) the result should agree with, such as a trained model's
        poses on a warm start: each piece is then turned by its circular mean
        difference to them, instead of to a circular mean of 0.
    return_pieces : bool, default=False
        Also return the piece of each image.

    Returns
    -------
    phi : ndarray of shape (n,), float32
        So that the neighbour j of i has ``phi[j] - phi[i] ~ angles`` of the edge.
        Each connected piece of the graph (within a cluster) is synchronised on its
        own, and its angles have a circular mean of 0 (its canonical orientation is
        its average one) or of its difference to ``reference``: nothing relates the
        orientations of two pieces. NaN for
        images outside ``rows`` and in pieces of fewer than :data:`MIN_PIECE` images.
    pieces : ndarray of shape (n,), int64
        With ``return_pieces``: a number per synchronised piece, -1 where phi is NaN.
    """
    phi = np.full(len(neighbors), np.nan, dtype=np.float32)
    pieces = np.full(len(neighbors), -1, dtype=np.int64)
    rows = np.asarray(rows)
    groups = [rows] if labels is None else [rows[labels[rows] == k]
                                            for k in np.unique(labels[rows])]
    for members in groups:
        matrix = _edge_matrix(members, neighbors, angles)
        n_pieces, piece = connected_components(abs(matrix) > 0, directed=False)
        for p in range(n_pieces):
            inside = np.flatnonzero(piece == p)
            if len(inside) >= MIN_PIECE:
                phases = _leading_phases(matrix[inside][:, inside])
                if reference is not None:
                    # A warm start: keep the orientation the model already learned,
                    # which a circular mean of 0 over other rows would move.
                    offset = np.angle(np.exp(1j * (reference[members[inside]]
                                                   - phases)).sum())
                    phases = np.angle(np.exp(1j * (phases + offset)))
                phi[members[inside]] = phases
                pieces[members[inside]] = pieces.max() + 1
    return (phi, pieces) if return_pieces else phi


def _edge_matrix(members, neighbors, angles):
    """The Hermitian matrix (m, m) of exp(1j a) over the edges among ``members``."""
    m = len(members)
    local = np.full(len(neighbors), -1, dtype=np.int64)
    local[members] = np.arange(m)
    source = np.repeat(np.arange(m), neighbors.shape[1])
    target = local[neighbors[members].ravel()]
    inside = target >= 0
    turn = np.exp(1j * angles[members].ravel()[inside].astype(np.float64))
    matrix = coo_matrix((turn, (target[inside], source[inside])), shape=(m, m)).tocsr()
    return (matrix + matrix.conj().T).tocsr()


def _leading_phases(matrix):
    """The phases of the leading eigenvector of one connected piece's matrix, with a
    circular mean of 0."""
    m = matrix.shape[0]
    degree = np.asarray(abs(matrix).sum(1)).ravel()
    # Normalised by degree, as spectral clustering is: hubs do not own the vector.
    scale = diags(1.0 / np.sqrt(degree))
    normalised = scale @ matrix @ scale
    if m < _DENSE_BELOW:
        vector = np.linalg.eigh(normalised.toarray())[1][:, -1]
    else:
        # A fixed start: the same graph gives the same angles on every call.
        _, vectors = eigsh(normalised, k=1, which="LA", v0=np.ones(m, dtype=complex))
        vector = vectors[:, 0]
    phases = np.angle(scale @ vector)
    centre = np.angle(np.exp(1j * phases).sum())
    return np.angle(np.exp(1j * (phases - centre)))  # circular mean 0, in (-pi, pi]
