"""No data lost on a write fault: a full disk (ENOSPC), a file too large (EFBIG) or an I/O error
(EIO) at any write of a run ends it with one line, and leaves the last good checkpoint, the config
and every earlier metrics record intact.

Every file a run writes goes through :func:`pixelcnn.atomic.atomic_write` or
:func:`pixelcnn.atomic.append_text`; the shim here makes the k-th of those writes fail, for every k
of a resumed tiny run (its checkpoints, metrics records, sample grid and report).
"""

import errno
import json
import os
import shutil
import sys

import pytest
import torch
from training_helpers import tiny_overrides

from pixelcnn import atomic
from pixelcnn.cli.main import main
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training.metrics import read_records


class Faults:
    """Counts the writes through the two helpers and fails the ``fail_at``-th with ``error``."""

    def __init__(self, monkeypatch, fail_at=None, error=errno.ENOSPC):
        self.count, self.fail_at, self.error, self.failed = 0, fail_at, error, None
        real_write, real_append = atomic.atomic_write, atomic.append_text

        def write(path, fill, **kwargs):
            return real_write(path, lambda f: (self._tick(path), fill(f)), **kwargs)

        def append(path, text):
            try:
                self._tick(path)
            except OSError as e:
                raise atomic.write_error(path, e) from None
            return real_append(path, text)

        monkeypatch.setattr(atomic, "atomic_write", write)
        monkeypatch.setattr(atomic, "append_text", append)

    def _tick(self, path):
        self.count += 1
        if self.count == self.fail_at:
            self.failed = str(path)
            raise OSError(self.error, os.strerror(self.error))


def resume(run):
    return main(["-q", "train", "--resume", str(run), "train.max_steps=4"])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny run checkpointed at step 2, with its metrics, samples and report."""
    root = tmp_path_factory.mktemp("faults")
    import numpy as np

    rng = np.random.default_rng(0)
    images = (rng.random((50, 8, 8)) * 255).astype(np.uint8)
    np.savez(root / "tiny.npz", train=images[:40], test=images[40:])
    run = root / "base"
    overrides = tiny_overrides(root / "tiny.npz", "train.max_steps=2", "train.log_every=1", "train.precision=fp32")
    assert main(["-q", "train", "--out", str(run), *overrides]) == 0
    return run


def check_intact(run, base):
    """The run still holds everything the base run had saved, and no temporary file."""
    assert json.loads((run / "config.json").read_text()) == json.loads((base / "config.json").read_text())
    model = ckpt.load(run)  # the latest checkpoint is complete and loads
    assert all(torch.isfinite(p).all() for p in model.state_dict().values())
    assert ckpt.read_state(ckpt.resolve_checkpoint(run))["step"] >= 2  # the base's, or a later complete one
    before = [r for r in read_records(base / "metrics.jsonl") if r["kind"] != "test"]  # the resume redoes the test
    after = read_records(run / "metrics.jsonl")
    assert after[: len(before)] == before
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".step-")]


def test_a_write_fault_at_every_write_of_a_run_loses_nothing(base, tmp_path, monkeypatch, capsys):
    counting = Faults(monkeypatch)
    assert resume(shutil.copytree(base, tmp_path / "count")) == 0
    points = counting.count
    print(f"{points} writes")
    assert points >= 10  # checkpoint files, latest, metrics records, samples, report
    capsys.readouterr()
    for k in range(1, points + 1):
        error = (errno.ENOSPC, errno.EFBIG, errno.EIO)[k % 3]
        run = shutil.copytree(base, tmp_path / f"k{k}")
        faults = Faults(monkeypatch, fail_at=k, error=error)
        assert resume(run) == 2, f"write {k} ({faults.failed})"
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error: cannot write" in err and os.strerror(error) in err, (k, err)
        assert ".tmp" not in err and "Traceback" not in err
        check_intact(run, base)
    monkeypatch.undo()
    assert resume(run) == 0  # once the disk has room again, the run finishes
    assert ckpt.read_state(ckpt.resolve_checkpoint(run))["step"] == 4


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_an_append_past_the_file_size_limit_is_cut_back_to_the_old_end(tmp_path):
    import resource
    import signal

    log = tmp_path / "metrics.jsonl"
    log.write_text('{"kind": "train", "step": 1}\n')
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails with EFBIG
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (log.stat().st_size + 10, limits[1]))
        with pytest.raises(atomic.WriteError, match="File too large") as caught:
            atomic.append_text(log, "x" * 100 + "\n")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous)
    assert caught.value.errno == errno.EFBIG
    assert log.read_text() == '{"kind": "train", "step": 1}\n'  # the 10 bytes that fitted were cut back


def test_a_failed_replace_keeps_the_old_file_and_names_the_target(tmp_path):
    target = tmp_path / "config.json"
    target.write_text("old")

    def fill(f):
        f.write(b"new, half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / ".config.json.x.tmp"))

    with pytest.raises(atomic.WriteError, match=f"cannot write {target}: No space left on device$"):
        atomic.atomic_write(target, fill)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["config.json"]


def test_checkpoint_directories_get_the_permissions_of_mkdir(base):
    mode = os.stat(ckpt.resolve_checkpoint(base)).st_mode & 0o777
    assert mode == atomic.dir_mode() and mode & 0o055  # not mkdtemp's 0700
