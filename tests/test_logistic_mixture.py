"""The discretized logistic mixture: normalised, equal to the integrated density, causal
inside a pixel, sampled exactly."""

import itertools
import math

import pytest
import torch

from helpers import small_model
from pixelcnn.errors import PixelCNNError
from pixelcnn.likelihoods import DiscretizedLogisticMixture, make_likelihood


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def random_params(lik, n: int, seed: int, scale: float = 1.0, shift: float = 0.0, dtype=torch.float64):
    """``[n, P, 1, 1]`` random parameters; ``scale`` spreads them, ``shift`` moves the means."""
    p = torch.randn(n, lik.channels, 1, 1, generator=gen(seed), dtype=dtype) * scale
    k, c = lik.mixtures, lik.colours
    p[:, k : k + c * k] += shift  # the means
    return p


def all_pixels(colours: int, levels: int) -> torch.Tensor:
    """Every pixel value: ``[L^C, C, 1, 1]``."""
    return torch.tensor(list(itertools.product(range(levels), repeat=colours))).view(-1, colours, 1, 1)


@pytest.mark.parametrize("colours,levels", [(1, 2), (1, 3), (1, 16), (1, 256), (3, 2), (3, 5), (3, 16), (2, 7)])
@pytest.mark.parametrize("scale,shift", [(1.0, 0.0), (8.0, 0.0), (3.0, 40.0), (3.0, -40.0), (0.05, 0.0)])
def test_probabilities_of_every_pixel_value_sum_to_one(colours, levels, scale, shift):
    """Random parameters, extreme scales (log-scales of +-24) and means far outside [-1, 1]."""
    lik = DiscretizedLogisticMixture(levels, colours, mixtures=3)
    params = random_params(lik, 4, seed=levels + colours, scale=scale, shift=shift)
    pixels = all_pixels(colours, levels)
    for b in range(4):
        logp = lik.log_prob_map(pixels, params[b : b + 1].expand(len(pixels), -1, -1, -1))  # [L^C, 1, 1, 1]
        assert torch.isfinite(logp).all()
        assert abs(float(torch.logsumexp(logp.flatten(), 0).exp()) - 1) < 1e-6


def test_float32_stays_finite_and_normalised():
    lik = DiscretizedLogisticMixture(256, 1, mixtures=4)
    params = random_params(lik, 3, seed=2, scale=10.0, dtype=torch.float32)
    logp = lik.log_prob_map(all_pixels(1, 256), params[:1].expand(256, -1, -1, -1))
    assert torch.isfinite(logp).all()
    assert abs(float(torch.logsumexp(logp.double().flatten(), 0).exp()) - 1) < 1e-5


def logistic_pdf(y: torch.Tensor, mean: float, log_scale: float) -> torch.Tensor:
    z = (y - mean) / math.exp(log_scale)
    return torch.exp(-z - 2 * torch.nn.functional.softplus(-z)) / math.exp(log_scale)


@pytest.mark.parametrize("levels", [2, 5, 32])
def test_log_probabilities_equal_the_integrated_mixture_density(levels):
    """One colour: each bin's probability is the integral of the mixture density over the
    bin (edge bins over the tails), by the trapezoid rule on a fine grid."""
    lik = DiscretizedLogisticMixture(levels, 1, mixtures=3)
    params = random_params(lik, 1, seed=5)
    logits, means, log_scales, _ = lik.split(params)
    weights = torch.softmax(logits.flatten(), 0)
    delta = 1.0 / (levels - 1)
    for level in range(levels):
        centre = -1 + 2 * level * delta
        lo = -60.0 if level == 0 else centre - delta
        hi = 60.0 if level == levels - 1 else centre + delta
        y = torch.linspace(lo, hi, 400001, dtype=torch.float64)
        density = sum(weights[k] * logistic_pdf(y, float(means.flatten()[k]), float(log_scales.flatten()[k]))
                      for k in range(3))
        integral = float(torch.trapezoid(density, y))
        exact = float(lik.log_prob_map(torch.tensor([[[[level]]]]), params).exp())
        assert abs(exact - integral) < 1e-6, (level, exact, integral)


def test_tiny_bins_use_the_density_at_the_centre():
    """A scale so large that a bin's CDF difference vanishes: the log-probability is the
    log density at the bin centre plus log(bin width), finite, not -inf."""
    lik = DiscretizedLogisticMixture(256, 1, mixtures=1)
    params = torch.tensor([[0.0, 0.3, 40.0]], dtype=torch.float64).view(1, 3, 1, 1)  # log-scale 40
    logp = lik.log_prob_map(torch.tensor([[[[100]]]]), params)
    y = torch.tensor(-1 + 200 / 255, dtype=torch.float64)
    expected = torch.log(logistic_pdf(y, 0.3, 40.0)) + math.log(2 / 255)
    assert torch.isfinite(logp).all()
    assert torch.allclose(logp.flatten(), expected.view(1), rtol=1e-9)


