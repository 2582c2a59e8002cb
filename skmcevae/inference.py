"""Running a trained module over arrays of images, and where it runs.

Inference reads one batch at a time from the user's array (a memmap stays on disk),
moves it to the module's device and its result back to the CPU, so memory on the
device holds a single batch.
"""

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from .groups import (GROUP_DIMS, exp_map, invert_affine, rotate, rotation_matrix,
                     upright_pose, warp)

# Measured fastest on a 2-core CPU for 28x28 images (benchmarks/results/speed-cpu.md).
INFERENCE_BATCH = 128


# Above this fraction of the rotation range, the median error with which the pose
# follows a turn of the image (turn_error), a fit warns that the pose was not
# learned: an unlearned pose errs by about half the range, trained models by 1-6% of
# it (so2: 2.6 of 90 degrees, se2: 10.5; benchmarks/results/generative-v0.7.md).
MAX_TURN_ERROR = 0.25
# ... and above this many degrees: trained models follow turns to 1.5-10 degrees.
MIN_TURN_ERROR = 10.0


def apply_in_batches(module, array, fn, batch_size=None, index=None, alongside=None):
    """Apply ``fn`` to batches of ``array`` (or of its rows ``index``); one numpy array.

    ``batch_size`` None takes :data:`INFERENCE_BATCH`.
    With ``alongside``, an array with a row per image of ``array``, ``fn`` also gets
    the batch's rows of it, as a tensor on the device. Runs in eval mode without
    gradient.
    """
    module.eval()
    batch_size = batch_size or INFERENCE_BATCH
    device = module_device(module)
    n = array.shape[0] if index is None else len(index)
    if n == 0:
        raise ValueError("No images to run the model on.")
    out = None
    with torch.no_grad():
        for start in range(0, n, batch_size):
            rows = slice(start, start + batch_size)
            batch = array[rows] if index is None else array[index[rows]]
            batch = torch.from_numpy(np.array(batch)).to(device)  # memmaps may be read-only
            args = () if alongside is None else (torch.from_numpy(alongside[rows]).to(device),)
            result = fn(batch, *args).cpu().numpy()
            # One output array, filled in place. A list of per-batch results,
            # joined at the end, left a small live block after each batch's large
            # temporaries (the pose search's), so the allocator could not reuse or
            # return them: transform's peak memory grew with the number of images
            # (305 MB on 35,000 28x28 images; 0 MB this way).
            if out is None:
                out = np.empty((n,) + result.shape[1:], dtype=result.dtype)
            out[rows] = result
    return out


def encode(module, images, keys, index=None):
    """The posterior heads ``keys`` (e.g. "c_mean", "z_mean") of each image (of the
    rows ``index`` only, when given), one (n, size) array per key."""
    def heads(x):
        post = module.encode(x, search="tau_mean" in keys)
        return torch.cat([post[key] for key in keys], dim=1)
    out = apply_in_batches(module, images, heads, index=index)
    sizes = np.cumsum([head_size(module.config, key) for key in keys])[:-1]
    return np.split(out, sizes, axis=1)


def encode_turned(module, images, key, angles):
    """The head ``key`` of each image turned by each angle (radians), (n, A * size)."""
    def heads(x):
        return torch.cat([module.encode(rotate(x, angle) if angle else x,
                                        search=key == "tau_mean")[key]
                          for angle in angles], dim=1)
    return apply_in_batches(module, images, heads)


def decode(module, codes, clusters=None):
    """Images (n, C, H, W) decoded from codes ``[z_c, z, tau]`` (n, K + d + pose);
    codes without the pose columns give the canonical images, shown at the display
    pose (:func:`fit_display`) of their ``clusters`` (n,) when given."""
    config = module.config
    k, d = config.n_clusters, config.latent_dim

    def images(c, y=None):
        canonical = module.decode_canonical(c[:, :k], c[:, k:k + d])
        if c.shape[1] == k + d:
            return module.show(canonical, y)
        return module.render(canonical, c[:, k + d:])
    return apply_in_batches(module, codes, images, alongside=clusters)


