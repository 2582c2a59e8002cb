"""The MCE-VAE torch module: conv encoder, three posterior heads, invariant decoder.

Only :class:`skmcevae.MCEVAE` owns hyper-parameters; this module is built from a
small :class:`ModelConfig`.
"""

import contextlib
import math
from dataclasses import dataclass

import torch
from torch import nn

from .groups import compose, exp_map, group_dim, log_map, rotation_matrix, warp
from .losses import PIXEL_EPS
from .pose_search import refine_pose, search_turns
MIN_IMAGE_SIDE = 8


@dataclass(frozen=True)
class ModelConfig:
    image_shape: tuple  # (C, H, W)
    n_clusters: int
    latent_dim: int
    group: str = "SO2"
    likelihood: str = "bernoulli"
    hidden_size: int = 512
    pose_hidden_size: int = 32
    decoder_hidden_size: int = 300
    # "dense": the authors' gated dense layers; "conv": transposed convolutions.
    decoder: str = "dense"
    # When set, the cluster weights are softmax(z_c mean / temperature): the
    # larger a code's k-th entry, the more it belongs to cluster k, so w and z_c
    # tell one story (the prior's component k then sits where those codes are).
    cluster_temperature: float = 0.2
    # The poses the model covers (its posed copies, test-time turns and alignment
    # search): angles in radians, shifts in affine_grid units (the image spans 2),
    # log-scales.
    rotation_range: float = math.pi / 2
    translation_range: float = 0.5
    scale_range: float = 0.2
    # The step (radians) of the search that refines the encoder's turn
    # (:mod:`skmcevae.pose_search`); 0: the encoder's pose alone, as before 0.8.0.
    pose_search_step: float = 0.0

    # Fields a warm start cannot change: they fix the shapes of the weights.
    ARCHITECTURE = ("image_shape", "n_clusters", "latent_dim", "group", "likelihood",
                    "hidden_size", "pose_hidden_size", "decoder_hidden_size",
                    "decoder", "cluster_temperature")


def _conv_out(side, kernel, stride, padding):
    return (side + 2 * padding - kernel) // stride + 1


class ConvEncoder(nn.Module):
    """Image (B, C, H, W) -> z_aug (B, n_features); a quarter of the resolution."""

    # (out_channels, kernel, stride, padding): 28x28 -> 16 x 7 x 7 = 784 features.
    LAYERS = ((32, 3, 1, 1), (32, 4, 2, 1), (64, 3, 2, 1), (16, 3, 1, 1))

    def __init__(self, image_shape):
        super().__init__()
        channels, height, width = image_shape
        blocks = []
        for out, kernel, stride, padding in self.LAYERS:
            blocks += [nn.Conv2d(channels, out, kernel, stride, padding),
                       nn.BatchNorm2d(out), nn.ELU()]
            channels = out
            height = _conv_out(height, kernel, stride, padding)
            width = _conv_out(width, kernel, stride, padding)
        self.net = nn.Sequential(*blocks, nn.Flatten())
        self.n_features = channels * height * width

    def forward(self, x):
        return self.net(x)


class GaussianHead(nn.Module):
    """z_aug -> (mean, log-variance) of a diagonal Gaussian, plus optional logits."""

    def __init__(self, n_in, hidden, n_out, n_logits=0):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ELU(),
                                  nn.Linear(hidden, hidden), nn.ELU())
        self.out = nn.Linear(hidden, 2 * n_out + n_logits)
        self.n_out = n_out

    def forward(self, h):
        out = self.out(self.body(h))
        k = self.n_out
        return out[:, :k], out[:, k:2 * k], out[:, 2 * k:]


class PoseHead(nn.Module):
    """z_aug -> (mean, log-variance) of tau, its angle read from a direction.

    The angle is ``atan2(b, a)`` of two outputs rather than one regressed number:
    a continuous map of the image cannot give an angle that grows by 2 pi when the
    image makes a full turn, but a direction can turn with it. The last layer starts
    at zero with ``a = 1``, so training starts from the identity transform, and with
    a small posterior spread: poses drawn with unit spread (a radian, half the
    image, a factor e) make every early reconstruction useless, and on SIM2 glyphs
    the model then learned to zoom into a blur that no pose changes.
    """

    START_LOGVAR = -4.0  # a spread of 0.14 (radians, affine_grid units, log-scale)

    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ELU(),
                                  nn.Linear(hidden, hidden), nn.ELU())
        self.out = nn.Linear(hidden, 2 * n_out + 1)  # (a, b), the rest, log-variances
        self.n_out = n_out
        nn.init.zeros_(self.out.weight)
        with torch.no_grad():
            self.out.bias.zero_()
            self.out.bias[0] = 1.0
            self.out.bias[n_out + 1:] = self.START_LOGVAR

    def forward(self, h):
        out = self.out(self.body(h))
        k = self.n_out
        angle = torch.atan2(out[:, 1], out[:, 0]).unsqueeze(1)
        return torch.cat([angle, out[:, 2:k + 1]], dim=1), out[:, k + 1:]


