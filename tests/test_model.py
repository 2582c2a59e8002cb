import pytest
import torch

from skmcevae.model import MCEVAEModule, ModelConfig


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 16), (1, 28, 28), (2, 12, 20),
                                   (1, 13, 27)])
@pytest.mark.parametrize("group", [None, "SO2", "SE2", "SIM2"])
@pytest.mark.parametrize("decoder", ["dense", "conv"])
def test_forward_shapes_for_any_image_size(shape, group, decoder):
    config = ModelConfig(image_shape=shape, n_clusters=4, latent_dim=2, group=group,
                         hidden_size=16, decoder=decoder)
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
    # and a small spread: unit-spread poses would make early reconstructions useless
    assert torch.equal(post["tau_logvar"], torch.full((4, 3), -4.0))


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


def test_pose_angle_is_the_direction_of_two_outputs():
    # The angle is atan2(b, a): it wraps around the circle instead of growing without
    # bound, so a full turn of the image can be followed continuously.
    module = MCEVAEModule(ModelConfig((1, 16, 16), 3, 2, "SIM2", hidden_size=8))
    head = module.pose_head
    with torch.no_grad():
        head.out.bias[:2] = torch.tensor([-1.0, -1e-3])  # a direction just past -pi
        head.out.bias[2:5] = torch.tensor([0.3, -0.2, 0.1])
    tau_mean, tau_logvar = head(torch.zeros(2, head.body[0].in_features))
    assert tau_mean.shape == (2, 4) and tau_logvar.shape == (2, 4)
    torch.testing.assert_close(tau_mean[0, 0], torch.tensor(-torch.pi + 1e-3), atol=1e-6,
                               rtol=0)
    torch.testing.assert_close(tau_mean[0, 1:], torch.tensor([0.3, -0.2, 0.1]))


def test_prior_starts_as_the_authors_and_follows_the_posteriors():
    module = MCEVAEModule(ModelConfig((1, 8, 8), 3, 2))
    prior = module.prior
    torch.testing.assert_close(prior.c_mean, torch.eye(3))
    torch.testing.assert_close(prior.c_logvar, torch.zeros(3, 3), atol=1e-6, rtol=0)
    assert torch.equal(prior.z_mean, torch.zeros(3, 2))
    # Posteriors all in cluster 1, at one place: its component moves there, the
    # others keep theirs.
    weights = torch.tensor([[0.0, 1.0, 0.0]]).repeat(10, 1)
    mean = torch.tensor([[0.0, 3.0, 0.0, 0.5, -0.5]]).repeat(10, 1)
    for _ in range(400):
        prior.update(weights, mean, torch.full((10, 5), 0.25))
    torch.testing.assert_close(prior.c_mean[1], torch.tensor([0.0, 3.0, 0.0]), atol=1e-3,
                               rtol=0)
    torch.testing.assert_close(prior.z_mean[1], torch.tensor([0.5, -0.5]), atol=1e-3,
                               rtol=0)
    torch.testing.assert_close(prior.c_logvar[1].exp(), torch.full((3,), 0.25), atol=1e-2,
                               rtol=0)
    torch.testing.assert_close(prior.c_mean[0], torch.eye(3)[0], atol=1e-3, rtol=0)
    # A cluster no image uses keeps its starting component, however long it runs.
    for _ in range(2000):
        prior.update(weights, mean, torch.full((10, 5), 0.25))
    torch.testing.assert_close(prior.c_mean[0], torch.eye(3)[0], atol=1e-3, rtol=0)
    torch.testing.assert_close(prior.c_logvar[0], torch.zeros(3), atol=1e-2, rtol=0)
    assert "prior.first" in module.state_dict()  # saved and loaded with the weights

