"""``conv1x1`` (a batched matrix multiply, on a contiguous copy where needed; one matrix multiply on
small maps) equals ``F.conv2d``, values and gradients."""

import pytest
import torch
import torch.nn.functional as F

from pixelcnn.nn.layers import SMALL_MAP, conv1x1


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "sliced"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("size", [(5, 7), (1, 3)], ids=["map", "small-map"])
def test_conv1x1_equals_conv2d(layout, bias, size):
    g = torch.Generator().manual_seed(0)
    h, w = size
    assert (h * w < SMALL_MAP) == (size == (1, 3))  # both paths are taken
    x = torch.randn(3, 6, h, w, generator=g)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "sliced":
        x = torch.randn(3, 6, h + 1, w, generator=g)[:, :, 1:]
    weight = torch.randn(4, 6, 1, 1, generator=g)
    b = torch.randn(4, generator=g) if bias else None
    leaves = [t.clone().requires_grad_() for t in (x, weight) + ((b,) if bias else ())]
    y = conv1x1(leaves[0], leaves[1], leaves[2] if bias else None)
    want_leaves = [t.clone().requires_grad_() for t in (x, weight) + ((b,) if bias else ())]
    want = F.conv2d(want_leaves[0], want_leaves[1], want_leaves[2] if bias else None)
    torch.testing.assert_close(y, want)
    assert y.is_contiguous()  # the likelihood reads it without another copy
    grad = torch.randn(want.shape, generator=g)
    y.backward(grad)
    want.backward(grad)
    for got, expected in zip(leaves, want_leaves):
        torch.testing.assert_close(got.grad, expected.grad)