def fit_display(module, images, labels, rows=None):
    """Set the pose at which canonical images are shown (samples, prototypes, the
    plots' canonical pictures, ``predict_pose``'s origin), from the poses of the
    ``images`` (of the training ``rows``; ``labels`` (n,), the read-out's clusters):
    the mean shift and scale of all (SE2, SIM2), and for each cluster the circular
    mean angle of its images (``display_turn``).

    Only the images' poses relative to each other are data; where the frame of the
    canonical image sits is the model's choice. On SIM2 glyphs it chose a frame
    half the images' size (a mean log-scale of -0.6 to -0.9), in which the canonical
    image is a small glyph amid pixels that no image ever shows; and with the pose
    search the decoder draws each cluster in whatever orientation training settled
    on (glyphs: 160 degrees from the graph's). Shown at the images' own mean pose, a
    canonical image looks like the data: a cluster of digits turned within +-90
    degrees, upright.
    """
    group = module.config.group
    if group is None:
        return
    rows = np.arange(len(images)) if rows is None else rows
    tau, = encode(module, images, ("tau_mean",), index=rows)
    turns = np.zeros(module.config.n_clusters, dtype=np.float32)
    for k in np.unique(labels[rows]):
        turns[k] = np.angle(np.exp(1j * tau[labels[rows] == k, 0]).mean())
    module.display_turn.copy_(torch.from_numpy(turns))
    if group not in ("SE2", "SIM2"):
        return
    tau = torch.from_numpy(tau).double()
    shift = exp_map(tau, group)[:, :, 2].mean(0, keepdim=True)  # (1, 2)
    log_scale = tau[:, 3].mean().view(1) if group == "SIM2" else tau.new_zeros(1)
    display = upright_pose(shift, log_scale, group)[0].float()
    module.register_buffer("display", display.to(module.prior.weight.device))


def undo_encoder_pose(module, images):
    """The images (n, C, H, W) warped by the inverse of the encoder's pose tau."""
    group = module.config.group

    def undo(x):
        tau = module.encode(x)["tau_mean"]
        return warp(x, invert_affine(exp_map(tau, group)))
    return apply_in_batches(module, images, undo)


def turn_error(module, images, n_sample=500):
    """Median error, in degrees, with which the pose follows a turn of the image: over
    (up to ``n_sample`` evenly spread of) the images x, each turned by its own of
    evenly spaced turns g within the model's rotation range,
    ``|theta(g.x) - theta(x) - g|``. A few degrees for a learned pose; for one that
    ignores the turn, or picks its angle at random, about half the range."""
    span = module.config.rotation_range
    x = images[:: max(1, len(images) // n_sample)]
    turns = np.linspace(-span, span, len(x))
    tau, = encode(module, x, ("tau_mean",))

    def turned_pose(batch, angle):
        return module.encode(warp(batch, rotation_matrix(angle)))["tau_mean"]
    moved = apply_in_batches(module, x, turned_pose,
                             alongside=turns.astype(np.float32))
    error = np.angle(np.exp(1j * (moved[:, 0] - tau[:, 0] - turns)))
    return float(np.degrees(np.median(np.abs(error))))


def warn_if_pose_unlearned(module, images):
    """Warn when the pose does not follow a turn of the training ``images``: it was
    not learned (short fits: 600 images for 20 epochs left it within 2 degrees of
    the start; with the pose search an untrained model picks its turns at random)."""
    config = module.config
    if config.group is None or not config.rotation_range:
        return
    span = min(np.degrees(config.rotation_range), 180.0)
    if span / 2 <= MIN_TURN_ERROR:
        return  # an unlearned pose errs by about span / 2: nothing to tell apart
    error = turn_error(module, images)
    if error > max(MAX_TURN_ERROR * span, MIN_TURN_ERROR):
        warnings.warn(f"The pose has hardly been learned: turned by up to "
                      f"{span:.0f} degrees, the training images' angle misses the "
                      f"turn by {error:.0f} degrees (median). Train longer "
                      f"(max_epochs) or, if the images are upright or have no "
                      f"orientation, use group=None.", ConvergenceWarning)


def head_size(config, key):
    """Columns of the posterior head ``key`` for a module built from ``config``."""
    sizes = {"c": config.n_clusters, "z": config.latent_dim,
             "tau": GROUP_DIMS[config.group]}
    return sizes[key.rsplit("_", 1)[0]]  # "c_mean", "c_logvar", "c_logits" -> "c"


def module_device(module):
    return next(module.parameters()).device


def resolve_device(device):
    """The torch device a fit asks for; "auto" takes CUDA when available."""
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
    """Where a model fitted on ``device`` is loaded on this machine: the same device
    where it exists, else the first GPU, else the CPU (with a warning)."""
    name = str(device)
    if not name.startswith("cuda"):
        return name
    if not torch.cuda.is_available():
        warnings.warn(f"This model was fitted on {name!r}, which this machine lacks; "
                      f"it is loaded on the CPU.", UserWarning)
        return "cpu"
    index = torch.device(name).index
    if index is not None and index >= torch.cuda.device_count():
        warnings.warn(f"This model was fitted on {name!r}, which this machine lacks; "
                      f"it is loaded on 'cuda:0'.", UserWarning)
        return "cuda:0"
    return name


def cuda_devices(device):
    """The CUDA device indices whose random state a fit on ``device`` touches."""
    if str(device).startswith("cuda"):
        return [torch.device(device).index or 0]
    return []


def to_cpu(value):
    """A copy of nested dicts, lists and tuples with every tensor moved to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {key: to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(item) for item in value)
    return value
