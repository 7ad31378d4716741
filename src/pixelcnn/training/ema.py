"""Exponential moving average (Polyak averaging) of the weights.

The averaged copy is what evaluation and sampling use. Its decay warms up as
``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so early averages are
not dominated by the random initial weights. The state (weights and ``n``)
is saved with every checkpoint and restored on resume.

Buffers that the model saves (a VQ-VAE's codebooks, which learn by moving
averages of their own) are copied at every update, not averaged. Buffers the
model does not save (masks, caches) are left alone.
"""

from __future__ import annotations

import copy

import torch


class EMA:
    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        params = {name for name, _ in model.named_parameters()}
        self._saved_buffers = [name for name in model.state_dict() if name not in params]

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for avg, p in zip(self.model.parameters(), model.parameters()):
            avg.lerp_(p.detach(), 1 - d)
        if self._saved_buffers:
            mine, theirs = dict(self.model.named_buffers()), dict(model.named_buffers())
            for name in self._saved_buffers:
                mine[name].copy_(theirs[name])

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load(self, weights: dict, updates: int) -> None:
        self.model.load_state_dict(weights)
        self.updates = updates
