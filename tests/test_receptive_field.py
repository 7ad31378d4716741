"""The receptive-field inspector: gradients against the region the masks allow, renderings, the CLI.

The expected regions are computed here from the masks alone: an output reads
the Minkowski sum of the offsets its layers' kernels open (per architecture),
so the blind spot of PixelCNN and its absence in Gated PixelCNN are derived,
not copied from the code under test.
"""

import json

import pytest
import torch
from PIL import Image

import pixelcnn
from pixelcnn.errors import ConfigError
from pixelcnn.evaluation import receptive_field, render_png, render_text
from pixelcnn.evaluation.fields import COLOURS, BLIND, SEEN, TARGET, earlier
from pixelcnn.models import preset_config
from pixelcnn.nn import spatial_mask, support_box
from pixelcnn.cli.main import main

SMALL = {  # still a blind spot for the PixelCNNs; reach well inside a 20x21 image at (10, 10)
    "pixelcnn-seed": {"hidden": 16, "layers": 2},  # 7x7 mask A, two 7x7 mask B: reach 9
    "pixelcnn": {"hidden": 16, "layers": 2, "head": 16},  # 7x7 mask A, two 3x3 blocks: reach 5
    "gated-pixelcnn": {"hidden": 8, "layers": 2, "head": 8},  # reach 6 rows up, 5 columns
}
SIZE, PIXEL = (20, 21), (10, 10)
# the architectures whose expected fields are derived from their masks (PixelCNN++ has none:
# tests/test_pixelcnn_pp.py checks that it sees every earlier sub-pixel)
MASKED = [name for name in pixelcnn.list_models() if name in SMALL]


# ---- the region the masks allow, from the masks alone ------------------------------------------

