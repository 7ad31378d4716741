import json

import pytest
import torch

import pixelcnn
from pixelcnn.errors import ConfigError, PixelCNNError
from pixelcnn.models import config_from_dict, config_to_dict, preset_config


def test_registry_lists_the_presets():
    names = pixelcnn.list_models()
    assert {"pixelcnn", "pixelcnn-seed"} <= set(names)


@pytest.mark.parametrize("name", pixelcnn.list_models())
def test_config_round_trips_through_json(name):
    config = preset_config(name, levels=7, image_size=(9, 11))
    again = config_from_dict(json.loads(json.dumps(config_to_dict(config))))
    assert again == config and type(again) is type(config)


def test_seed_preset_matches_the_tutorial_design():
    model = pixelcnn.create_model("pixelcnn-seed")
    convs = [m for m in model.modules() if isinstance(m, pixelcnn.nn.MaskedConv2d)]
    spatial = [m for m in convs if m.kernel == (7, 7)]
    assert len(spatial) == 8 and spatial[0].kind == "A" and all(m.kind == "B" for m in spatial[1:])
    assert all(m.out_channels == 64 for m in spatial)
    assert convs[-1].kernel == (1, 1) and convs[-1].out_channels == 256
    x = torch.randint(0, 256, (2, 1, 28, 28))
    assert model(x).shape == (2, 256, 28, 28)  # categorical parameters: C * L channels


def test_pixelcnn_preset_is_residual_with_1x1_output_layers():
    model = pixelcnn.create_model("pixelcnn", in_channels=3, image_size=(8, 8))
    convs = [m for m in model.modules() if isinstance(m, pixelcnn.nn.MaskedConv2d)]
    assert convs[0].kernel == (7, 7) and convs[0].kind == "A"
    assert [m.kernel for m in convs[1:4]] == [(1, 1), (3, 3), (1, 1)]
    assert all(m.kernel == (1, 1) for m in convs[-2:])


def test_unknown_model_and_setting():
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        pixelcnn.create_model("nope")
    with pytest.raises(ConfigError, match="unknown pixelcnn setting"):
        pixelcnn.create_model("pixelcnn", colour=3)
    with pytest.raises(ConfigError, match=r"levels must be in \[2, 65536\]"):
        pixelcnn.create_model("pixelcnn", levels=70_000)
    with pytest.raises(ConfigError, match="multiple of 6"):
        pixelcnn.create_model("pixelcnn", in_channels=3, hidden=64)


@pytest.fixture(scope="module")
def model():
    return pixelcnn.create_model("pixelcnn", levels=4, image_size=(5, 5), hidden=12, layers=1, head=6)


@pytest.mark.parametrize(
    "x,message",
    [
        (torch.zeros(2, 5, 5, dtype=torch.long), r"shape \[B, 1, 5, 5\], got \[2, 5, 5\]"),
        (torch.zeros(2, 3, 5, 5, dtype=torch.long), r"shape \[B, 1, 5, 5\], got \[2, 3, 5, 5\]"),
        (torch.zeros(2, 1, 6, 5, dtype=torch.long), r"got \[2, 1, 6, 5\]"),
        (torch.zeros(2, 1, 5, 5), "integer levels in \\[0, 4\\), got dtype torch.float32"),
        (torch.full((2, 1, 5, 5), 4), r"levels must lie in \[0, 4\), got values in \[4, 4\]"),
        (torch.full((2, 1, 5, 5), -1), r"got values in \[-1, -1\]"),
    ],
)
def test_bad_images_get_clear_errors(model, x, message):
    with pytest.raises(PixelCNNError, match=message):
        model.log_prob(x)


def test_uint8_levels_are_accepted(model):
    x = torch.randint(0, 4, (2, 1, 5, 5))
    assert torch.equal(model.log_prob(x.to(torch.uint8)), model.log_prob(x))


