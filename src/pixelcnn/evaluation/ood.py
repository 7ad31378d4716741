"""Out-of-distribution detection with likelihoods: AUROC and three scores.

Every score here is "higher = more out-of-distribution":

* ``nll_bits``: the raw negative log-likelihood, ``-log2 p(x)``. Known to fail:
  a model trained on Fashion-MNIST gives MNIST digits *higher* likelihood
  (Nalisnick et al. 2019, "Do Deep Generative Models Know What They Don't Know?").
* :func:`complexity_corrected`: ``S(x) = -log2 p(x) - L(x)``, ``L(x)`` the
  image's size in bits under a lossless compressor, here PNG at maximum
  compression (Serrà et al. 2020, "Input Complexity and Out-of-distribution
  Detection with Likelihood-based Generative Models"). Simple images compress
  well and are likely under any model; subtracting ``L(x)`` leaves what the
  model explains beyond a generic compressor.
* :func:`likelihood_ratio`: ``-(log p(x) - log p0(x))`` with ``p0`` a background
  model trained on inputs perturbed by :func:`perturb` (Ren et al. 2019,
  "Likelihood Ratios for Out-of-Distribution Detection"): the background model
  learns the population-level statistics, so the ratio keeps the semantic part.

:func:`auroc` measures how well a score separates in-distribution (negative)
from out-of-distribution (positive) images: the probability that a random OOD
image scores higher than a random in-distribution one, ties counting one half
(the Mann-Whitney U statistic over ``n_in * n_out``), computed exactly.

Not implemented: the paper's FLIF and JPEG2000 compressors (PNG only), and
Ren et al.'s L2 regularisation of the background model.
"""

from __future__ import annotations

import numpy as np
import torch

from pixelcnn.errors import ConfigError
from pixelcnn.images import png_bytes, to_picture
from pixelcnn.units import bits


def auroc(in_scores, out_scores) -> float:
    """Area under the ROC curve of ``out_scores`` (positives) against ``in_scores`` (negatives).

    Exact, ties counted one half: ``(#{out > in} + #{out == in} / 2) / (n_in * n_out)`` over all
    pairs, from mid-ranks in O(N log N). 1.0: every OOD image scores higher; 0.5: chance.
    """
    a = np.asarray(torch.as_tensor(in_scores).double().cpu(), dtype=np.float64).ravel()
    b = np.asarray(torch.as_tensor(out_scores).double().cpu(), dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise ConfigError("auroc needs at least one score on each side")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ConfigError("auroc needs finite scores")
    ranks2 = _twice_midranks(np.concatenate([a, b]))  # integers: 2 * the mid-rank, exact in float64
    u2 = ranks2[a.size:].sum() - b.size * (b.size + 1)  # 2 * U of the OOD sample
    return float(u2 / (2.0 * a.size * b.size))


def _twice_midranks(values: np.ndarray) -> np.ndarray:
    """2 * the 1-based rank of each value, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # first position of each run of ties
    ends = np.r_[starts[1:], ordered.size]  # one past the last
    twice = (starts + 1) + ends  # (first rank + last rank) of each run
    out = np.empty(values.size, dtype=np.float64)
    out[order] = np.repeat(twice, ends - starts)
    return out


def nll_bits(log_prob_nats: torch.Tensor) -> torch.Tensor:
    """``-log2 p(x)`` from ``log p(x)`` in nats ``[N]`` -> float64 ``[N]``."""
    return bits(-log_prob_nats.double())


def png_bits(images: torch.Tensor) -> torch.Tensor:
    """Size in bits of each image as a PNG at maximum compression (zlib level 9): float64 ``[N]``.

    ``images``: uint8 ``[N, C, H, W]``, C = 1 or 3. The PNG's fixed overhead (signature,
    header and end chunks) is included; it is the same for images of one shape and mode,
    so it shifts every score equally and changes no ranking.
    """
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ConfigError(f"png_bits expects uint8 [N, 1 or 3, H, W], got {images.dtype} {list(images.shape)}")
    sizes = [len(png_bytes(to_picture(image), optimize=True, compress_level=9)) for image in images.cpu()]
    return 8 * torch.tensor(sizes, dtype=torch.float64)


def complexity_corrected(log_prob_nats: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Serrà et al.'s ``S(x) = -log2 p(x) - L(x)`` in bits: float64 ``[N]``.

    ``log_prob_nats``: ``log p(x)`` ``[N]``; ``images``: uint8 ``[N, C, H, W]``, the images as
    the model saw them (its levels, e.g. ``to_uint8(levels, L)``; at 256 levels, the pixels).
    """
    return nll_bits(log_prob_nats) - png_bits(images)


def likelihood_ratio(log_prob_nats: torch.Tensor, background_log_prob_nats: torch.Tensor) -> torch.Tensor:
    """Ren et al.'s score, ``-(log p(x) - log p0(x))`` in bits: float64 ``[N]``."""
    return bits(-(log_prob_nats.double() - background_log_prob_nats.double()))


def perturb(levels: torch.Tensor, rate: float, num_levels: int, generator: torch.Generator | None = None
            ) -> torch.Tensor:
    """Ren et al.'s perturbation: each sub-pixel, with probability ``rate``, replaced by a level drawn
    uniformly from ``[0, num_levels)`` (it may draw its own value). ``levels``: integers ``[...]``."""
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"the perturbation rate must lie in [0, 1], got {rate}")
    hit = torch.rand(levels.shape, generator=generator) < rate
    noise = torch.randint(0, num_levels, levels.shape, generator=generator, dtype=levels.dtype)
    return torch.where(hit, noise, levels)
