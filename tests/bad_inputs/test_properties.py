"""Arbitrary values for every declared config field and every CLI option give success or one
line and exit 2, never an internal error (exit 1) or a traceback.

Hypothesis draws the values: integers (small, negative, beyond 64 bits), floats (NaN, infinities,
huge), booleans, null, lists, mappings, unicode and empty text, and paths. Three properties:

- every field of every config section and of every preset's model config (VQ-VAE presets
  included), through ``key=value`` overrides: a RunConfig or a ConfigError, nothing else;
- the same overrides on a tiny real run (``pixelcnn train``, or ``pixelcnn vqvae train`` for a
  VQ-VAE's fields, one step at most, a time limit as a backstop): exit 0 or 2;
- every option of every other command (``vqvae encode`` included), on a tiny trained run: exit 0 or 2.

The default profile tries a few hundred cases in well under a minute; ``-m slow`` runs the
``thorough`` profile, ten times as many. Numbers that would start hours of legitimate work
(a million samples) are outside what the CLI properties draw; a billion is inside, and must be
refused up front.
"""

import dataclasses
import io
import itertools
import shutil
from contextlib import redirect_stderr, redirect_stdout

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pixelcnn.cli.main import build_parser, main  # noqa: E402
from pixelcnn.config import SECTIONS, resolve  # noqa: E402
from pixelcnn.errors import ConfigError  # noqa: E402
from pixelcnn.models import list_models, preset_config  # noqa: E402
from pixelcnn.vqvae import PRESETS as VQVAE_PRESETS  # noqa: E402
from pixelcnn.vqvae import vqvae_config  # noqa: E402

QUICK = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
TRIED = {"config": 0, "train": 0, "cli": 0}


