"""Shifted, strided and transposed convolutions: what they read, their sizes, their
incremental runs against the full layer, and weight normalisation."""

import pytest
import torch

from pixelcnn.nn import Cache, Step
from pixelcnn.nn.shifted import Nin, ShiftedConv2d, ShiftedConvTranspose2d
from pixelcnn.nn.shifted_runs import conv_run, transposed_run
from pixelcnn.nn.weight_norm import initialize_from_data


def dependence(layer_output, x):
    """``[h, w, H, W]`` bool: output position (i, j) of image 0 depends on input (a, b), by the Jacobian."""
    jac = torch.autograd.functional.jacobian(lambda t: layer_output(t)[0], x, vectorize=True)
    return jac.abs().sum(dim=(0, 3, 4)) != 0  # [out, h, w, B, in, H, W] -> [h, w, H, W]


@pytest.mark.parametrize("kernel,kind,shift,window", [
    ((2, 3), "down", None, lambda i, j: [(i - 1, j - 1), (i - 1, j), (i - 1, j + 1), (i, j - 1), (i, j), (i, j + 1)]),
    ((2, 3), "down", "down", lambda i, j: [(i - a, j + b) for a in (1, 2) for b in (-1, 0, 1)]),
    ((1, 3), "down", "down", lambda i, j: [(i - 1, j - 1), (i - 1, j), (i - 1, j + 1)]),
    ((2, 2), "down-right", None, lambda i, j: [(i - 1, j - 1), (i - 1, j), (i, j - 1), (i, j)]),
    ((2, 1), "down-right", "right", lambda i, j: [(i - 1, j - 1), (i, j - 1)]),
])
def test_each_output_reads_exactly_its_window(kernel, kind, shift, window):
    torch.manual_seed(0)
    conv = ShiftedConv2d(2, 3, kernel, kind, shift=shift).double()
    x = torch.randn(1, 2, 5, 6, dtype=torch.float64)
    assert conv(x).shape == (1, 3, 5, 6)
    seen = dependence(conv, x)
    for i, j in [(0, 0), (2, 3), (4, 5), (3, 0)]:
        want = torch.zeros(5, 6, dtype=torch.bool)
        for a, b in window(i, j):
            if 0 <= a < 5 and 0 <= b < 6:
                want[a, b] = True
        assert torch.equal(seen[i, j], want), (i, j)


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5, 7), (6, 8)])
def test_strided_and_transposed_sizes_and_causality(size):
    """Down: ceil(H/2) x ceil(W/2), low-res (i, j) reads only up to high-res (2i, 2j) in
    raster order; up again to the original size, (r, c) reads low-res (r//2, c//2) at most."""
    torch.manual_seed(0)
    h, w = size
    down = ShiftedConv2d(2, 2, (2, 2), "down-right", stride=2).double()
    up = ShiftedConvTranspose2d(2, 2, (2, 2), "down-right").double()
    up_u = ShiftedConvTranspose2d(2, 2, (2, 3), "down").double()
    x = torch.randn(1, 2, h, w, dtype=torch.float64)
    low = down(x).detach()
    assert low.shape[-2:] == (-(-h // 2), -(-w // 2))
    assert up(low, size).shape[-2:] == size and up_u(low, size).shape[-2:] == size
    down_reads = dependence(down, x)
    up_reads, up_u_reads = dependence(lambda t: up(t, size), low), dependence(lambda t: up_u(t, size), low)
    for i in range(low.shape[-2]):
        for j in range(low.shape[-1]):
            seen = down_reads[i, j].nonzero().tolist()
            assert seen and all((a, b) <= (2 * i, 2 * j) for a, b in seen)
    for r in range(h):
        for c in range(w):
            assert up_reads[r, c].nonzero().tolist() == [[r // 2, c // 2]]  # exactly one input feeds it
            assert {a for a, _ in up_u_reads[r, c].nonzero().tolist()} == {r // 2}


@pytest.mark.parametrize("kernel,kind,shift,stride", [
    ((2, 3), "down", None, 1), ((2, 3), "down", "down", 1), ((2, 3), "down", None, 2),
    ((2, 2), "down-right", None, 1), ((2, 1), "down-right", "right", 1), ((2, 2), "down-right", None, 2),
])
@pytest.mark.parametrize("size", [(5, 7), (4, 4), (1, 3)])
def test_incremental_runs_match_the_full_convolution(kernel, kind, shift, stride, size):
    """Fed one row (or one position) at a time in raster order, a run computes each output
    as soon as its window is complete and gets the full convolution's value."""
    torch.manual_seed(0)
    h, w = size
    conv = ShiftedConv2d(3, 4, kernel, kind, shift=shift, stride=stride).double()
    x = torch.randn(2, 3, h, w, dtype=torch.float64)
    full = conv(x)
    by_rows, by_positions = conv_run(Cache(2, h, w), conv, size), conv_run(Cache(2, h, w), conv, size)
    for i in range(h):
        by_rows.write(x[:, :, i : i + 1], i)
        if i % stride == 0 and kind == "down":
            assert torch.allclose(by_rows.row(i // stride), full[:, :, i // stride : i // stride + 1])
        for j in range(w):
            by_positions.write(x[:, :, i : i + 1, j : j + 1], i, j)
            if kind == "down-right" and i % stride == 0 and j % stride == 0:
                a, b = i // stride, j // stride
                assert torch.allclose(by_positions.position(a, b)[..., 0, 0], full[:, :, a, b])


def test_stride_one_layers_step_one_position_at_a_time():
    torch.manual_seed(0)
    conv = ShiftedConv2d(3, 4, (2, 2), "down-right").double()
    nin = Nin(4, 5).double()
    x = torch.randn(2, 3, 3, 4, dtype=torch.float64)
    full = nin(conv(x))
    cache = Cache(2, 3, 4)
    for i in range(3):
        for j in range(4):
            step = Step.at(cache, (3, 4), i, j)
            out = nin(conv(x[:, :, i : i + 1, j : j + 1], step), step)
            assert torch.allclose(out[..., 0, 0], full[:, :, i, j])


@pytest.mark.parametrize("kernel,kind", [((2, 3), "down"), ((2, 2), "down-right")])
@pytest.mark.parametrize("size", [(7, 5), (4, 6), (1, 1)])
def test_transposed_runs_match_the_full_transposed_convolution(kernel, kind, size):
    torch.manual_seed(0)
    h, w = size
    up = ShiftedConvTranspose2d(3, 4, kernel, kind).double()
    low = torch.randn(2, 3, -(-h // 2), -(-w // 2), dtype=torch.float64)
    full = up(low, size)
    run = transposed_run(Cache(2, h, w), up, size)
    for i in range(low.shape[-2]):
        if kind == "down":
            run.write_row(low[:, :, i : i + 1], i)
            for r in range(2 * i, min(2 * i + 2, h)):
                assert torch.allclose(run.row(r), full[:, :, r : r + 1])
            continue
        for j in range(low.shape[-1]):
            run.write_position(low[:, :, i : i + 1, j : j + 1], i, j)
        for r in range(2 * i, min(2 * i + 2, h)):  # the outputs wait until they are read
            for c in range(w):
                assert torch.allclose(run.position(r, c)[..., 0, 0], full[:, :, r, c])


def test_weight_norm_is_gain_times_direction_and_survives_a_zero_weight():
    torch.manual_seed(0)
    conv = ShiftedConv2d(3, 4, (2, 3), "down")
    with torch.no_grad():
        conv.weight_norm.gain.copy_(torch.tensor([1.0, 2.0, 3.0, 0.5]))
    norms = conv.effective_weight().flatten(1).norm(dim=1)
    assert torch.allclose(norms, torch.tensor([1.0, 2.0, 3.0, 0.5]))
    up = ShiftedConvTranspose2d(3, 4, (2, 2), "down-right")
    assert torch.allclose(up.effective_weight().transpose(0, 1).flatten(1).norm(dim=1), torch.ones(4))
    with torch.no_grad():
        conv.weight.zero_()
    assert torch.equal(conv.effective_weight(), torch.zeros_like(conv.weight))


def test_data_dependent_initialisation_normalises_outputs_and_forward_never_changes_parameters():
    torch.manual_seed(0)
    net = torch.nn.Sequential(ShiftedConv2d(3, 8, (2, 3), "down"), torch.nn.ELU(),
                              ShiftedConv2d(8, 6, (2, 2), "down-right", init_scale=0.1))
    x = torch.randn(16, 3, 6, 6) * 5 + 2
    before = [p.detach().clone() for p in net.parameters()]
    net(x)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # forward is pure
    assert initialize_from_data(net, x) == 2
    with torch.no_grad():
        first, out = net[0](x), net(x)
    assert torch.allclose(first.mean(dim=(0, 2, 3)), torch.zeros(8), atol=1e-5)
    assert torch.allclose(first.std(dim=(0, 2, 3), unbiased=False), torch.ones(8), atol=1e-4)
    assert torch.allclose(out.std(dim=(0, 2, 3), unbiased=False), torch.full((6,), 0.1), atol=1e-4)
    changed = [n for (n, p), b in zip(net.named_parameters(), before) if not torch.equal(p, b)]
    assert sorted(changed) == ["0.bias", "0.weight_norm.gain", "2.bias", "2.weight_norm.gain"]  # v untouched
    assert not any(p.grad is not None for p in net.parameters())