class GatedDense(nn.Module):
    """``h = linear1(x) * sigmoid(linear2(x))``."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.value = nn.Linear(n_in, n_out)
        self.gate = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.value(x) * torch.sigmoid(self.gate(x))


class InvariantDecoder(nn.Module):
    """(z, z_c) -> canonical image logits or means, (B, C, H, W)."""

    def __init__(self, n_in, hidden, image_shape):
        super().__init__()
        self.image_shape = tuple(image_shape)
        n_pixels = image_shape[0] * image_shape[1] * image_shape[2]
        self.net = nn.Sequential(GatedDense(n_in, hidden), GatedDense(hidden, hidden),
                                 nn.Linear(hidden, n_pixels))

    def forward(self, code):
        return self.net(code).view(-1, *self.image_shape)  # (B, C*H*W) -> (B, C, H, W)


class ConvDecoder(nn.Module):
    """[z_c, z] -> canonical image logits or means, (B, C, H, W), by transposed
    convolutions from a quarter of the resolution (the encoder's mirror)."""

    CHANNELS = 64

    def __init__(self, n_in, hidden, image_shape):
        super().__init__()
        self.image_shape = tuple(image_shape)
        channels, height, width = image_shape
        self.start = (self.CHANNELS, -(-height // 4), -(-width // 4))
        c = self.CHANNELS
        self.dense = nn.Sequential(GatedDense(n_in, hidden),
                                   nn.Linear(hidden, c * self.start[1] * self.start[2]),
                                   nn.ELU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.ELU(),
            nn.ConvTranspose2d(c // 2, c // 2, 4, 2, 1), nn.ELU(),
            nn.Conv2d(c // 2, channels, 3, 1, 1))

    def forward(self, code):
        out = self.net(self.dense(code).view(-1, *self.start))
        return out[:, :, :self.image_shape[1], :self.image_shape[2]]


class ClusterPrior(nn.Module):
    """The prior of the codes given the cluster y (uniform over K): diagonal Gaussians
    p(z_c | y=k) = N(c_mean[k], exp(c_logvar[k])) and p(z | y=k) = N(z_mean[k], ...).

    It describes where each cluster's codes lie, so that ``sample(cluster=k)`` draws
    from there: after each training step it moves towards the moments of the
    posteriors weighted by the cluster weights w, the prior that maximises the ELBO
    given them (an M-step), kept as running sums. Learned by gradient instead, it
    trailed the codes far behind (a mean of 1.25 e_k against codes at 3.4 e_k after
    12 epochs on rotated MNIST). It starts as the authors' prior: z_c centred on the
    one-hot vector e_k, z standard normal, unit variances.
    """

    MOMENTUM = 0.05  # weight of each mini-batch in the running sums
    MIN_VARIANCE = 1e-4
    # A pseudo-count of the starting prior: a cluster that no image uses keeps it,
    # instead of its running sums decaying to 0/0 (after about 550 steps).
    PRIOR_COUNT = 1e-4

    def __init__(self, n_clusters, latent_dim):
        super().__init__()
        k, d = n_clusters, latent_dim
        self.n_clusters = k
        start = torch.cat([torch.eye(k), torch.zeros(k, d)], dim=1)  # (K, K + d)
        # Running sums per cluster: of w, of w * mean, of w * (variance + mean^2).
        self.register_buffer("weight", torch.full((k,), 1.0 / k))
        self.register_buffer("first", start / k)
        self.register_buffer("second", (start ** 2 + 1) / k)
        self.register_buffer("start", start)

    def moments(self):
        """Means and variances (K, K + d) of p([z_c, z] | y)."""
        count = self.PRIOR_COUNT
        weight = (self.weight + count).unsqueeze(1)
        mean = (self.first + count * self.start) / weight
        second = self.second + count * (self.start ** 2 + 1)
        return mean, (second / weight - mean ** 2).clamp_min(self.MIN_VARIANCE)

    @torch.no_grad()
    def update(self, weights, mean, variance, momentum=MOMENTUM):
        """Move towards the moments of a batch's posteriors: ``weights`` (B, K),
        ``mean`` and ``variance`` (B, K + d) of [z_c, z]. ``momentum=1`` replaces
        the running sums by the batch's."""
        b = weights.shape[0]
        batch = (weights.sum(0) / b, weights.T @ mean / b,
                 weights.T @ (variance + mean ** 2) / b)
        for running, new in zip((self.weight, self.first, self.second), batch):
            running.lerp_(new.to(running.dtype), momentum)

    @property
    def c_mean(self):
        return self.moments()[0][:, :self.n_clusters]

    @property
    def c_logvar(self):
        return self.moments()[1][:, :self.n_clusters].log()

    @property
    def z_mean(self):
        return self.moments()[0][:, self.n_clusters:]

    @property
    def z_logvar(self):
        return self.moments()[1][:, self.n_clusters:].log()


class MCEVAEModule(nn.Module):
    """The MCE-VAE: ``encode`` gives the posteriors, ``decode`` the images."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        k, d = config.n_clusters, config.latent_dim
        self.encoder = ConvEncoder(config.image_shape)
        n_aug = self.encoder.n_features
        n_logits = 0 if config.cluster_temperature else k
        self.cluster_head = GaussianHead(n_aug, config.hidden_size, k, n_logits=n_logits)
        self.style_head = GaussianHead(n_aug, config.hidden_size, d)
        self.pose_dim = group_dim(config.group)
        self.pose_head = None
        if self.pose_dim:
            self.pose_head = PoseHead(n_aug, config.pose_hidden_size, self.pose_dim)
        decoder = ConvDecoder if config.decoder == "conv" else InvariantDecoder
        self.decoder = decoder(k + d, config.decoder_hidden_size, config.image_shape)
        self.prior = ClusterPrior(k, d)
        # The pose at which canonical images are shown (set after training; no turn).
        self.register_buffer("display", torch.zeros(self.pose_dim))
        # Each cluster's turn at display: its images' mean angle (set after training).
        self.register_buffer("display_turn", torch.zeros(k))
        # Channels-last convolutions measured 1.2x faster to train and 2x faster to
        # encode on a 2-core CPU (benchmarks/results/speed-cpu.md).
        self.to(memory_format=torch.channels_last)

    def encode(self, x, search=True):
        """Posterior parameters of z_c, z and tau for images x (B, C, H, W); with
        ``search=False`` tau is the encoder's own, not refined by the pose search
        (for callers that do not read it)."""
        h = self.encoder(x)
        c_mean, c_logvar, c_logits = self.cluster_head(h)
        if self.config.cluster_temperature:
            c_logits = c_mean / self.config.cluster_temperature
        z_mean, z_logvar, _ = self.style_head(h)
        if self.pose_head is None:
            empty = h.new_zeros(h.shape[0], 0)
            tau_mean, tau_logvar = empty, empty
        else:
            tau_mean, tau_logvar = self.pose_head(h)
            if search and self.config.pose_search_step:
                tau_mean = self.refine_pose(x, c_mean, z_mean, tau_mean)
        return {"c_mean": c_mean, "c_logvar": c_logvar, "c_logits": c_logits,
                "z_mean": z_mean, "z_logvar": z_logvar,
                "tau_mean": tau_mean, "tau_logvar": tau_logvar}

    def refine_pose(self, x, c_mean, z_mean, tau_mean):
        """The encoder's pose turned by the turn the search finds (the canonical
        image of the posterior means drawn at each of a grid of turns); unchanged
        where the rotation range holds no turn of the step."""
        config = self.config
        grid = search_turns(config.rotation_range, config.pose_search_step, x.device)
        if grid is None:
            return tau_mean
        with torch.no_grad():
            canonical = self.decode_canonical(c_mean, z_mean)
        # The pose's matrices in float32 also under mixed precision.
        kind = x.device.type
        autocast = (torch.amp.is_autocast_available(kind)
                    and torch.is_autocast_enabled(kind))
        precision = (torch.autocast(kind, enabled=False) if autocast
                     else contextlib.nullcontext())
        with precision:
            return refine_pose(canonical.float(), x.float(), tau_mean.float(),
                               config.group, config.likelihood, *grid)

    def decode_canonical(self, z_c, z):
        """The pose-free image of the code (z_c, z), in the data's value range."""
        out = self.decoder(torch.cat([z_c, z], dim=1))
        if self.config.likelihood == "bernoulli":
            # A squeeze, not a clamp: saturated pixels keep their gradient.
            return PIXEL_EPS + (1 - 2 * PIXEL_EPS) * torch.sigmoid(out)
        return out

    def display_pose(self, n, clusters=None):
        """The display pose for n images, (n, d): the training images' mean shift and
        scale, turned by each image's cluster's display turn when ``clusters`` (n,)
        are given: the mean angle of the cluster's images, so that a cluster of
        digits turned within +-90 degrees is shown upright whatever orientation the
        decoder drew it in (both set by ``inference.fit_display``)."""
        pose = self.display.expand(n, -1)
        if clusters is None or not self.pose_dim:
            return pose
        turn = rotation_matrix(self.display_turn[clusters].to(pose.dtype))
        # The shown image at p reads the canonical one at D R p: turned, then moved.
        return log_map(compose(exp_map(pose, self.config.group), turn), self.config.group)

    def show(self, canonical, clusters=None):
        """Canonical images at the display pose (of their ``clusters``, when given)."""
        if not self.pose_dim or (clusters is None and not self.display.any()):
            return canonical  # the identity: no warp
        return self.render(canonical, self.display_pose(len(canonical), clusters))

    def render(self, canonical, tau):
        """Put the canonical image in the pose tau."""
        if self.pose_head is None:
            return canonical
        return warp(canonical, exp_map(tau, self.config.group))

    def forward(self, x, sample=True):
        post = self.encode(x)
        draw = _reparameterise if sample else (lambda mean, logvar: mean)
        z_c = draw(post["c_mean"], post["c_logvar"])
        z = draw(post["z_mean"], post["z_logvar"])
        tau = draw(post["tau_mean"], post["tau_logvar"])
        canonical = self.decode_canonical(z_c, z)
        post.update(tau=tau, canonical=canonical,
                    reconstruction=self.render(canonical, tau))
        return post


def _reparameterise(mean, logvar):
    return mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
