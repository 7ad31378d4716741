"""Per-image scores and per-pixel maps: the maps add up to the exact likelihood; bad files are skipped."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

import pixelcnn
from helpers import small_model
from pixelcnn.evaluation.scoring import rank_descending, score_images, score_source


@pytest.mark.parametrize("name", pixelcnn.list_models())
@pytest.mark.parametrize("channels", [1, 3])
def test_per_pixel_maps_sum_to_the_image_nll(name, channels):
    model = small_model(name, channels=channels, levels=5, size=(4, 5))
    x = torch.randint(0, 5, (7, channels, 4, 5), generator=torch.Generator().manual_seed(1))
    scores = score_images(model, x, batch_size=3)
    nll = -model.log_prob(x).detach()
    assert scores.maps.shape == (7, 4, 5)
    assert torch.allclose(scores.maps.double().sum((1, 2)), nll, rtol=1e-5)
    assert torch.allclose(scores.nats, nll, rtol=1e-6)
    assert torch.allclose(scores.bits_per_dim, nll / (channels * 20 * math.log(2)), rtol=1e-6)
    # a pixel's map value is its own surprise: changing the last pixel changes only the last cell
    y = x.clone()
    y[:, :, -1, -1] = (y[:, :, -1, -1] + 1) % 5
    changed = score_images(model, y).maps != scores.maps
    assert not changed[:, :-1].any() and not changed[:, -1, :-1].any()


def test_ranks_put_the_least_likely_first_and_share_ties():
    ranks = rank_descending(torch.tensor([3.0, 9.0, 3.0, 1.0, 9.0]))
    assert ranks.tolist() == [3, 1, 3, 5, 1]


def _png(path, array):
    Image.fromarray(array).save(path)


def test_a_folder_with_a_corrupt_file_scores_the_rest_and_names_it(tmp_path):
    model = small_model("pixelcnn-seed", channels=1, levels=4, size=(8, 8))
    rng = np.random.default_rng(0)
    folder = tmp_path / "pics"
    folder.mkdir()
    for k in range(3):
        _png(folder / f"ok{k}.png", (rng.random((8, 8)) * 255).astype(np.uint8))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    _png(folder / "big.png", (rng.random((10, 12)) * 255).astype(np.uint8))
    _png(folder / "colour.png", (rng.random((8, 8, 3)) * 255).astype(np.uint8))
    _png(folder / "gray-as-rgb.png", np.repeat((rng.random((8, 8, 1)) * 255).astype(np.uint8), 3, axis=2))

    scored = score_source(model, folder)
    assert scored.names == ["gray-as-rgb.png", "ok0.png", "ok1.png", "ok2.png"]
    assert len(scored.scores) == 4 and torch.isfinite(scored.scores.nats).all()
    problems = "\n".join(scored.problems)
    assert len(scored.problems) == 3
    assert "broken.png" in problems and "not a readable image" in problems
    assert "big.png" in problems and "--resize" in problems
    assert "colour.png" in problems and "--gray" in problems

    fitted = score_source(model, folder, resize=True, gray=True)
    assert len(fitted.scores) == 6 and len(fitted.problems) == 1 and "broken.png" in fitted.problems[0]
    same = [fitted.names.index(n) for n in scored.names]  # files scored both times score the same
    assert torch.equal(fitted.scores.nats[same], scored.scores.nats)


def test_arrays_are_scored_whole_or_refused_in_one_line(tmp_path):
    model = small_model("pixelcnn-seed", channels=1, levels=4, size=(8, 8))
    good, wrong = tmp_path / "good.npy", tmp_path / "wrong.npy"
    np.save(good, np.zeros((5, 8, 8), np.uint8))
    np.save(wrong, np.zeros((5, 9, 8), np.uint8))
    assert len(score_source(model, good).scores) == 5
    with pytest.raises(pixelcnn.DataError, match="wrong.npy: 9x8 pixels"):
        score_source(model, wrong)


def test_a_class_conditional_model_needs_labels_or_a_class(tmp_path):
    model = small_model("gated-pixelcnn", channels=1, levels=4, size=(8, 8), num_classes=3)
    plain, labelled = tmp_path / "plain.npy", tmp_path / "labelled.npz"
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8)).astype(np.uint8)
    np.save(plain, images)
    np.savez(labelled, images=images, labels=np.array([0, 1, 2, 1]))
    with pytest.raises(pixelcnn.DataError, match="class-conditional"):
        score_source(model, plain)
    given = score_source(model, plain, label=1)
    from_file = score_source(model, labelled)
    assert given.labels.tolist() == [1, 1, 1, 1] and from_file.labels.tolist() == [0, 1, 2, 1]
    assert torch.equal(given.scores.nats[[1, 3]], from_file.scores.nats[[1, 3]])  # same image, same class
    assert not torch.equal(given.scores.nats[0], from_file.scores.nats[0])  # the class changes the score
    with pytest.raises(pixelcnn.ConfigError, match=r"\[0, 3\)"):
        score_source(model, plain, label=3)
