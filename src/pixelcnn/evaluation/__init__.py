"""Evaluation: exact likelihood over a split, and the receptive-field inspector."""

from pixelcnn.evaluation.likelihood import Score, evaluate
from pixelcnn.evaluation.fields import ReceptiveField, receptive_field, render_png, render_text

__all__ = ["ReceptiveField", "Score", "evaluate", "receptive_field", "render_png", "render_text"]
