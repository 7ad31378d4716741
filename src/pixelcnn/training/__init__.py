"""Training: the loop, checkpoints, EMA, learning-rate schedule."""

from pixelcnn.training.checkpoint import load
from pixelcnn.training.trainer import Trainer, TrainingError

__all__ = ["Trainer", "TrainingError", "load"]
