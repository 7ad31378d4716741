"""Every example in README.md and docs/*.md runs, and the README's models table is current.

What runs, page by page, in document order, in a fresh working directory per page:

- each ```python block, with ``exec``, in one namespace per page (a later block may
  use what an earlier one made);
- each command of a ```console or ```bash block: every line must be a ``pixelcnn ...``
  command (``\\`` continues a line, ``#`` starts a comment). It runs in this process
  through :func:`pixelcnn.cli.main.main` and must exit with status 0.

Pages listed in :data:`SLOW_PAGES` are marked slow; `.ci/run` runs them too.

A block right after a ``<!-- not-tested: why -->`` line is skipped; a console or bash
block with any other kind of line fails the test, so nothing is skipped silently.
```text blocks are not code.

Tiny size (the test rewrites the commands, and the reader's commands stay as written):

- ``pixelcnn train`` (not ``--resume``) gets these overrides appended, which win over
  the page's: a one-layer ``pixelcnn-seed`` of 8 channels, 2 steps, 4 sample images,
  one thread, no progress bar (:data:`TINY_TRAIN`); ``pixelcnn vqvae train`` gets a
  VQ-VAE of width 8 with codebooks of 16 and 8 codes instead (:data:`TINY_VQVAE`). ``--resume``
  gets ``train.max_steps=4 train.progress=false`` (two steps more than the tiny run made).
- Each page's working directory starts with ``runs/mnist5k`` (a tiny run of the
  ``mnist5k`` config, trained once per session with the same overrides), ``my-digits/``
  (six mnist5k test digits as PNG files) and ``photos/`` (three RGB images of
  another size). A page that trains ``--out runs/mnist5k`` itself starts without it.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelcnn.cli.main import main
from pixelcnn.cli.models import markdown_table

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
# pages whose examples take more than a few seconds on a CPU (several trainings, full-size
# networks, every test image scored): `pytest -m slow tests/test_docs_examples.py`, run by .ci/run
SLOW_PAGES = {"cli.md", "likelihood-tools.md", "sampling.md", "training.md"}
NOT_TESTED = re.compile(r"<!--\s*not-tested\b")
FENCE = re.compile(r"^```(\w*)\s*$")
TINY_TRAIN = ["model.name=pixelcnn-seed", "model.hidden=8", "model.layers=1", "train.max_steps=2",
              "train.epochs=0", "train.sample_count=4", "train.progress=false", "train.threads=1"]
TINY_VQVAE = ["model.hidden=8", "model.res_hidden=4", "model.res_blocks=1", "model.code_dim=4",
              "model.bottom_codes=16", "model.top_codes=8", *TINY_TRAIN[3:]]
TINY_RESUME = ["train.max_steps=4", "train.progress=false"]
MODELS_BEGIN, MODELS_END = "<!-- models-table: begin", "<!-- models-table: end -->"


def blocks(page: Path) -> list[tuple[str, int, str, bool]]:
    """``(language, first line number, code, tested)`` of each fenced block of ``page``."""
    lines = page.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        end = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("```"))
        found.append((opened.group(1), i + 2, "\n".join(lines[i + 1:end]), not NOT_TESTED.search(before)))
        i = end + 1
    return found


def commands(code: str) -> list[list[str]]:
    """The ``pixelcnn`` commands of a console block, as argument lists (without ``pixelcnn``)."""
    out = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0].startswith("$"):
            words = words[1:] if words[0] == "$" else [words[0][1:], *words[1:]]
        if words[0] != "pixelcnn":
            raise AssertionError(f"not a pixelcnn command (mark the block <!-- not-tested: why -->): {line}")
        out.append(words[1:])
    return out


def examples(page: Path) -> list[tuple[str, int, object]]:
    """``("python", line, code)`` and ``("command", line, argv)`` of the tested blocks, in order."""
    out = []
    for language, line, code, tested in blocks(page):
        if not tested or language in ("text", ""):
            continue
        if language == "python":
            out.append(("python", line, code))
        elif language in ("console", "bash", "sh", "shell"):
            out.extend(("command", line, argv) for argv in commands(code))
        else:
            raise AssertionError(f"{page.name}:{line}: a ```{language} block; use python, console or text")
    return out


def tiny(argv: list[str]) -> list[str]:
    """``argv`` rewritten to run at tiny size (see the module docstring)."""
    if argv[:1] != ["train"] and argv[:2] != ["vqvae", "train"]:
        return argv
    if "--resume" in argv:
        return [*argv, *TINY_RESUME]
    return [*argv, *(TINY_TRAIN if argv[0] == "train" else TINY_VQVAE)]


def trained_dirs(page_examples) -> list[str]:
    return [argv[argv.index("--out") + 1] for kind, _, argv in page_examples
            if kind == "command" and argv[:1] == ["train"] and "--out" in argv]


@pytest.fixture(scope="session")
def context(tmp_path_factory) -> Path:
    """The directory each page's working directory starts as a copy of."""
    root = tmp_path_factory.mktemp("docs-context")
    assert main(["-q", "train", "--config", "mnist5k", "--out", str(root / "runs" / "mnist5k"), *TINY_TRAIN]) == 0
    from pixelcnn.data import load_dataset

    digits = load_dataset("mnist5k", "test").images[:6, 0].numpy()
    (root / "my-digits").mkdir()
    for k, digit in enumerate(digits):
        Image.fromarray(digit).save(root / "my-digits" / f"digit-{k}.png")
    (root / "photos").mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        Image.fromarray((rng.random((40, 50, 3)) * 255).astype(np.uint8)).save(root / "photos" / f"photo-{k}.jpg")
    return root


