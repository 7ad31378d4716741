"""``pixelcnn models``: the registered presets, the PixelCNN family's and the VQ-VAEs'."""

from __future__ import annotations

from pixelcnn.cli.common import add_command, print_json

EXAMPLES = """
  pixelcnn models
  pixelcnn models --json
  pixelcnn models --markdown > models.md   # the table in README.md
"""


def register(sub) -> None:
    parser = add_command(sub, "models", "list the registered model presets (and the VQ-VAEs')", EXAMPLES, run)
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print the presets' full configs as JSON")
    shown.add_argument("--markdown", action="store_true",
                       help="print a Markdown table of the presets (the README's models table)")


def run(args) -> int:
    from pixelcnn.models import PRESETS, config_to_dict, list_models
    from pixelcnn.vqvae import PRESETS as VQVAE_PRESETS

    list_models()  # loads the installed plug-ins' presets into PRESETS
    if args.json:  # a VQ-VAE's config says "arch": "vqvae"
        print_json({name: config_to_dict(p.config) for name, p in {**PRESETS, **VQVAE_PRESETS}.items()})
        return 0
    if args.markdown:
        print(markdown_table())
        return 0
    width = max(map(len, [*PRESETS, *VQVAE_PRESETS]))
    for name, preset in PRESETS.items():
        print(f"{name:<{width}}  {preset.summary}")
    print("\nVQ-VAEs (pixelcnn vqvae train; their codes train the presets above as priors):")
    for name, preset in VQVAE_PRESETS.items():
        print(f"{name:<{width}}  {preset.summary}")
    return 0


def markdown_table() -> str:
    """The registered presets as a Markdown table (the README's models table is this output).

    Parameters are counted for the preset's own colours, levels and likelihood."""
    from pixelcnn.models import PRESETS, build_model

    rows = ["| preset | image | likelihood | norm | parameters | design |", "|---|---|---|---|---|---|"]
    for name, preset in PRESETS.items():
        config = preset.config
        parameters = sum(p.numel() for p in build_model(config).parameters())
        height, width = config.image_size
        image = f"{config.in_channels}x{height}x{width}, {config.levels} levels"
        rows.append(f"| `{name}` | {image} | {_spec(config.likelihood)} | {getattr(config, 'norm', 'none')} "
                    f"| {parameters:,} | {preset.summary} |")
    return "\n".join(rows)


def _spec(spec: dict) -> str:
    """``{"name": "logistic-mixture", "mixtures": 5}`` -> ``logistic-mixture (mixtures=5)``."""
    options = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "name")
    return f"{spec['name']} ({options})" if options else spec["name"]
