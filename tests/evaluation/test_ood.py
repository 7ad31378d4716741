"""OOD scores: the AUROC is the exact pairwise probability; the scores follow their papers' definitions."""

from fractions import Fraction

import numpy as np
import pytest
import torch

from pixelcnn.errors import ConfigError
from pixelcnn.evaluation.ood import auroc, complexity_corrected, likelihood_ratio, perturb, png_bits


def pairwise(a, b) -> Fraction:
    """P(out > in) + P(out == in) / 2 by counting every pair, exactly."""
    wins = sum(2 * (y > x) + (y == x) for x in a for y in b)
    return Fraction(int(wins), 2 * len(a) * len(b))


@pytest.mark.parametrize("seed", range(20))
def test_auroc_agrees_with_a_direct_pairwise_count_with_ties(seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = rng.integers(1, 30, 2)
    spread = rng.integers(1, 6)  # few distinct values: many ties, within and across the two sets
    a = rng.integers(0, spread, n_in).astype(float)
    b = (rng.integers(0, spread, n_out) + rng.random() * 2).round()
    # both sides are the correctly rounded quotient of the same two integers: equal to the last bit
    assert auroc(torch.tensor(a), torch.tensor(b)) == float(pairwise(a, b))


def test_auroc_ends_and_chance():
    assert auroc([1, 2, 3], [4, 5]) == 1.0
    assert auroc([4, 5], [1, 2, 3]) == 0.0
    assert auroc([2, 2, 2], [2, 2]) == 0.5
    with pytest.raises(ConfigError):
        auroc([], [1.0])
    with pytest.raises(ConfigError):
        auroc([float("nan")], [1.0])


def test_png_bits_measure_complexity():
    flat = torch.full((1, 1, 28, 28), 7, dtype=torch.uint8)
    noise = torch.randint(0, 256, (1, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    bits = png_bits(torch.cat([flat, noise]))
    assert bits[0] < 1000 < 28 * 28 * 8 < bits[1]  # a flat image compresses, noise does not
    logp = torch.tensor([-100.0, -100.0])
    assert torch.equal(complexity_corrected(logp, torch.cat([flat, noise])), 100 / np.log(2) - bits)


def test_likelihood_ratio_is_the_bits_the_background_does_not_explain():
    lr = likelihood_ratio(torch.tensor([-10.0, -50.0]), torch.tensor([-20.0, -30.0]))
    assert torch.allclose(lr, torch.tensor([-10.0, 20.0], dtype=torch.float64) / np.log(2))


def test_perturb_substitutes_uniform_levels_at_the_rate():
    x = torch.zeros(200, 1, 28, 28, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(perturb(x, 0.0, 16, g), x)
    y = perturb(x, 0.2, 16, g)
    changed = (y != x).double().mean()
    assert abs(float(changed) - 0.2 * 15 / 16) < 0.005  # a substitution may draw the same level
    counts = torch.bincount(perturb(x, 1.0, 16, g).flatten(), minlength=16).double()
    assert counts.min() / counts.max() > 0.95