def taps(kernel, kind) -> set:
    """Offsets ``(di, dj)`` of the inputs a layer with this mask reads."""
    m = spatial_mask(kernel, kind)
    return {(a - m.shape[0] // 2, b - m.shape[1] // 2) for a, b in m.nonzero().tolist()}


def box(kernel, kind) -> set:
    """The same kernel with its mask opened over its box."""
    top, bottom, left, right = support_box(spatial_mask(kernel, kind))
    return {(a, b) for a in range(-top, bottom + 1) for b in range(-left, right + 1)}


def plus(a: set, b: set) -> set:
    return {(i + k, j + l) for i, j in a for k, l in b}


def pixelcnn_offsets(cfg, layer) -> set:
    total, step = layer(cfg.kernel_in, "A"), layer(cfg.kernel, "B")
    if cfg.block == "residual":
        step = step | {(0, 0)}  # the skip path of a residual block
    for _ in range(cfg.layers):
        total = plus(total, step)
    return total


def gated_offsets(cfg, layer) -> set:
    """Vertical stack shifted down a row into a horizontal stack with residual connections."""
    down = lambda s: {(i - 1, j) for i, j in s}  # noqa: E731
    v = layer(cfg.kernel_in, "V")
    h = layer((1, cfg.kernel_in), "A") | down(v)
    for _ in range(cfg.layers):
        v = plus(v, layer(cfg.kernel, "V"))
        h = plus(h, layer((1, cfg.kernel), "B")) | down(v)
    return h


def expected(name: str, size, pixel, layer, **overrides) -> torch.Tensor:
    """bool ``[1, H, W]``: the earlier sub-pixels that ``layer`` (taps or box) lets the output at ``pixel`` read."""
    cfg = preset_config(name, **overrides)
    offsets = gated_offsets(cfg, layer) if cfg.ARCH == "gated" else pixelcnn_offsets(cfg, layer)
    out = torch.zeros(1, *size, dtype=torch.bool)
    for di, dj in offsets:
        i, j = pixel[0] + di, pixel[1] + dj
        if 0 <= i < size[0] and 0 <= j < size[1]:
            out[0, i, j] = True
    return out & earlier((1, *size), pixel, 0)


# ---- the field ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", MASKED)
def test_field_and_reach_are_what_the_masks_allow(name):
    field = receptive_field(name, PIXEL, size=SIZE, **SMALL[name])
    assert torch.equal(field.seen, expected(name, SIZE, PIXEL, taps, **SMALL[name]))
    assert torch.equal(field.reach, expected(name, SIZE, PIXEL, box, **SMALL[name]))
    k = field.counts()
    assert k["leaks"] == 0 and k["out_of_reach"] > 0
    assert (k["blind"] == 0) == (name == "gated-pixelcnn")


def test_gated_pixelcnn_sees_everything_before_the_pixel():
    field = receptive_field("gated-pixelcnn", (5, 5), size=10)  # the preset's 8 layers reach all of it
    k = field.counts()
    assert k["earlier"] == 5 * 10 + 5
    assert k["seen"] == k["earlier"] and k["blind"] == 0 and k["out_of_reach"] == 0
    assert torch.equal(field.seen, field.earlier)


@pytest.mark.parametrize("name", ["pixelcnn-seed", "pixelcnn"])
def test_pixelcnn_blind_spot_is_up_and_to_the_right(name):
    field = receptive_field(name, PIXEL, size=SIZE, **SMALL[name])
    i, j = PIXEL
    seen, blind = field.seen[0], field.blind[0]
    assert seen[i - 1, j + 3] and seen[i, j - 1] and seen[i - 1, j - 3]  # a 7x7 mask A reads these
    assert blind[i - 1, j + 4] and blind[i - 1, j + 5]  # no stack of causal kernels reaches these
    # two rows up: two 7x7 steps reach 6 columns right; mask A then a 3x3 block reach 4
    right = {"pixelcnn-seed": 6, "pixelcnn": 4}[name]
    assert seen[i - 2, j + right] and blind[i - 2, j + right + 1]
    assert not seen[i:, :].flatten()[j:].any()  # nothing at or after the target


@pytest.mark.parametrize("name", MASKED)
def test_colour_order_within_a_pixel(name):
    overrides = {**SMALL[name], "in_channels": 3, "hidden": 24, **({"head": 24} if "head" in SMALL[name] else {})}
    field = receptive_field(name, (3, 3), channel=1, size=(6, 6), **overrides)
    assert field.seen[0, 3, 3]  # G reads R of its own pixel
    assert not field.seen[1, 3, 3] and not field.seen[2, 3, 3]  # not itself, not B
    assert field.seen[2, 3, 2]  # B of the pixel to the left
    assert field.counts()["leaks"] == 0
    assert field.kinds()[1, 3, 3] == TARGET


def test_a_model_object_keeps_its_weights_and_is_not_modified():
    model = pixelcnn.create_model("pixelcnn-seed", hidden=8, layers=1, levels=4, image_size=(6, 6))
    masks = [m.clone() for m in model.buffers()]
    assert receptive_field(model, (3, 3)).counts()["seen"] > 0
    with torch.no_grad():
        model.network.output_layer.weight.zero_()
        model.network.output_layer.bias.zero_()
    assert receptive_field(model, (3, 3)).counts()["seen"] == 0  # uniform distributions depend on nothing
    assert all(torch.equal(a, b) for a, b in zip(masks, model.buffers()))
    assert next(model.parameters()).dtype == torch.float32


def test_same_generator_same_field_and_global_rng_untouched():
    state = torch.get_rng_state()
    a = receptive_field("pixelcnn", (2, 3), size=(5, 6), generator=torch.Generator().manual_seed(3), hidden=8, layers=1)
    b = receptive_field("pixelcnn", (2, 3), size=(5, 6), generator=torch.Generator().manual_seed(3), hidden=8, layers=1)
    assert torch.equal(a.seen, b.seen) and torch.equal(a.reach, b.reach)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("call, message", [
    (lambda: receptive_field("pixelcnn-seed", (28, 3)), "outside the 28x28 image"),
    (lambda: receptive_field("pixelcnn-seed", (3, -1)), "outside"),
    (lambda: receptive_field("pixelcnn-seed", (3, 3), channel=1), "channel 1 is out of range"),
    (lambda: receptive_field("pixelcnn-seed", (3, 3.5)), "two integers"),
    (lambda: receptive_field("no-such-model", (3, 3)), "unknown model"),
    (lambda: receptive_field("pixelcnn-seed", (3, 3), size=(0, 4)), "image_size"),
    (lambda: receptive_field(pixelcnn.create_model("pixelcnn-seed"), (3, 3), levels=2), "preset name"),
    (lambda: receptive_field(pixelcnn.create_model("pixelcnn-seed"), (3, 3), size=(4, 0)), "size"),
    (lambda: receptive_field(42, (3, 3)), "preset name or a pixelcnn model"),
])
def test_bad_input_is_a_config_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


# ---- renderings --------------------------------------------------------------------------------

def test_text_marks_each_kind_of_cell():
    field = receptive_field("pixelcnn-seed", PIXEL, size=SIZE, **SMALL["pixelcnn-seed"])
    lines = render_text(field).splitlines()
    cell = lambda i, j: lines[i][2 * j]  # noqa: E731  cells are separated by spaces
    i, j = PIXEL
    assert len(lines) == SIZE[0] + 1 and len(lines[0]) == 2 * SIZE[1] - 1
    assert cell(i, j) == "X"
    assert cell(i - 1, j + 3) == "#" and cell(i, j - 9) == "#"
    assert cell(i - 1, j + 4) == "o"
    assert cell(0, 0) == "-" and cell(i, j - 10) == "-"  # 10 rows up and 10 columns left: beyond a reach of 9
    assert cell(i, j + 1) == "." and cell(SIZE[0] - 1, 0) == "."
    assert "blind spot" in lines[-1]


def test_text_has_a_block_per_colour():
    field = receptive_field("gated-pixelcnn", (1, 1), channel=2, size=(3, 4), in_channels=3, hidden=12, layers=1,
                            head=12)
    blocks = render_text(field).split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["channel 0 (R):", "channel 1 (G):", "channel 2 (B):"]
    assert blocks[1].splitlines()[2] == "# # . ."  # G of (1, 1) is earlier than the target B
    assert blocks[2].splitlines()[2] == "# X . ."


def test_the_module_docstring_example_is_what_the_code_prints():
    import sys

    doc = sys.modules["pixelcnn.evaluation.fields"].__doc__
    drawn = [line[4:29] for line in doc.split("::")[1].strip("\n").splitlines()[:8]]
    field = receptive_field("pixelcnn", (6, 6), size=(8, 13), layers=2)
    assert drawn == render_text(field).splitlines()[:8]


@pytest.mark.parametrize("channels", [1, 3])
def test_png_has_the_documented_layout(tmp_path, channels):
    h, w, scale = 7, 9, 8
    field = receptive_field("pixelcnn-seed", (4, 4), size=(h, w), in_channels=channels, hidden=6 * channels,
                            layers=1, kernel=3)
    bare = render_png(field, tmp_path / "sub" / "bare.png", scale=scale, legend=False)
    picture = Image.open(bare).convert("RGB")
    title = scale if channels > 1 else 0
    panels = channels * (w * scale + 1) + (channels - 1) * scale
    assert picture.size == (2 * scale + panels, 2 * scale + title + h * scale + 1)
    centre = lambda i, j, c=0: picture.getpixel(  # noqa: E731
        (scale + c * (w * scale + 1 + scale) + j * scale + scale // 2, scale + title + i * scale + scale // 2))
    assert centre(4, 4) == COLOURS[TARGET]
    assert centre(3, 3) == COLOURS[SEEN]
    legend = Image.open(render_png(field, tmp_path / "legend.png", scale=scale))
    assert legend.height == picture.height + 2 * scale and legend.width >= picture.width


def test_png_shows_the_blind_spot(tmp_path):
    field = receptive_field("pixelcnn-seed", PIXEL, size=SIZE, **SMALL["pixelcnn-seed"])
    picture = Image.open(render_png(field, tmp_path / "rf.png", scale=6, legend=False)).convert("RGB")
    i, j = PIXEL[0] - 1, PIXEL[1] + 4
    assert picture.getpixel((6 + j * 6 + 3, 6 + i * 6 + 3)) == COLOURS[BLIND]


# ---- the CLI -----------------------------------------------------------------------------------

def test_cli_draws_gated_pixelcnn(tmp_path, capsys):
    out = tmp_path / "rf.png"
    assert main(["receptive-field", "--model", "gated-pixelcnn", "--pixel", "14,14", "--out", str(out)]) == 0
    Image.open(out).verify()
    text = capsys.readouterr().out
    assert "seen 241 of 406 earlier sub-pixels; blind spot: 0; out of reach: 165" in text
    assert f"wrote {out}" in text
    assert text.splitlines()[14].split()[14] == "X"


def test_cli_json_counts_for_a_colour_preset(capsys):
    assert main(["receptive-field", "--model", "gated-pixelcnn", "--pixel", "2,3", "--size", "5", "--channels", "3",
                 "--channel", "2", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["earlier"] == (2 * 5 + 3) * 3 + 2 and counts["size"] == [5, 5] and counts["channels"] == 3
    assert counts["seen"] + counts["blind"] + counts["out_of_reach"] == counts["earlier"]
    assert counts["leaks"] == 0


def test_cli_reads_a_checkpoint(tmp_path, capsys):
    from pixelcnn.models import config_to_dict
    from pixelcnn.training.checkpoint import FORMAT, FORMAT_VERSION, save_checkpoint

    model = pixelcnn.create_model("gated-pixelcnn", hidden=4, layers=1, head=4, levels=4, image_size=(5, 6))
    from pixelcnn.config import resolve, to_dict

    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": config_to_dict(model.config),
            "data": {"name": "mnist5k", "levels": 4, "binarize": "none", "num_classes": 0, "class_names": []},
            "run": to_dict(resolve(None, ["train.ema_decay=0"]))}  # no EMA file: a run that kept none
    save_checkpoint(tmp_path / "run", meta, model.state_dict(), None, {"step": 1})
    assert main(["receptive-field", "--checkpoint", str(tmp_path / "run"), "--pixel", "2,2", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["earlier"] == 14 and counts["leaks"] == 0 and counts["seen"] > 0
    assert main(["receptive-field", "--checkpoint", str(tmp_path / "run"), "--pixel", "2,2", "--channels", "3"]) == 2


@pytest.mark.parametrize("argv, message", [
    (["--model", "pixelcnn", "--pixel", "40,3"], "pixel (40, 3) is outside the 28x28 image"),
    (["--model", "pixelcnn", "--pixel", "3;4"], "--pixel must look like I,J"),
    (["--model", "pixelcnn", "--pixel", "3,4", "--size", "4,5,6"], "--size must look like H,W"),
    (["--model", "pixelcnn", "--pixel", "3,4", "--channel", "1"], "channel 1 is out of range"),
    (["--model", "nope", "--pixel", "3,4"], "unknown model 'nope'"),
])
def test_cli_bad_input_is_one_line_and_status_2(argv, message, capsys):
    assert main(["receptive-field", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
    assert captured.err.startswith("pixelcnn receptive-field: error: ")


# ---- the full presets (the README pictures) ----------------------------------------------------

@pytest.mark.parametrize("name", MASKED)
def test_full_presets_at_28x28(name):
    field = receptive_field(name, (14, 14))
    assert torch.equal(field.seen, expected(name, (28, 28), (14, 14), taps))
    assert torch.equal(field.reach, expected(name, (28, 28), (14, 14), box))
    assert field.counts()["blind"] == {"pixelcnn-seed": 22, "pixelcnn": 55, "gated-pixelcnn": 0}[name]
