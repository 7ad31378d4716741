"""PixelSNAIL and its causal attention: the layer stepped element by element equals its whole
pass, the whole past is seen, dropout keeps causality, bad settings and work too large for
memory are one line. The registry-wide tests (causality, normalisation, cached == reference,
completion, inputs, conditioning, maps) cover the presets as well."""

import itertools

import numpy as np
import pytest
import torch

import pixelcnn
from helpers import block_gradient, small_model, step_blocks
from pixelcnn.cli.main import main
from pixelcnn.errors import ConfigError, PixelCNNError
from pixelcnn.evaluation import receptive_field
from pixelcnn.models import preset_config
from pixelcnn.nn import Cache, Step
from pixelcnn.nn.attention import CausalSelfAttention
from pixelcnn.training.runtime import activation_bytes, attention_bytes
from test_causality import order_index


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def attention(groups, colours, heads, size, seed=0):
    torch.manual_seed(seed)
    return CausalSelfAttention(6, 2 * colours, 8, heads, groups, size).double()


def inputs(colours, size, batch=2):
    x = torch.randn(batch, 6, *size, generator=gen(1), dtype=torch.float64)
    image = torch.randn(batch, 2 * colours, *size, generator=gen(2), dtype=torch.float64)  # encoded, 2 per colour
    return x, image


@pytest.mark.parametrize("groups,colours,heads", [(1, 1, 1), (1, 3, 2), (3, 3, 2), (3, 3, 4)])
@pytest.mark.parametrize("size", [(3, 5), (1, 1), (4, 1)])
def test_stepping_the_layer_element_by_element_equals_its_whole_pass(groups, colours, heads, size):
    layer = attention(groups, colours, heads, size)
    x, image = inputs(colours, size)
    full = layer(x, image, lambda t: t)  # [B, G*8, H, W]
    cache = Cache(2, *size)
    for i, j, g in itertools.product(range(size[0]), range(size[1]), range(groups)):
        step = Step.pixel(cache, i, j, g)
        out = layer(step.region(x), image, lambda t: t, step)
        block = slice(g * 8, (g + 1) * 8)
        assert torch.allclose(out[:, block], full[:, block, i : i + 1, j : j + 1], rtol=0, atol=1e-12), (i, j, g)


@pytest.mark.parametrize("groups,colours", [(1, 3), (3, 3)])
def test_a_whole_pass_fills_the_cache_and_stepping_goes_on_from_any_element(groups, colours):
    size = (3, 4)
    layer = attention(groups, colours, 2, size)
    x, image = inputs(colours, size)
    full = layer(x, image, lambda t: t)
    cache = Cache(2, *size)
    layer(x, image, lambda t: t, Step.whole(cache))
    for i, j, g in itertools.product(range(1, 3), range(4), range(groups)):  # from the second row on
        step = Step.pixel(cache, i, j, g)
        out = layer(step.region(x), image, lambda t: t, step)
        block = slice(g * 8, (g + 1) * 8)
        assert torch.allclose(out[:, block], full[:, block, i : i + 1, j : j + 1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_fused_kernel_serves_the_whole_pass_and_its_gradient(dtype):
    """No [B, heads, M, M] map of weights: the CPU's flash kernel, forward and backward (it wants
    contiguous heads and no attention dropout)."""
    from torch.profiler import ProfilerActivity, profile

    model = pixelcnn.create_model("pixelsnail", in_channels=3, image_size=(6, 7), hidden=12, head=12).to(dtype)
    x = torch.randint(0, 256, (2, 3, 6, 7), generator=gen(3))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model.log_prob(x).sum().backward()
    ops = {e.key for e in prof.key_averages()}
    assert {"aten::_scaled_dot_product_flash_attention_for_cpu",
            "aten::_scaled_dot_product_flash_attention_for_cpu_backward"} <= ops
    assert "aten::_scaled_dot_product_attention_math" not in ops


def test_the_layer_steps_in_order_and_over_the_whole_map_only():
    layer = attention(1, 1, 1, (3, 3))
    x, image = inputs(1, (3, 3))
    cache = Cache(2, 3, 3)
    layer(x[..., :1, :1], image, lambda t: t, Step.pixel(cache, 0, 0))
    with pytest.raises(PixelCNNError, match="in order: element 2 after 0"):
        layer(x[..., :1, 2:], image, lambda t: t, Step.pixel(cache, 0, 2))
    with pytest.raises(PixelCNNError, match="whole map or one position"):
        layer(x[..., :1, :], image, lambda t: t, Step.row(Cache(2, 3, 3), 0))


def test_no_element_reads_its_own_or_a_later_input_and_the_first_reads_none():
    """The layer alone, by gradients: element m's output depends on inputs and image colours
    of elements before m only (its own group's input at its pixel is the query's: allowed)."""
    size, groups = (2, 3), 3
    layer = attention(groups, 3, 2, size)
    x, image = inputs(3, size)
    image.requires_grad_(True)
    for i, j, g in itertools.product(range(2), range(3), range(groups)):
        image.grad = None
        layer(x, image, lambda t: t)[:, g * 8 : (g + 1) * 8, i, j].sum().backward()
        seen = image.grad.abs().view(2, 3, 2, *size).sum((0, 2)) != 0  # [colour, H, W]
        me = order_index(g, i, j, 3, size[1])
        for c, ii, jj in itertools.product(range(3), range(2), range(3)):
            if order_index(c, ii, jj, 3, size[1]) >= me:
                assert not seen[c, ii, jj], ((i, j, g), (c, ii, jj))
        assert seen.any() == (me > 0)


@pytest.mark.parametrize("likelihood", ["categorical", "logistic-mixture"])
def test_the_first_pixel_of_the_last_row_sees_every_earlier_subpixel(likelihood):
    """Beyond the convolutions' reach (3x3 kernels, one layer per block: two rows up), the
    attention reads the whole past."""
    h, w = 8, 9
    model = small_model("pixelsnail", channels=3, levels=4, size=(h, w), likelihood=likelihood,
                        kernel_in=3, kernel=3, layers=1, blocks=1)
    x = torch.randint(0, 4, (3, 3, h, w), generator=gen(4))
    colours, block = step_blocks(model)[-1]
    grad = sum(block_gradient(model, x, b, h - 1, 0, block) for b in range(3))  # any image may read it
    me = order_index(colours.start, h - 1, 0, 3, w)
    for c, i, j in itertools.product(range(3), range(h), range(w)):
        earlier = order_index(c, i, j, 3, w) < me
        assert bool(grad[:, c, i, j].ne(0).any()) == earlier, (c, i, j)


def test_the_inspector_shows_no_blind_spot_and_the_whole_past():
    field = receptive_field("pixelsnail", (7, 0), channel=2, size=(8, 9), in_channels=3, hidden=12, layers=1,
                            blocks=1, kernel_in=3, kernel=3, likelihood="categorical")
    k = field.counts()
    assert k["leaks"] == 0 and k["blind"] == 0 and k["out_of_reach"] == 0
    assert k["seen"] == k["earlier"] == 3 * 7 * 9 + 2


def test_dropout_acts_in_training_only_and_keeps_causality():
    model = small_model("pixelsnail", channels=3, levels=4, size=(3, 4), likelihood="categorical",
                        dropout=0.5, attention_dropout=0.5)
    x = torch.randint(0, 4, (2, 3, 3, 4), generator=gen(5))
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))
    for i, j, (colours, block) in itertools.product(range(3), range(4), step_blocks(model)):
        grad = block_gradient(model, x, 1, i, j, block)
        me = order_index(colours.start, i, j, 3, 4)
        later = [order_index(c, ii, jj, 3, 4) >= me for c, ii, jj in itertools.product(range(3), range(3), range(4))]
        assert not grad[1].flatten()[torch.tensor(later)].any() and not grad[0].any()


