"""The whole VQ-VAE path through the CLI at tiny size: train, resume (exactly as an uninterrupted
run), encode every split to codes a prior can read, decode them back; and bad input, one line each
before any work."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import pixelcnn
from pixelcnn.cli.main import main
from pixelcnn.data import load_dataset
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training.metrics import read_records
from pixelcnn.vqvae.figures import reconstruct

TINY = ["model.hidden=8", "model.res_hidden=4", "model.res_blocks=1", "model.code_dim=4", "model.bottom_codes=16",
        "model.top_codes=8", "train.batch_size=8", "train.epochs=0", "train.sample_count=4", "train.progress=false",
        "train.log_every=2", "train.eval_batch_size=64", "train.threads=1", "train.precision=fp32"]


def images_npz(path, n=72, channels=1, size=12, seed=0):
    """``n`` images (the last 12 the test split) of bright rectangles on dark, with 3 classes of labels."""
    rng = np.random.default_rng(seed)
    images = (rng.random((n, channels, size, size)) * 40).astype(np.uint8)
    for image in images:
        top, left = rng.integers(0, size // 2, 2)
        image[:, top:top + size // 2, left:left + 3] = 220
    labels = rng.integers(0, 3, n)
    squeeze = images[:, 0] if channels == 1 else images
    np.savez(path, train=squeeze[:-12], test=squeeze[-12:], train_labels=labels[:-12], test_labels=labels[-12:])
    return path


def train(run, npz, *extra):
    return main(["-q", "vqvae", "train", "--out", str(run), f"data.name={npz}", *TINY, *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny two-map run (10 steps: an epoch end at step 7) and its data."""
    root = tmp_path_factory.mktemp("vq")
    npz = images_npz(root / "digits.npz")
    assert train(root / "run", npz, "train.max_steps=10", "train.ema_decay=0.9") == 0
    return root / "run", npz


def weights(run, name):
    return load_file(str(ckpt.resolve_checkpoint(run) / name))


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(trained, tmp_path):
    run, npz = trained
    assert train(tmp_path / "part", npz, "train.max_steps=4", "train.ema_decay=0.9") == 0
    assert main(["-q", "vqvae", "train", "--resume", str(tmp_path / "part"), "train.max_steps=10"]) == 0
    for name in ("model.safetensors", "ema.safetensors"):
        whole, resumed = weights(run, name), weights(tmp_path / "part", name)
        assert whole.keys() == resumed.keys() and any("codebook" in k for k in whole)
        assert all(torch.equal(whole[k], resumed[k]) for k in whole), name
    ema = weights(run, "ema.safetensors")
    model = weights(run, "model.safetensors")
    assert torch.equal(ema["quantisers.bottom.codebook"], model["quantisers.bottom.codebook"])  # copied, not averaged


def test_the_run_records_reconstruction_figures_pictures_and_a_report(trained):
    run, _ = trained
    records = read_records(run / "metrics.jsonl")
    train_records = [r for r in records if r["kind"] == "train"]
    assert train_records and all("loss" in r and "bpd" not in r for r in train_records)
    for kind in ("valid", "test"):
        last = [r for r in records if r["kind"] == kind][-1]
        assert {"psnr", "mse", "top_used", "top_perplexity", "bottom_used", "bottom_perplexity"} <= set(last)
        assert 0 < last["bottom_used"] <= 1 and 1 <= last["bottom_perplexity"] <= 16
    assert (run / "reconstructions" / "epoch-0001.png").is_file() and (run / "reconstructions" / "final.png").is_file()
    page = (run / "report.html").read_text()
    assert "Reconstructions over epochs" in page and "PSNR" in page and "Completions" not in page
    meta = json.loads((run / "config.json").read_text())
    assert meta["model_kind"] == "vqvae" and meta["model"]["arch"] == "vqvae"


def test_pixelcnn_load_gives_the_vq_vae(trained):
    run, _ = trained
    vq, info = pixelcnn.load_run(run)
    assert isinstance(vq, pixelcnn.vqvae.VQVAE) and info.model_kind == "vqvae" and not vq.training
    assert isinstance(pixelcnn.vqvae.load(run, weights="raw"), pixelcnn.vqvae.VQVAE)


