"""Bad input to every CLI command gets one line on stderr and exit status 2, and nothing
already saved changes (both tiny runs, and a damaged copy, are hashed before and after).

Each row: an id, the command line (``{plain}``, ``{cond}``, ``{npz}``, ``{root}``, ``{tmp}``,
``{damaged}`` are filled in), a damage to do to ``{damaged}`` first (or None), and a
fragment the error line must contain.
"""

import json

import pytest
import torch
from bad_helpers import tiny_args, tree_hash

from pixelcnn.cli.main import main

TRAIN = ["train", "--out", "{tmp}/new"]


def tiny(*extra):
    return tiny_args("{npz}", *extra)


def damage_file(name, content: bytes):
    def damage(run):
        (run / name).write_bytes(content)
    return damage


def damage_checkpoint(name, content: bytes):
    def damage(run):
        ckpt = run / (run / "latest").read_text().strip()
        (ckpt / name).write_bytes(content)
    return damage


def config_entry(key, value):
    def damage(run):
        ckpt = run / (run / "latest").read_text().strip()
        meta = json.loads((ckpt / "config.json").read_text())
        meta[key] = value
        (ckpt / "config.json").write_text(json.dumps(meta))
    return damage


CASES = [
    # --- config values: type, finiteness, range, length (one mechanism for all) -------------
    ("lr-nan", [*TRAIN, *tiny("train.lr=nan")], None, "train.lr must be a finite number"),
    ("lr-inf", [*TRAIN, *tiny("train.lr=1e999")], None, "train.lr must be a finite number"),
    ("lr-zero", [*TRAIN, *tiny("train.lr=0")], None, "train.lr must be > 0"),
    ("lr-text", [*TRAIN, *tiny("train.lr=fast")], None, "train.lr must be a number"),
    ("betas-range", [*TRAIN, *tiny("train.betas=[2,3]")], None, "train.betas must be in [0, 1)"),
    ("betas-length", [*TRAIN, *tiny("train.betas=[0.9]")], None, "train.betas must be a list of 2"),
    ("weight-decay", [*TRAIN, *tiny("train.weight_decay=-1")], None, "train.weight_decay must be >= 0"),
    ("grad-clip", [*TRAIN, *tiny("train.grad_clip=-1")], None, "train.grad_clip must be >= 0"),
    ("max-steps", [*TRAIN, *tiny("train.max_steps=-5")], None, "train.max_steps must be >= 0"),
    ("epochs", [*TRAIN, *tiny("train.epochs=-1")], None, "train.epochs must be >= 0"),
    ("max-minutes", [*TRAIN, *tiny("train.max_minutes=-1")], None, "train.max_minutes must be >= 0"),
    ("no-limit", [*TRAIN, *tiny("train.max_steps=0")], None, "set at least one of"),
    ("ema-decay", [*TRAIN, *tiny("train.ema_decay=1")], None, "train.ema_decay must be in [0, 1)"),
    ("lr-decay", [*TRAIN, *tiny("train.lr_decay=0")], None, "train.lr_decay must be in (0, 1]"),
    ("batch-size", [*TRAIN, *tiny("train.batch_size=0")], None, "train.batch_size must be >= 1"),
    ("optimizer", [*TRAIN, *tiny("train.optimizer=sgd")], None, "train.optimizer must be one of adam, adamw"),
    ("bool", [*TRAIN, *tiny("train.progress=maybe")], None, "train.progress must be true or false"),
    ("levels", [*TRAIN, *tiny("data.levels=1")], None, "data.levels must be 0 (from the data) or in [2, 65536], got 1"),
    ("channels", [*TRAIN, *tiny("data.channels=2")], None, "data.channels must be one of 0, 1, 3"),
    ("image-size", [*TRAIN, *tiny("data.image_size=[8,8,8]")], None, "data.image_size must be a list of 2"),
    ("binarize", [*TRAIN, *tiny("data.binarize=dynamic")], None, "needs data.levels = 2"),
    ("model-hidden", [*TRAIN, *tiny("model.hidden=0")], None, "model.hidden must be >= 1"),
    ("model-layers", [*TRAIN, *tiny("model.layers=-1")], None, "model.layers must be >= 0"),
    ("model-kernel", [*TRAIN, *tiny("model.kernel=4")], None, "kernel sizes must be odd"),
    ("model-unknown", [*TRAIN, *tiny("model.width=3")], None, "unknown pixelcnn setting(s) ['width']"),
    ("model-name", [*TRAIN, *tiny("model.name=pixelcnn-xl")], None, "unknown model 'pixelcnn-xl'"),
    ("model-heads", [*TRAIN, *tiny("model.name=pixelsnail", "model.heads=3")], None,
     "heads = 3 must divide attention_width = 32"),
    ("model-heads-without-attention", [*TRAIN, *tiny("model.name=gated-pixelcnn", "model.heads=4")], None,
     "unknown gated setting(s) ['heads']"),
    ("section", [*TRAIN, *tiny("optim.lr=1")], None, "section.key=value"),
    ("unknown-key", [*TRAIN, *tiny("train.speed=1")], None, "unknown train setting(s)"),
    # --- config files ---------------------------------------------------------------------------
    ("file-list", [*TRAIN, "--config", "{root}/list.yaml"], None, "must hold a mapping of sections"),
    ("file-scalar", [*TRAIN, "--config", "{root}/scalar.yaml"], None, "must hold a mapping of sections"),
    ("file-section", [*TRAIN, "--config", "{root}/badsection.yaml"], None, "section 'train' must be a mapping"),
    ("file-missing", [*TRAIN, "--config", "{root}/none.yaml"], None, "does not exist"),
    # --- the command line itself ------------------------------------------------------------------
    ("overrides-both-sides", ["train", *tiny("train.lr=0.01"), "--out", "{tmp}/new", "train.max_steps=-3"], None,
     "train.max_steps must be >= 0"),
    ("unknown-option", [*TRAIN, "--bogus"], None, "unrecognized arguments: --bogus"),
    ("no-command", [], None, "required: COMMAND"),
    ("n-zero", ["sample", "--checkpoint", "{plain}", "-n", "0", "--out", "{tmp}/s.png"], None, "argument -n"),
    ("models-extra", ["models", "x=1"], None, "unrecognized arguments: x=1"),
    # --- training: data and outputs checked before work -------------------------------------------
    ("empty-npy", [*TRAIN, *tiny("data.name={root}/empty.npy")], None, "holds no images"),
    ("one-image", [*TRAIN, *tiny("data.name={root}/one.npy")], None, "empty"),
    ("batch-too-big", [*TRAIN, *tiny("train.batch_size=100000000")], None, "GiB of memory"),
    ("model-too-wide", [*TRAIN, *tiny("model.hidden=200000")], None, "GiB of memory"),
    ("out-under-file", ["train", "--out", "{root}/a-file/run", *tiny()], None, "is not a directory"),
    ("out-is-a-file", ["train", "--out", "{root}/a-file", *tiny()], None, "it is a file"),
    ("out-holds-run", ["train", "--out", "{plain}", *tiny()], None, "already holds a run"),
    # --- resume -----------------------------------------------------------------------------------------
    ("resume-changes-model", ["train", "--resume", "{plain}", "model.hidden=16"], None, "cannot change when resuming"),
    ("resume-bad-range", ["train", "--resume", "{plain}", "train.max_steps=-1"], None, "train.max_steps must be >= 0"),
    ("resume-checkpoint-dir", ["train", "--resume", "{plain}/checkpoints/step-000000002"], None,
     "resume the run with --resume"),
    ("resume-missing", ["train", "--resume", "{tmp}/nothing"], None, "does not exist"),
    ("resume-with-out", ["train", "--resume", "{plain}", "--out", "{tmp}/x"], None,
     "do not give --config, --out or --data"),
    ("resume-state-wrong-shape", ["train", "--resume", "{damaged}", "train.max_steps=4"],
     damage_checkpoint("state.json", b"[1, 2, 3]"), "state.json is damaged"),
    ("resume-state-empty-dict", ["train", "--resume", "{damaged}", "train.max_steps=4"],
     damage_checkpoint("state.json", b"{}"), "state.json is damaged"),
    ("resume-state-not-json", ["train", "--resume", "{damaged}", "train.max_steps=4"],
     damage_checkpoint("state.json", b"{\"step\": "), "state.json is corrupt"),
    ("resume-run-config-damaged", ["train", "--resume", "{damaged}", "train.max_steps=4"],
     config_entry("run", {"train": {"lr": -1}}), "is damaged"),
    # --- damaged checkpoints ------------------------------------------------------------------------
    ("latest-binary", ["sample", "--checkpoint", "{damaged}", "--out", "{tmp}/s.png"],
     damage_file("latest", bytes(range(256))), "latest is corrupt"),
    ("latest-missing-target", ["sample", "--checkpoint", "{damaged}", "--out", "{tmp}/s.png"],
     damage_file("latest", b"checkpoints/step-000000099\n"), "which does not exist"),
    ("latest-escapes", ["eval", "--checkpoint", "{damaged}"], damage_file("latest", b"../../etc\n"), "latest is corrupt"),
    ("config-json-list", ["sample", "--checkpoint", "{damaged}", "--out", "{tmp}/s.png"],
     damage_checkpoint("config.json", b"[1, 2]"), "was not written by pixelcnn"),
    ("config-json-model-list", ["sample", "--checkpoint", "{damaged}", "--out", "{tmp}/s.png"],
     config_entry("model", [1, 2]), "model entry is missing or not a mapping"),
    ("config-json-model-bad", ["sample", "--checkpoint", "{damaged}", "--out", "{tmp}/s.png"],
     config_entry("model", {"arch": "pixelcnn", "hidden": -3}), "cannot build"),
    ("config-json-version", ["eval", "--checkpoint", "{damaged}"], config_entry("format_version", 99),
     "format version 99"),
    ("config-json-not-json", ["eval", "--checkpoint", "{damaged}"], damage_checkpoint("config.json", b"{"),
     "config.json is corrupt"),
    ("weights-truncated", ["sample", "--checkpoint", "{damaged}", "--weights", "raw", "--out", "{tmp}/s.png"],
     damage_checkpoint("model.safetensors", b"\x08\x00\x00\x00"), "corrupt or truncated"),
    ("not-a-checkpoint", ["eval", "--checkpoint", "{root}"], None, "is not a pixelcnn checkpoint"),
    ("checkpoint-missing", ["eval", "--checkpoint", "{tmp}/nothing"], None, "does not exist"),
    # --- sample -------------------------------------------------------------------------------------------
    ("class-and-per-class", ["sample", "--checkpoint", "{cond}", "--class", "2", "--per-class", "2",
                             "--out", "{tmp}/s.png"], None, "not both"),
    ("n-and-per-class", ["sample", "--checkpoint", "{cond}", "--per-class", "2", "-n", "3", "--out", "{tmp}/s.png"],
     None, "not both"),
    ("cond-without-class", ["sample", "--checkpoint", "{cond}", "-n", "2", "--out", "{tmp}/s.png"], None,
     "is class-conditional"),
    ("class-out-of-range", ["sample", "--checkpoint", "{cond}", "--class", "7", "--out", "{tmp}/s.png"], None,
     "--class must be in [0, 3)"),
    ("class-on-plain", ["sample", "--checkpoint", "{plain}", "--class", "1", "--out", "{tmp}/s.png"], None,
     "not class-conditional"),
    ("per-class-on-plain", ["sample", "--checkpoint", "{plain}", "--per-class", "2", "--out", "{tmp}/s.png"], None,
     "not class-conditional"),
    ("ema-without-ema", ["sample", "--checkpoint", "{cond}", "--weights", "ema", "--class", "0",
                         "--out", "{tmp}/s.png"], None, "has no EMA weights"),
    ("out-npz", ["sample", "--checkpoint", "{plain}", "-n", "2", "--out", "{tmp}/x.npz"], None,
     "--out must be a .png file"),
    ("out-missing-dir", ["sample", "--checkpoint", "{plain}", "-n", "2", "--out", "{tmp}/no/such/x.png"], None,
     "does not exist"),
    ("out-under-file-sample", ["sample", "--checkpoint", "{plain}", "-n", "2", "--out", "{root}/a-file/x.png"], None,
     "does not exist"),
    ("device-unknown", ["sample", "--checkpoint", "{plain}", "--device", "tpu9", "--out", "{tmp}/s.png"], None,
     "unknown device"),
    ("scale-zero", ["sample", "--checkpoint", "{plain}", "--scale", "0", "--out", "{tmp}/s.png"], None,
     "argument --scale"),
    # --- complete -----------------------------------------------------------------------------------------
    ("complete-class-on-plain", ["complete", "--checkpoint", "{plain}", "--data", "{npz}", "--keep-rows", "3",
                                 "--class", "1", "--out", "{tmp}/c.png"], None, "not class-conditional"),
    ("complete-cond-without-class", ["complete", "--checkpoint", "{cond}", "--data", "{npz}", "--keep-rows", "3",
                                     "--out", "{tmp}/c.png"], None, "is class-conditional"),
    ("complete-keep-rows", ["complete", "--checkpoint", "{plain}", "--data", "{npz}", "--keep-rows", "99",
                            "--out", "{tmp}/c.png"], None, "--keep-rows must be between 0"),
    ("complete-index", ["complete", "--checkpoint", "{plain}", "--data", "{npz}", "--index", "500",
                        "--keep-rows", "3", "--out", "{tmp}/c.png"], None, "--index 500 is outside"),
    ("out-is-a-directory", ["sample", "--checkpoint", "{plain}", "-n", "2", "--out", "{tmp}/d.png"],
     lambda run: (run.parent / "d.png").mkdir(), "it is a directory"),
    ("complete-out-jpg", ["complete", "--checkpoint", "{plain}", "--data", "{npz}", "--keep-rows", "3",
                          "--out", "{tmp}/c.jpg"], None, "--out must be a .png file"),
    ("complete-image-missing", ["complete", "--checkpoint", "{plain}", "--image", "{tmp}/none.png",
                                "--keep-rows", "3", "--out", "{tmp}/c.png"], None, "none.png"),
    # --- eval -----------------------------------------------------------------------------------------------
    ("eval-split", ["eval", "--checkpoint", "{plain}", "--data", "{npz}", "--split", "nope"], None, "nope"),
    ("eval-batch", ["eval", "--checkpoint", "{plain}", "--batch-size", "0"], None, "argument --batch-size"),
    # --- receptive-field: memory bounded, output checked, before the work ---------------------------
    ("rf-huge", ["receptive-field", "--model", "pixelcnn", "--pixel", "5,5", "--size", "2000"], None,
     "GiB of memory"),
    ("rf-out-missing-dir", ["receptive-field", "--model", "pixelcnn-seed", "--pixel", "3,3", "--size", "8",
                            "--out", "{tmp}/no/rf.png"], None, "does not exist"),
    ("rf-size-zero", ["receptive-field", "--model", "pixelcnn", "--pixel", "0,0", "--size", "0"], None,
     "--size must be positive"),
    ("rf-pixel", ["receptive-field", "--model", "pixelcnn", "--pixel", "5"], None, "--pixel must look like I,J"),
    ("rf-model", ["receptive-field", "--model", "nope", "--pixel", "1,1"], None, "unknown model 'nope'"),
    ("rf-channels-with-checkpoint", ["receptive-field", "--checkpoint", "{plain}", "--channels", "3",
                                     "--pixel", "1,1"], None, "--channels applies to --model"),
]


