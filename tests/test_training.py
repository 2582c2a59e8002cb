"""The training step: batched and looped copies, mixed precision, device-side terms."""

import math

import torch

from skmcevae.model import MCEVAEModule, ModelConfig
from skmcevae.training import TERMS, LossConfig, batch_loss, elbo_terms


def _module_and_images(seed=0):
    torch.manual_seed(seed)
    module = MCEVAEModule(ModelConfig(image_shape=(1, 12, 12), n_clusters=3,
                                      latent_dim=2, hidden_size=16))
    return module, torch.rand(6, 1, 12, 12)


# With a zero pose range every copy is the image itself, so both schemes see the same
# copies; copy s of image b must land at b*S+s in both layouts.
def test_looped_and_batched_penalties_match_for_identity_poses():
    module, x = _module_and_images()
    penalties = []
    for loop in (False, True):
        torch.manual_seed(1)
        config = LossConfig(n_samples=3, rotation_range=0.0, loop_copies=loop)
        _, summary = batch_loss(module, x, None, config)
        penalties.append((summary["invariance"], summary["consistency"]))
    torch.testing.assert_close(penalties[0], penalties[1], rtol=1e-5, atol=1e-5)


def test_batch_loss_keeps_its_terms_on_the_device_as_tensors():
    module, x = _module_and_images()
    loss, summary = batch_loss(module, x, None, LossConfig())
    assert set(summary) == set(TERMS)
    assert all(isinstance(v, torch.Tensor) and v.ndim == 0 and not v.requires_grad
               for v in summary.values())
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
