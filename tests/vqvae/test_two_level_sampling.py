"""VQ-VAE-2's sampling path through the CLI at tiny size: encode, a top prior, a bottom prior given
the top codes, then pixelcnn sample --then --decoder writes decoded images; a decoder whose
codebooks do not match the priors is one line before any sampling."""

import numpy as np

from pixelcnn.cli.main import main

from test_vqvae_cli import images_npz, train

PRIOR = ["data.kind=codes", "model.name=pixelcnn-seed", "model.hidden=8", "model.layers=1", "model.kernel=3",
         "train.batch_size=8", "train.epochs=0", "train.max_steps=2", "train.sample_count=2", "train.progress=false",
         "train.threads=1"]


def test_top_then_bottom_then_the_decoder(tmp_path, capsys):
    npz = images_npz(tmp_path / "pics.npz")
    assert train(tmp_path / "vq", npz, "train.max_steps=2") == 0  # codebooks: top 8, bottom 16 codes
    codes = tmp_path / "codes.npz"
    assert main(["-q", "vqvae", "encode", "--checkpoint", str(tmp_path / "vq"), "--data", str(npz),
                 "--out", str(codes)]) == 0
    assert main(["-q", "train", "--data", str(codes), "--out", str(tmp_path / "top"), *PRIOR,
                 "data.field=top", "data.levels=8"]) == 0
    assert main(["-q", "train", "--data", str(codes), "--out", str(tmp_path / "bottom"), *PRIOR,
                 "data.field=bottom", "data.cond_field=top", "data.levels=16"]) == 0
    out = tmp_path / "grid.png"
    base = ["sample", "--checkpoint", str(tmp_path / "top"), "--then", str(tmp_path / "bottom"), "-n", "3"]
    assert main([*base, "--decoder", str(tmp_path / "vq"), "--out", str(out)]) == 0
    drawn = np.load(tmp_path / "grid.npz")
    assert drawn["images"].shape == (3, 1, 12, 12) and drawn["images"].dtype == np.uint8
    assert drawn["top"].shape == (3, 2, 2) and drawn["bottom"].shape == (3, 3, 3) and out.is_file()
    assert drawn["top"].max() < 8 and drawn["bottom"].max() < 16
    # a top prior over 9 levels does not fit a top codebook of 8: refused before any draw
    assert main(["-q", "train", "--data", str(codes), "--out", str(tmp_path / "top9"), *PRIOR,
                 "data.field=top", "data.levels=9"]) == 0
    capsys.readouterr()
    wrong = ["sample", "--checkpoint", str(tmp_path / "top9"), "--then", str(tmp_path / "bottom"), "-n", "3"]
    assert main([*wrong, "--decoder", str(tmp_path / "vq"), "--out", str(tmp_path / "g2.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "draws 9 codes" in err, err
