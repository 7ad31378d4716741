"""Every output sees only the sub-pixels before it: checked by gradients, for every preset."""

import pytest
import torch

import pixelcnn
from helpers import small_model


def order_index(c: int, i: int, j: int, channels: int, width: int) -> int:
    return (i * width + j) * channels + c


def jacobian_dependence(model, x: torch.Tensor, b: int, c: int, i: int, j: int) -> torch.Tensor:
    """|d logits[b, c, :, i, j] / d x| for every input sub-pixel: ``[B, C, H, W]``."""
    xf = x.double().requires_grad_(True)
    logits = model.network(xf, (None, None))  # float input: the network scales it differentiably
    weights = torch.randn(logits.shape[2], dtype=logits.dtype, generator=torch.Generator().manual_seed(7))
    (logits[b, c, :, i, j] * weights).sum().backward()
    return xf.grad.abs()


@pytest.mark.parametrize("name", pixelcnn.list_models())
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("training", [True, False])
def test_outputs_depend_only_on_earlier_subpixels(name, channels, training):
    h, w = 4, 5
    model = small_model(name, channels=channels, levels=4, size=(h, w))
    model.train(training)
    x = torch.randint(0, 4, (2, channels, h, w), generator=torch.Generator().manual_seed(1))
    seen_before = 0
    for i in range(h):
        for j in range(w):
            for c in range(channels):
                grad = jacobian_dependence(model, x, 1, c, i, j)
                assert torch.all(grad[0] == 0), "output depends on another image of the batch"
                me = order_index(c, i, j, channels, w)
                for ci in range(channels):
                    for ii in range(h):
                        for jj in range(w):
                            if order_index(ci, ii, jj, channels, w) >= me:
                                assert grad[1, ci, ii, jj] == 0, (
                                    f"output ({c},{i},{j}) depends on input ({ci},{ii},{jj}) at or after it"
                                )
                seen_before += int((grad[1] != 0).sum())
    assert seen_before > 0  # the network does read the past


@pytest.mark.parametrize("name", pixelcnn.list_models())
def test_first_subpixel_depends_on_nothing_and_next_on_the_first(name):
    model = small_model(name, channels=3, levels=4, size=(3, 3))
    x = torch.randint(0, 4, (4, 3, 3, 3), generator=torch.Generator().manual_seed(2))
    for b in range(4):
        assert torch.all(jacobian_dependence(model, x, b, 0, 0, 0) == 0)
    # G of the first pixel reads R of it (for some image: a ReLU may be off for one)
    assert any(jacobian_dependence(model, x, b, 1, 0, 0)[b, 0, 0, 0] != 0 for b in range(4))
