"""Plug-ins through entry points: a package installed on a temporary path (tests/plugin/) adds a
likelihood that holds a parameter and a preset; train, eval, sample and ``pixelcnn.load`` use
them with no change to the library, and a plug-in that fails to import is named, not fatal."""

import importlib
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import pixelcnn
from helpers import small_model
from pixelcnn import parts
from pixelcnn.cli.main import main
from pixelcnn.errors import PixelCNNError
from pixelcnn.likelihoods import LIKELIHOODS, make_likelihood
from pixelcnn.models import PRESETS

ENTRY_POINTS = """\
[pixelcnn.likelihoods]
biased-categorical = pixelcnn_testplugin:BiasedCategorical
broken = pixelcnn_brokenplugin:Missing

[pixelcnn.models]
tiny-plugin = pixelcnn_testplugin:register
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site directory holding the plug-in modules and their dist-info, on sys.path for the module."""
    root = tmp_path_factory.mktemp("site")
    for module in ("pixelcnn_testplugin.py", "pixelcnn_brokenplugin.py"):
        shutil.copy(Path(__file__).parent / "plugin" / module, root)
    dist = root / "pixelcnn_testplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pixelcnn-testplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield root
    sys.path.remove(str(root))  # and forget what it registered, so later tests see the plain registry
    PRESETS.pop("tiny-plugin", None)
    LIKELIHOODS._classes.pop("biased-categorical", None)
    for group in ("pixelcnn.likelihoods", "pixelcnn.models"):
        parts._PLUGINS.pop(group, None)
    for module in ("pixelcnn_testplugin", "pixelcnn_brokenplugin"):
        sys.modules.pop(module, None)


def test_the_plugin_likelihood_holds_a_parameter_and_normalises(site):
    model = pixelcnn.create_model("tiny-plugin", levels=3, image_size=(1, 2), in_channels=3).double()
    assert "likelihood.bias" in model.state_dict()
    assert any(p is model.likelihood.bias for p in model.parameters())
    images = torch.tensor(list(itertools.product(range(3), repeat=6))).view(-1, 3, 1, 2)
    with torch.no_grad():
        assert abs(float(torch.logsumexp(model.log_prob(images), 0))) < 1e-9


@pytest.mark.parametrize("name", ["pixelcnn", "pixelcnn-seed", "gated-pixelcnn", "pixelcnn-pp"])
def test_every_network_samples_the_plugin_likelihood_cached_as_the_reference(site, name):
    model = small_model(name, channels=3, levels=5, size=(3, 4), likelihood="biased-categorical")
    fast = model.sample(3, generator=torch.Generator().manual_seed(2), method="fast")
    slow = model.sample(3, generator=torch.Generator().manual_seed(2), method="reference")
    assert torch.equal(fast, slow) and len(fast.unique()) > 1


def test_a_broken_plugin_is_named_with_its_error_and_the_rest_works(site):
    with pytest.raises(PixelCNNError) as err:
        make_likelihood("gaussian", levels=4, colours=1)
    line = str(err.value)
    assert "\n" not in line and "unknown likelihood 'gaussian'" in line
    assert "biased-categorical" in line and "broken (failed: ImportError: this plug-in is broken on purpose)" in line
    assert make_likelihood("biased-categorical", levels=4, colours=1).channels == 4
    with pytest.raises(PixelCNNError, match="no option mixtures; it takes spread"):
        make_likelihood({"name": "biased-categorical", "mixtures": 2}, levels=4, colours=1)


def test_the_cli_trains_evaluates_and_samples_with_the_plugin(site, tmp_path, capsys):
    rng = np.random.default_rng(0)
    images = (rng.random((40, 6, 6)) * 255).astype(np.uint8)
    np.savez(tmp_path / "tiny.npz", train=images[:32], test=images[32:])
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), f"data.name={tmp_path / 'tiny.npz'}", "data.levels=4",
                 "model.name=tiny-plugin", "train.batch_size=16", "train.epochs=0", "train.max_steps=4",
                 "train.sample_count=2", "train.progress=false", "train.threads=1", "train.lr=0.05"]) == 0
    start = pixelcnn.create_model("tiny-plugin", levels=4, image_size=(6, 6))
    saved = load_file(str(run / (run / "latest").read_text().strip() / "model.safetensors"))
    assert not torch.allclose(saved["likelihood.bias"], start.likelihood.bias)  # the parameter trained
    loaded = pixelcnn.load(run)
    assert type(loaded.likelihood).__name__ == "BiasedCategorical"
    assert main(["eval", "--checkpoint", str(run), "--split", "test", "--json"]) == 0
    assert '"bits_per_dim"' in capsys.readouterr().out
    assert main(["sample", "--checkpoint", str(run), "-n", "2", "--out", str(tmp_path / "s.png")]) == 0
    assert np.load(tmp_path / "s.npz")["levels"].shape == (2, 1, 6, 6)


def test_a_fresh_process_finds_the_plugin_preset(site):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    out = subprocess.run([sys.executable, "-m", "pixelcnn.cli.main", "models"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "tiny-plugin" in out.stdout
