import pytest
import torch

from skmcevae.model import MCEVAEModule, ModelConfig


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 16), (1, 28, 28), (2, 12, 20)])
@pytest.mark.parametrize("group", [None, "SO2", "SE2", "SIM2"])
def test_forward_shapes_for_any_image_size(shape, group):
    config = ModelConfig(image_shape=shape, n_clusters=4, latent_dim=2, group=group,
                         hidden_size=16)
    module = MCEVAEModule(config)
    x = torch.rand(5, *shape)
    out = module(x)
    assert out["reconstruction"].shape == x.shape
    assert out["canonical"].shape == x.shape
    assert out["c_mean"].shape == out["c_logits"].shape == (5, 4)
    assert out["z_mean"].shape == (5, 2)
    assert out["tau_mean"].shape == (5, {None: 0, "SO2": 1, "SE2": 3, "SIM2": 4}[group])


def test_pose_head_starts_at_identity():
    module = MCEVAEModule(ModelConfig((1, 16, 16), 3, 2, "SE2", hidden_size=8))
    post = module.encode(torch.rand(4, 1, 16, 16))
    assert torch.equal(post["tau_mean"], torch.zeros(4, 3))
    assert torch.equal(post["tau_logvar"], torch.zeros(4, 3))


def test_bernoulli_canonical_stays_inside_unit_interval():
    module = MCEVAEModule(ModelConfig((1, 8, 8), 3, 2, likelihood="bernoulli"))
    image = module.decode_canonical(torch.full((2, 3), 1e4), torch.full((2, 2), -1e4))
    assert image.min() > 0 and image.max() < 1


def test_gaussian_canonical_is_unbounded():
    torch.manual_seed(0)
    module = MCEVAEModule(ModelConfig((1, 8, 8), 3, 2, likelihood="gaussian"))
    image = module.decode_canonical(torch.full((2, 3), 50.0), torch.full((2, 2), -50.0))
    assert image.abs().max() > 1


def test_conv_features_follow_the_image_size():
    assert MCEVAEModule(ModelConfig((1, 28, 28), 10, 3)).encoder.n_features == 16 * 7 * 7
    assert MCEVAEModule(ModelConfig((1, 8, 8), 10, 3)).encoder.n_features == 16 * 2 * 2
