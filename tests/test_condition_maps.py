"""Condition maps (codes [B, h, w] or floats [B, Cc, h, w]) over every network x likelihood:
causality holds, the whole map reaches every position, probabilities still sum to one,
cached sampling equals the reference, and bad maps get one line."""

import itertools
import json

import pytest
import torch

import pixelcnn
from helpers import CACHED_PAIRS, PAIRS, small_model
from pixelcnn.errors import ConfigError, PixelCNNError
from test_conditioning import assert_causal_given

CODES = {"name": "codes", "levels": 5, "size": [2, 3], "dim": 4, "layers": 1}
FEATURES = {"name": "features", "channels": 2, "size": [5, 6], "dim": 4}


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def a_map(spec, batch: int, seed: int = 3) -> torch.Tensor:
    if spec["name"] == "codes":
        return torch.randint(0, spec["levels"], (batch, *spec["size"]), generator=gen(seed))
    return torch.randn(batch, spec["channels"], *spec["size"], generator=gen(seed), dtype=torch.float64)


@pytest.mark.parametrize("name,likelihood", PAIRS)
@pytest.mark.parametrize("spec", [CODES, FEATURES], ids=["codes", "features"])
def test_outputs_with_a_map_stay_causal(name, likelihood, spec):
    model = small_model(name, channels=3, levels=4, size=(3, 4), likelihood=likelihood, cond_map=spec)
    assert_causal_given(model, model.check_cond({"map": a_map(spec, 2)}, 2))


@pytest.mark.parametrize("name", pixelcnn.list_models())
def test_every_position_sees_the_whole_map(name):
    """The first pixel's parameters (which see no pixel) and the last's depend on every
    value of the map, however far from them."""
    spec = dict(FEATURES, size=[5, 6])
    model = small_model(name, channels=1, levels=4, size=(4, 5), cond_map=spec).eval()
    x = torch.randint(0, 4, (1, 1, 4, 5), generator=gen(1))
    for i, j in [(0, 0), (3, 4)]:
        m = a_map(spec, 1).requires_grad_(True)
        model(x, {"map": m})[0, :, i, j].sum().backward()
        assert torch.all(m.grad.abs().sum(1) > 0), (i, j)


@pytest.mark.parametrize("name,likelihood", PAIRS)
def test_probabilities_sum_to_one_for_every_map(name, likelihood):
    model = small_model(name, channels=1, levels=2, size=(2, 2), likelihood=likelihood, cond_map=CODES).eval()
    images = torch.tensor(list(itertools.product(range(2), repeat=4))).view(16, 1, 2, 2)
    with torch.no_grad():
        for seed in range(2):
            m = a_map(CODES, 1, seed).expand(16, -1, -1)
            assert abs(float(torch.logsumexp(model.log_prob(images, {"map": m}), dim=0))) < 1e-5


@pytest.mark.parametrize("name,likelihood", CACHED_PAIRS)
@pytest.mark.parametrize("spec", [CODES, FEATURES], ids=["codes", "features"])
@pytest.mark.parametrize("channels", [1, 3])
def test_cached_sampling_with_a_map_equals_the_reference(name, likelihood, spec, channels):
    model = small_model(name, channels=channels, levels=4, size=(3, 5), likelihood=likelihood, cond_map=spec,
                        num_classes=2)
    cond = {"map": a_map(spec, 3), "labels": torch.tensor([0, 1, 1])}
    fast = model.sample(3, cond=cond, generator=gen(5))
    assert torch.equal(fast, model.sample(3, cond=cond, generator=gen(5), method="reference"))


def test_completion_with_a_map_keeps_what_is_known():
    model = small_model("pixelcnn-pp", channels=1, levels=4, size=(3, 4), cond_map=CODES)
    known = torch.randint(0, 4, (2, 1, 3, 4), generator=gen(2))
    mask = torch.zeros_like(known, dtype=torch.bool)
    mask[:, :, :2] = True
    cond = {"map": a_map(CODES, 2)}
    fast = model.sample(2, cond=cond, known=known, known_mask=mask, generator=gen(3))
    assert torch.equal(fast[:, :, :2], known[:, :, :2])
    assert torch.equal(fast, model.sample(2, cond=cond, known=known, known_mask=mask, generator=gen(3),
                                          method="reference"))


def test_the_map_encoder_round_trips_with_the_config_and_weights():
    from pixelcnn.models import config_from_dict, config_to_dict

    model = small_model("gated-pixelcnn", channels=1, levels=4, size=(4, 5), cond_map=CODES).eval()
    again = pixelcnn.build_model(config_from_dict(json.loads(json.dumps(config_to_dict(model.config))))).double()
    again.load_state_dict(model.state_dict())
    x = torch.randint(0, 4, (2, 1, 4, 5), generator=gen(1))
    cond = {"map": a_map(CODES, 2)}
    assert any(k.startswith("network.cond_map.") for k in model.state_dict())
    assert torch.equal(model.log_prob(x, cond), again.log_prob(x, cond))


@pytest.mark.parametrize("cond,message", [
    (None, "conditioned on a map: give cond={'map': ...}, integer codes in [0, 5) of shape [2, 2, 3]"),
    ({"map": torch.zeros(2, 3, 2, dtype=torch.long)}, "must have shape [2, 2, 3], got [2, 3, 2]"),
    ({"map": torch.zeros(2, 2, 3)}, "holds integer codes in [0, 5), got dtype torch.float32"),
    ({"map": torch.full((2, 2, 3), 5)}, "condition codes must lie in [0, 5), got values in [5, 5]"),
    ({"map": [[0]]}, "must be a torch.Tensor, got list"),
])
def test_bad_code_maps_get_one_line(cond, message):
    model = small_model("pixelcnn-seed", levels=4, size=(4, 5), cond_map=CODES)
    with pytest.raises(PixelCNNError) as e:
        model.log_prob(torch.zeros(2, 1, 4, 5, dtype=torch.long), cond)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_bad_float_maps_and_maps_given_to_models_without_one():
    model = small_model("pixelcnn-seed", levels=4, size=(4, 5), cond_map=FEATURES)
    x = torch.zeros(2, 1, 4, 5, dtype=torch.long)
    with pytest.raises(PixelCNNError, match="holds floats, got dtype torch.int64"):
        model.log_prob(x, {"map": torch.zeros(2, 2, 5, 6, dtype=torch.long)})
    with pytest.raises(PixelCNNError, match="NaN or infinite"):
        model.log_prob(x, {"map": torch.full((2, 2, 5, 6), float("nan"))})
    plain = small_model("pixelcnn-seed", levels=4, size=(4, 5))
    with pytest.raises(PixelCNNError, match="takes no condition map"):
        plain.log_prob(x, {"map": torch.zeros(2, 2, 5, 6)})


@pytest.mark.parametrize("spec,message", [
    ({"name": "codes", "levels": 70000, "size": [2, 2]}, "levels must be in [2, 65,536], got 70000"),
    ({"name": "codes", "levels": 4, "size": [2]}, "size must be [height, width]"),
    ({"name": "features", "channels": 0, "size": [2, 2]}, "channels must be >= 1, got 0"),
    ({"name": "features", "channels": 2, "size": [2, 2], "depth": 3}, "has no option depth"),
    ({"name": "maps"}, "unknown condition map 'maps'"),
])
def test_bad_map_options_get_one_line(spec, message):
    with pytest.raises(ConfigError) as e:
        pixelcnn.create_model("pixelcnn-seed", levels=4, cond_map=spec)
    assert message in str(e.value) and "\n" not in str(e.value)
