"""skmcevae: the Multi-Clustering Equivariant VAE as a scikit-learn estimator."""

from .estimator import MCEVAE

__version__ = "0.14.0"
__all__ = ["MCEVAE", "__version__"]
