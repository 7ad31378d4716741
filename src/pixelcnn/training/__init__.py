"""Training: the loop, checkpoints, EMA, learning-rate schedule."""

from pixelcnn.training.checkpoint import RunInfo, load, load_run
from pixelcnn.training.trainer import Trainer, TrainingError

__all__ = ["RunInfo", "Trainer", "TrainingError", "load", "load_run"]
