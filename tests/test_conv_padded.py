"""``conv_padded`` (symmetric padding left to the convolution) equals ``F.pad`` then ``F.conv2d``."""

import pytest
import torch
import torch.nn.functional as F

from pixelcnn.nn.layers import conv_padded


@pytest.mark.parametrize("kernel,padding", [
    ((4, 7), (3, 3, 3, 0)),   # 7x7 mask B box: rows above in a copy, columns in the convolution
    ((2, 3), (1, 1, 1, 0)),   # gated vertical stack
    ((1, 2), (1, 0, 0, 0)),   # gated horizontal stack: all in a copy
    ((3, 3), (1, 1, 1, 1)),   # symmetric: all in the convolution
    ((2, 3), (1, 1, 2, 1)),   # uneven on both axes
    ((1, 1), (0, 0, 0, 0)),
])
def test_conv_padded_equals_pad_then_conv(kernel, padding):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 7, generator=g, dtype=torch.float64)
    weight = torch.randn(4, 3, *kernel, generator=g, dtype=torch.float64)
    bias = torch.randn(4, generator=g, dtype=torch.float64)
    leaves = [t.clone().requires_grad_() for t in (x, weight, bias)]
    got = conv_padded(*leaves, padding)
    want_leaves = [t.clone().requires_grad_() for t in (x, weight, bias)]
    want = F.conv2d(F.pad(want_leaves[0], padding), *want_leaves[1:])
    torch.testing.assert_close(got, want)
    grad = torch.randn(want.shape, generator=g, dtype=torch.float64)
    got.backward(grad)
    want.backward(grad)
    for a, b in zip(leaves, want_leaves):
        torch.testing.assert_close(a.grad, b.grad)
