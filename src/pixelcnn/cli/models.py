"""``pixelcnn models``: the registered presets."""

from __future__ import annotations

from pixelcnn.cli.common import add_command, print_json

EXAMPLES = """
  pixelcnn models
  pixelcnn models --json
"""


def register(sub) -> None:
    parser = add_command(sub, "models", "list the registered model presets", EXAMPLES, run)
    parser.add_argument("--json", action="store_true", help="print the presets' full configs as JSON")


def run(args) -> int:
    from pixelcnn.models import PRESETS, config_to_dict, list_models

    list_models()  # loads the installed plug-ins' presets into PRESETS
    if args.json:
        print_json({name: config_to_dict(p.config) for name, p in PRESETS.items()})
        return 0
    width = max(map(len, PRESETS))
    for name, preset in PRESETS.items():
        print(f"{name:<{width}}  {preset.summary}")
    return 0
