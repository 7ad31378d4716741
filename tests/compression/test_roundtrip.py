"""Lossless coding: exact round trips over the registry, sizes near -log2 p(x), damaged files caught."""

import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import pixelcnn
from helpers import PAIRS, small_model
from pixelcnn.compression import HEADER_BYTES, CompressedFileError, compress, decompress, ideal_bits

LEVELS, SIZE = 5, (2, 3)


def real_images(n: int, channels: int, levels: int = LEVELS, size=SIZE) -> torch.Tensor:
    """Crops of the MNIST digits shipped in the package, quantised: images with real structure."""
    with np.load(Path(pixelcnn.__file__).parent / "data" / "mnist5k.npz") as archive:
        digits = archive[archive.files[0]][:n * channels].reshape(n, channels, 28, 28)
    crop = torch.from_numpy(np.ascontiguousarray(digits[:, :, 12:12 + size[0], 10:10 + size[1]]))
    return crop.long() * levels // 256


@pytest.mark.parametrize("name,likelihood", PAIRS)
@pytest.mark.parametrize("channels", [1, 3])
def test_round_trip_is_exact_for_every_preset(name, likelihood, channels):
    model = small_model(name, channels=channels, levels=LEVELS, size=SIZE, likelihood=likelihood).float()
    noise = torch.randint(0, LEVELS, (2, channels, *SIZE), generator=torch.Generator().manual_seed(1))
    real = real_images(1, channels)
    assert len(real.unique()) > 2
    images = torch.cat([noise, real])
    assert torch.equal(decompress(model, compress(model, images)), images)


def test_batches_split_the_images_and_the_decoder_follows():
    model = small_model("pixelcnn-seed", channels=3, levels=LEVELS, size=SIZE, likelihood="logistic-mixture").float()
    images = torch.cat([real_images(3, 3), torch.randint(0, LEVELS, (2, 3, *SIZE))])
    data = compress(model, images, batch=2)  # three batches, the last one uneven
    assert torch.equal(decompress(model, data), images)


def test_size_is_the_ideal_code_length_plus_the_header():
    torch.manual_seed(0)
    model = pixelcnn.create_model("pixelcnn-seed", levels=8, image_size=(6, 6), hidden=16, layers=2)
    images = real_images(40, 1, levels=8, size=(6, 6))
    data = compress(model, images)
    payload = len(data) - HEADER_BYTES - 4 * len(images)
    ideal = ideal_bits(model, images) / 8
    assert ideal * 0.999 - 1 <= payload <= ideal * 1.01 + 8, (payload, ideal)
    assert compress(model, images) == data  # deterministic


def test_coding_distributions_are_the_likelihood():
    """The product of each step's coding probabilities of the true colours is p(x) itself, to the
    rounding of the bins: each is a difference of CDF values in [0, 1], off by a few units in the
    last place at most, so a bin of probability p is off by about ``eps / p`` relatively."""
    for likelihood in ("categorical", "logistic-mixture"):
        model = small_model("pixelcnn", channels=3, levels=LEVELS, size=SIZE, likelihood=likelihood)
        lik = model.likelihood
        x = real_images(2, 3)
        with torch.no_grad():
            params = model(x)  # [B, P, H, W]
        assert params.dtype == torch.float64
        width = 3 // lik.groups
        total = torch.zeros(2, dtype=torch.float64)
        slack = torch.zeros(2, dtype=torch.float64)  # the rounding the bins admit, in nats
        for i in range(SIZE[0]):
            for j in range(SIZE[1]):
                for g in range(lik.groups):
                    steps = lik.coding_steps(params[:, :, i, j], g)
                    probs = next(steps)  # [B, L]: each colour's, given the earlier ones sent
                    for n in range(width):
                        ch = g * width + n
                        assert torch.allclose(probs.sum(-1), torch.ones(2, dtype=probs.dtype))
                        coded = probs.gather(1, x[:, ch, i, j, None]).squeeze(1)
                        total += coded.log()
                        slack += 16 * torch.finfo(coded.dtype).eps / coded
                        if n + 1 < width:
                            probs = steps.send(x[:, ch, i, j])
        error = (total - model.log_prob(x).detach()).abs()
        assert (error <= slack + 1e-12).all(), (likelihood, error, slack)
        assert slack.max() < 1e-2  # the test still tells a wrong distribution from rounding


