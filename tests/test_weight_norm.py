"""Weight normalisation (norm="weight") on every preset that offers it: causal, cached
sampling intact, initialised from data before training, never by a forward pass."""

import pytest
import torch

import pixelcnn
from helpers import block_gradient, small_model, step_blocks
from pixelcnn.errors import ConfigError
from pixelcnn.models import preset_config
from pixelcnn.nn import MaskedConv2d
from pixelcnn.nn.weight_norm import initialize_from_data, weight_normed_layers
from test_causality import order_index



def offers_weight_norm(name: str) -> bool:
    try:
        preset_config(name, norm="weight")
    except ConfigError:  # no norm field, or no "weight" among its values
        return False
    return True


PRESETS = [name for name in pixelcnn.list_models() if offers_weight_norm(name)]


def initialised(name, channels=3, likelihood="categorical", size=(4, 5)):
    model = small_model(name, channels=channels, levels=4, size=size, norm="weight", likelihood=likelihood)
    x = torch.randint(0, 4, (16, channels, *size), generator=torch.Generator().manual_seed(3))
    assert initialize_from_data(model, x) == len(weight_normed_layers(model)) > 0
    return model


def test_the_masked_weight_has_the_gain_as_its_norm_over_open_taps():
    conv = MaskedConv2d(6, 9, 5, "A", colour_groups=3, weight_norm=True).double()
    with torch.no_grad():
        conv.weight_norm.gain.copy_(torch.arange(1.0, 10.0))
    w = conv.masked_weight()
    norms = torch.linalg.vector_norm(w.flatten(1), dim=1)
    assert torch.allclose(norms, torch.arange(1.0, 10.0, dtype=torch.float64))


@pytest.mark.parametrize("name", PRESETS)
def test_initialisation_gives_standardised_outputs_and_forward_changes_nothing(name):
    model = initialised(name)
    first = weight_normed_layers(model)[0]
    outputs = []
    handle = first.register_forward_hook(lambda m, i, o: outputs.append(o))
    x = torch.randint(0, 4, (16, 3, 4, 5), generator=torch.Generator().manual_seed(3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.log_prob(x)
    handle.remove()
    out = outputs[0].transpose(0, 1).flatten(1)  # [channels, B*H*W]
    live = out.std(1) > 0  # channels the mask leaves open somewhere
    assert torch.allclose(out[live].mean(1), torch.zeros(int(live.sum()), dtype=out.dtype), atol=1e-6)
    assert torch.allclose(out[live].std(1, unbiased=False), torch.ones(int(live.sum()), dtype=out.dtype), atol=1e-4)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("likelihood", ["categorical", "logistic-mixture"])
def test_weight_normalised_models_stay_causal_and_cached_sampling_matches(name, likelihood):
    h, w = 3, 4
    model = initialised(name, likelihood=likelihood, size=(h, w))
    x = torch.randint(0, 4, (2, 3, h, w), generator=torch.Generator().manual_seed(1))
    for i in range(h):
        for j in range(w):
            for colours, block in step_blocks(model):
                grad = block_gradient(model, x, 1, i, j, block)
                me = order_index(colours.start, i, j, 3, w)
                later = [(c, a, b) for c in range(3) for a in range(h) for b in range(w) if order_index(c, a, b, 3, w) >= me]
                assert all(grad[1, c, a, b] == 0 for c, a, b in later) and torch.all(grad[0] == 0)
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(model.sample(3, generator=g()), model.sample(3, generator=g(), method="reference"))


def test_a_channel_constant_over_the_batch_keeps_its_scale():
    """A channel whose output does not vary over the initialisation batch has no scale to
    set; dividing by its (zero) spread would multiply it by 1e8 a layer."""
    conv = MaskedConv2d(2, 3, 1, "B", weight_norm=True).double()
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0] = 1.0  # channel 0 reads input 0; channels 1 and 2 read only input 1
        conv.weight[1:, 1] = 1.0
    x = torch.randn(8, 2, 3, 3, dtype=torch.float64)
    x[:, 1] = 0.7  # input 1 is constant: so are output channels 1 and 2
    assert initialize_from_data(conv, x) == 1
    gain = conv.weight_norm.gain.detach()
    assert torch.allclose(gain[1:], torch.ones(2, dtype=torch.float64))
    assert float(gain[0]) == pytest.approx(1 / float(x[:, 0].std(unbiased=False)))
    with torch.no_grad():
        out = conv(x)
    assert out[:, 1:].abs().max() < 1e-9  # centred, not blown up
