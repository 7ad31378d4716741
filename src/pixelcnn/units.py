"""The units of likelihoods, in one place: nats (natural logs) and bits.

bits/dim = total nats / (N * C * H * W * ln 2): every bits/dim the library
reports (training, evaluation, scores, reports) comes from :func:`bits_per_dim`.
"""

from __future__ import annotations

import math

LN2 = math.log(2)


def bits(nats):
    """Nats -> bits (a float or a tensor)."""
    return nats / LN2


def bits_per_dim(nats, dims: int, images: int = 1):
    """Bits per sub-pixel of ``nats`` summed over ``images`` images of ``dims`` sub-pixels
    each (a float or a tensor; ``images`` 0 counts as 1, so an empty set gives 0)."""
    return nats / (max(images, 1) * dims * LN2)
