"""The categorical likelihood's own backward equals autograd's log-softmax and gather."""

import pytest
import torch
import torch.nn.functional as F

from pixelcnn.likelihoods import categorical
from pixelcnn.likelihoods.categorical import Categorical


@pytest.mark.parametrize("colours,levels", [(1, 256), (3, 7)])
@pytest.mark.parametrize("chunk", [None, 1], ids=["whole", "image-by-image"])
def test_gradient_equals_log_softmax_and_gather(colours, levels, chunk, monkeypatch):
    if chunk is not None:  # the pieces the normaliser and the gradient are computed in: one image each
        monkeypatch.setattr(categorical, "_CHUNK", chunk)
    g = torch.Generator().manual_seed(0)
    cat = Categorical(levels, colours)
    params = torch.randn(3, colours * levels, 4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randint(0, levels, (3, colours, 4, 5), generator=g)
    got = cat.log_prob_map(x, params)
    want = F.log_softmax(params.view(3, colours, levels, 4, 5), dim=2).gather(2, x.unsqueeze(2)).squeeze(2)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    grad_out = torch.randn(got.shape, generator=g, dtype=torch.float64)
    (got_grad,) = torch.autograd.grad(got, params, grad_out)
    (want_grad,) = torch.autograd.grad(want, params, grad_out)
    torch.testing.assert_close(got_grad, want_grad, rtol=1e-12, atol=1e-12)
    small = params[:, :, :2, :2].detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda p: cat.log_prob_map(x[..., :2, :2], p), (small,))
