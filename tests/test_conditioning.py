"""Class and vector conditioning, for every registered model."""

import itertools

import pytest
import torch

import pixelcnn
from helpers import small_model
from test_causality import order_index


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", pixelcnn.list_models())
def test_conditional_outputs_stay_causal(name):
    model = small_model(name, channels=3, levels=4, size=(3, 4), num_classes=5, cond_dim=2)
    x = torch.randint(0, 4, (2, 3, 3, 4), generator=gen(1)).double().requires_grad_(True)
    cond = (torch.tensor([1, 4]), torch.randn(2, 2, dtype=torch.float64))
    logits = model.network(x, cond)
    for i, j, c in itertools.product(range(3), range(4), range(3)):
        (grad,) = torch.autograd.grad(logits[1, c, :, i, j].sum(), x, retain_graph=True)
        me = order_index(c, i, j, 3, 4)
        assert torch.all(grad[0] == 0)
        for ci, ii, jj in itertools.product(range(3), range(3), range(4)):
            if order_index(ci, ii, jj, 3, 4) >= me:
                assert grad[1, ci, ii, jj] == 0


@pytest.mark.parametrize("name", pixelcnn.list_models())
def test_conditional_probabilities_sum_to_one_for_every_label(name):
    model = small_model(name, channels=1, levels=2, size=(2, 2), num_classes=3).eval()
    images = torch.tensor(list(itertools.product(range(2), repeat=4))).view(16, 1, 2, 2)
    with torch.no_grad():
        for label in range(3):
            total = torch.logsumexp(model.log_prob(images, torch.full((16,), label)), dim=0)
            assert abs(float(total)) < 1e-5


@pytest.mark.parametrize("name", pixelcnn.list_models())
def test_the_label_changes_the_distribution(name):
    model = small_model(name, channels=1, levels=4, size=(4, 4), num_classes=3)
    x = torch.randint(0, 4, (2, 1, 4, 4), generator=gen(2))
    with torch.no_grad():
        a = model(x, torch.tensor([0, 0]))
        b = model(x, torch.tensor([2, 2]))
    assert not torch.allclose(a, b)
    # the first sub-pixel sees no pixel at all: only the label can move it
    assert not torch.allclose(a[:, 0, :, 0, 0], b[:, 0, :, 0, 0])


@pytest.mark.parametrize("name", pixelcnn.list_models())
def test_conditional_sampling_is_reproducible_and_fast_equals_reference(name):
    model = small_model(name, channels=3, levels=4, size=(3, 4), num_classes=4, cond_dim=3)
    cond = {"labels": torch.tensor([0, 3, 1]), "vector": torch.randn(3, 3, dtype=torch.float64, generator=gen(9))}
    fast = model.sample(3, cond=cond, generator=gen(5))
    assert torch.equal(fast, model.sample(3, cond=cond, generator=gen(5)))
    assert torch.equal(fast, model.sample(3, cond=cond, generator=gen(5), method="reference"))


def test_conditional_sampling_follows_the_label():
    """A model whose first layers are silent and whose conditioning bias picks a level:
    every sample must be that level, different for each label."""
    model = small_model("gated-pixelcnn", channels=1, levels=3, size=(3, 3), num_classes=3)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for layer in model.network.layers:
            layer.hcond.embed.weight.copy_(torch.randn_like(layer.hcond.embed.weight))
        head = model.network.head
        head[0].bias.fill_(1.0)
    labels = torch.tensor([0, 1, 2])
    out = model.sample(3, cond=labels, generator=gen(0), temperature=0)
    with torch.no_grad():
        logits = model(out, labels)
    assert torch.equal(logits.argmax(2), out)
