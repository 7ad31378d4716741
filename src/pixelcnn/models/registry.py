"""Named model presets: the CLI's ``--model``, the docs and the tests all read this table.

A preset is an architecture plus a frozen config; ``create_model(name,
**overrides)`` replaces fields of the preset's config. Tests are parametrised
over :func:`list_models`, so a preset is tested the moment it is added here.
Other packages add presets (and architectures) with :func:`register_model`,
called from an entry point of the ``pixelcnn.models`` group.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from pixelcnn.errors import ConfigError
from pixelcnn.parts import load_plugins, plugin_note
from pixelcnn.models.config import input_of, likelihood_of, register_config, replace_config
from pixelcnn.models.model import AutoregressiveModel
from pixelcnn.models.gated import GatedPixelCNN, GatedPixelCNNConfig
from pixelcnn.models.pixelcnn import PixelCNN, PixelCNNConfig
from pixelcnn.models.pixelcnn_pp import PixelCNNPP, PixelCNNPPConfig
from pixelcnn.models.pixelsnail import PixelSNAIL, PixelSNAILConfig


@dataclass(frozen=True)
class Preset:
    config: object
    summary: str


PRESETS: dict[str, Preset] = {
    "pixelcnn": Preset(
        PixelCNNConfig(hidden=192, layers=12, block="residual", kernel_in=7, kernel=3, head=768),
        "PixelCNN of the paper: 7x7 mask A, residual blocks (1x1, 3x3 mask B, 1x1), 1x1 output layers "
        "(CPU-sized: 2h = 192, 12 blocks; the paper's CIFAR-10 network is wider and deeper)",
    ),
    "pixelcnn-seed": Preset(
        PixelCNNConfig(hidden=64, layers=7, block="plain", kernel_in=7, kernel=7, head=0, norm="layer"),
        "classic tutorial PixelCNN: 8 masked 7x7 layers of 64 channels with LayerNorm and ReLU",
    ),
    "gated-pixelcnn": Preset(
        GatedPixelCNNConfig(hidden=48, layers=7, kernel_in=7, kernel=3, head=96),
        "Gated PixelCNN: vertical and horizontal stacks, gated units, no blind spot, optional class conditioning",
    ),
    "pixelcnn-pp": Preset(
        PixelCNNPPConfig(hidden=32, layers=1, resolutions=3, dropout=0.0,
                         likelihood={"name": "logistic-mixture", "mixtures": 5}),
        "PixelCNN++: down and down-right shifted streams, gated ResNet blocks, three resolutions with "
        "shortcuts, weight normalisation, discretized logistic mixture (CPU-sized: 32 filters, 1 block per stage, 5 components)",
    ),
    "pixelcnn-pp-cifar": Preset(
        PixelCNNPPConfig(hidden=160, layers=5, resolutions=3, dropout=0.5,
                         likelihood={"name": "logistic-mixture", "mixtures": 10}),
        "PixelCNN++ at the paper's CIFAR-10 size (160 filters, 5 blocks per stage, 10 components, dropout 0.5; "
        "about 54M parameters: for GPUs)",
    ),
    "pixelsnail": Preset(
        PixelSNAILConfig(hidden=48, blocks=2, layers=2, heads=2, attention_width=32, head=96,
                         likelihood={"name": "logistic-mixture", "mixtures": 5}),
        "PixelSNAIL: gated convolution stacks with no blind spot, each block followed by causal multi-head "
        "self-attention over the whole past, skip connections, logistic mixture (CPU-sized: 48 filters, "
        "2 blocks of 2 layers, 2 heads, 5 components)",
    ),
    "pixelsnail-cifar": Preset(
        PixelSNAILConfig(in_channels=3, image_size=(32, 32), hidden=256, blocks=12, layers=4, heads=1,
                         attention_width=128, head=256, dropout=0.5, norm="weight",
                         likelihood={"name": "logistic-mixture", "mixtures": 10}),
        "PixelSNAIL at the paper's CIFAR-10 size (256 filters, 12 blocks of 4 layers, one attention head "
        "of 128 channels, dropout 0.5, 10 components; for GPUs)",
    ),
}

NETWORKS: dict[str, type[nn.Module]] = {"pixelcnn": PixelCNN, "gated": GatedPixelCNN, "pixelcnn-pp": PixelCNNPP,
                                        "pixelsnail": PixelSNAIL}
PLUGIN_GROUP = "pixelcnn.models"  # entry points of other packages that call register_model


def register_model(name: str, config, summary: str, network: type[nn.Module] | None = None) -> None:
    """Add preset ``name``: ``config`` (a frozen model config), a one-line ``summary``, and the
    ``network`` class of a new architecture (``config``'s class, with its ``ARCH``, is then
    registered too). A plug-in package calls this from its ``pixelcnn.models`` entry point."""
    if network is not None:
        register_config(type(config))
        NETWORKS[config.ARCH] = network
    if config.ARCH not in NETWORKS:
        raise ConfigError(f"model {name!r}: no network is registered for architecture {config.ARCH!r}")
    PRESETS[name] = Preset(config, summary)


def list_models() -> list[str]:
    """Names of the registered presets, plug-ins included."""
    load_plugins(PLUGIN_GROUP)
    return list(PRESETS)


def preset_config(name: str, **overrides):
    """The config of preset ``name`` with ``overrides`` applied (checked)."""
    if name not in PRESETS:
        load_plugins(PLUGIN_GROUP)
    if name not in PRESETS:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(PRESETS)}{plugin_note(PLUGIN_GROUP)}")
    return replace_config(PRESETS[name].config, **overrides) if overrides else PRESETS[name].config


def create_model(name: str, **overrides) -> AutoregressiveModel:
    """A freshly initialised model from preset ``name`` (e.g. ``levels=2, in_channels=3``)."""
    return build_model(preset_config(name, **overrides))


def build_model(config) -> AutoregressiveModel:
    """The model described by a config object (for example one read from a checkpoint):
    the likelihood it names, and a network that reads levels through the input encoder it
    names and outputs that likelihood's parameters."""
    likelihood = likelihood_of(config)
    network = NETWORKS[config.ARCH](config, params=likelihood.channels, groups=likelihood.groups,
                                    encoder=input_of(config))
    return AutoregressiveModel(config, network, likelihood)
