"""Refuse what is broken before any work: non-finite weights, a missing EMA file, outputs that
cannot be written (score, report), and work too large for memory (sample, complete, score, the API)."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import pixelcnn
from pixelcnn.cli.main import main
from pixelcnn.errors import CheckpointError, PixelCNNError
from pixelcnn.training import checkpoint as ckpt


def one_line(capsys, *words):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def poison(run, file):
    path = ckpt.resolve_checkpoint(run) / file
    tensors = load_file(path)
    key = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[key] = torch.full_like(tensors[key], float("nan"))
    save_file(tensors, str(path))
    return key


@pytest.mark.parametrize("file", ["model.safetensors", "ema.safetensors"])
def test_non_finite_weights_are_refused_on_load(damaged, tmp_path, capsys, file):
    key = poison(damaged, file)
    weights = "raw" if file == "model.safetensors" else "ema"
    with pytest.raises(CheckpointError, match=f"non-finite weights .*{key}"):
        pixelcnn.load(damaged, weights=weights)
    assert main(["sample", "--checkpoint", str(damaged), "--weights", weights, "-n", "2",
                 "--out", str(tmp_path / "s.png")]) == 2
    one_line(capsys, "non-finite weights", file)
    assert not (tmp_path / "s.png").exists()


def test_a_missing_ema_file_is_an_error_naming_it(damaged, tmp_path, capsys):
    ema = ckpt.resolve_checkpoint(damaged) / "ema.safetensors"
    ema.unlink()
    with pytest.raises(CheckpointError, match="ema.safetensors is missing"):
        pixelcnn.load(damaged)
    pixelcnn.load(damaged, weights="raw")  # the training weights when asked for
    for weights in ([], ["--weights", "ema"]):
        assert main(["sample", "--checkpoint", str(damaged), *weights, "-n", "2", "--out", str(tmp_path / "s.png")]) == 2
        one_line(capsys, str(ema), "--weights raw")
    assert main(["-q", "train", "--resume", str(damaged), "train.max_steps=5"]) == 2
    one_line(capsys, str(ema), "cannot resume")
    assert main(["sample", "--checkpoint", str(damaged), "--weights", "raw", "-n", "2",
                 "--out", str(tmp_path / "s.png")]) == 0


def test_a_run_without_ema_uses_its_training_weights(runs):
    pixelcnn.load(runs["cond"])  # train.ema_decay = 0: no EMA file to miss


def test_score_checks_every_output_before_the_work(runs, tmp_path, capsys):
    (tmp_path / "maps-file").write_text("x")
    base = ["score", "--checkpoint", str(runs["plain"]), "--images", f"{runs['npz']}:test"]
    assert main([*base, "--out", str(tmp_path / "x.csv"), "--maps", str(tmp_path / "maps-file")]) == 2
    one_line(capsys, "--maps", "is a file")
    assert not (tmp_path / "x.csv").exists()
    assert main([*base, "--out", str(tmp_path)]) == 2
    one_line(capsys, "is a directory")
    assert main(["report", str(runs["plain"]), "--out", str(tmp_path)]) == 2
    one_line(capsys, "is a directory")


def test_a_reused_maps_folder_keeps_no_stale_maps(runs, tmp_path, capsys):
    np.save(tmp_path / "three.npy", np.zeros((3, 8, 8), np.uint8))
    np.save(tmp_path / "two.npy", np.zeros((2, 8, 8), np.uint8))
    maps = tmp_path / "maps"
    (tmp_path / "maps").mkdir()
    (maps / "notes.txt").write_text("mine")  # not a map: left alone
    for images in ("three.npy", "two.npy"):
        assert main(["score", "--checkpoint", str(runs["plain"]), "--images", str(tmp_path / images),
                     "--out", str(tmp_path / "s.csv"), "--maps", str(maps)]) == 0
    assert sorted(p.name for p in maps.iterdir()) == ["00000.png", "00001.png", "maps.npz", "notes.txt"]
    capsys.readouterr()


def test_work_too_large_for_memory_is_refused_up_front(runs, tmp_path, capsys):
    model = pixelcnn.load(runs["plain"])
    with pytest.raises(PixelCNNError, match=r"sampling 1,000,000,000 images at once needs about .* GiB .* available"):
        model.sample(10**9)
    out = str(tmp_path / "s.png")
    for args in (["-n", "100000000"], ["-n", "4", "--scale", "100000"]):
        assert main(["sample", "--checkpoint", str(runs["plain"]), *args, "--out", out]) == 2
        one_line(capsys, "needs about", "available")
    assert main(["complete", "--checkpoint", str(runs["plain"]), "--data", str(runs["npz"]), "--split", "test",
                 "--keep-rows", "2", "-n", "100000000", "--out", out]) == 2
    one_line(capsys, "completions", "needs about")
    assert main(["score", "--checkpoint", str(runs["plain"]), "--images", f"{runs['npz']}:test",
                 "--batch-size", "10000000000", "--out", str(tmp_path / "s.csv")]) == 0  # the batch is capped by N
    capsys.readouterr()
    from pixelcnn.evaluation.scoring import score_images

    with pytest.raises(PixelCNNError, match="scoring .* needs about"):
        score_images(model, torch.zeros(1, 1, 8, 8, dtype=torch.long).expand(10**9, 1, 8, 8))
