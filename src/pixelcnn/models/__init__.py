"""Model presets, configs and architectures."""

from pixelcnn.models.config import config_from_dict, config_to_dict
from pixelcnn.models.model import AutoregressiveModel
from pixelcnn.models.registry import PRESETS, build_model, create_model, list_models, preset_config, register_model

__all__ = [
    "PRESETS",
    "AutoregressiveModel",
    "build_model",
    "config_from_dict",
    "config_to_dict",
    "create_model",
    "list_models",
    "preset_config",
    "register_model",
]
