"""Class and vector conditioning, for every registered model."""

import itertools

import pytest
import torch

from helpers import CACHED_PAIRS, PAIRS, block_gradient, small_model, step_blocks
from test_causality import order_index


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name,likelihood", PAIRS)
def test_conditional_outputs_stay_causal(name, likelihood):
    model = small_model(name, channels=3, levels=4, size=(3, 4), num_classes=5, cond_dim=2, likelihood=likelihood)
    assert_causal_given(model, (torch.tensor([1, 4]), torch.randn(2, 2, dtype=torch.float64)))


def assert_causal_given(model, cond):
    """Every step of a 3x3x4 model given ``cond`` (for 2 images) reads only the sub-pixels
    before it, of its own image."""
    x = torch.randint(0, 4, (2, 3, 3, 4), generator=gen(1))
    for i, j, (colours, block) in itertools.product(range(3), range(4), step_blocks(model)):
        grad = block_gradient(model, x, 1, i, j, block, cond)
        me = order_index(colours.start, i, j, 3, 4)
        assert torch.all(grad[0] == 0)
        for ci, ii, jj in itertools.product(range(3), range(3), range(4)):
            if order_index(ci, ii, jj, 3, 4) >= me:
                assert grad[1, ci, ii, jj] == 0


@pytest.mark.parametrize("name,likelihood", PAIRS)
def test_conditional_probabilities_sum_to_one_for_every_label(name, likelihood):
    model = small_model(name, channels=1, levels=2, size=(2, 2), num_classes=3, likelihood=likelihood).eval()
    images = torch.tensor(list(itertools.product(range(2), repeat=4))).view(16, 1, 2, 2)
    with torch.no_grad():
        for label in range(3):
            total = torch.logsumexp(model.log_prob(images, torch.full((16,), label)), dim=0)
            assert abs(float(total)) < 1e-5


@pytest.mark.parametrize("name,likelihood", PAIRS)
def test_the_label_changes_the_distribution(name, likelihood):
    model = small_model(name, channels=1, levels=4, size=(4, 4), num_classes=3, likelihood=likelihood)
    x = torch.randint(0, 4, (2, 1, 4, 4), generator=gen(2))
    with torch.no_grad():
        a = model(x, torch.tensor([0, 0]))
        b = model(x, torch.tensor([2, 2]))
    assert not torch.allclose(a, b)
    # the first sub-pixel sees no pixel at all: only the label can move it
    assert not torch.allclose(a[:, :, 0, 0], b[:, :, 0, 0])


@pytest.mark.parametrize("name,likelihood", CACHED_PAIRS)
def test_conditional_sampling_is_reproducible_and_fast_equals_reference(name, likelihood):
    model = small_model(name, channels=3, levels=4, size=(3, 4), num_classes=4, cond_dim=3, likelihood=likelihood)
    cond = {"labels": torch.tensor([0, 3, 1]), "vector": torch.randn(3, 3, dtype=torch.float64, generator=gen(9))}
    fast = model.sample(3, cond=cond, generator=gen(5))
    assert torch.equal(fast, model.sample(3, cond=cond, generator=gen(5)))
    assert torch.equal(fast, model.sample(3, cond=cond, generator=gen(5), method="reference"))


def test_conditional_sampling_follows_the_label():
    """A gated model wired so that only the label reaches the output, and label k
    makes level k the most likely everywhere: argmax samples must be all k."""
    model = small_model("gated-pixelcnn", channels=1, levels=3, size=(3, 3), num_classes=3)
    p = model.config.hidden
    with torch.no_grad():
        for q in model.parameters():
            q.zero_()
        first = model.network.layers[0]
        embed = first.hcond.embed.weight  # [classes, 2p]: tanh half, then sigmoid half
        embed[:, p:] = 10.0  # gates open
        embed[torch.arange(3), torch.arange(3)] = 2.0  # label k -> hidden channel k
        first.skip.weight[:, :, 0, 0] = torch.eye(p)
        head0, head1 = model.network.head
        head0.weight[:p, :, 0, 0] = torch.eye(p)
        head1.weight[torch.arange(3), torch.arange(3), 0, 0] = 5.0  # channel k -> level k
    labels = torch.tensor([2, 0, 1])
    out = model.sample(3, cond=labels, generator=gen(0), temperature=0)
    assert torch.equal(out, labels.view(3, 1, 1, 1).expand(3, 1, 3, 3))
    assert torch.equal(model.sample(3, cond=labels, generator=gen(0), temperature=0, method="reference"), out)
