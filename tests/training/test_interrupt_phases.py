"""A signal in any phase of `pixelcnn train` ends it with one line and the resume command, and the
resume finishes what is missing: the start (data and model), the final checkpoint, the final
evaluation, the final sample grid and the report."""

import os
import signal

import pytest
from training_helpers import tiny_overrides

from pixelcnn.cli.main import main
from pixelcnn.evaluation import report
from pixelcnn.training import Trainer
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training import kinds
from pixelcnn.training import trainer as trainer_module
from pixelcnn.training.metrics import read_records


def signal_during(monkeypatch, owner, name, number, when=lambda *a, **k: True):
    """Send this process ``number`` when ``owner.name`` is called (and ``when`` holds), then go on."""
    original = getattr(owner, name)

    def call(*args, **kwargs):
        if when(*args, **kwargs):
            os.kill(os.getpid(), number)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, call)


PHASES = {
    "final evaluation": (Trainer, "_score", lambda self, split, kind: kind == "test"),
    "final samples": (kinds, "write_sample_grid", lambda model, path, *rest: path.name == "final.png"),
    "report": (report, "write_report", lambda *a: True),
    "final checkpoint": (Trainer, "save", lambda self: self.step == 3),
}


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_in_the_final_phase_says_how_to_resume_and_the_resume_finishes(tmp_path, tiny_npz, capsys,
                                                                             monkeypatch, phase, name):
    run = tmp_path / "run"
    number = getattr(signal, name)
    owner, attr, when = PHASES[phase]
    with monkeypatch.context() as m:
        signal_during(m, owner, attr, number, when)
        status = main(["-q", "train", "--out", str(run), *tiny_overrides(tiny_npz, "train.max_steps=3")])
    err = capsys.readouterr().err
    assert status == 128 + number
    assert err.count("\n") == 1 and f"stopped by {name} after step 3" in err, err
    assert err.strip().endswith(f"continue with: pixelcnn train --resume {run}")
    assert main(["-q", "train", "--resume", str(run)]) == 0  # nothing left to train: it finishes the rest
    assert (run / "report.html").is_file() and (run / "samples" / "final.png").is_file()
    assert ckpt.read_state(ckpt.resolve_checkpoint(run))["step"] == 3
    assert [r["step"] for r in read_records(run / "metrics.jsonl") if r["kind"] == "test"] == [3]


def test_a_signal_while_the_run_starts_says_there_is_nothing_to_resume(tmp_path, tiny_npz, capsys, monkeypatch):
    signal_during(monkeypatch, trainer_module, "load_split", signal.SIGTERM)
    run = tmp_path / "run"
    assert main(["-q", "train", "--out", str(run), *tiny_overrides(tiny_npz, "train.max_steps=3")]) == 143
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stopped by SIGTERM before the first checkpoint; nothing to resume" in err


def test_the_final_phase_says_what_it_does(tmp_path, tiny_npz, capsys):
    assert main(["train", "--out", str(tmp_path / "run"), *tiny_overrides(tiny_npz, "train.max_steps=2")]) == 0
    err = capsys.readouterr().err
    for line in ("final evaluation: scoring the test split (10 images)", "final samples: drawing 4 images",
                 "writing the report"):
        assert line in err