def test_conditioning_errors(model):
    x = torch.zeros(2, 1, 5, 5, dtype=torch.long)
    with pytest.raises(PixelCNNError, match="not class-conditional"):
        model.log_prob(x, torch.tensor([1, 2]))
    cond_model = pixelcnn.create_model("pixelcnn", levels=4, image_size=(5, 5), hidden=12, layers=1, head=6, num_classes=3)
    with pytest.raises(PixelCNNError, match=r"labels must lie in \[0, 3\)"):
        cond_model.log_prob(x, torch.tensor([1, 3]))
    with pytest.raises(PixelCNNError, match=r"labels have shape \[1\], expected \[2\]"):
        cond_model.log_prob(x, torch.tensor([1]))


def test_checkpoints_saved_by_version_0_1_0_still_load():
    """A checkpoint of the code before likelihoods were named (its model config has no
    ``likelihood`` field) loads as a categorical model and scores as that code did."""
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "checkpoint-v0.1.0"
    golden = json.loads((fixture / "golden.json").read_text())
    saved = json.loads((fixture / "checkpoints" / "step-000000002" / "config.json").read_text())
    assert "likelihood" not in saved["model"]  # really the old format
    model = pixelcnn.load(fixture)
    assert model.likelihood.name == "categorical"
    x = torch.randint(0, 4, (2, 3, 6, 6), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(model.log_prob(x), torch.tensor(golden["log_prob"]), atol=1e-4)


def test_labels_are_checked_in_one_place_with_one_phrasing(tmp_path):
    """Files, data sets, a model's cond and the CLI's --class all say the same about bad labels."""
    import numpy as np

    from pixelcnn.data import load_dataset
    from pixelcnn.errors import DataError
    from pixelcnn.labels import check_label, check_labels

    assert check_labels(np.array([0, 2], np.uint8), n=2, classes=3).dtype == torch.int64
    for labels in (torch.tensor([0.5, 1.0]), np.array([True, False])):
        with pytest.raises(DataError, match=r"labels have dtype .*, expected integers"):
            check_labels(labels)
    with pytest.raises(DataError, match=r"f.npz\['images'\]: labels must lie in \[0, \.\.\.\), got -1..2"):
        np.savez(tmp_path / "f.npz", images=np.zeros((3, 2, 2), np.uint8), labels=np.array([-1, 0, 2]))
        load_dataset(str(tmp_path / "f.npz"), "all")
    model = pixelcnn.create_model("pixelcnn", levels=4, image_size=(3, 3), hidden=12, layers=1, head=6, num_classes=3)
    with pytest.raises(PixelCNNError, match=r"labels must lie in \[0, 3\), got 1..3"):
        model.log_prob(torch.zeros(2, 1, 3, 3, dtype=torch.long), torch.tensor([1, 3]))
    with pytest.raises(ConfigError, match=r"--class must be in \[0, 3\), got 3"):
        check_label(3, 3, "--class")


def test_checkpoints_saved_before_likelihood_modules_still_load():
    """A checkpoint whose model config holds ``mixtures`` beside ``likelihood`` (and whose run
    config overrides ``model.mixtures``) loads with the mixtures moved into the likelihood's
    options, scores as the code that wrote it did, and its run config still resolves."""
    from pathlib import Path

    from pixelcnn.config import from_dict
    from pixelcnn.training.checkpoint import read_meta

    fixture = Path(__file__).parent / "fixtures" / "checkpoint-v0.1.1"
    golden = json.loads((fixture / "golden.json").read_text())
    saved = json.loads((fixture / "checkpoints" / "step-000000002" / "config.json").read_text())
    assert saved["model"]["mixtures"] == 3 and saved["run"]["model"]["overrides"]["mixtures"] == 3  # the old format
    model = pixelcnn.load(fixture)
    assert model.config.likelihood == {"name": "logistic-mixture", "mixtures": 3}
    assert model.likelihood.mixtures == 3
    x = torch.randint(0, 4, (2, 3, 6, 6), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(model.log_prob(x), torch.tensor(golden["log_prob"]), atol=1e-4)
    run = from_dict(read_meta(fixture)["run"])
    assert run.model.overrides["likelihood"] == {"name": "logistic-mixture", "mixtures": 3}
