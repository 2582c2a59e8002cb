"""The one place where an estimator's parameters become the torch core's configuration.

:func:`configs` turns the parameters of :class:`skmcevae.MCEVAE` (``get_params()``)
into a :class:`~skmcevae.model.ModelConfig`, what the module is and which poses it
covers, and a :class:`~skmcevae.objective.LossConfig`, what the loss adds. Benchmarks
build modules and losses through it, so they train what the estimator trains.
"""

import math

from .model import ModelConfig
from .objective import LossConfig


def configs(params, image_shape):
    """``(ModelConfig, LossConfig)`` for the estimator parameters ``params``.

    Parameters
    ----------
    params : dict
        ``MCEVAE(...).get_params()``; degrees and fractions of the image side are
        converted to the core's radians and ``affine_grid`` units here.
    image_shape : tuple
        ``(C, H, W)`` of the training images.

    Examples
    --------
    >>> from skmcevae import MCEVAE
    >>> from skmcevae.config import configs
    >>> model, loss = configs(MCEVAE(group="SE2").get_params(), (1, 28, 28))
    >>> model.group, round(model.rotation_range, 4), model.translation_range, loss.beta
    ('SE2', 1.5708, 0.5, 1.0)
    """
    model = ModelConfig(
        image_shape=tuple(int(s) for s in image_shape), n_clusters=params["n_clusters"],
        latent_dim=params["latent_dim"], group=_group(params["group"]),
        likelihood=params["likelihood"], hidden_size=params["hidden_size"],
        cluster_temperature=params["cluster_temperature"],
        rotation_range=math.radians(params["rotation_range"]),
        translation_range=2 * params["translation_range"],
        scale_range=params["scale_range"], decoder=params["decoder"],
        pose_search_step=math.radians(params["pose_search_step"] or 0.0))
    loss = LossConfig(beta=params["beta"], invariance=params["invariance"],
                      n_samples=params["n_invariance_samples"],
                      consistency_weight=params["consistency_weight"],
                      canonical_weight=params["canonical_weight"],
                      graph_weight=params["graph_weight"],
                      pose_weight=params["pose_weight"],
                      neighbor_pose_weight=params["neighbor_pose_weight"],
                      mixed_precision=params["mixed_precision"])
    return model, loss


def _group(group):
    """"so2" is "SO2": the group names are accepted in any case."""
    return group.upper() if isinstance(group, str) else group


def architecture_changes(fitted, wanted):
    """Names of the fields that differ between two ModelConfigs and would change the
    shapes of the weights (what a warm start cannot do)."""
    return [name for name in ModelConfig.ARCHITECTURE
            if getattr(fitted, name) != getattr(wanted, name)]