@pytest.fixture(scope="module", autouse=True)
def hypothesis_storage(tmp_path_factory):
    """Hypothesis keeps its caches in ``.hypothesis`` of the working directory (the checkout); here
    they go to a temporary folder."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


def budget(quick: int, slow: bool) -> settings:
    return settings(max_examples=quick * 10 if slow else quick, **QUICK)


SECTION_FIELDS = {f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)}
VQVAE_FIELDS = sorted({f"model.{f.name}" for name in VQVAE_PRESETS for f in dataclasses.fields(vqvae_config(name))})
FIELDS = sorted(SECTION_FIELDS | set(VQVAE_FIELDS)
                | {f"model.{f.name}" for name in list_models() for f in dataclasses.fields(preset_config(name))})

SPECIAL = ["", " ", "nan", "-nan", "inf", "-inf", "1e309", "-1", "0", "1", "2", "3", "256", "257", "0.5", "1.0",
           "true", "null", "~", "[]", "{}", "[1, 2]", "[0, 0]", "[8, 8]", "{a: 1}", "../..", "/", "/dev/null",
           "/nonexistent/x.npz", "é", "日本", "\u202e", "cuda", "cpu", "fp32", "bf16", "none", "weight", "adam",
           "categorical", "logistic-mixture", "gated-pixelcnn", "pixelcnn-pp", "x" * 300, str(2**63), str(2**64),
           str(-(2**63) - 1), "0x10", "1_000", "3e-4"]

SCALARS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-3, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
)
VALUES = st.one_of(st.sampled_from(SPECIAL),
                   SCALARS.map(lambda v: yaml.safe_dump(v, default_flow_style=True).removesuffix("\n...\n").strip()),
                   st.lists(st.integers(-3, 40), max_size=3).map(str))


def quiet_main(argv) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as e:  # argparse's usage errors: what the installed command exits with
            status = e.code
    return status, err.getvalue()


def assert_clean(status: int, err: str, what) -> None:
    assert status in (0, 2), f"{what}: exit {status}: {err}"
    assert "Traceback" not in err and "internal error" not in err, f"{what}: {err}"
    if status == 2:
        assert sum(line.startswith("pixelcnn") for line in err.splitlines()) == 1, f"{what}: {err}"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import numpy as np

    root = tmp_path_factory.mktemp("properties")
    rng = np.random.default_rng(0)
    images = (rng.random((50, 8, 8)) * 255).astype(np.uint8)
    np.savez(root / "tiny.npz", train=images[:40], test=images[40:])
    args = base_train_args(root)
    assert main(["-q", "train", "--out", str(root / "run"), *args]) == 0
    assert main(["-q", "vqvae", "train", "--out", str(root / "vq"), *base_vqvae_args(root)]) == 0
    np.save(root / "levels.npy", (images[40:, None] // 64 * 85).astype(np.uint8))  # pixels the 4 levels hold
    assert main(["-q", "compress", "--checkpoint", str(root / "run"), str(root / "levels.npy"),
                 "--out", str(root / "levels.pxz")]) == 0
    return root


@pytest.fixture(scope="module", autouse=True)
def work_elsewhere(tmp_path_factory):
    """Every test here runs in an empty folder: relative paths that the properties draw
    (output files, run folders) land there, never in the checkout."""
    import os

    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        yield
    finally:
        os.chdir(here)


def base_train_args(root) -> list[str]:
    return [f"data.name={root / 'tiny.npz'}", "data.levels=4", "model.name=pixelcnn-seed", "model.hidden=8",
            "model.layers=1", "train.batch_size=16", "train.epochs=0", "train.max_steps=1", "train.max_minutes=0.05",
            "train.sample_count=2", "train.progress=false", "train.eval_batch_size=64", "train.threads=1"]


def base_vqvae_args(root) -> list[str]:
    return [f"data.name={root / 'tiny.npz'}", "model.hidden=4", "model.res_hidden=2", "model.res_blocks=1",
            "model.code_dim=2", "model.bottom_codes=8", "model.top_codes=4", "train.batch_size=16", "train.epochs=0",
            "train.max_steps=1", "train.max_minutes=0.05", "train.sample_count=2", "train.progress=false",
            "train.eval_batch_size=64", "train.threads=1"]


def config_property(key, value):
    try:
        resolve(None, [f"{key}={value}"])
    except ConfigError:
        pass
    TRIED["config"] += 1


def train_property(root, key, value, command=("train",), base=base_train_args):
    import torch

    run = root / f"t{TRIED['train']}"
    threads = torch.get_num_threads()  # train.threads sets the process's thread count
    try:
        status, err = quiet_main(["-q", *command, "--out", str(run), *base(root), f"{key}={value}"])
    finally:
        torch.set_num_threads(threads)
    shutil.rmtree(run, ignore_errors=True)
    assert_clean(status, err, f"{key}={value!r}")
    TRIED["train"] += 1


# every option of every command but train, with the arguments that make a valid call
def command_args(root):
    run, npz, out = str(root / "run"), str(root / "tiny.npz"), str(root / "out")
    return {
        "eval": ["eval", "--checkpoint", run],
        "score": ["score", "--checkpoint", run, "--images", f"{npz}:test", "--out", f"{out}.csv"],
        "report": ["report", run, "--out", f"{out}.html"],
        "sample": ["sample", "--checkpoint", run, "-n", "2", "--out", f"{out}.png"],
        "complete": ["complete", "--checkpoint", run, "--data", npz, "--keep-rows", "4", "-n", "2",
                     "--out", f"{out}.png"],
        "receptive-field": ["receptive-field", "--model", "pixelcnn-seed", "--pixel", "1,1", "--size", "4"],
        "compress": ["compress", "--checkpoint", run, str(root / "levels.npy"), "--out", f"{out}.pxz", "--force"],
        "decompress": ["decompress", "--checkpoint", run, str(root / "levels.pxz"), "--out", f"{out}.npy", "--force"],
        "models": ["models"],
        "vqvae encode": ["vqvae", "encode", "--checkpoint", str(root / "vq"), "--data", npz, "--out", f"{out}.npz",
                         "--force"],
    }


def commands(parser=None, prefix: str = "") -> dict:
    """Every command, a group's commands by their full names ("vqvae encode"), but the training
    ones (their options are the config's, drawn by the properties above)."""
    parser = parser or build_parser()
    sub = next((a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"), None)
    out = {}
    for name, command in (sub.choices.items() if sub else ()):
        if name == "train":
            continue
        nested = commands(command, f"{prefix}{name} ")
        out.update(nested or {f"{prefix}{name}": command})
    return out


def options():
    """(command, option) for every option that takes a value, read from the parser itself."""
    out = []
    for name, command in commands().items():
        for action in command._actions:
            if action.option_strings and action.nargs != 0 and action.dest != "help":
                out.append((name, action.option_strings[-1]))
    return out


OPTIONS = options()
CLI_VALUES = st.one_of(st.sampled_from(SPECIAL + ["1,1", "0,0", "99,99", "-1,2", "4", "ema", "raw", "fast",
                                                  "reference", "test", "train", "1000000000", "1e9"]),
                       st.integers(-5, 300).map(str), st.text(max_size=12))


def cli_property(root, command, option, value):
    args = command_args(root)[command]
    if option in args:  # replace the valid value
        k = args.index(option)
        args = args[:k] + [option, value] + args[k + 2:]
    else:
        args = [*args, option, value]
    if option == "--model" and command == "receptive-field":
        args = [a for i, a in enumerate(args) if not (args[i - 1] == "--checkpoint" or a == "--checkpoint")]
    if option == "--checkpoint" and command == "receptive-field":
        k = args.index("--model")
        args = args[:k] + args[k + 2:]
    status, err = quiet_main(["-q", *args])
    assert_clean(status, err, args)
    TRIED["cli"] += 1


@pytest.mark.parametrize("slow", [pytest.param(False), pytest.param(True, marks=pytest.mark.slow)],
                         ids=["quick", "thorough"])
def test_every_config_field_takes_any_value_or_says_why_not(slow):
    given(st.sampled_from(FIELDS), VALUES)(budget(300, slow)(config_property))()
    print(f"config cases tried: {TRIED['config']}")


@pytest.mark.parametrize("slow", [pytest.param(False), pytest.param(True, marks=pytest.mark.slow)],
                         ids=["quick", "thorough"])
def test_every_config_field_on_a_real_run_trains_or_says_why_not(tiny, slow):
    given(st.sampled_from(FIELDS), VALUES)(budget(20, slow)(lambda key, value: train_property(tiny, key, value)))()
    print(f"train cases tried: {TRIED['train']}")


@pytest.mark.parametrize("slow", [pytest.param(False), pytest.param(True, marks=pytest.mark.slow)],
                         ids=["quick", "thorough"])
def test_every_cli_option_takes_any_value_or_says_why_not(tiny, slow):
    given(st.sampled_from(OPTIONS), CLI_VALUES)(
        budget(80, slow)(lambda pair, value: cli_property(tiny, *pair, value)))()
    print(f"CLI cases tried: {TRIED['cli']}")


@pytest.mark.parametrize("slow", [pytest.param(False), pytest.param(True, marks=pytest.mark.slow)],
                         ids=["quick", "thorough"])
def test_every_vqvae_field_on_a_real_run_trains_or_says_why_not(tiny, slow):
    keys = sorted(SECTION_FIELDS | set(VQVAE_FIELDS))
    given(st.sampled_from(keys), VALUES)(budget(10, slow)(
        lambda key, value: train_property(tiny, key, value, ("vqvae", "train"), base_vqvae_args)))()


def test_the_properties_cover_every_field_and_option():
    assert {"train.seed", "train.lr", "data.levels", "model.hidden", "model.likelihood"} <= set(FIELDS)
    assert {"model.maps", "model.top_codes", "model.restart_below"} <= set(FIELDS)
    covered = {c for c, _ in OPTIONS}
    every = set(commands())
    assert "vqvae encode" in every and "vqvae" not in every
    assert covered == every - {"models"} or covered == every  # models may take no option with a value
    assert len(list(itertools.chain(OPTIONS))) >= 30
