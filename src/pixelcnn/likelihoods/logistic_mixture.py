"""The discretized logistic mixture of PixelCNN++ (Salimans et al. 2017, section 2.1-2.2).

A whole pixel gets one distribution: a mixture of K components, each a
product over colours of logistics discretised to L levels. Levels ``0..L-1``
map to ``[-1, 1]`` (bin centres ``-1 + 2l/(L-1)``, half-width
``delta = 1/(L-1)``); a bin's probability is the logistic CDF difference over
it, and the edge bins integrate the tails (level 0 takes everything below,
level L-1 everything above). Inside a component the colours depend linearly
on earlier ones (section 2.2): the mean of colour c is
``mu_c + sum_{c' < c} tanh(alpha_{c c'}) x_{c'}``, lower-triangular
coefficients for any number of colours C (for RGB: G shifts with R, B with R
and G).

Parameter map, ``P = K * (1 + 2C + C(C-1)/2)`` channels in one causal group
(the network must not see the current pixel at all)::

    [ mixture logits K | means C*K | log-scales C*K | coefficients K*C(C-1)/2 ]

The layout is known here only. The distribution does not factor over
sub-pixels (the components are shared), so ``log_prob_map`` is per pixel:
``[B, 1, H, W]``; its sum over pixels is the exact log-likelihood.

Numerics: log-probabilities use ``log(sigmoid(a) - sigmoid(b)) =
logsigmoid(a) + logsigmoid(-b) + log(1 - exp(b - a))``, finite however far a
mean lies outside the range; where the bin is negligible against the scale
(``a - b`` below 1e-8) the density at the bin centre times the bin width
stands in. Log-scales are clamped below at -7 as in the paper, so no
component is a spike.

Sampling draws a component, then each colour by the inverse logistic CDF
rounded to its bin, which is exact for the discretised distribution.
Temperature T divides the mixture logits and multiplies the scales; T = 0
takes the likeliest component and each mean's bin.

Not implemented: the paper's clamping of the means to ``[-1, 1]`` (the edge
bins make it unnecessary).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from pixelcnn.errors import ConfigError, PixelCNNError
from pixelcnn.likelihoods.base import Likelihood, register_likelihood
from pixelcnn.nn.layers import scale_levels

MIN_LOG_SCALE = -7.0


@functools.lru_cache(maxsize=16)
def _bin_bounds(levels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The bins' edges in scaled values ``[L+1]``, from minus to plus infinity: level l's bin
    is ``(bounds[l], bounds[l+1])``. Shared between calls: not to be written to."""
    inner = scale_levels(torch.arange(levels - 1, device=device), levels, dtype) + 1.0 / (levels - 1)
    infinity = torch.full((1,), math.inf, dtype=dtype, device=device)
    return torch.cat([-infinity, inner, infinity])


