"""Input encoders: every registered encoder with every preset x likelihood keeps the invariants
(causality by gradients at the encoder's output, normalisation by enumeration, cached ==
reference sampling). The default encoder, ``scaled``, is what the other registry-wide tests
run with; here every other encoder runs, at C = 3 (where colour groups matter) and C = 1."""

import itertools

import pytest
import torch

import pixelcnn
from helpers import INPUT_SPECS, PAIRS, block_gradient, small_model, step_blocks
from pixelcnn.errors import PixelCNNError
from pixelcnn.nn.inputs import Embedding, Scaled, make_input

CASES = [(name, likelihood, spec) for name, likelihood in PAIRS for spec in INPUT_SPECS]


def _id(spec):
    return spec if isinstance(spec, str) else spec["name"]


@pytest.mark.parametrize("name,likelihood,spec", CASES, ids=lambda v: _id(v) if isinstance(v, dict) else None)
def test_every_step_depends_only_on_earlier_subpixels(name, likelihood, spec):
    h, w, c = 2, 3, 3
    model = small_model(name, channels=c, levels=4, size=(h, w), likelihood=likelihood, input=spec).eval()
    x = torch.randint(0, 4, (2, c, h, w), generator=torch.Generator().manual_seed(1))
    seen = 0
    for i, j in itertools.product(range(h), range(w)):
        for colours, block in step_blocks(model):
            grad = block_gradient(model, x, 1, i, j, block)
            assert torch.all(grad[0] == 0), "a step depends on another image of the batch"
            me = (i * w + j) * c + colours.start
            order = (torch.arange(h * w).view(1, h, w) * c + torch.arange(c).view(c, 1, 1))  # [C, H, W]
            assert torch.all(grad[1][order >= me] == 0), f"step ({colours}, {i}, {j}) reads its own or later sub-pixels"
            seen += int((grad[1] != 0).sum())
    assert seen > 0


@pytest.mark.parametrize("name,likelihood,spec", CASES, ids=lambda v: _id(v) if isinstance(v, dict) else None)
def test_probabilities_of_all_images_sum_to_one(name, likelihood, spec):
    model = small_model(name, channels=3, levels=2, size=(1, 2), likelihood=likelihood, input=spec)
    images = torch.tensor(list(itertools.product(range(2), repeat=6))).view(-1, 3, 1, 2)
    with torch.no_grad():
        total = torch.logsumexp(model.log_prob(images), 0)
    assert abs(float(total)) < 1e-9


@pytest.mark.parametrize("name,likelihood,spec", CASES, ids=lambda v: _id(v) if isinstance(v, dict) else None)
@pytest.mark.parametrize("channels", [1, 3])
def test_cached_sampling_equals_the_reference(name, likelihood, spec, channels):
    model = small_model(name, channels=channels, levels=5, size=(3, 3), likelihood=likelihood, input=spec)
    fast = model.sample(3, generator=torch.Generator().manual_seed(3), method="fast")
    slow = model.sample(3, generator=torch.Generator().manual_seed(3), method="reference")
    assert torch.equal(fast, slow)
    assert len(fast.unique()) > 1


def test_scaled_maps_levels_onto_minus_one_to_one():
    enc = make_input("scaled", levels=5, colours=2)
    x = torch.tensor([0, 1, 2, 3, 4]).view(1, 1, 1, 5).expand(1, 2, 1, 5)
    out = enc(x)
    assert isinstance(enc, Scaled) and out.shape == (1, 2, 1, 5)
    assert torch.allclose(out[0, 0, 0], torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))


def test_embedding_gives_each_colour_its_own_block_of_features_from_one_table():
    enc = make_input({"name": "embedding", "dim": 4}, levels=7, colours=3)
    assert isinstance(enc, Embedding) and enc.channels == 12 and enc.table.weight.shape == (7, 4)
    x = torch.randint(0, 7, (2, 3, 5, 6), generator=torch.Generator().manual_seed(0))
    out = enc(x)  # [B, C*E, H, W]
    assert out.shape == (2, 12, 5, 6)
    for c in range(3):
        assert torch.equal(out[:, 4 * c : 4 * c + 4].permute(0, 2, 3, 1), enc.table.weight[x[:, c]])


def test_the_embedding_trains_saves_and_loads_with_the_model(tmp_path):
    from pixelcnn.training.checkpoint import load_weights

    model = pixelcnn.create_model("pixelcnn-seed", levels=6, image_size=(4, 4), hidden=8, layers=1,
                                  input={"name": "embedding", "dim": 5})
    x = torch.randint(0, 6, (3, 1, 4, 4))
    model.bits_per_dim(x).backward()
    table = model.network.encoder.table.weight
    assert table.grad is not None and table.grad.abs().sum() > 0
    from safetensors.torch import save_file

    save_file(model.state_dict(), tmp_path / "w.safetensors")
    other = pixelcnn.create_model("pixelcnn-seed", levels=6, image_size=(4, 4), hidden=8, layers=1,
                                  input={"name": "embedding", "dim": 5})
    load_weights(other, tmp_path / "w.safetensors")
    assert torch.equal(other.network.encoder.table.weight, table)
    assert torch.allclose(other.log_prob(x), model.log_prob(x))


@pytest.mark.parametrize("spec,message", [
    ("onehot", "unknown input encoder 'onehot'"),
    ({"name": "embedding", "dim": 0}, "dim must be an integer >= 1"),
    ({"name": "scaled", "dim": 3}, "has no option dim"),
    (7, "must be a name or a mapping"),
])
def test_bad_input_specs_give_one_clear_line(spec, message):
    with pytest.raises(PixelCNNError, match=message):
        pixelcnn.create_model("pixelcnn-seed", input=spec)