def test_levels_the_model_calls_impossible_still_code():
    """A level of probability 0 (a categorical's logit of -inf) gets a nonzero frequency from the coder."""
    model = small_model("pixelcnn-seed", channels=1, levels=LEVELS, size=SIZE).float()
    images = torch.full((2, 1, *SIZE), LEVELS - 1)
    with torch.no_grad():
        bias = model.network.head[-1].bias
        assert bias.numel() == LEVELS
        bias[LEVELS - 1] = -math.inf
    assert float(model.log_prob(images).detach().max()) == -math.inf
    assert torch.equal(decompress(model, compress(model, images)), images)


@pytest.fixture(scope="module")
def coded():
    model = small_model("pixelcnn-seed", channels=1, levels=LEVELS, size=SIZE).float()
    images = real_images(3, 1)
    return model, images, compress(model, images)


def refit(data: bytes, offset: int, fmt: str, value) -> bytes:
    """``data`` with one field changed and its file checksum made to match again."""
    body = bytearray(data[:-4])
    struct.pack_into(fmt, body, offset, value)
    return bytes(body) + struct.pack("<I", zlib.crc32(body))


def test_every_damaged_byte_is_caught(coded):
    model, images, data = coded
    for k in range(len(data)):
        bad = bytearray(data)
        bad[k] ^= 0x41
        with pytest.raises(CompressedFileError):
            decompress(model, bytes(bad))


@pytest.mark.parametrize("cut,expected", [(0, "empty"), (5, "not a pixelcnn"), (9, "truncated"),
                                          (30, "truncated"), (-1, "truncated"), (-5, "truncated")])
def test_truncated_and_empty_files(coded, cut, expected):
    model, _, data = coded
    with pytest.raises(CompressedFileError, match=expected):
        decompress(model, data[:cut] if cut >= 0 else data[:len(data) + cut])


def test_foreign_future_and_other_model_files(coded, tmp_path):
    model, images, data = coded
    with pytest.raises(CompressedFileError, match="not a pixelcnn"):
        decompress(model, b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(CompressedFileError, match="format version 4, newer"):
        decompress(model, refit(data, 8, "<H", 4))
    for old in (1, 2):
        with pytest.raises(CompressedFileError, match=f"format version {old}, whose coder computed other"):
            decompress(model, refit(data, 8, "<H", old))
    with pytest.raises(CompressedFileError, match="damaged"):
        decompress(model, data + b"\0")
    other = small_model("pixelcnn-seed", channels=1, levels=LEVELS, size=SIZE, seed=1).float()
    with torch.no_grad():
        next(other.parameters()).add_(1e-3)
    with pytest.raises(CompressedFileError, match="another model"):
        decompress(other, data)


def test_a_decoder_that_disagrees_is_a_clear_error(coded):
    """A checksum that does not match what was decoded (as different floats would give) is caught."""
    model, images, data = coded
    with pytest.raises(CompressedFileError, match="decoded differently"):
        decompress(model, refit(data, 46 + 4, "<I", 12345))  # the second image's checksum


def test_a_stream_the_decoder_cannot_follow_is_a_clear_error(coded, monkeypatch):
    """Probabilities other than the encoder's can walk constriction's decoder out of the range
    they allow; it then asserts (seen decoding a file of an earlier build): one clear line."""
    import constriction

    class Refusing:
        def __init__(self, words):
            pass

        def decode(self, family, probs):
            raise AssertionError("Tried to decode from compressed data that is invalid for the employed entropy model.")

    model, _, data = coded
    monkeypatch.setattr(constriction.stream.queue, "RangeDecoder", Refusing)
    with pytest.raises(CompressedFileError, match="does not decode with this model's probabilities.*build"):
        decompress(model, data)


def test_bad_images_are_refused(coded):
    model, images, _ = coded
    with pytest.raises(pixelcnn.PixelCNNError, match="levels must lie"):
        compress(model, images + LEVELS)
    with pytest.raises(pixelcnn.PixelCNNError, match="shape"):
        compress(model, images[:, :, :1])
    assert math.isfinite(ideal_bits(model, images))
