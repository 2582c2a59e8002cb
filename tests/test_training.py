"""The training step: batched and looped copies, mixed precision, device-side terms."""

import math
import re

import numpy as np

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from skmcevae.model import MCEVAEModule, ModelConfig
from skmcevae.objective import (TERMS, LossConfig, batch_loss, code_bound_excess,
                               elbo_terms, loss_shares)
from skmcevae.training import run_epoch


def _module_and_images(seed=0, **config):
    torch.manual_seed(seed)
    module = MCEVAEModule(ModelConfig(image_shape=(1, 12, 12), n_clusters=3,
                                      latent_dim=2, hidden_size=16, **config))
    return module, torch.rand(6, 1, 12, 12)


# With a zero pose range every copy is the image itself, so both schemes see the same
# copies; copy s of image b must land at b*S+s in both layouts.
def test_looped_and_batched_penalties_match_for_identity_poses():
    module, x = _module_and_images(rotation_range=0.0)
    penalties = []
    for loop in (False, True):
        torch.manual_seed(1)
        config = LossConfig(n_samples=3, loop_copies=loop)
        _, summary = batch_loss(module, x, None, config)
        penalties.append((summary["invariance"], summary["consistency"]))
    torch.testing.assert_close(penalties[0], penalties[1], rtol=1e-5, atol=1e-5)


def test_batch_loss_keeps_its_terms_on_the_device_as_tensors():
    module, x = _module_and_images()
    loss, summary = batch_loss(module, x, None, LossConfig())
    assert set(summary) == set(TERMS) | {"posterior"}
    assert all(isinstance(summary[name], torch.Tensor) and summary[name].ndim == 0
               and not summary[name].requires_grad for name in TERMS)
    assert not any(t.requires_grad for t in summary["posterior"])  # for the prior
    torch.testing.assert_close(summary["loss"], loss.detach())


def test_mixed_precision_runs_in_bf16_and_stays_close_to_float32():
    module, x = _module_and_images()
    module.eval()
    seen = []
    hook = module.encoder.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    exact = elbo_terms(module, x, sample=False)[1]
    mixed = elbo_terms(module, x, sample=False, config=LossConfig(mixed_precision=True))[1]
    hook.remove()
    assert seen == [torch.float32, torch.bfloat16]
    for name in exact:
        assert mixed[name].dtype == torch.float32
        scale = exact[name].abs().mean().item()
        assert math.isclose(mixed[name].mean().item(), exact[name].mean().item(),
                            rel_tol=0.05, abs_tol=0.05 * scale + 1e-3), name


class _HostTensorSpy(TorchDispatchMode):
    """Records every torch operation that reads or makes a tensor on the CPU."""

    def __init__(self):
        super().__init__()
        self.host_ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        tensors = [t for t in tree_flatten((args, kwargs, out))[0]
                   if isinstance(t, torch.Tensor)]
        if any(t.device.type == "cpu" for t in tensors):
            self.host_ops.append(str(func))
        return out


def _meta_step(config, group, search=0.0, **inputs):
    """batch_loss and its backward pass on the meta device, under the spy."""
    module = MCEVAEModule(ModelConfig(image_shape=(1, 12, 12), n_clusters=3,
                                      latent_dim=2, hidden_size=16, group=group,
                                      pose_search_step=search)).to("meta")
    x = torch.empty(6, 1, 12, 12, device="meta")
    spy = _HostTensorSpy()
    with spy:
        loss, _ = batch_loss(module, x, inputs.get("canonical"), config,
                             inputs.get("neighbor"), inputs.get("labels"),
                             neighbor_angle=inputs.get("angle"),
                             pose_target=inputs.get("target"))
        loss.backward()
    return spy.host_ops