@pytest.mark.parametrize("channels,likelihood,size", [
    (1, "logistic-mixture", (5, 7)), (3, "logistic-mixture", (7, 5)), (3, "categorical", (3, 5)),
])
def test_cached_sampler_equals_reference_sampler_at_odd_sizes(channels, likelihood, size):
    model = small_model("pixelsnail", channels=channels, levels=16, size=size, likelihood=likelihood)
    fast = model.sample(3, generator=gen(9), method="fast")
    slow = model.sample(3, generator=gen(9), method="reference")
    assert torch.equal(fast, slow)
    assert len(fast.unique()) > 3


def test_the_cifar_preset_builds_at_the_paper_size():
    cfg = preset_config("pixelsnail-cifar")
    assert (cfg.in_channels, cfg.image_size, cfg.hidden, cfg.blocks, cfg.layers) == (3, (32, 32), 256, 12, 4)
    model = pixelcnn.create_model("pixelsnail-cifar")
    attentions = [m for m in model.modules() if isinstance(m, CausalSelfAttention)]
    assert len(attentions) == 12 and attentions[0].width == 128
    assert model.likelihood.channels == 100  # 10 components of a whole pixel


def test_bad_settings_are_one_line():
    with pytest.raises(ConfigError, match=r"heads = 3 must divide attention_width = 32"):
        pixelcnn.create_model("pixelsnail", heads=3)
    with pytest.raises(ConfigError, match=r"unknown gated setting\(s\) \['heads'\]"):
        pixelcnn.create_model("gated-pixelcnn", heads=4)
    with pytest.raises(ConfigError, match=r"attention_dropout must be in \[0, 1\)"):
        pixelcnn.create_model("pixelsnail", attention_dropout=1.0)
    with pytest.raises(ConfigError, match="hidden = 64 must be a multiple of the 3 colour group"):
        pixelcnn.create_model("pixelsnail", in_channels=3, likelihood="categorical", hidden=64)


def test_the_memory_estimate_counts_attention():
    plain = preset_config("gated-pixelcnn", in_channels=3, image_size=(32, 32))
    assert attention_bytes(plain, 32, (32, 32)) == 0
    cfg = preset_config("pixelsnail", in_channels=3, image_size=(32, 32))
    linear = attention_bytes(cfg, 32, (32, 32))
    assert 0 < linear and attention_bytes(cfg, 32, (64, 64)) == 4 * linear  # fused kernels: linear in H*W
    dropped = preset_config("pixelsnail", in_channels=3, image_size=(32, 32), attention_dropout=0.1)
    quadratic = attention_bytes(dropped, 32, (64, 64)) - 4 * linear
    assert quadratic == 16 * (attention_bytes(dropped, 32, (32, 32)) - linear) > 0  # the weights: M^2
    assert attention_bytes(dropped, 32, (64, 64), training=False) == 4 * linear  # no dropout outside training
    assert activation_bytes(dropped, 32, (64, 64)) - activation_bytes(cfg, 32, (64, 64)) == quadratic


def test_attention_too_large_for_memory_is_refused_before_training(tmp_path, capsys):
    images = np.random.default_rng(0).integers(0, 256, (4, 96, 96), dtype=np.uint8)
    np.savez(tmp_path / "big.npz", train=images, test=images[:2])
    args = ["-q", "train", "--out", str(tmp_path / "run"), f"data.name={tmp_path / 'big.npz'}", "model.name=pixelsnail",
            "model.attention_dropout=0.5", "train.batch_size=16", "train.max_steps=1", "train.progress=false"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs about" in err and "GiB" in err and "available" in err, err
    assert not (tmp_path / "run" / "latest").exists()