@pytest.mark.parametrize("page", [
    pytest.param(page, id=str(page.relative_to(ROOT)), marks=[pytest.mark.slow] if page.name in SLOW_PAGES else [])
    for page in PAGES])
def test_page_examples_run(page, context, tmp_path, monkeypatch, capsys):
    page_examples = examples(page)
    work = tmp_path / "work"
    shutil.copytree(context, work)
    for out in trained_dirs(page_examples):
        shutil.rmtree(work / out, ignore_errors=True)
    monkeypatch.chdir(work)
    namespace: dict = {"__name__": "__docs__"}
    for kind, line, example in page_examples:
        where = f"{page.relative_to(ROOT)}:{line}"
        if kind == "python":
            exec(compile(example, where, "exec"), namespace)  # noqa: S102 - the page's own example
        else:
            status = main(tiny(example))
            assert status == 0, f"{where}: pixelcnn {shlex.join(example)} exited {status}:\n{capsys.readouterr().err}"


def test_every_page_has_examples():
    """The pages the examples test reads are the documentation's pages, and each shows code."""
    assert {p.name for p in PAGES} >= {"README.md", "index.md", "training.md", "data.md", "sampling.md",
                                       "likelihood-tools.md", "design.md", "cli.md"}
    for page in PAGES:
        if page.name != "api.md":
            assert examples(page), f"{page.name} has no tested example"


def test_readme_models_table_is_current():
    """README.md's models table is `pixelcnn models --markdown`; regenerate it with that command."""
    text = (ROOT / "README.md").read_text()
    assert MODELS_BEGIN in text and MODELS_END in text
    start = text.index("\n", text.index(MODELS_BEGIN)) + 1
    table = text[start:text.index(MODELS_END)].strip()
    assert table == markdown_table(), "README.md's models table is stale: paste `pixelcnn models --markdown` there"


def test_block_parsing_rejects_untested_commands(tmp_path):
    """A console block with a non-pixelcnn line fails unless marked, and the marker is honoured."""
    page = tmp_path / "page.md"
    page.write_text("```console\npixelcnn models\ntorchrun x\n```\n")
    with pytest.raises(AssertionError, match="not a pixelcnn command"):
        examples(page)
    page.write_text("<!-- not-tested: needs GPUs -->\n```console\ntorchrun x\n```\n\n```python\nx = 1\n```\n")
    assert examples(page) == [("python", 7, "x = 1")]
    page.write_text("```console\n$ pixelcnn train --out a \\\n    model.hidden=4  # tiny\n```\n")
    assert examples(page) == [("command", 2, ["train", "--out", "a", "model.hidden=4"])]
    assert tiny(["train", "--out", "a"])[-len(TINY_TRAIN):] == TINY_TRAIN
    assert tiny(["vqvae", "train", "--out", "a"])[-len(TINY_VQVAE):] == TINY_VQVAE