def test_no_colour_depends_on_a_later_colour():
    """Marginals of the earlier colours do not change when the coefficients that feed later
    colours change: R's marginal ignores every coefficient, (R, G)'s ignores B's."""
    lik = DiscretizedLogisticMixture(4, 3, mixtures=2)
    params = random_params(lik, 1, seed=3)
    k = lik.mixtures
    coeff_start = k + 6 * k  # logits, means, log-scales, then coefficients (G|R, B|R, B|G) x K
    changed_b = params.clone()
    changed_b[:, coeff_start + k :] += 2.0  # the coefficients of B only
    changed_all = params.clone()
    changed_all[:, coeff_start:] -= 1.5
    pixels = all_pixels(3, 4)

    def joint(p):
        return lik.log_prob_map(pixels, p.expand(len(pixels), -1, -1, -1)).exp().view(4, 4, 4)

    base, b_moved, all_moved = joint(params), joint(changed_b), joint(changed_all)
    assert torch.allclose(base.sum((1, 2)), all_moved.sum((1, 2)), atol=1e-12)  # p(R)
    assert torch.allclose(base.sum(2), b_moved.sum(2), atol=1e-12)  # p(R, G)
    assert not torch.allclose(base, b_moved)  # B does move


def test_the_mean_of_later_colours_shifts_with_earlier_ones():
    """One component, G's coefficient on R near 1: G's likeliest level follows R."""
    lik = DiscretizedLogisticMixture(9, 2, mixtures=1)
    params = torch.tensor([0.0, 0.0, 0.0, -4.0, -4.0, 5.0], dtype=torch.float64).view(1, 6, 1, 1)
    for r in range(9):
        pixels = torch.tensor([[r, g] for g in range(9)]).view(9, 2, 1, 1)
        logp = lik.log_prob_map(pixels, params.expand(9, -1, -1, -1)).flatten()
        assert int(logp.argmax()) == r


@pytest.mark.parametrize("colours,levels", [(1, 6), (3, 3)])
def test_samples_follow_the_mixture(colours, levels):
    """Chi-square of 30,000 draws against the exact probabilities of every pixel value."""
    lik = DiscretizedLogisticMixture(levels, colours, mixtures=3)
    params = random_params(lik, 1, seed=11)
    pixels = all_pixels(colours, levels)
    p = lik.log_prob_map(pixels, params.expand(len(pixels), -1, -1, -1)).exp().flatten()
    n = 30000
    draws = lik.sample(params[:, :, 0, 0].expand(n, -1), 0, generator=gen(4))  # [n, C]
    index = (draws * (levels ** torch.arange(colours - 1, -1, -1))).sum(1)
    counts = torch.bincount(index, minlength=len(pixels)).double()
    expected = n * p
    keep = expected > 5  # the usual validity condition of the test
    chi2 = float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())
    dof = int(keep.sum()) - 1
    assert chi2 < dof + 4.5 * math.sqrt(2 * dof)  # far in the tail of chi-square(dof)


def test_completion_conditions_the_component_on_the_known_colours():
    """Two well separated components, R known: G (which ignores R inside a component) must
    come from the component that explains R."""
    lik = DiscretizedLogisticMixture(16, 2, mixtures=2)
    # logits 0,0; means R: -0.8, 0.8; G: -0.8, 0.8; log-scales -4; coefficients 0 (tanh 0: no shift)
    params = torch.tensor([0.0, 0.0, -0.8, 0.8, -0.8, 0.8, -4.0, -4.0, -4.0, -4.0, 0.0, 0.0],
                          dtype=torch.float64).view(1, 12)
    given = torch.tensor([[14, 0]]).expand(200, 2)
    known = torch.tensor([[True, False]]).expand(200, 2)
    draws = lik.sample(params.expand(200, -1), 0, given=given, known=known, generator=gen(1))
    assert torch.all(draws[:, 0] == 14)
    assert torch.all(draws[:, 1] >= 12)  # the high component, every time


def test_temperature_zero_takes_the_likeliest_component_and_its_mean():
    lik = DiscretizedLogisticMixture(11, 1, mixtures=2)
    params = torch.tensor([[3.0, 0.0, 0.4, -0.4, -1.0, -1.0]], dtype=torch.float64)
    draws = lik.sample(params.expand(5, -1), 0, temperature=0, generator=gen(0))
    assert torch.all(draws == 7)  # the mean 0.4 lies in the bin of level 7: -1 + 2 * 7 / 10 = 0.4


def test_any_levels_from_two_to_256_and_clear_errors():
    for levels in (2, 3, 255, 256):
        lik = make_likelihood({"name": "logistic-mixture", "mixtures": 2}, levels=levels, colours=3)
        assert lik.channels == 2 * 10 and lik.groups == 1
    with pytest.raises(PixelCNNError, match="20 channels"):
        lik.log_prob_map(torch.zeros(1, 3, 2, 2, dtype=torch.long), torch.zeros(1, 7, 2, 2))
    with pytest.raises(PixelCNNError, match="unknown likelihood"):
        make_likelihood("gaussian", levels=4, colours=1)


@pytest.mark.parametrize("name", ["pixelcnn", "gated-pixelcnn"])
def test_a_model_with_the_mixture_scores_per_pixel_and_samples_whole_pixels(name):
    model = small_model(name, channels=3, levels=8, size=(3, 4), likelihood="logistic-mixture")
    x = torch.randint(0, 8, (2, 3, 3, 4))
    per_pixel = model.log_prob_map(x)
    assert per_pixel.shape == (2, 1, 3, 4)
    assert torch.allclose(per_pixel.flatten(1).sum(1), model.log_prob(x))
    steps = []
    model.sample(2, generator=gen(0), on_step=lambda i, j, g, p: steps.append((i, j, g)))
    assert steps == [(i, j, 0) for i in range(3) for j in range(4)]
