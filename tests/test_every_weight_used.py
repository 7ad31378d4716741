"""Every weight of every network x likelihood takes part in the loss.

A weight no output depends on gets no gradient; DistributedDataParallel then
waits for it forever ("parameters that were not used in producing loss"), and
it is dead weight in every checkpoint. Checked for grey and colour images,
with and without class conditioning.
"""

import pytest
import torch

from helpers import PAIRS, small_model


@pytest.mark.parametrize("name,likelihood", PAIRS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("classes", [0, 3])
def test_every_parameter_gets_a_gradient(name, likelihood, channels, classes):
    model = small_model(name, channels=channels, levels=4, size=(4, 5), likelihood=likelihood, num_classes=classes)
    x = torch.randint(0, 4, (2, channels, 4, 5), generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 2]) if classes else None
    model.log_prob(x, labels).sum().backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused, f"no gradient reaches {unused}"


def test_a_gated_checkpoint_with_the_retired_last_residual_still_loads(tmp_path):
    """Earlier gated networks had a residual in their last layer that no output read: its
    weights in a saved file are dropped on load, anything else extra is still refused."""
    from safetensors.torch import save_file

    from pixelcnn.errors import CheckpointError
    from pixelcnn.training.checkpoint import load_weights

    model = small_model("gated-pixelcnn")
    last = len(model.network.layers) - 1
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    old = {**saved, f"network.layers.{last}.res.weight": torch.zeros(12, 12, 1, 1, dtype=torch.float64),
           f"network.layers.{last}.res.bias": torch.zeros(12, dtype=torch.float64)}
    save_file(old, str(tmp_path / "old.safetensors"))
    fresh = small_model("gated-pixelcnn", seed=1)
    load_weights(fresh, tmp_path / "old.safetensors")
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in saved.items())
    save_file({**saved, "network.layers.0.res.weight": torch.zeros(1)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(CheckpointError, match="unexpected: network.layers.0.res.weight"):
        load_weights(fresh, tmp_path / "bad.safetensors")
