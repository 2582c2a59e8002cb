"""Choosing the torch device, and loading models fitted on another machine."""

import warnings

import torch


def resolve_device(device):
    name = str(device)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} was asked for but CUDA is not available on "
                         f"this machine; use device='cpu' or device='auto'.")
    try:
        torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"device={name!r} is not a torch device: {error}") from None
    return name


def loadable_device(device):
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"This model was fitted on {device!r}, which this machine lacks; "
                      f"it is loaded on the CPU.", UserWarning)
        return "cpu"
    return device


def cuda_devices(device):
    if str(device).startswith("cuda"):
        return [torch.device(device).index or 0]
    return []
