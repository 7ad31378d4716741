"""Learning rate as a pure function of the step (so a resumed run follows the same curve)."""

from __future__ import annotations

import math


def learning_rate(step: int, cfg) -> float:
    """``cfg`` is a :class:`~pixelcnn.config.TrainSection`; ``step`` counts finished updates."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    after = step - cfg.warmup_steps
    if cfg.schedule == "cosine":
        span = max(cfg.max_steps - cfg.warmup_steps, 1)
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(after / span, 1.0)))
    if cfg.schedule == "exponential":
        return cfg.lr * cfg.lr_decay**after
    return cfg.lr
