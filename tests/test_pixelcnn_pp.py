"""PixelCNN++ as a network: causal at every size for 1 and C likelihood groups, its
incremental step equals its forward pass, and the paper-sized network builds."""

import pytest
import torch

from pixelcnn.errors import ConfigError
from pixelcnn.models.config import input_of, likelihood_of
from pixelcnn.models.pixelcnn_pp import PixelCNNPP, PixelCNNPPConfig
from pixelcnn.nn import Cache, Step


def network(channels, groups, size, params_per_group=2, seed=0, **fields):
    torch.manual_seed(seed)
    fields = {"hidden": 4, "layers": 1, "dropout": 0.0, **fields}
    cfg = PixelCNNPPConfig(in_channels=channels, levels=5, image_size=size, **fields)
    net = PixelCNNPP(cfg, params=params_per_group * groups, groups=groups, encoder=input_of(cfg)).double()
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():  # random values everywhere, so that no path is silently zero
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return net


def allowed(groups, channels, size, g, i, j) -> torch.Tensor:
    """``[C, H, W]`` bool: the inputs block ``g`` at ``(i, j)`` may depend on."""
    h, w = size
    a, b = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    before = (a < i) | ((a == i) & (b < j))
    out = before.expand(channels, h, w).clone()
    if groups > 1:
        out[:g, i, j] = True  # earlier colours of the current pixel
    return out


def check_causal(net, x, positions, groups):
    """Gradients of each block at each position with respect to every input sub-pixel
    (one forward pass, one batched backward pass). Returns whether anything was read."""
    channels, size = x.shape[1], tuple(x.shape[-2:])
    width = net.params // groups
    xf = x.double().requires_grad_(True)
    out = net(xf)
    probes = [(g, i, j) for i, j in positions for g in range(groups)]
    weights = torch.zeros(len(probes), *out.shape, dtype=out.dtype)
    g_ = torch.Generator().manual_seed(0)
    for n, (g, i, j) in enumerate(probes):
        weights[n, 1, g * width : (g + 1) * width, i, j] = torch.randn(width, generator=g_, dtype=out.dtype)
    grads = torch.autograd.grad(out, xf, weights, is_grads_batched=True)[0]  # [probes, B, C, H, W]
    assert torch.all(grads[:, 0] == 0), "an output depends on another image of the batch"
    for (g, i, j), grad in zip(probes, grads[:, 1]):
        leak = (grad != 0) & ~allowed(groups, channels, size, g, i, j)
        assert not leak.any(), f"block {g} at ({i}, {j}) reads {leak.nonzero().tolist()}"
    return bool((grads != 0).any())


@pytest.mark.parametrize("channels,groups", [(1, 1), (3, 1), (3, 3)])
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5, 7)])
def test_causal_at_odd_sizes_in_training_mode(channels, groups, size):
    net = network(channels, groups, size, dropout=0.3).train()  # dropout is per element: no leak either
    x = torch.randint(0, 5, (2, channels, *size), generator=torch.Generator().manual_seed(1))
    positions = [(i, j) for i in range(size[0]) for j in range(size[1])]
    seen = check_causal(net, x, positions, groups)
    assert seen or (size == (1, 1) and groups == 1)  # a lone pixel has no past to read


@pytest.mark.parametrize("channels,groups", [(1, 1), (3, 3)])
def test_causal_at_28x28(channels, groups):
    """28 -> 14 -> 7: positions on both sides of every down-sampling boundary."""
    net = network(channels, groups, (28, 28)).eval()
    x = torch.randint(0, 5, (2, channels, 28, 28), generator=torch.Generator().manual_seed(2))
    assert check_causal(net, x, [(0, 0), (0, 27), (13, 13), (14, 14), (15, 2), (27, 27)], groups)


def test_the_last_pixel_sees_far_and_colours_see_earlier_colours():
    net = network(3, 3, (5, 7)).eval()
    x = torch.randint(0, 5, (4, 3, 5, 7), generator=torch.Generator().manual_seed(3)).double().requires_grad_(True)
    net(x)[:, 2 * 2 : 3 * 2, 4, 6].sum().backward()  # block of colour 2 at the last pixel
    grad = x.grad.abs().sum(0)
    assert grad[:, 0, 0].sum() > 0  # the first pixel, through all three resolutions
    assert grad[0, 4, 6] > 0 and grad[1, 4, 6] > 0 and grad[2, 4, 6] == 0


@pytest.mark.parametrize("channels,groups,size", [(1, 1, (5, 7)), (3, 1, (7, 5)), (3, 3, (5, 6)), (1, 1, (1, 2))])
def test_step_equals_forward_at_every_pixel(channels, groups, size):
    net = network(channels, groups, size, params_per_group=3, layers=2, num_classes=3).eval()
    x = torch.randint(0, 5, (3, channels, *size), generator=torch.Generator().manual_seed(4))
    cond = (torch.tensor([0, 2, 1]), None)
    with torch.no_grad():
        full = net(x, cond)
        cache = Cache(3, *size)
        width = net.params // groups
        for i in range(size[0]):
            for j in range(size[1]):
                for g in range(groups):
                    out = net(x, cond, Step.pixel(cache, i, j, g))[:, :, 0, 0]
                    block = slice(g * width, (g + 1) * width)
                    assert torch.allclose(out[:, block], full[:, block, i, j], atol=1e-10), (i, j, g)