def test_encode_writes_every_split_and_the_codes_decode_to_the_reconstructions(trained, tmp_path, capsys):
    run, npz = trained
    out = tmp_path / "codes.npz"
    assert main(["vqvae", "encode", "--checkpoint", str(run), "--data", str(npz), "--out", str(out),
                 "--batch-size", "5"]) == 0
    assert "top 2x2 of 8 codes, bottom 3x3 of 16 codes" in capsys.readouterr().out
    with np.load(out) as codes:
        splits = ("train", "valid", "test")
        assert sorted(codes.files) == sorted([f"{m}_{s}" for m in ("top", "bottom") for s in splits]
                                             + [f"{s}_labels" for s in splits])
        assert codes["top_test"].shape == (12, 2, 2) and codes["bottom_train"].shape[1:] == (3, 3)
        assert len(codes["bottom_train"]) + len(codes["top_valid"]) == 60  # valid carved off train, as in the run
        assert codes["bottom_test"].dtype == np.uint8 and codes["test_labels"].dtype == np.int64
        top, bottom = (torch.from_numpy(codes[f"{m}_test"]) for m in ("top", "bottom"))
        labels = codes["test_labels"]
    vq = pixelcnn.vqvae.load(run)
    test = load_dataset(str(npz), "test")
    assert np.array_equal(labels, test.labels.numpy())
    given = pixelcnn.vqvae.encode(vq, test.images)
    assert torch.equal(given["top"], top.long()) and torch.equal(given["bottom"], bottom.long())
    images = pixelcnn.vqvae.decode(vq, top=top, bottom=bottom)
    with torch.inference_mode():
        assert torch.equal(images, reconstruct(vq, test.images.long())[0])
    # the codes are what a prior reads
    prior = ["-q", "train", "--out", str(tmp_path / "prior"), "--data", str(out), "data.kind=codes",
             "data.field=bottom", "data.levels=16", "model.name=pixelcnn-seed", "model.hidden=8", "model.layers=1",
             "train.epochs=0", "train.max_steps=2", "train.sample_count=0", "train.progress=false"]
    assert main(prior) == 0


def test_a_one_map_vq_vae_writes_bottom_codes_only(tmp_path):
    npz = images_npz(tmp_path / "d.npz", n=30)
    assert train(tmp_path / "run", npz, "model.maps=1", "train.max_steps=2", "train.sample_count=0") == 0
    out = tmp_path / "codes.npz"
    assert main(["-q", "vqvae", "encode", "--checkpoint", str(tmp_path / "run"), "--data", str(npz),
                 "--out", str(out)]) == 0
    with np.load(out) as codes:
        assert not [k for k in codes.files if k.startswith("top")] and codes["bottom_test"].shape == (12, 3, 3)


@pytest.fixture(scope="module")
def prior_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("prior")
    npz = images_npz(root / "d.npz", n=30)
    assert main(["-q", "train", "--out", str(root / "run"), f"data.name={npz}", "model.name=pixelcnn-seed",
                 "model.hidden=4", "model.layers=1", "train.epochs=0", "train.max_steps=1", "train.sample_count=0",
                 "train.progress=false"]) == 0
    return root / "run"