# A tensor on the meta device has a device but no data: any host read (.item(),
# .cpu(), a Python if on a tensor) fails there, and any tensor made on the CPU shows
# in the spy. On a GPU both would be a CPU-GPU round trip inside the training step.
@pytest.mark.parametrize("group", ["SO2", "SE2", "SIM2", None])
@pytest.mark.parametrize("invariance", ["unsupervised", "supervised", None])
def test_a_training_step_touches_no_host_tensor(group, invariance):
    meta = torch.empty(6, 1, 12, 12, device="meta")
    config = LossConfig(invariance=invariance, graph_weight=1.0,
                        consistency_weight=1.0, n_samples=3)
    host_ops = _meta_step(config, group, canonical=meta, neighbor=meta,
                          labels=torch.zeros(6, dtype=torch.long, device="meta"))
    assert host_ops == []


@pytest.mark.parametrize("group", ["SO2", "SE2", "SIM2"])
def test_a_training_step_with_the_pose_search_and_targets_touches_no_host_tensor(group):
    meta = torch.empty(6, 1, 12, 12, device="meta")
    config = LossConfig(graph_weight=1.0, consistency_weight=1.0,
                        neighbor_pose_weight=1.0, pose_weight=1.0)
    host_ops = _meta_step(config, group, search=math.radians(10), neighbor=meta,
                          labels=torch.zeros(6, dtype=torch.long, device="meta"),
                          angle=torch.empty(6, device="meta"),
                          target=torch.empty(6, 2, device="meta"))
    assert host_ops == []


def test_the_host_tensor_spy_sees_a_round_trip():
    spy = _HostTensorSpy()
    with spy:
        torch.ones(2, device="meta") + torch.ones(2).to("meta")
    assert any("_to_copy" in op for op in spy.host_ops)


def _images_encoded(module, x, config, labels):
    seen = []
    hook = module.encoder.register_forward_hook(lambda m, i, out: seen.append(len(out)))
    batch_loss(module, x, None, config, x, labels)
    hook.remove()
    return sum(seen)