def test_step_catches_up_from_a_later_pixel_and_refuses_going_back():
    net = network(1, 1, (4, 5)).eval()
    x = torch.randint(0, 5, (2, 1, 4, 5), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        full = net(x)
        cache = Cache(2, 4, 5)
        assert torch.allclose(net(x, step=Step.pixel(cache, 2, 3))[:, :, 0, 0], full[:, :, 2, 3])  # rows 0-1 and (2, 0-2) caught up
        assert torch.allclose(net(x, step=Step.pixel(cache, 3, 0))[:, :, 0, 0], full[:, :, 3, 0])
        with pytest.raises(Exception, match="comes before"):
            net(x, step=Step.pixel(cache, 1, 0))


def test_forward_never_changes_parameters_and_dropout_only_acts_in_training():
    net = network(3, 1, (4, 4), dropout=0.5)
    x = torch.randint(0, 5, (2, 3, 4, 4))
    before = [p.detach().clone() for p in net.parameters()]
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def block_parameters(n, area, aux):
    """Weights, biases and gains of one gated ResNet block (weight normalised)."""
    conv1 = 2 * n * n * area + 2 * n
    nin = 2 * aux * n + 2 * n if aux else 0
    conv2 = 2 * n * 2 * n * area + 2 * 2 * n
    return conv1 + nin + conv2


def test_paper_sized_network_builds_with_the_expected_parameter_count():
    cfg = PixelCNNPPConfig()  # the paper's CIFAR-10 network: 160 filters, 5 blocks per stage, 10 components
    assert (cfg.hidden, cfg.layers, cfg.resolutions, cfg.dropout) == (160, 5, 3, 0.5)
    assert likelihood_of(cfg).mixtures == 10
    params = 10 * 10  # what the logistic mixture needs for 3 colours: 10 * K
    with torch.device("meta"):  # shapes only: nothing is allocated or initialised
        net = PixelCNNPP(cfg, params=params, groups=1, encoder=input_of(cfg))
    n, c = 160, 3
    inputs = sum((c + 1) * n * area + 2 * n for area in (6, 3, 2))
    down = 3 * 5 * (block_parameters(n, 6, 0) + block_parameters(n, 4, n))
    up = (5 + 6 + 6) * (block_parameters(n, 6, n) + block_parameters(n, 4, 2 * n))
    resample = 2 * (n * n * 6 + 2 * n + n * n * 4 + 2 * n) * 2
    head = n * params + 2 * params
    assert sum(p.numel() for p in net.parameters()) == inputs + down + up + resample + head


@pytest.mark.parametrize("fields,message", [
    ({"dropout": 1.0}, "dropout"), ({"norm": "batch"}, "norm"), ({"resolutions": 0}, "resolutions"),
    ({"likelihood": "gaussian"}, "likelihood"), ({"likelihood": {"name": "logistic-mixture", "mixtures": 0}}, "mixtures"),
    ({"likelihood": {"name": "categorical", "mixtures": 2}}, "no option mixtures")
])
def test_bad_settings_give_one_clear_error(fields, message):
    with pytest.raises(ConfigError, match=message):
        PixelCNNPPConfig(**fields)


def test_groups_must_be_one_or_the_colours():
    with pytest.raises(ConfigError, match="groups"):
        cfg = PixelCNNPPConfig(in_channels=3, hidden=4, layers=0)
        PixelCNNPP(cfg, params=4, groups=2, encoder=input_of(cfg))


def test_data_dependent_initialisation_reaches_every_weight_normalised_layer():
    from pixelcnn.nn.weight_norm import initialize_from_data, weight_normed_layers

    net = network(3, 1, (6, 5), layers=1, num_classes=2).float()
    x = torch.randint(0, 5, (32, 3, 6, 5), generator=torch.Generator().manual_seed(6))
    labels = torch.randint(0, 2, (32,), generator=torch.Generator().manual_seed(7))
    assert initialize_from_data(net, x, (labels, None)) == len(weight_normed_layers(net)) > 20
    with torch.no_grad():
        out = net(x, (labels, None))
    assert torch.allclose(out.mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-4)
    assert torch.allclose(out.std(dim=(0, 2, 3), unbiased=False), torch.ones(2), atol=1e-3)


@pytest.mark.parametrize("likelihood,channel", [("logistic-mixture", 0), ("categorical", 1)])
def test_receptive_field_is_every_earlier_subpixel(likelihood, channel):
    """No blind spot: through three resolutions even one block per stage reaches all of the past
    (the whole pixel is one step for the mixture; G reads R of its own pixel for the categorical)."""
    from pixelcnn.evaluation import receptive_field

    field = receptive_field("pixelcnn-pp", (5, 6), channel=channel, size=(9, 11), in_channels=3,
                            hidden=8, layers=1, likelihood=likelihood)
    k = field.counts()
    assert k["leaks"] == 0 and k["blind"] == 0
    assert k["seen"] == k["earlier"] == 3 * (5 * 11 + 6) + channel


@pytest.mark.parametrize("channels,likelihood,size", [
    (1, "logistic-mixture", (5, 7)), (3, "logistic-mixture", (7, 5)), (3, "categorical", (3, 5)),
])
def test_cached_sampler_equals_reference_sampler_at_odd_sizes(channels, likelihood, size):
    from helpers import small_model

    model = small_model("pixelcnn-pp", channels=channels, levels=16, size=size, likelihood=likelihood,
                        hidden=6, layers=1)
    fast = model.sample(3, generator=torch.Generator().manual_seed(9), method="fast")
    slow = model.sample(3, generator=torch.Generator().manual_seed(9), method="reference")
    assert torch.equal(fast, slow)
    assert len(fast.unique()) > 3