def bad_cases(root, run, prior, npz):
    encode = ["vqvae", "encode", "--checkpoint", str(run), "--out", str(root / "codes.npz")]
    train_vq = ["vqvae", "train", "--out", str(root / "new"), f"data.name={npz}", *TINY, "train.max_steps=1"]
    return [
        ("other-size", [*encode, "--data", str(images_npz(root / "small.npz", size=8))],
         "holds images of 1 channel of 8x8; this VQ-VAE was trained on 1 channel of 12x12"),
        ("other-channels", [*encode, "--data", str(images_npz(root / "rgb.npz", channels=3))],
         "holds images of 3 channels of 12x12; this VQ-VAE was trained on 1 channel of 12x12"),
        ("missing-data", [*encode, "--data", str(root / "none.npz")], "unknown data set"),
        ("missing-run", ["vqvae", "encode", "--checkpoint", str(root / "nothing"), "--data", str(npz), "--out",
                         str(root / "codes.npz")], "no checkpoint at"),
        ("not-npz", ["vqvae", "encode", "--checkpoint", str(run), "--data", str(npz), "--out", str(root / "c.npy")],
         "the codes go to an .npz file"),
        ("exists", [*encode[:-1], str(root / "exists.npz"), "--data", str(npz)], "exists; give --force"),
        ("prior-encodes", ["vqvae", "encode", "--checkpoint", str(prior), "--data", str(npz), "--out",
                           str(root / "codes.npz")], "holds an autoregressive model, not a VQ-VAE"),
        ("vq-samples", ["sample", "--checkpoint", str(run), "--out", str(root / "s.png")],
         "holds a VQ-VAE, not an autoregressive model (trained with pixelcnn vqvae train)"),
        ("vq-eval", ["eval", "--checkpoint", str(run)], "holds a VQ-VAE, not an autoregressive model"),
        ("vq-field", ["receptive-field", "--checkpoint", str(run), "--pixel", "0,0"], "holds a VQ-VAE"),
        ("vq-with-train", ["train", "--config", "vqvae-mnist5k", "--out", str(root / "new")],
         "model.name = vqvae is not an autoregressive model"),
        ("vq-resume-with-train", ["train", "--resume", str(run)], "it is a VQ-VAE: train it with pixelcnn vqvae train"),
        ("prior-with-vqvae", [*train_vq, "model.name=pixelcnn-pp"],
         "model.name = pixelcnn-pp is not a VQ-VAE (known: vqvae); it is an autoregressive model: train it with "
         "pixelcnn train"),
        ("unknown-vqvae", [*train_vq, "model.name=vqvae-xl"], "model.name = vqvae-xl is not a VQ-VAE (known: vqvae)"),
        ("levels", [*train_vq, "data.levels=16"], "a VQ-VAE reads 8-bit images: data.levels must be 256"),
        ("codes", [*train_vq, f"data.name={root / 'exists.npz'}", "data.kind=codes"],
         "a VQ-VAE encodes images: data.kind must be pixels"),
        ("conditional", [*train_vq, "data.conditional=true"], "a VQ-VAE is not class-conditional"),
        ("maps", [*train_vq, "model.maps=3"], "model.maps must be one of 1, 2, got 3"),
        ("stride", [*train_vq, "model.bottom_stride=6"], "vqvae.bottom_stride must be a power of 2, got 6"),
        ("unknown-field", [*train_vq, "model.layers=3"], "unknown vqvae setting(s) ['layers']"),
    ]


CASE_IDS = ["other-size", "other-channels", "missing-data", "missing-run", "not-npz", "exists", "prior-encodes",
            "vq-samples", "vq-eval", "vq-field", "vq-with-train", "vq-resume-with-train", "prior-with-vqvae",
            "unknown-vqvae", "levels", "codes", "conditional", "maps", "stride", "unknown-field"]


@pytest.mark.parametrize("case", CASE_IDS)
def test_bad_input_is_one_line_before_any_work(case, trained, prior_run, tmp_path, capsys):
    run, npz = trained
    (tmp_path / "exists.npz").write_bytes(b"keep")
    cases = {name: (argv, fragment) for name, argv, fragment in bad_cases(tmp_path, run, prior_run, npz)}
    assert sorted(cases) == sorted(CASE_IDS)
    argv, fragment = cases[case]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err
    assert not (tmp_path / "codes.npz").exists() and not (tmp_path / "new").exists()
    assert (tmp_path / "exists.npz").read_bytes() == b"keep"


def test_force_replaces_the_codes(trained, tmp_path):
    run, npz = trained
    (tmp_path / "codes.npz").write_bytes(b"old")
    assert main(["-q", "vqvae", "encode", "--checkpoint", str(run), "--data", str(npz), "--out",
                 str(tmp_path / "codes.npz"), "--force"]) == 0
    with np.load(tmp_path / "codes.npz") as codes:
        assert "top_train" in codes.files
