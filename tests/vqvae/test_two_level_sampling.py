"""VQ-VAE-2's sampling path through the CLI at tiny size: encode, a top prior, a bottom prior given
the top codes, then pixelcnn sample --then --decoder writes decoded images; a decoder whose
codebooks do not match the priors is one line before any sampling. A prior run naming its
VQ-VAE (data.decoder) writes decoded sample grids."""

import json

import numpy as np
import pytest
from PIL import Image

from pixelcnn.cli.main import main

from test_vqvae_cli import images_npz, train

PRIOR = ["data.kind=codes", "model.name=pixelcnn-seed", "model.hidden=8", "model.layers=1", "model.kernel=3",
         "train.batch_size=8", "train.epochs=0", "train.max_steps=2", "train.sample_count=2", "train.progress=false",
         "train.threads=1"]


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """A tiny two-map VQ-VAE (12x12 images; top 2x2 maps of 8 codes, bottom 3x3 of 16) and the codes file."""
    root = tmp_path_factory.mktemp("two-level")
    npz = images_npz(root / "pics.npz")
    assert train(root / "vq", npz, "train.max_steps=2") == 0
    codes = root / "codes.npz"
    assert main(["-q", "vqvae", "encode", "--checkpoint", str(root / "vq"), "--data", str(npz),
                 "--out", str(codes)]) == 0
    return root / "vq", codes


def test_top_then_bottom_then_the_decoder(encoded, tmp_path, capsys):
    vq, codes = encoded
    assert main(["-q", "train", "--data", str(codes), "--out", str(tmp_path / "top"), *PRIOR,
                 "data.field=top", "data.levels=8"]) == 0
    assert main(["-q", "train", "--data", str(codes), "--out", str(tmp_path / "bottom"), *PRIOR,
                 "data.field=bottom", "data.cond_field=top", "data.levels=16"]) == 0
    out = tmp_path / "grid.png"
    base = ["sample", "--checkpoint", str(tmp_path / "top"), "--then", str(tmp_path / "bottom"), "-n", "3"]
    assert main([*base, "--decoder", str(vq), "--out", str(out)]) == 0
    drawn = np.load(tmp_path / "grid.npz")
    assert drawn["images"].shape == (3, 1, 12, 12) and drawn["images"].dtype == np.uint8
    assert drawn["top"].shape == (3, 2, 2) and drawn["bottom"].shape == (3, 3, 3) and out.is_file()
    assert drawn["top"].max() < 8 and drawn["bottom"].max() < 16
    # a top prior over 9 levels does not fit a top codebook of 8: refused before any draw
    assert main(["-q", "train", "--data", str(codes), "--out", str(tmp_path / "top9"), *PRIOR,
                 "data.field=top", "data.levels=9"]) == 0
    capsys.readouterr()
    wrong = ["sample", "--checkpoint", str(tmp_path / "top9"), "--then", str(tmp_path / "bottom"), "-n", "3"]
    assert main([*wrong, "--decoder", str(vq), "--out", str(tmp_path / "g2.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "draws 9 codes" in err, err


def test_a_run_naming_its_decoder_writes_decoded_sample_grids(encoded, tmp_path, monkeypatch):
    vq, codes = encoded
    run = tmp_path / "bottom"
    monkeypatch.chdir(vq.parent)
    assert main(["-q", "train", "--data", str(codes), "--out", str(run), *PRIOR, "data.field=bottom",
                 "data.cond_field=top", "data.levels=16", f"data.decoder={vq.name}"]) == 0
    saved = json.loads((run / "config.json").read_text())["run"]["data"]["decoder"]
    assert saved == str(vq)  # recorded as an absolute path, as the data are
    grid = Image.open(run / "samples" / "final.png")
    # two decoded 12x12 grey images (false-colour codes would be 3x3 RGB tiles)
    assert grid.mode == "L" and min(grid.size) >= 12, (grid.mode, grid.size)
    plain = tmp_path / "plain"
    assert main(["-q", "train", "--data", str(codes), "--out", str(plain), *PRIOR, "data.field=bottom",
                 "data.cond_field=top", "data.levels=16"]) == 0
    assert Image.open(plain / "samples" / "final.png").mode == "RGB"


@pytest.mark.parametrize("extra, message", [
    (["data.field=top", "data.levels=8"], "through its bottom prior"),  # the top map alone cannot be decoded
    (["data.field=bottom", "data.levels=16"], "gives bottom"),  # no top map given
    (["data.field=bottom", "data.cond_field=top", "data.levels=17"], "gives 17 codes on 3x3 bottom maps"),
])
def test_a_decoder_that_cannot_picture_the_prior_is_one_line_before_training(encoded, tmp_path, capsys,
                                                                              extra, message):
    vq, codes = encoded
    run = tmp_path / "run"
    capsys.readouterr()
    assert main(["-q", "train", "--data", str(codes), "--out", str(run), *PRIOR, *extra,
                 f"data.decoder={vq}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (run / "checkpoints").exists() and not (run / "metrics.jsonl").exists()


def test_a_decoder_needs_codes(tmp_path, capsys):
    assert main(["-q", "train", "--out", str(tmp_path / "r"), "data.name=mnist5k", "data.decoder=anything",
                 *PRIOR[1:]]) == 2
    assert "data.decoder decodes a VQ-VAE's code maps" in capsys.readouterr().err
