"""Saving and loading a fitted MCEVAE with pickle or joblib.

The torch module is stored as its config and a state dict on the CPU, so a model
fitted on a GPU loads on a machine without one; models saved by older versions load
with what they lacked filled in as they were trained.
"""

from .inference import loadable_device, module_device, to_cpu
from .model import MCEVAEModule

# Parameters added after models were first saved, with the value that reproduces
# what a model saved before them did.
ADDED_SINCE_SAVED = {"decoder": "dense", "neighbor_pose_weight": 0.0,
                     "pose_search_step": None, "canonical_weight": 1.0,
                     "relabel_at": None}


class PersistenceMixin:
    """``__getstate__`` and ``__setstate__`` of :class:`skmcevae.MCEVAE`."""

    def __getstate__(self):
        state = self.__dict__.copy()
        if "module_" in state:
            # Stored on the CPU, so any machine can load it.
            module = state.pop("module_")
            state["_fitted_device"] = str(module_device(module))
            state["_module_state"] = (module.config, to_cpu(module.state_dict()))
            state["_optimizer_state"] = to_cpu(state.get("_optimizer_state"))
        return state

    def __setstate__(self, state):
        saved = state.pop("_module_state", None)
        device = state.pop("_fitted_device", "cpu")
        self.__dict__.update(state)
        for name, value in ADDED_SINCE_SAVED.items():
            self.__dict__.setdefault(name, value)
        if saved is not None:
            config, weights = saved
            module = MCEVAEModule(config)
            # Saved before 0.6.0: no display pose (canonical images were at tau = 0).
            weights.setdefault("display", module.display)
            # Saved before 0.8.0: no display turns (clusters shown without a turn).
            weights.setdefault("display_turn", module.display_turn)
            module.load_state_dict(weights)
            self.module_ = module.to(loadable_device(device)).eval()
