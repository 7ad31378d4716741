import pytest
import torch

from pixelcnn.errors import ConfigError
from pixelcnn.nn import MaskedConv2d, colour_mask, conv_mask, spatial_mask, support_box


def t(rows):
    return torch.tensor(rows, dtype=torch.bool)


def test_spatial_mask_a_and_b_3x3():
    assert torch.equal(spatial_mask(3, "A"), t([[1, 1, 1], [1, 0, 0], [0, 0, 0]]))
    assert torch.equal(spatial_mask(3, "B"), t([[1, 1, 1], [1, 1, 0], [0, 0, 0]]))


def test_spatial_mask_non_square():
    assert torch.equal(spatial_mask((1, 5), "A"), t([[1, 1, 0, 0, 0]]))
    assert torch.equal(spatial_mask((1, 5), "B"), t([[1, 1, 1, 0, 0]]))
    assert torch.equal(spatial_mask((3, 1), "B"), t([[1], [1], [0]]))
    assert torch.equal(spatial_mask((3, 5), "V"), t([[1] * 5, [1] * 5, [0] * 5]))


def test_spatial_mask_5x5_b():
    expected = t([
        [1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ])
    assert torch.equal(spatial_mask(5, "B"), expected)


def test_colour_masks_three_colours():
    a = t([[0, 0, 0], [1, 0, 0], [1, 1, 0]])
    b = t([[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    assert torch.equal(colour_mask(3, 3, 3, "A"), a)
    assert torch.equal(colour_mask(3, 3, 3, "B"), b)


def test_colour_mask_wider_groups():
    # 3 input channels (R, G, B) -> 6 output channels (R, R, G, G, B, B), mask A
    expected = t([[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0]])
    assert torch.equal(colour_mask(3, 6, 3, "A"), expected)


def test_conv_mask_centre_follows_colours_and_rest_is_spatial():
    m = conv_mask(3, 6, 3, "A", groups=3)
    assert m.shape == (6, 3, 3, 3)
    assert torch.equal(m[:, :, 1, 1].bool(), colour_mask(3, 6, 3, "A"))
    assert torch.equal(m[:, :, 0].bool(), torch.ones(6, 3, 3, dtype=torch.bool))
    assert torch.equal(m[:, :, 1, 0].bool(), torch.ones(6, 3, dtype=torch.bool))
    assert not m[:, :, 1, 2].any() and not m[:, :, 2].any()


def test_support_box():
    assert support_box(spatial_mask(7, "B")) == (3, 0, 3, 3)
    assert support_box(spatial_mask((1, 5), "A")) == (0, 0, 2, 0)
    assert support_box(spatial_mask(5, "V")) == (2, 0, 2, 2)


@pytest.mark.parametrize(
    "call",
    [
        lambda: spatial_mask(4, "A"),
        lambda: spatial_mask(3, "C"),
        lambda: colour_mask(4, 6, 3, "B"),
        lambda: MaskedConv2d(3, 10, 3, "B", colour_groups=3),
    ],
)
def test_bad_masks_raise_clear_errors(call):
    with pytest.raises(ConfigError):
        call()


def test_hidden_width_not_divisible_names_the_numbers():
    with pytest.raises(ConfigError, match="10 is not divisible by the 3 colour channels"):
        MaskedConv2d(3, 10, 3, "B", colour_groups=3)


def test_masked_weights_get_exactly_zero_gradient_and_weights_are_untouched():
    torch.manual_seed(0)
    conv = MaskedConv2d(3, 6, 5, "A", colour_groups=3)
    before = conv.weight.detach().clone()
    conv(torch.randn(2, 3, 6, 6)).square().sum().backward()
    closed = conv.mask == 0
    assert closed.any()
    assert torch.all(conv.weight.grad[closed] == 0)
    assert torch.all(conv.weight.grad[~closed] != 0)
    assert torch.equal(conv.weight.detach(), before)  # the forward pass never edits weights


def test_masked_conv_matches_plain_conv_with_masked_weight():
    torch.manual_seed(0)
    conv = MaskedConv2d(2, 4, 5, "B")
    x = torch.randn(2, 2, 7, 6)
    ref = torch.nn.functional.conv2d(x, conv.weight * conv.mask, conv.bias, padding=2)
    assert torch.allclose(conv(x), ref, atol=1e-6)
