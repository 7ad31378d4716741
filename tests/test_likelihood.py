"""The printed likelihood is exact: probabilities of all images sum to one."""

import itertools
import math

import pytest
import torch

import pixelcnn
from helpers import PAIRS, small_model


def all_images(channels: int, h: int, w: int, levels: int) -> torch.Tensor:
    values = itertools.product(range(levels), repeat=channels * h * w)
    return torch.tensor(list(values)).view(-1, channels, h, w)


@pytest.mark.parametrize("name,likelihood", PAIRS)
@pytest.mark.parametrize("channels,size,levels", [(1, (2, 2), 2), (3, (1, 2), 3), (1, (2, 3), 3)])
def test_probabilities_of_all_images_sum_to_one(name, likelihood, channels, size, levels):
    model = small_model(name, channels=channels, levels=levels, size=size, likelihood=likelihood).eval()
    images = all_images(channels, *size, levels)
    with torch.no_grad():
        total = torch.logsumexp(model.log_prob(images), dim=0)
    assert abs(float(total)) < 1e-5


@pytest.mark.parametrize("name", pixelcnn.list_models())
@pytest.mark.parametrize("levels", [2, 5, 256])
def test_zero_categorical_output_layer_scores_exactly_log2_levels_bits_per_dim(name, levels):
    model = small_model(name, channels=3, levels=levels, size=(3, 4), likelihood="categorical")
    with torch.no_grad():
        model.network.output_layer.weight.zero_()
        model.network.output_layer.bias.zero_()
    x = torch.randint(0, levels, (5, 3, 3, 4))
    bpd = model.bits_per_dim(x)
    assert torch.allclose(bpd, torch.tensor(math.log2(levels), dtype=bpd.dtype), atol=1e-12)
    assert torch.allclose(model.log_prob(x), torch.full((5,), -36 * math.log(levels), dtype=bpd.dtype))


def test_log_prob_map_sums_to_log_prob_and_bits_per_dim_uses_every_dimension():
    model = small_model("pixelcnn", channels=3, levels=4, size=(3, 4))
    x = torch.randint(0, 4, (6, 3, 3, 4))
    per_subpixel = model.log_prob_map(x)
    assert per_subpixel.shape == (6, 3, 3, 4)
    assert torch.all(per_subpixel <= 0)
    with torch.no_grad():
        logp = torch.log_softmax(model.likelihood.logits(model(x)), dim=2)  # [B, C, L, H, W]
    b, c, i, j = torch.meshgrid(*(torch.arange(n) for n in x.shape), indexing="ij")
    by_hand = logp[b, c, x, i, j]  # the log-probability of each sub-pixel's own level
    assert torch.allclose(per_subpixel, by_hand)
    assert torch.allclose(by_hand.flatten(1).sum(1), model.log_prob(x))
    expected = -model.log_prob(x).sum() / (6 * 3 * 3 * 4 * math.log(2))
    assert torch.allclose(model.bits_per_dim(x), expected)


def test_evaluate_refuses_a_batch_size_below_one():
    from pixelcnn.errors import ConfigError
    from pixelcnn.evaluation import evaluate

    model = small_model("pixelcnn", channels=1, levels=4, size=(3, 3))
    with pytest.raises(ConfigError, match="batch_size"):
        evaluate(model, torch.zeros(2, 1, 3, 3, dtype=torch.long), batch_size=0)


def test_log_probs_scores_every_image_with_its_label_at_any_batch_size():
    from pixelcnn.evaluation.likelihood import log_probs

    model = small_model("gated-pixelcnn", channels=1, levels=4, size=(4, 4), num_classes=3)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 4, (7, 1, 4, 4), generator=g)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    model.eval()
    with torch.no_grad():
        expected = model.log_prob(x, labels).double()  # [7]
    model.train()
    for batch in (1, 3, 7, 100):
        got = log_probs(model, x, labels, batch_size=batch)
        assert got.dtype == torch.float64 and got.shape == (7,)
        assert torch.allclose(got, expected, rtol=1e-6)
        assert model.training  # left in the mode it was in
    assert not torch.allclose(log_probs(model, x, (labels + 1) % 3), expected)  # each image its own label
    maps = log_probs(model, x, labels, batch_size=3, per_pixel=True)
    assert maps.dtype == torch.float32 and maps.shape == (7, 4, 4)
    assert torch.allclose(maps.double().sum((1, 2)), expected, rtol=1e-5)
    assert log_probs(model, x[:0], labels[:0]).shape == (0,)
    assert log_probs(model, x[:0], labels[:0], per_pixel=True).shape == (0, 4, 4)