@register_likelihood("logistic-mixture")
class DiscretizedLogisticMixture(Likelihood):
    """K-component discretized logistic mixture over whole pixels of ``colours`` channels."""

    ordered = True  # bins of a value scale: level l lies between l - 1 and l + 1

    def __init__(self, levels: int, colours: int = 1, mixtures: int = 10):
        if isinstance(mixtures, bool) or not isinstance(mixtures, int) or mixtures < 1:
            raise ConfigError(f"likelihood option mixtures must be an integer >= 1, got {mixtures!r}")
        super().__init__(levels, colours)
        self.mixtures = mixtures
        self.pairs = colours * (colours - 1) // 2  # coefficients per component
        self.channels = mixtures * (1 + 2 * colours + self.pairs)  # P
        self.groups = 1  # a whole pixel per sampling step
        self.map_channels = 1  # log_prob_map is per pixel

    def extra_repr(self) -> str:
        return f"levels={self.levels}, colours={self.colours}, mixtures={self.mixtures}"

    def split(self, params: torch.Tensor):
        """``[B, P, ...]`` -> mixture logits ``[B, K, ...]``, means and log-scales
        ``[B, C, K, ...]``, coefficients ``[B, C(C-1)/2, K, ...]`` (tanh applied)."""
        k, c = self.mixtures, self.colours
        rest = params.shape[2:]
        logits, means, log_scales, coeffs = params.split([k, c * k, c * k, self.pairs * k], dim=1)
        means = means.reshape(params.shape[0], c, k, *rest)
        log_scales = log_scales.reshape(params.shape[0], c, k, *rest).clamp(min=MIN_LOG_SCALE)
        coeffs = torch.tanh(coeffs.reshape(params.shape[0], self.pairs, k, *rest))
        return logits, means, log_scales, coeffs

    def scale(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Levels -> bin centres in ``[-1, 1]``."""
        return scale_levels(x, self.levels, dtype)

    def shifted_means(self, means: torch.Tensor, coeffs: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        """Means of every colour given the earlier colours' values ``xs`` ``[B, C, ...]``
        (scaled): ``means`` ``[B, C, K, ...]`` -> same shape."""
        out, pair = [means[:, 0]], 0
        for c in range(1, self.colours):
            m = means[:, c]
            for earlier in range(c):
                m = m + coeffs[:, pair] * xs[:, earlier].unsqueeze(1)
                pair += 1
            out.append(m)
        return torch.stack(out, dim=1)

    def bin_log_prob(self, x: torch.Tensor, xs: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
        """Log-probability of levels ``x`` (scaled values ``xs``) under discretised
        logistics; all arguments broadcast to one shape."""
        delta = 1.0 / (self.levels - 1)
        inv_s = torch.exp(-log_scale)
        centred = xs - mean
        plus = inv_s * (centred + delta)  # the bin's upper edge, standardised
        minus = inv_s * (centred - delta)
        width = plus - minus  # 2 * delta / s > 0
        inner = F.logsigmoid(plus) + F.logsigmoid(-minus) + torch.log(-torch.expm1(-width.clamp(min=1e-30)))
        mid = inv_s * centred
        density = mid - log_scale - 2.0 * F.softplus(mid) + math.log(2 * delta)  # log pdf at the centre * width
        inner = torch.where(width > 1e-8, inner, density)
        low = F.logsigmoid(plus)  # level 0: everything below the upper edge
        high = F.logsigmoid(-minus)  # level L-1: everything above the lower edge
        return torch.where(x == 0, low, torch.where(x == self.levels - 1, high, inner))

    def log_prob_map(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Log-probability of each pixel: ``x`` ``[B, C, H, W]`` levels, ``params``
        ``[B, P, H, W]`` -> nats ``[B, 1, H, W]``."""
        self.check_params(params)
        if params.dtype in (torch.bfloat16, torch.float16):
            params = params.float()
        logits, means, log_scales, coeffs = self.split(params)
        x = x.long()
        xs = self.scale(x, params.dtype)  # [B, C, H, W]
        mu = self.shifted_means(means, coeffs, xs)  # [B, C, K, H, W]
        per_colour = self.bin_log_prob(x.unsqueeze(2), xs.unsqueeze(2), mu, log_scales)
        joint = per_colour.sum(1) + F.log_softmax(logits, dim=1)  # [B, K, H, W]
        return torch.logsumexp(joint, dim=1, keepdim=True)

    def sample(
        self,
        params: torch.Tensor,
        group: int = 0,
        *,
        given: torch.Tensor | None = None,
        known: torch.Tensor | None = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Draw a whole pixel: ``params`` ``[B, P]`` -> levels ``[B, C]``.

        ``given`` ``[B, C]`` and ``known`` (bool ``[B, C]``) describe a partly
        known pixel (completion): the known colours before the first unknown
        one condition the choice of component (its posterior), and every known
        colour is kept and shifts the means of later ones. Uses one uniform
        number for the component and one per colour, whatever is known.
        """
        if not temperature >= 0:
            raise PixelCNNError(f"temperature must be >= 0, got {temperature}")
        logits, means, log_scales, coeffs = self.split(params if params.dtype == torch.float64 else params.float())
        b, c = params.shape[0], self.colours
        weights = F.log_softmax(logits, dim=1)  # [B, K]
        if known is not None and given is not None:
            weights = weights + self._prefix_evidence(given, known, means, log_scales, coeffs)
        u = torch.rand(b, 1 + c, generator=generator, device=params.device, dtype=logits.dtype)
        if temperature == 0:
            k = weights.argmax(dim=1)
        else:
            cdf = F.softmax(weights / temperature, dim=1).cumsum(dim=1)
            k = torch.searchsorted(cdf, u[:, :1].contiguous()).squeeze(1).clamp_(max=self.mixtures - 1)
        pick = k.view(b, 1, 1)
        mu_k = means.gather(2, pick.expand(b, c, 1)).squeeze(2)  # [B, C]
        s_k = log_scales.gather(2, pick.expand(b, c, 1)).squeeze(2).exp()
        a_k = coeffs.gather(2, pick.expand(b, self.pairs, 1)).squeeze(2) if self.pairs else None
        out = torch.empty(b, c, dtype=torch.long, device=params.device)
        xs = torch.empty(b, c, dtype=logits.dtype, device=params.device)
        pair = 0
        for ch in range(c):
            mean = mu_k[:, ch]
            for earlier in range(ch):
                mean = mean + a_k[:, pair] * xs[:, earlier]
                pair += 1
            noise = torch.log(u[:, 1 + ch]) - torch.log1p(-u[:, 1 + ch])  # standard logistic
            value = mean + s_k[:, ch] * temperature * noise if temperature else mean
            level = torch.round((value + 1.0) * (self.levels - 1) / 2.0).clamp_(0, self.levels - 1).long()
            if known is not None and given is not None:
                level = torch.where(known[:, ch], given[:, ch].long(), level)
            out[:, ch] = level
            xs[:, ch] = self.scale(level, logits.dtype)
        return out

    def coding_steps(self, params: torch.Tensor, group: int):
        """The distributions lossless coding uses for one pixel, colour by colour: a
        generator that yields colour 0's probabilities ``[B, L]`` and, each time it is
        sent the coded levels ``[B]`` of the last colour, the next colour's (``group``
        is 0: a step holds the whole pixel).

        Colour c's distribution is the mixture of the components' discretised
        logistics (means shifted by the colours before it) weighted by the
        components' posterior given those colours. Its bins are differences of the
        mixture's CDF at the L - 1 inner bin edges (the first and last bins reach to
        minus and plus infinity): one logistic per component and edge. Each sent
        colour multiplies the posterior by its components' bin at the coded level,
        computed in logs as ``sigmoid(b) sigmoid(-a) (1 - e^(a - b))`` for the bin's
        standardised edges a < b (no subtraction of nearly equal numbers, as in
        :meth:`bin_log_prob`). The mixture's own differences round its far upper
        tail (bins below the float's resolution come out as 0); the coder gives
        every level a nonzero frequency, so that costs only size on levels the model
        finds nearly impossible.
        """
        logits, means, log_scales, coeffs = self.split(params)
        inv_s = torch.exp(-log_scales).clamp_(min=torch.finfo(params.dtype).tiny)  # [B, C, K], never 0
        bounds = _bin_bounds(self.levels, params.dtype, params.device)  # [L+1]: level l's bin ends at l and l+1
        edges = bounds[1:-1]  # [L-1]: the inner bin edges
        log_w = F.log_softmax(logits, dim=1)  # [B, K]: log posterior of the components
        earlier, pair = [], 0
        for c in range(self.colours):
            mu = means[:, c]
            for xs in earlier:
                mu = mu + coeffs[:, pair] * xs.unsqueeze(1)
                pair += 1
            cdf = ((edges - mu.unsqueeze(2)) * inv_s[:, c].unsqueeze(2)).sigmoid_()  # [B, K, L-1]
            mixed = torch.bmm(F.softmax(log_w, dim=1).unsqueeze(1), cdf).squeeze(1)  # [B, L-1]
            ends = mixed.new_ones(len(mixed), 1)
            levels = yield torch.diff(mixed, prepend=ends - 1, append=ends).clamp_(min=0)
            if c + 1 < self.colours:
                low = (bounds[levels].unsqueeze(1) - mu) * inv_s[:, c]  # [B, K]: the coded bin's edges, standardised
                high = (bounds[levels + 1].unsqueeze(1) - mu) * inv_s[:, c]
                gap = (-torch.expm1(low - high)).clamp_(min=torch.finfo(low.dtype).tiny)
                log_w = log_w + F.logsigmoid(high) + F.logsigmoid(-low) + gap.log()
                earlier.append(self.scale(levels, params.dtype))

    def _prefix_evidence(self, given, known, means, log_scales, coeffs) -> torch.Tensor:
        """``log p_k(known prefix)`` ``[B, K]``: the log-likelihood under each component of
        the colours known before the first unknown one (zero where none is)."""
        prefix = known.long().cumprod(dim=1).bool()  # [B, C]: known and every earlier colour known
        x = given.long()
        xs = self.scale(x, means.dtype)
        mu = self.shifted_means(means, coeffs, xs)  # [B, C, K]
        per_colour = self.bin_log_prob(x.unsqueeze(2), xs.unsqueeze(2), mu, log_scales)
        return (per_colour * prefix.unsqueeze(2)).sum(1)
