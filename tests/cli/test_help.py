"""What a new user meets: `pixelcnn --version`, and help with a description and examples."""

import re
from importlib.metadata import version
from pathlib import Path

import pytest

import pixelcnn
from pixelcnn.cli.main import COMMANDS, main

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_version_comes_from_pyproject(capsys):
    declared = re.search(r'^version = "([^"]+)"', PYPROJECT.read_text(), re.M).group(1)
    assert pixelcnn.__version__ == version("pixelcnn") == declared, \
        "the installed metadata is older than pyproject.toml: rerun scripts/setup.sh (pip install -e .)"
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"pixelcnn {declared}"


@pytest.mark.parametrize("command", [None, *(c.replace("_", "-") for c in COMMANDS)])
def test_help_has_a_description_and_an_example(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"] if command is None else [command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1].strip()  # argparse: usage, blank line, description
    assert description and not description.startswith(("positional", "options")), text
    examples = text.split("examples:\n", 1)[1]
    assert f"pixelcnn {command or ''}".strip() in examples, text
