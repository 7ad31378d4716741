"""The gated vertical stack's shift: every row one down, row 0 zeros, gradients shifted back."""

import torch

from pixelcnn.models.gated import shift_down


def test_shift_down_moves_rows_and_gradients():
    t = torch.randn(2, 3, 5, 4, requires_grad=True)
    out = shift_down(t)
    assert out.shape == t.shape and out.is_contiguous()
    assert torch.equal(out[:, :, 0], torch.zeros(2, 3, 4))
    assert torch.equal(out[:, :, 1:], t[:, :, :-1])
    grad = torch.randn(out.shape)
    out.backward(grad)
    assert torch.equal(t.grad[:, :, :-1], grad[:, :, 1:])
    assert torch.equal(t.grad[:, :, -1], torch.zeros(2, 3, 4))
