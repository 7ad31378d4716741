"""The cached sampler gives the reference sampler's samples, and samples follow the model."""

import itertools

import pytest
import torch

import pixelcnn
from helpers import CACHED_PAIRS, declares_cached, small_model, step_blocks
from pixelcnn.errors import PixelCNNError
from pixelcnn.nn import Cache, MaskedConv2d, Step


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", pixelcnn.list_models())
def test_every_preset_declares_a_cached_sampler(name):
    assert declares_cached(name)


def test_a_network_without_a_cached_sampler_falls_back_to_the_reference_and_says_so(caplog):
    model = small_model("pixelcnn", channels=3, levels=4, size=(3, 3))
    expected = model.sample(2, generator=gen(3), method="reference")
    model.network.supports_cached = False  # as a network without an incremental pass declares it
    with caplog.at_level("WARNING", logger="pixelcnn"):
        got = model.sample(2, generator=gen(3), method="fast")
    assert torch.equal(got, expected)
    assert "no cached sampler" in caplog.text and "reference sampler" in caplog.text


@pytest.mark.parametrize("name,likelihood", CACHED_PAIRS)
@pytest.mark.parametrize("channels", [1, 3])
def test_fast_and_reference_samplers_agree(name, likelihood, channels):
    model = small_model(name, channels=channels, levels=5, size=(5, 6), likelihood=likelihood)
    fast = model.sample(4, generator=gen(3), method="fast")
    slow = model.sample(4, generator=gen(3), method="reference")
    assert fast.shape == (4, channels, 5, 6) and fast.dtype == torch.long
    assert torch.equal(fast, slow)
    assert len(fast.unique()) > 1


@pytest.mark.parametrize("name,likelihood", CACHED_PAIRS)
@pytest.mark.parametrize("channels", [1, 3])
def test_cached_parameters_equal_the_full_network_at_every_step(name, likelihood, channels):
    model = small_model(name, channels=channels, levels=5, size=(4, 5), likelihood=likelihood)
    blocks = step_blocks(model)
    seen = {}

    def record(i, j, g, params):
        seen[(i, j, g)] = params.clone()

    images = model.sample(3, generator=gen(1), on_step=record)
    assert len(seen) == len(blocks) * 4 * 5
    with torch.no_grad():
        full = model(images)  # [B, P, H, W]
    for (i, j, g), params in seen.items():
        block = blocks[g][1]  # only the step's own block is meaningful
        assert torch.allclose(params[:, block], full[:, block, i, j], atol=1e-5), (i, j, g)


@pytest.mark.parametrize("name,likelihood", CACHED_PAIRS)
def test_completion_keeps_known_subpixels(name, likelihood):
    model = small_model(name, channels=3, levels=4, size=(4, 4), likelihood=likelihood)
    truth = torch.randint(0, 4, (3, 3, 4, 4), generator=gen(5))
    mask = torch.zeros(3, 3, 4, 4, dtype=torch.bool)
    mask[:, :, :2] = True  # top half known
    mask[1, 1, 3, 2] = True  # and a scattered sub-pixel of one image
    fast, slow = (model.sample(3, known=truth, known_mask=mask, generator=gen(2), method=m) for m in ("fast", "reference"))
    assert torch.equal(fast[mask], truth[mask]) and torch.equal(slow[mask], truth[mask])
    assert torch.equal(fast, slow)


def test_completion_with_everything_known_returns_the_input():
    model = small_model("pixelcnn", channels=1, levels=4, size=(3, 3))
    truth = torch.randint(0, 4, (2, 1, 3, 3))
    out = model.sample(2, known=truth, known_mask=torch.ones_like(truth, dtype=torch.bool))
    assert torch.equal(out, truth)


def test_completion_mask_may_broadcast():
    model = small_model("pixelcnn", channels=1, levels=4, size=(3, 3))
    truth = torch.randint(0, 4, (1, 3, 3))
    mask = torch.zeros(1, 3, 3, dtype=torch.bool)
    mask[0, 0] = True
    out = model.sample(5, known=truth, known_mask=mask, generator=gen())
    assert torch.equal(out[:, 0, 0], truth[0, 0].expand(5, 3))


def test_temperature_zero_is_deterministic_argmax():
    model = small_model("pixelcnn", channels=3, levels=4, size=(3, 3))
    a = model.sample(3, temperature=0, generator=gen(1))
    b = model.sample(3, temperature=0, generator=gen(99))
    assert torch.equal(a, b)
    assert torch.equal(a[0], a[1])  # no randomness: every image the same
    with torch.no_grad():
        logits = model.likelihood.logits(model(a))  # [B, C, L, H, W]
    assert torch.equal(logits.argmax(dim=2), a)  # each sub-pixel is its conditional's mode


def test_samples_follow_the_model_distribution():
    """Chi-square goodness of fit of 20,000 samples against the exact probabilities of all 9 images."""
    model = small_model("pixelcnn", channels=1, levels=3, size=(1, 2), seed=3)
    images = torch.tensor(list(itertools.product(range(3), repeat=2))).view(9, 1, 1, 2)
    with torch.no_grad():
        p = model.log_prob(images).exp()
    n = 20000
    samples = model.sample(n, generator=gen(11))
    index = samples[:, 0, 0, 0] * 3 + samples[:, 0, 0, 1]
    counts = torch.bincount(index, minlength=9).double()
    expected = n * p
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 26.1  # chi-square with 8 degrees of freedom, p = 0.001
    hot = model.sample(n, generator=gen(12), temperature=2.0)
    hot_index = hot[:, 0, 0, 0] * 3 + hot[:, 0, 0, 1]
    hot_counts = torch.bincount(hot_index, minlength=9).double()
    assert float(((hot_counts - expected) ** 2 / expected).sum()) > 26.1  # temperature changes it


