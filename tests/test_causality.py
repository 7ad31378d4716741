"""Every output sees only what comes before it: checked by gradients, for every network x likelihood.

Causality holds at the level each likelihood defines: the parameters of a
sampling step (a sub-pixel for the categorical, a whole pixel for the
logistic mixture) depend only on the sub-pixels before the first colour that
step draws. Inside a step, the likelihood's own colour order is tested in
tests/test_logistic_mixture.py.
"""

import pytest
import torch

from helpers import PAIRS, block_gradient, small_model, step_blocks


def order_index(c: int, i: int, j: int, channels: int, width: int) -> int:
    return (i * width + j) * channels + c


@pytest.mark.parametrize("name,likelihood", PAIRS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("training", [True, False])
def test_outputs_depend_only_on_earlier_subpixels(name, likelihood, channels, training):
    h, w = 4, 5
    model = small_model(name, channels=channels, levels=4, size=(h, w), likelihood=likelihood)
    model.train(training)
    x = torch.randint(0, 4, (2, channels, h, w), generator=torch.Generator().manual_seed(1))
    seen_before = 0
    for i in range(h):
        for j in range(w):
            for colours, block in step_blocks(model):
                grad = block_gradient(model, x, 1, i, j, block)
                assert torch.all(grad[0] == 0), "output depends on another image of the batch"
                me = order_index(colours.start, i, j, channels, w)
                for ci in range(channels):
                    for ii in range(h):
                        for jj in range(w):
                            if order_index(ci, ii, jj, channels, w) >= me:
                                assert grad[1, ci, ii, jj] == 0, (
                                    f"step ({colours},{i},{j}) depends on input ({ci},{ii},{jj}) at or after it"
                                )
                seen_before += int((grad[1] != 0).sum())
    assert seen_before > 0  # the network does read the past


@pytest.mark.parametrize("name,likelihood", PAIRS)
def test_first_pixel_depends_on_nothing_and_the_next_step_on_it(name, likelihood):
    model = small_model(name, channels=3, levels=4, size=(3, 3), likelihood=likelihood)
    x = torch.randint(0, 4, (4, 3, 3, 3), generator=torch.Generator().manual_seed(2))
    blocks = step_blocks(model)
    for b in range(4):
        assert torch.all(block_gradient(model, x, b, 0, 0, blocks[0][1]) == 0)
    if len(blocks) > 1:  # G of the first pixel reads R of it (for some image: a ReLU may be off for one)
        assert any(block_gradient(model, x, b, 0, 0, blocks[1][1])[b, 0, 0, 0] != 0 for b in range(4))
    else:  # the second pixel reads the first
        assert any(block_gradient(model, x, b, 0, 1, blocks[0][1])[b, :, 0, 0].sum() != 0 for b in range(4))
