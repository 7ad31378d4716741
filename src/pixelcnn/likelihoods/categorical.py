"""A categorical distribution over L discrete levels for every sub-pixel.

van den Oord et al. 2016a ("Pixel Recurrent Neural Networks"), section 5.3:
a softmax over the L values of each sub-pixel. The parameter map holds
unnormalised logits, ``P = C * L`` channels in C contiguous blocks of L, one
block per colour, so the network keeps one causal group per colour (the G
logits see R, the B logits see R and G). All log-probabilities are in nats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pixelcnn.likelihoods.base import Likelihood, register_likelihood


_CHUNK = 1 << 24  # logits per piece of the normaliser and the gradient: bounds their temporaries


class _PickedLogSoftmax(torch.autograd.Function):
    """``log_softmax(logits, 2).gather(2, index)``: ``logits`` ``[B, C, L, H, W]``,
    ``index`` ``[B, C, 1, H, W]`` -> ``[B, C, 1, H, W]``.

    Only the logits (which the network made anyway) are kept for the backward;
    no log-softmax map is. The log-softmax (forward) and the gradient,
    ``g * (onehot - softmax)`` (backward), are computed a few images at a time,
    so their temporaries stay small and the backward allocates one map, the
    gradient itself, whatever L is: a categorical over 8,192 VQ-VAE codes holds
    two ``[B, C, L, H, W]`` maps, not four. The values are those of
    ``F.log_softmax``, bit for bit.
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(logits, index)
        return torch.cat([F.log_softmax(part, dim=2).gather(2, i) for part, i in zip(_pieces(logits), _pieces(index, logits))])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        logits, index = ctx.saved_tensors
        out = torch.empty_like(logits)
        for part, o, g in zip(_pieces(logits), _pieces(out, logits), _pieces(grad, logits)):
            torch.exp(F.log_softmax(part, dim=2), out=o).mul_(-g)
        return out.scatter_add_(2, index, grad), None


def _pieces(t: torch.Tensor, like: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """``t`` split along its first axis into pieces of the images whose logits (``like``,
    else ``t``) hold at most about ``_CHUNK`` numbers."""
    like = t if like is None else like
    return t.split(max(1, _CHUNK // max(1, like[0].numel())))


@register_likelihood("categorical")
class Categorical(Likelihood):
    """Softmax over ``levels`` values per sub-pixel of ``colours``-channel images."""

    ordered = False  # the levels are labels: any order serves

    def __init__(self, levels: int, colours: int = 1):
        super().__init__(levels, colours)
        self.channels = colours * levels  # P
        self.groups = colours  # G: one sampling step per sub-pixel
        self.map_channels = colours  # log_prob_map is per sub-pixel

    def logits(self, params: torch.Tensor) -> torch.Tensor:
        """The logits of every sub-pixel: ``[B, P, H, W]`` -> ``[B, C, L, H, W]``."""
        b, _, h, w = params.shape
        return params.view(b, self.colours, self.levels, h, w)

    def log_prob_map(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Log-probability of each sub-pixel: ``x`` ``[B, C, H, W]`` levels,
        ``params`` ``[B, C*L, H, W]`` -> nats ``[B, C, H, W]``."""
        self.check_params(params)
        if params.dtype in (torch.bfloat16, torch.float16):  # mixed-precision training: normalise in fp32
            params = params.float()
        return _PickedLogSoftmax.apply(self.logits(params), x.long().unsqueeze(2)).squeeze(2)

    def sample(
        self,
        params: torch.Tensor,
        group: int,
        *,
        given: torch.Tensor | None = None,
        known: torch.Tensor | None = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Draw colour ``group`` at one position: ``params`` ``[B, C*L]`` -> levels ``[B, 1]``.

        ``given`` and ``known`` (the pixel's current values and which are
        known) are not needed: the logits of colour ``group`` already depend
        on the earlier colours. One uniform number per draw (inverse CDF), so
        the random stream advances the same way whatever the logits are;
        temperature 0 takes the most likely level and draws nothing.
        """
        logits = params[:, self.group_params(group)]  # [B, L]
        return self.draw(logits, temperature=temperature, generator=generator).unsqueeze(1)

    def coding_steps(self, params: torch.Tensor, group: int):
        """The distribution lossless coding uses at one position: a generator that yields
        colour ``group``'s probabilities ``[B, L]`` (softmax in the params' dtype) once:
        a step holds one colour, and its logits already depend on the earlier colours."""
        yield F.softmax(params[:, group * self.levels : (group + 1) * self.levels], dim=-1)

    def draw(self, logits: torch.Tensor, *, temperature: float = 1.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Levels drawn from ``logits`` ``[..., L]`` -> long ``[...]``."""
        if temperature == 0:
            return logits.argmax(dim=-1)
        if temperature != 1:
            logits = logits / temperature
        cdf = F.softmax(logits.float() if logits.dtype != torch.float64 else logits, dim=-1).cumsum(dim=-1)
        u = torch.rand((*cdf.shape[:-1], 1), generator=generator, device=cdf.device, dtype=cdf.dtype)
        index = torch.searchsorted(cdf, u).squeeze(-1)  # the first level whose CDF reaches u
        return index.clamp_(max=self.levels - 1)