@pytest.mark.parametrize("s", [1, 3])
def test_for_so2_the_graph_terms_turned_copy_is_the_first_invariance_copy(s, monkeypatch):
    from skmcevae import objective
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    for group, passes in (("SO2", 2 + s), ("SE2", 3 + s)):
        module, x = _module_and_images(group=group)
        b = len(x)
        config = LossConfig(n_samples=s, graph_weight=1.0)
        # x, the turned copy, the neighbour's copy, and the S copies less the shared one.
        assert _images_encoded(module, x, config, labels) == b * passes, group
    # With identity poses every copy is x: sharing must give the same penalty as S
    # copies of its own, and the gradient must still reach the encoder through it.
    results = []
    # The SE2 model below stands in for an SO2 model that shares nothing: it must
    # compare canonical images as SO2 does.
    monkeypatch.setattr(objective, "SCALED_OR_SHIFTED", ())
    shared, x = _module_and_images(group="SO2", rotation_range=0.0)
    for share in (True, False):
        module = shared
        if not share:
            # The same network with an SE2 pose head (zero at the start, as in SO2).
            module, _ = _module_and_images(group="SE2", rotation_range=0.0,
                                           translation_range=0.0)
            module.load_state_dict({k: v for k, v in shared.state_dict().items()
                                    if not k.startswith("pose_head") and k != "display"},
                                   strict=False)
        torch.manual_seed(1)
        config = LossConfig(n_samples=s, graph_weight=1.0, canonical_weight=1.0)
        module.zero_grad()
        loss, summary = batch_loss(module, x, None, config, graph_labels=labels)
        loss.backward()
        results.append((summary["invariance"], summary["graph"]))
    torch.testing.assert_close(results[0], results[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("canonical_weight", [0.0, 1.0])
def test_unsupervised_invariance_measures_how_the_code_moves_with_the_pose(canonical_weight):
    from skmcevae.losses import reconstruction_error
    penalties = {}
    config = LossConfig(n_samples=2, canonical_weight=canonical_weight)
    for span in (0.0, math.pi):
        module, x = _module_and_images(rotation_range=span)
        module.eval()  # batch norm on running statistics: one image, one code
        with torch.no_grad():  # codes that vary with the image, as trained ones do
            module.cluster_head.out.weight.mul_(30)
            module.style_head.out.weight.mul_(30)
        torch.manual_seed(1)
        _, summary = batch_loss(module, x, None, config)
        penalties[span] = summary["invariance"].item()
    # Unmoved copies have the image's own code (distance 0). By default that is all;
    # with the canonical images compared, what is left is the cross-entropy between
    # the image's canonical image (decoded from the sampled code, the same draws as
    # in batch_loss) and the copies' (from the means).
    with torch.no_grad():
        torch.manual_seed(1)
        sampled = module(x)["canonical"]
        post = module.encode(x)
        target = module.decode_canonical(post["c_mean"], post["z_mean"])
        floor = reconstruction_error(sampled, target, "bernoulli").mean().item()
    assert floor > 1.0
    assert penalties[0.0] == pytest.approx(canonical_weight * floor, rel=1e-5, abs=1e-6)
    assert penalties[math.pi] > penalties[0.0] + 0.01  # turned copies move the code


@pytest.mark.parametrize("group", ["SO2", "SE2", "SIM2"])
def test_pose_equivariance_is_zero_for_equivariant_poses_and_periodic(group):
    from skmcevae.groups import compose, exp_map, group_dim, rotation_matrix
    from skmcevae.pose_terms import pose_equivariance
    gen = torch.Generator().manual_seed(0)
    tau = 0.5 * torch.randn(8, group_dim(group), generator=gen, dtype=torch.float64)
    g = torch.linspace(-3, 3, 8, dtype=torch.float64)
    turn = rotation_matrix(g)
    # The pose of a turned copy: exp(tau') = exp(tau) g, read back as tau'.
    turned = tau.clone()
    turned[:, 0] = tau[:, 0] + g
    if group != "SO2":  # the shift of exp(tau) g is exp(tau)'s: re-express it in tau'
        expected = compose(exp_map(tau, group), turn)
        exact = _solve_shift(turned, expected, group)
        turned[:, 1:3] = exact
    assert pose_equivariance(tau, turned, turn, group).item() < 1e-12
    if group == "SO2":
        # A whole extra turn is the same pose (in SE2 and SIM2 the shift V(theta) u
        # is not periodic in theta: their Lie-algebra coordinates have a cut);
        # an angle error of d costs 4 (1 - cos d).
        wrapped = turned.clone()
        wrapped[:, 0] += 2 * math.pi
        assert pose_equivariance(tau, wrapped, turn, group).item() < 1e-12
        off = turned + 0.7
        expected = 4 * (1 - math.cos(0.7))
        assert pose_equivariance(tau, off, turn, group).item() == pytest.approx(expected)


def _solve_shift(turned, target, group):
    """The (u1, u2) that give exp(turned) the shift of ``target`` (linear in u)."""
    from skmcevae.groups import exp_map
    base = turned.clone()
    base[:, 1:3] = 0
    columns = []
    for axis in (1, 2):
        unit = base.clone()
        unit[:, axis] = 1
        columns.append(exp_map(unit, group)[:, :, 2] - exp_map(base, group)[:, :, 2])
    matrix = torch.stack(columns, -1)  # (B, 2, 2): d shift / d u
    rhs = (target[:, :, 2] - exp_map(base, group)[:, :, 2]).unsqueeze(-1)
    return torch.linalg.solve(matrix, rhs).squeeze(-1)


def test_pose_equivariance_cannot_be_met_by_shrinking_the_scale():
    from skmcevae.groups import rotation_matrix
    from skmcevae.pose_terms import pose_equivariance
    turn = rotation_matrix(torch.full((4,), 1.0))
    tau, turned = torch.zeros(4, 4), torch.zeros(4, 4)  # the turn ignored
    for log_scale in (0.0, -3.0, -8.0):
        tau[:, 3] = turned[:, 3] = log_scale
        assert pose_equivariance(tau, turned, turn, "SIM2").item() == pytest.approx(
            4 * (1 - math.cos(1.0)), rel=1e-4)


def test_neighbor_pose_term_adds_the_pose_equivariance_between_neighbours():
    module, x = _module_and_images()
    neighbor, angle = torch.rot90(x, 1, (2, 3)), torch.full((6,), math.pi / 2)
    results = []
    for weight in (0.0, 3.0):
        torch.manual_seed(3)
        results.append(batch_loss(module, x, None, LossConfig(neighbor_pose_weight=weight),
                                  x_neighbor=neighbor, neighbor_angle=angle))
    (loss_off, off), (loss_on, on) = results
    assert off["neighbor_pose"].item() == 0
    assert 0 < on["neighbor_pose"].item() <= 8  # 4 (1 - cos) of an angle error
    assert loss_on.item() == pytest.approx(loss_off.item() + 3 * on["neighbor_pose"].item(),
                                           rel=1e-5)
    loss_on.backward()
    assert module.pose_head.out.weight.grad.abs().sum() > 0


def test_linear_only_equivariance_ignores_the_shift_and_cannot_be_shrunk_away():
    from skmcevae.groups import pose_matrix
    from skmcevae.pose_terms import pose_equivariance
    turn = pose_matrix(torch.full((4,), 0.5), torch.full((4, 2), 0.3), torch.zeros(4))
    tau = torch.zeros(4, 4)
    turned = torch.tensor([[0.5, 0.0, 0.0, 0.0]]).repeat(4, 1)  # the turn, not the shift
    full = pose_equivariance(tau, turned, turn, "SIM2")
    assert full.item() > 0.1  # the shift of 0.3 is missed
    assert pose_equivariance(tau, turned, turn, "SIM2", linear_only=True).item() < 1e-10
    # With the shift counted, shrinking both poses' scale hides the shift's mismatch;
    # the linear part alone does not move with a common scale.
    small, small_turned = tau.clone(), turned.clone()
    small[:, 3] = small_turned[:, 3] = -2.0
    assert pose_equivariance(small, small_turned, turn, "SIM2").item() < full.item() / 10
    off = turned.clone()
    off[:, 0] = 1.0
    small_off = off.clone()
    small_off[:, 3] = -2.0
    assert pose_equivariance(small, small_off, turn, "SIM2", linear_only=True).item() == \
        pytest.approx(pose_equivariance(tau, off, turn, "SIM2", linear_only=True).item(),
                      rel=1e-5)


def test_neighbor_pose_stays_bounded_on_standardised_sim2_images():
    from skmcevae.datasets import load_digits_images
    X, _ = load_digits_images(random_state=0)
    x = torch.from_numpy(X[:16].reshape(-1, 1, 8, 8)).float()
    x = (x - x.mean((1, 2, 3), keepdim=True)) / x.std((1, 2, 3), keepdim=True)
    torch.manual_seed(0)
    module = MCEVAEModule(ModelConfig((1, 8, 8), 3, 2, "SIM2", likelihood="gaussian",
                                      hidden_size=16))
    _, summary = batch_loss(module, x, None, LossConfig(neighbor_pose_weight=10.0),
                            x_neighbor=x.flip(0), neighbor_angle=torch.zeros(16))
    # scales within e^+-3 of each other: the term is at most about 2 (1 + e^12)
    assert 0 < summary["neighbor_pose"].item() < 1e6


@pytest.mark.parametrize("group", ["SO2", "SE2"])
def test_the_weighted_shares_of_the_terms_add_up_to_the_loss(group):
    torch.manual_seed(0)
    module = MCEVAEModule(ModelConfig((1, 12, 12), 3, 2, group, hidden_size=16))
    x = torch.rand(8, 1, 12, 12)
    config = LossConfig(beta=0.5, consistency_weight=3.0, graph_weight=2.0,
                        pose_weight=5.0, neighbor_pose_weight=7.0)
    target = torch.stack([torch.rand(8), torch.zeros(8)], dim=1)
    loss, summary = batch_loss(module, x, None, config, x_neighbor=x.flip(0),
                               graph_labels=torch.arange(8) % 3,
                               neighbor_angle=torch.rand(8), pose_target=target)
    shares = loss_shares(summary, config)
    # every weighted term is on, so a missing or wrongly weighted one shows
    assert all(shares[name] != 0 for name in shares if name != "code_bound")
    assert math.isclose(sum(shares.values()), loss.item(), rel_tol=1e-5)


def test_a_diverging_fit_stops_and_keeps_its_best_weights():
    """With far too high a learning rate the loss explodes to a finite 1e11 (no NaN,
    which the non-finite guard would catch): the fit stops there, warns, and keeps
    the weights of its best epoch instead of training on from the exploded ones."""
    from sklearn.exceptions import ConvergenceWarning
    from skmcevae import MCEVAE
    from skmcevae.datasets import load_digits_images
    X, _ = load_digits_images(random_state=0)
    params = dict(n_clusters=5, max_epochs=15, hidden_size=64, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged at epoch") as caught:
        model = MCEVAE(**params, learning_rate=0.1).fit(X[:300])
    message = next(str(w.message) for w in caught if "diverged" in str(w.message))
    epoch = int(re.search(r"diverged at epoch (\d+)", message).group(1))
    assert 1 < epoch < 15
    assert len(model.history_) == epoch - 1  # the diverged epoch is not recorded
    # It says which terms' shares of the loss rose most, largest first.
    rises = re.findall(r"(\w+) \+([\d.e+]+)", message.split("rose most:")[1])
    assert rises and all(name in TERMS for name, _ in rises)
    assert [float(v) for _, v in rises] == sorted((float(v) for _, v in rises),
                                                   reverse=True)
    assert np.isfinite(model.score(X[:300])) and len(set(model.predict(X[:300]))) > 1


def test_cluster_codes_past_the_bound_are_charged_and_within_it_are_free():
    codes = torch.tensor([[3.0, -9.9, 0.0], [12.0, 0.0, -11.0]], requires_grad=True)
    excess = code_bound_excess(codes, 0.2)  # the bound: 50 * 0.2 = 10
    torch.testing.assert_close(excess.detach(), torch.tensor([0.0, 4.0 + 1.0]))
    excess.sum().backward()
    torch.testing.assert_close(codes.grad, torch.tensor([[0.0, 0.0, 0.0],
                                                         [4.0, 0.0, -2.0]]))
    # The bound is on the logits z_c / temperature: a warmer softmax needs larger
    # codes for the same confidence, and gets them free.
    assert float(code_bound_excess(codes.detach(), 1.0).sum()) == 0.0
    torch.testing.assert_close(code_bound_excess(codes.detach(), 0.1),
                               torch.tensor([4.9 ** 2, 7.0 ** 2 + 6.0 ** 2]))
    # Without a temperature the weights have their own logits: nothing to bound.
    assert float(code_bound_excess(codes.detach() * 100, None).sum()) == 0.0


def test_training_brings_runaway_cluster_codes_back_within_the_bound():
    # Cluster codes at about 40, where blown-up 8x8-digit fits went, moved along a
    # direction that no other term opposes (a common offset: the softmax ignores it
    # and the prior follows it), as nothing opposed the codes' scale in those fits.
    # Trained through run_epoch with the default terms, only the bound brings them
    # back (without it they stay at about 40).
    module, _ = _module_and_images(seed=3)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(60, 1, 12, 12, generator=gen).numpy()
    labels = np.arange(60) % 3
    with torch.no_grad():
        module.cluster_head.out.bias[:3] += 40.0
    optimiser = torch.optim.Adam(module.parameters(), lr=3e-3)
    config = LossConfig(graph_weight=10.0, consistency_weight=10.0)

    def largest_code():
        module.eval()
        with torch.no_grad():
            return float(module.encode(torch.from_numpy(images))["c_mean"].abs().max())

    assert largest_code() > 35
    epochs = [run_epoch(module, optimiser, (images, None), np.arange(60), config, 20,
                        torch.device("cpu"), graph_labels=labels) for _ in range(20)]
    assert epochs[0]["code_bound"] > 100  # (30 - 10)^2 and more per code
    assert largest_code() < 12
