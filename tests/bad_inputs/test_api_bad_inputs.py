"""Bad input to the Python API raises a PixelCNNError subclass (never a bare torch or Python
error) with a message naming what was wrong, and changes nothing already saved."""

import json

import pytest
import torch
from bad_helpers import tiny_args, tree_hash

import pixelcnn
from pixelcnn import CheckpointError, ConfigError, PixelCNNError
from pixelcnn.config import DataSection, RunConfig, TrainSection, from_dict, resolve
from pixelcnn.training import Trainer

def tiny_model(**extra):
    return pixelcnn.create_model("pixelcnn-seed", levels=4, image_size=(8, 8), hidden=8, layers=1, **extra)


CASES = [
    # id, call(runs, tmp_path), the exception type, a fragment of its message
    ("create-hidden-negative", lambda r, t: pixelcnn.create_model("pixelcnn", hidden=-4), ConfigError,
     "pixelcnn.hidden must be >= 1"),
    ("create-hidden-text", lambda r, t: pixelcnn.create_model("pixelcnn", hidden="wide"), ConfigError,
     "must be an integer"),
    ("create-levels", lambda r, t: pixelcnn.create_model("gated-pixelcnn", levels=1), ConfigError,
     "gated.levels must be in [2, 65536]"),
    ("create-size-length", lambda r, t: pixelcnn.create_model("pixelcnn", image_size=[3]), ConfigError,
     "image_size must be a list of 2"),
    ("create-size-zero", lambda r, t: pixelcnn.create_model("pixelcnn", image_size=(0, 5)), ConfigError,
     "image_size must be >= 1"),
    ("create-classes", lambda r, t: pixelcnn.create_model("gated-pixelcnn", num_classes=-1), ConfigError,
     "num_classes must be >= 0"),
    ("create-unknown-field", lambda r, t: pixelcnn.create_model("pixelcnn", width=3), ConfigError, "width"),
    ("create-unknown-model", lambda r, t: pixelcnn.create_model("pixelcnn-xl"), ConfigError, "unknown model"),
    ("create-kernel-even", lambda r, t: pixelcnn.create_model("pixelcnn", kernel=4), ConfigError, "odd"),
    ("run-config-nan", lambda r, t: resolve(None, ["train.lr=nan"]), ConfigError, "finite"),
    ("section-direct", lambda r, t: TrainSection(grad_clip=-1.0), ConfigError, "train.grad_clip must be >= 0"),
    ("section-direct-type", lambda r, t: DataSection(levels="many"), ConfigError, "data.levels must be an integer"),
    ("section-direct-inf", lambda r, t: TrainSection(max_minutes=float("inf")), ConfigError, "finite"),
    ("run-config-list", lambda r, t: from_dict([1, 2]), ConfigError, "mapping of sections"),
    ("run-config-model-overrides", lambda r, t: RunConfig(model=pixelcnn.config.ModelSection(overrides={"hidden": 0})),
     ConfigError, "model.hidden must be >= 1"),
    ("load-cuda", lambda r, t: _skip_with_cuda() or pixelcnn.load(r["plain"], device="cuda"), ConfigError,
     "no CUDA device"),
    ("load-device-unknown", lambda r, t: pixelcnn.load(r["plain"], device="tpu"), ConfigError, "unknown device"),
    ("load-weights", lambda r, t: pixelcnn.load(r["plain"], weights="best"), ConfigError, "weights must be"),
    ("load-missing", lambda r, t: pixelcnn.load(t / "none"), CheckpointError, "does not exist"),
    ("load-not-a-run", lambda r, t: pixelcnn.load(r["root"]), CheckpointError, "not a pixelcnn checkpoint"),
    ("trainer-resume-checkpoint-dir",
     lambda r, t: Trainer(_saved_config(r["plain"]), r["plain"] / "checkpoints" / "step-000000002", resume=True),
     CheckpointError, "resume the run with --resume"),
    ("trainer-resume-nothing", lambda r, t: Trainer(_saved_config(r["plain"]), t / "none", resume=True),
     CheckpointError, "does not exist"),
    ("trainer-out-under-file", lambda r, t: Trainer(resolve(None, tiny_args(r["npz"])), r["root"] / "a-file" / "x"),
     CheckpointError, "is not a directory"),
    ("trainer-empty-set", lambda r, t: Trainer(resolve(None, tiny_args(r["root"] / "empty.npy")), t / "x"),
     PixelCNNError, "no images"),
    ("log-prob-floats", lambda r, t: tiny_model().log_prob(torch.rand(2, 1, 8, 8)), PixelCNNError, "integer levels"),
    ("log-prob-shape", lambda r, t: tiny_model().log_prob(torch.zeros(2, 1, 9, 8, dtype=torch.long)), PixelCNNError,
     "shape"),
    ("log-prob-levels", lambda r, t: tiny_model().log_prob(torch.full((1, 1, 8, 8), 4)), PixelCNNError, "[0, 4)"),
    ("labels-on-plain", lambda r, t: tiny_model().log_prob(torch.zeros(1, 1, 8, 8, dtype=torch.long),
                                                          torch.zeros(1, dtype=torch.long)),
     PixelCNNError, "not class-conditional"),
    ("sample-zero", lambda r, t: tiny_model().sample(0), PixelCNNError, "number of images must be >= 1"),
    ("sample-negative", lambda r, t: tiny_model().sample(-1), PixelCNNError, "number of images must be >= 1"),
    ("sample-float", lambda r, t: tiny_model().sample(2.5), PixelCNNError, "whole number"),
    ("sample-bool", lambda r, t: tiny_model().sample(True), PixelCNNError, "whole number"),
    ("sample-cond-without-labels", lambda r, t: tiny_model(num_classes=3).sample(1), PixelCNNError,
     "class-conditional"),
    ("log-prob-cond-without-labels",
     lambda r, t: tiny_model(num_classes=3).log_prob(torch.zeros(1, 1, 8, 8, dtype=torch.long)),
     PixelCNNError, "class-conditional"),
    ("unknown-likelihood", lambda r, t: tiny_model(likelihood="gaussian"), PixelCNNError, "likelihood"),
    ("mixtures-zero", lambda r, t: tiny_model(likelihood={"name": "logistic-mixture", "mixtures": 0}), PixelCNNError,
     "mixtures"),
    ("option-of-another-likelihood", lambda r, t: tiny_model(likelihood={"name": "categorical", "mixtures": 2}),
     PixelCNNError, "no option mixtures"),
    ("mixtures-as-a-network-field", lambda r, t: tiny_model(mixtures=2), PixelCNNError, "model.likelihood.mixtures"),
    ("unknown-input", lambda r, t: tiny_model(input="onehot"), PixelCNNError, "unknown input encoder"),
    ("embedding-dim-zero", lambda r, t: tiny_model(input={"name": "embedding", "dim": 0}), PixelCNNError, "dim"),
    ("weight-norm-on-gated-typo", lambda r, t: pixelcnn.create_model("gated-pixelcnn", norm="batch"), PixelCNNError,
     "norm"),
]


def _params(cases):
    return [pytest.param(*c[1:4], id=c[0], marks=c[4:]) for c in cases]


@pytest.mark.parametrize("call,error,fragment", _params(CASES))
def test_bad_api_input_raises_a_pixelcnn_error(runs, tmp_path, call, error, fragment):
    saved = {name: tree_hash(runs[name]) for name in ("plain", "cond")}
    with pytest.raises(error) as info:
        call(runs, tmp_path)
    assert isinstance(info.value, PixelCNNError)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert saved == {name: tree_hash(runs[name]) for name in ("plain", "cond")}


def test_levels_is_reachable_from_the_package():
    import pixelcnn as p

    assert p.levels.to_levels(torch.tensor([0, 255], dtype=torch.uint8), 2).tolist() == [0, 1]


def _saved_config(run):
    return from_dict(json.loads((run / "config.json").read_text())["run"])


def _skip_with_cuda():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
