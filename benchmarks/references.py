"""Plain eager reference networks, written here so that benchmarks compare the library
against what people write by hand, in the same run.

``TutorialPixelCNN`` is the classic tutorial network: eight 7x7 masked
convolutions of 64 channels (mask A, then B), each followed by BatchNorm and
ReLU, and a 1x1 convolution to 256 logits per pixel (grayscale only). The
masks are applied the tutorial's way, by multiplying them into ``weight.data``
before every convolution. BatchNorm in training mode mixes statistics over
every position and image of a batch, so its training loss sees future pixels
(a leak the library refuses); in eval mode it uses running statistics and the
test score is an honest likelihood of the eval-mode network.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn


class TutorialMaskedConv2d(nn.Conv2d):
    def __init__(self, kind: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kh, kw = self.kernel_size
        mask = torch.ones_like(self.weight)
        mask[:, :, kh // 2, kw // 2 + (kind == "B"):] = 0
        mask[:, :, kh // 2 + 1:] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        self.weight.data *= self.mask  # the tutorial's in-place masking
        return super().forward(x)


class TutorialPixelCNN(nn.Module):
    """Levels ``[B, 1, H, W]`` in [0, 256) -> logits ``[B, 256, H, W]``."""

    def __init__(self, channels: int = 64, layers: int = 8, levels: int = 256):
        super().__init__()
        self.levels = levels
        body = []
        for k in range(layers):
            body += [TutorialMaskedConv2d("A" if k == 0 else "B", 1 if k == 0 else channels, channels, 7, 1, 3, bias=False),
                     nn.BatchNorm2d(channels), nn.ReLU(True)]
        self.net = nn.Sequential(*body, nn.Conv2d(channels, levels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.float() / (self.levels - 1))

    def nats(self, x: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each image, nats ``[B]``."""
        logits = self(x)
        return F.cross_entropy(logits, x[:, 0].long(), reduction="none").flatten(1).sum(1)


def train_tutorial(train: torch.Tensor, test: torch.Tensor, *, minutes: float, batch_size: int = 64,
                   lr: float = 1e-3, seed: int = 0) -> dict:
    """Train the tutorial network on levels ``train`` ``[N, 1, H, W]`` for ``minutes`` (Adam, shuffled
    epochs), then score ``test`` in eval mode: bits/dim, steps, images/s."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = TutorialPixelCNN()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps, start = 0, time.monotonic()
    while time.monotonic() - start < 60 * minutes:
        for index in torch.randperm(len(train), generator=g).split(batch_size):
            x = train[index].long()
            loss = net.nats(x).mean() / x[0].numel()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            if time.monotonic() - start >= 60 * minutes:
                break
    seconds = time.monotonic() - start
    net.eval()
    with torch.no_grad():
        total = sum(float(net.nats(test[i : i + 256].long()).double().sum()) for i in range(0, len(test), 256))
    dims = test[0].numel()
    return {"steps": steps, "train_seconds": round(seconds, 1), "images_per_s": round(steps * batch_size / seconds, 1),
            "parameters": sum(p.numel() for p in net.parameters()),
            "test_bits_per_dim": round(total / (len(test) * dims * math.log(2)), 4),
            "test_nats_per_image": round(total / len(test), 2), "test_images": len(test)}