def test_same_generator_same_samples_and_bad_options():
    model = small_model("pixelcnn-seed", channels=1, levels=4, size=(3, 3))
    assert torch.equal(model.sample(2, generator=gen(4)), model.sample(2, generator=gen(4)))
    assert not torch.equal(model.sample(8, generator=gen(4)), model.sample(8, generator=gen(5)))
    with pytest.raises(PixelCNNError, match="unknown sampling method"):
        model.sample(1, method="slow")
    with pytest.raises(PixelCNNError, match="temperature"):
        model.sample(1, temperature=-1)
    with pytest.raises(PixelCNNError, match="both known and known_mask"):
        model.sample(1, known=torch.zeros(1, 1, 3, 3, dtype=torch.long))
    for n in (0, -1, 2.5, True, "3"):
        with pytest.raises(PixelCNNError, match="number of images"):
            model.sample(n)


def test_a_conditional_model_needs_its_condition():
    model = small_model("gated-pixelcnn", channels=1, levels=4, size=(3, 3), num_classes=3, cond_dim=2)
    x = torch.zeros(2, 1, 3, 3, dtype=torch.long)
    vectors = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(PixelCNNError, match="class-conditional"):
        model.sample(2, cond=vectors)
    with pytest.raises(PixelCNNError, match="class-conditional"):
        model.log_prob(x)
    with pytest.raises(PixelCNNError, match="conditioned on vectors"):
        model.log_prob(x, torch.tensor([0, 1]))
    assert model.log_prob(x, {"labels": torch.tensor([0, 1]), "vector": vectors}).shape == (2,)


@pytest.mark.parametrize("kind,kernel,groups", [("A", 5, 3), ("B", 3, 3), ("B", 1, 3), ("B", (1, 5), 1), ("V", 3, 1)])
def test_each_conv_step_matches_the_full_convolution(kind, kernel, groups):
    """Layer-level parity: a conv fed one region at a time reproduces its full output."""
    torch.manual_seed(0)
    conv = MaskedConv2d(6, 9, kernel, kind, colour_groups=groups).double()
    x = torch.randn(2, 6, 4, 5, dtype=torch.float64)
    full = conv(x)
    cache = Cache(2, 4, 5)
    for i in range(4):
        if kind == "V":
            out = conv(Step.row(cache, i).region(x), Step.row(cache, i))
            assert torch.allclose(out, full[:, :, i : i + 1], atol=1e-12)
            continue
        for j in range(5):
            for c in range(groups):
                step = Step.pixel(cache, i, j, c if groups > 1 else None)
                out = conv(step.region(x), step)
                sl = slice(c * 3, (c + 1) * 3) if groups > 1 else slice(None)
                assert torch.allclose(out[:, sl], full[:, sl, i : i + 1, j : j + 1], atol=1e-12)


@pytest.mark.parametrize("name,likelihood", CACHED_PAIRS)
def test_completion_starting_inside_a_pixel_and_a_row(name, likelihood):
    """The known prefix ends after the R of pixel (2, 3): the cached run is prefilled by one full
    pass and starts at that pixel, mid-row (its known R drawn and discarded, or given to the
    mixture); it must still match the reference."""
    model = small_model(name, channels=3, levels=4, size=(4, 5), likelihood=likelihood)
    truth = torch.randint(0, 4, (2, 3, 4, 5), generator=gen(8))
    mask = torch.zeros_like(truth, dtype=torch.bool)
    mask[:, :, :2] = True
    mask[:, :, 2, :3] = True
    mask[:, 0, 2, 3] = True
    seen = []
    fast = model.sample(2, known=truth, known_mask=mask, generator=gen(4), on_step=lambda i, j, c, p: seen.append((i, j, c)))
    slow = model.sample(2, known=truth, known_mask=mask, generator=gen(4), method="reference")
    assert seen[0] == (2, 3, 0)
    assert torch.equal(fast, slow) and torch.equal(fast[mask], truth[mask])


@pytest.mark.parametrize("method", ["fast", "reference"])
def test_completion_stops_after_the_last_unknown_subpixel(method):
    """Only the first row unknown: the sampler takes W*C steps, not H*W*C, and still fills it."""
    model = small_model("pixelcnn", channels=3, levels=4, size=(4, 5))
    truth = torch.randint(0, 4, (2, 3, 4, 5), generator=gen(3))
    mask = torch.ones_like(truth, dtype=torch.bool)
    mask[:, :, 0] = False
    seen = []
    out = model.sample(2, known=truth, known_mask=mask, generator=gen(6), method=method,
                       on_step=lambda i, j, c, p: seen.append((i, j, c)))
    assert seen == [(0, j, c) for j in range(5) for c in range(3)]
    assert torch.equal(out[mask], truth[mask])


def test_sampling_in_batches_and_per_class_is_the_library_s():
    from pixelcnn.sampling import per_class_labels, sample_in_batches

    model = small_model("pixelcnn-seed", channels=1, levels=4, size=(3, 3), num_classes=3)
    labels = per_class_labels(model, 2)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]
    got = sample_in_batches(model, 6, cond=labels, batch_size=4, generator=gen(5))
    g = gen(5)  # the same stream, drawn by hand in the same batches
    expected = torch.cat([model.sample(4, cond=labels[:4], generator=g), model.sample(2, cond=labels[4:], generator=g)])
    assert torch.equal(got, expected)
    with pytest.raises(PixelCNNError, match="not class-conditional"):
        per_class_labels(small_model("pixelcnn-seed"), 2)
    with pytest.raises(PixelCNNError, match="3 conditions for 6 images"):
        sample_in_batches(model, 6, cond=labels[:3])
