"""The VQ-VAE's shapes for one and two maps and odd sizes, its loss, and its config's checks."""

import pytest
import torch

from pixelcnn.errors import ConfigError, PixelCNNError
from pixelcnn.vqvae import VQVAE, decode, encode, vqvae_config
from pixelcnn.vqvae.config import map_size
from pixelcnn.vqvae.model import VQVAELoss, to_levels

TINY = dict(hidden=8, res_hidden=4, res_blocks=1, code_dim=4, bottom_codes=16, top_codes=8)


def tiny(**overrides):
    torch.manual_seed(0)
    return VQVAE(vqvae_config("vqvae", **{**TINY, **overrides}))


@pytest.mark.parametrize("maps", [1, 2])
@pytest.mark.parametrize("size,channels", [((32, 32), 3), ((28, 28), 1), ((13, 9), 1), ((5, 7), 3), ((1, 1), 1)])
def test_shapes_of_maps_reconstructions_and_gradients(maps, size, channels):
    vq = tiny(maps=maps, image_size=size, in_channels=channels)
    x = torch.randint(0, 256, (3, channels, *size))
    y, codes, commitment = vq(x)
    assert y.shape == x.shape and commitment.shape == (3,)
    assert list(codes) == (["top", "bottom"] if maps == 2 else ["bottom"])
    for name, stride in (("bottom", 4), ("top", 8)):
        if name in codes:
            assert codes[name].shape == (3, -(-size[0] // stride), -(-size[1] // stride))
            assert codes[name].shape[1:] == vq.config.map_shape(name)
    VQVAELoss(vq)(x).sum().backward()
    assert all(p.grad is not None for p in vq.parameters())  # every weight takes part


def test_the_papers_map_sizes():
    assert vqvae_config("vqvae", image_size=(32, 32)).map_shape("bottom") == (8, 8)
    assert vqvae_config("vqvae", image_size=(32, 32)).map_shape("top") == (4, 4)
    assert vqvae_config("vqvae", image_size=(28, 28)).map_shape("bottom") == (7, 7)
    assert [map_size(n, 8) for n in (1, 8, 9, 28, 33)] == [1, 1, 2, 4, 5]


def test_the_loss_is_the_squared_error_plus_beta_times_the_commitment_per_sub_pixel():
    vq = tiny(image_size=(8, 8), in_channels=1, beta=0.5).eval()  # no codebook update between the calls
    x = torch.randint(0, 256, (2, 1, 8, 8))
    y, _, commitment = vq(x)
    scaled = x.float() / 127.5 - 1
    want = ((y - scaled) ** 2).flatten(1).sum(1) + 0.5 * 64 * commitment
    assert torch.allclose(VQVAELoss(vq)(x), want)


def test_decoding_the_codes_gives_the_reconstruction():
    vq = tiny(image_size=(12, 12), in_channels=1).eval()
    x = torch.randint(0, 256, (5, 1, 12, 12))
    with torch.inference_mode():
        y, _, _ = vq(x)
    codes = encode(vq, x, batch_size=2)
    assert torch.equal(decode(vq, **codes, batch_size=3), to_levels(y))
    assert codes["top"].dtype == torch.long and codes["top"].shape == (5, 2, 2)


def test_to_levels_rounds_and_clamps():
    assert to_levels(torch.tensor([-2.0, -1.0, 0.0, 1.0, 3.0])).tolist() == [0, 0, 128, 255, 255]


def test_the_state_holds_the_codebooks():
    keys = tiny().state_dict()
    for name in ("top", "bottom"):
        for buffer in ("codebook", "counts", "sums"):
            assert f"quantisers.{name}.{buffer}" in keys


@pytest.mark.parametrize("overrides,fragment", [
    ({"maps": 3}, "vqvae.maps must be one of 1, 2, got 3"),
    ({"bottom_stride": 3}, "vqvae.bottom_stride must be a power of 2, got 3"),
    ({"bottom_stride": 1}, "vqvae.bottom_stride must be >= 2, got 1"),
    ({"top_stride": 4}, "vqvae.top_stride (4) must be larger than bottom_stride (4)"),
    ({"top_codes": 1}, "vqvae.top_codes must be in [2, 65536], got 1"),
    ({"bottom_codes": 70000}, "vqvae.bottom_codes must be in [2, 65536], got 70000"),
    ({"decay": 1.0}, "vqvae.decay must be in (0, 1), got 1.0"),
    ({"beta": -1}, "vqvae.beta must be >= 0"),
    ({"hidden": "wide"}, "vqvae.hidden must be an integer"),
    ({"image_size": [8]}, "vqvae.image_size must be a list of 2"),
    ({"width": 3}, "unknown vqvae setting(s) ['width']"),
])
def test_bad_configs_are_one_line(overrides, fragment):
    with pytest.raises(ConfigError) as error:
        vqvae_config("vqvae", **overrides)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_an_unknown_preset_is_one_line():
    with pytest.raises(ConfigError, match="unknown VQ-VAE 'vqvae-xl'; known: vqvae"):
        vqvae_config("vqvae-xl")


@pytest.mark.parametrize("images,fragment", [
    (torch.rand(2, 1, 8, 8), "must hold 8-bit levels"),
    (torch.zeros(2, 3, 8, 8, dtype=torch.long), "reads images of shape [N, 1, 8, 8], got [2, 3, 8, 8]"),
    (torch.full((2, 1, 8, 8), 256), "must lie in [0, 256), got values in [256, 256]"),
    ([[0]], "must be a torch.Tensor"),
])
def test_encode_refuses_what_is_not_its_images(images, fragment):
    with pytest.raises(PixelCNNError) as error:
        encode(tiny(image_size=(8, 8), in_channels=1), images)
    assert fragment in str(error.value)


def codes(top=(2, 1, 1), bottom=(2, 2, 2), high=4):
    return {"top": torch.randint(0, high, top) if top else None, "bottom": torch.randint(0, high, bottom)}


@pytest.mark.parametrize("maps,given,fragment", [
    (2, codes(top=None), "decodes top and bottom codes; give top"),
    (1, codes(), "has one map, bottom; it has no top map"),
    (2, codes(bottom=(2, 3, 2)), "bottom codes must have shape [N, 2, 2] (this VQ-VAE's bottom map), got [2, 3, 2]"),
    (2, codes(top=(2, 1)), "top codes must have shape [N, 1, 1]"),
    (2, codes(top=(3, 1, 1)), "different numbers of images: top 3, bottom 2"),
    (2, {"top": torch.full((2, 1, 1), 8), "bottom": torch.zeros(2, 2, 2, dtype=torch.long)},
     "top codes must lie in [0, 8) (the top codebook's size), got values in [8, 8]"),
    (2, {"top": torch.zeros(2, 1, 1, dtype=torch.long), "bottom": torch.full((2, 2, 2), -1)},
     "bottom codes must lie in [0, 16)"),
    (2, {"top": torch.zeros(2, 1, 1), "bottom": torch.zeros(2, 2, 2, dtype=torch.long)},
     "top codes must be an integer torch.Tensor, got torch.float32"),
])
def test_decode_refuses_codes_that_do_not_fit(maps, given, fragment):
    vq = tiny(image_size=(8, 8), in_channels=1, maps=maps)
    with pytest.raises(PixelCNNError) as error:
        decode(vq, **{k: v for k, v in given.items() if v is not None or k == "top"})
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_encode_and_decode_of_nothing():
    vq = tiny(image_size=(8, 8), in_channels=1)
    got = encode(vq, torch.zeros(0, 1, 8, 8, dtype=torch.long))
    assert got["bottom"].shape == (0, 2, 2) and got["top"].shape == (0, 1, 1)
    assert decode(vq, **got).shape == (0, 1, 8, 8)