@pytest.mark.parametrize("args,damage,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_one_line_and_status_2(runs, damaged, tmp_path, capsys, args, damage, expected):
    if damage is not None:
        damage(damaged)
    names = {**{k: str(v) for k, v in runs.items()}, "tmp": str(tmp_path), "damaged": str(damaged)}
    argv = [a.format(**names) for a in args]
    saved = {name: tree_hash(runs[name]) for name in ("plain", "cond")} | {"damaged": tree_hash(damaged)}
    capsys.readouterr()
    status = run_cli(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert status == 2, err
    assert len(lines) == 1, err
    assert expected in lines[0]
    assert "Traceback" not in err and "internal error" not in err
    assert saved == {name: tree_hash(runs[name]) for name in ("plain", "cond")} | {"damaged": tree_hash(damaged)}
    assert not (tmp_path / "new" / "latest").exists()


def test_the_table_covers_every_command():
    used = {c[1][0] if c[1] else "" for c in CASES}
    assert {"train", "sample", "complete", "eval", "receptive-field", "models"} <= used


def test_a_missing_cuda_device_is_one_line(runs, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    status = main(["sample", "--checkpoint", str(runs["plain"]), "--device", "cuda", "--out", str(tmp_path / "s.png")])
    assert status == 2 and "no CUDA device" in capsys.readouterr().err


def test_a_bug_is_one_line_and_debug_shows_the_traceback(runs, capsys, monkeypatch):
    import pixelcnn.cli.models as models

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(models, "run", broken)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "a bug in pixelcnn" in err and "--debug" in err
    assert main(["models", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("PIXELCNN_DEBUG", "1")
    assert main(["models"]) == 1
    assert "Traceback" in capsys.readouterr().err


def run_cli(argv) -> int:
    """The exit status of ``pixelcnn ARGV`` (argparse's own errors end by SystemExit)."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code
