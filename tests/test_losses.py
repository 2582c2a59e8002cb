import math

import pytest
import torch

from skmcevae.losses import (kl_mixture, kl_standard_normal, mutual_information,
                             reconstruction_error)



@pytest.fixture(autouse=True)
def double_precision():
    # Monte-Carlo comparisons need float64; restore the default for other modules.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _gaussian(n=4, d=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen), torch.randn(n, d, generator=gen) * 0.5


def test_kl_standard_normal_matches_monte_carlo():
    mean, logvar = _gaussian()
    std = torch.exp(0.5 * logvar)
    gen = torch.Generator().manual_seed(1)
    z = mean + std * torch.randn(200_000, *mean.shape, generator=gen)
    log_q = torch.distributions.Normal(mean, std).log_prob(z).sum(-1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    monte_carlo = (log_q - log_p).mean(0)
    torch.testing.assert_close(kl_standard_normal(mean, logvar), monte_carlo,
                               atol=0.02, rtol=0.01)


def test_kl_standard_normal_is_zero_at_the_prior():
    zeros = torch.zeros(2, 5)
    assert torch.equal(kl_standard_normal(zeros, zeros), torch.zeros(2))
    assert torch.equal(kl_standard_normal(zeros[:, :0], zeros[:, :0]), torch.zeros(2))


def _one_hot_prior(k):
    """The authors' prior, where a ClusterPrior starts: N(e_k, I) for each k."""
    return torch.eye(k), torch.zeros(k, k)


@pytest.mark.parametrize("learned", [False, True])
def test_kl_mixture_matches_monte_carlo(learned):
    k = 4
    mean, logvar = _gaussian(n=3, d=k)
    logits = torch.randn(3, k, generator=torch.Generator().manual_seed(2))
    prior_mean, prior_logvar = _one_hot_prior(k)
    if learned:  # components moved and resized, as a trained ClusterPrior's are
        gen = torch.Generator().manual_seed(4)
        prior_mean = 2 * torch.randn(k, k, generator=gen)
        prior_logvar = 0.5 * torch.randn(k, k, generator=gen)
    w = torch.softmax(logits, 1)
    gen = torch.Generator().manual_seed(3)
    m = 200_000
    y = torch.multinomial(w, m, replacement=True, generator=gen).T  # (m, 3)
    z = mean + torch.exp(0.5 * logvar) * torch.randn(m, 3, k, generator=gen)
    log_qy = torch.log(w).gather(1, y.T).T
    log_qz = torch.distributions.Normal(mean, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    log_pz = torch.distributions.Normal(prior_mean[y], torch.exp(0.5 * prior_logvar[y])
                                        ).log_prob(z).sum(-1)
    monte_carlo = (log_qy + log_qz - math.log(1 / k) - log_pz).mean(0)
    exact = kl_mixture(mean, logvar, logits, prior_mean, prior_logvar)
    torch.testing.assert_close(exact, monte_carlo, atol=0.03, rtol=0.01)


def test_kl_mixture_prefers_the_nearest_centre():
    k = 3
    mean = torch.tensor([[1.0, 0.0, 0.0]])
    logvar = torch.zeros(1, k)
    right = kl_mixture(mean, logvar, torch.tensor([[5.0, 0.0, 0.0]]), *_one_hot_prior(k))
    wrong = kl_mixture(mean, logvar, torch.tensor([[0.0, 5.0, 0.0]]), *_one_hot_prior(k))
    assert right < wrong


def test_reconstruction_error_bernoulli_and_gaussian():
    x = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    perfect = reconstruction_error(x, x, "bernoulli")
    half = reconstruction_error(torch.full_like(x, 0.5), x, "bernoulli")
    assert perfect.shape == (1,) and perfect.item() < 0.01
    torch.testing.assert_close(half, torch.tensor([4 * math.log(2)]))
    gauss = reconstruction_error(x + 1, x, "gaussian")
    torch.testing.assert_close(gauss, torch.tensor([4 * 0.5 + 2 * math.log(2 * math.pi)]))


def test_mutual_information_bounds():
    k = 4
    one_hot = torch.eye(k).repeat(25, 1)
    torch.testing.assert_close(mutual_information(one_hot, one_hot),
                               torch.tensor(math.log(k)))
    uniform = torch.full((100, k), 1 / k)
    assert abs(mutual_information(uniform, uniform).item()) < 1e-9
    collapsed = torch.zeros(100, k)
    collapsed[:, 0] = 1
    assert abs(mutual_information(collapsed, collapsed).item()) < 1e-9


def test_bernoulli_keeps_the_gradient_of_saturated_pixels():
    # sigmoid(10) is above 1 - PIXEL_EPS: a clamp there cuts the gradient of a pixel
    # that is confidently wrong, exactly where it is most needed.
    logits = torch.tensor([[10.0, -10.0]], requires_grad=True)
    wrong = torch.tensor([[0.0, 1.0]])
    reconstruction_error(torch.sigmoid(logits), wrong, "bernoulli").sum().backward()
    assert (logits.grad.abs() > 0.1).all()
    assert logits.grad[0, 0] > 0 and logits.grad[0, 1] < 0


def test_bernoulli_passes_nan_on_instead_of_raising():
    x_hat = torch.tensor([[float("nan"), 0.5], [0.25, 0.5]])
    error = reconstruction_error(x_hat, torch.tensor([[0.0, 1.0], [0.0, 1.0]]), "bernoulli")
    assert torch.isnan(error[0]) and torch.isfinite(error[1])
    expected = -(math.log(1 - 0.25) + math.log(0.5))
    assert error[1].item() == pytest.approx(expected, rel=1e-3)
