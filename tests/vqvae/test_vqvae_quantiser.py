"""The vector quantiser: nearest codes, the moving-average codebook, dead-code restarts,
straight-through gradients and the commitment loss."""

import pytest
import torch

from pixelcnn.vqvae.quantiser import VectorQuantiser


def quantiser(codebook, *, decay=0.5, restart_below=0.0):
    """A quantiser of the given codes ``[K, D]``, its counts 1 and sums the codes (as it starts)."""
    codebook = torch.tensor(codebook, dtype=torch.float32)
    vq = VectorQuantiser(codebook.shape[0], codebook.shape[1], decay=decay, restart_below=restart_below, eps=1e-9)
    vq.codebook.copy_(codebook)
    vq.sums.copy_(codebook)
    return vq


def as_map(vectors):
    """Vectors ``[N, D]`` as one image's map ``[1, D, 1, N]``."""
    return torch.tensor(vectors, dtype=torch.float32).t()[None, :, None, :]


def test_each_vector_takes_its_nearest_code():
    vq = quantiser([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]).eval()
    quantised, index, _ = vq(as_map([[1.0, 1.0], [9.0, 2.0], [-1.0, 7.0], [4.9, 0.0]]))
    assert index.tolist() == [[[0, 1, 2, 0]]]
    assert quantised[0, :, 0, 1].tolist() == [10.0, 0.0]


def test_the_codebook_moves_to_the_moving_average_of_its_vectors():
    """Counts [1, 1] and sums [0, 10] at decay 0.5; vectors 1, 2 take code 0 and 9 takes code 1:
    counts 0.5 + 0.5 [2, 1] = [1.5, 1], sums 0.5 [0, 10] + 0.5 [3, 9] = [1.5, 9.5], codes [1, 9.5]."""
    vq = quantiser([[0.0], [10.0]]).train()
    vq(as_map([[1.0], [2.0], [9.0]]))
    assert vq.counts.tolist() == pytest.approx([1.5, 1.0])
    assert vq.sums[:, 0].tolist() == pytest.approx([1.5, 9.5])
    assert vq.codebook[:, 0].tolist() == pytest.approx([1.0, 9.5], rel=1e-6)


def test_laplace_smoothing_keeps_a_code_that_took_nothing_finite():
    """Without smoothing a code whose count is 0 would be 0 / 0."""
    vq = quantiser([[0.0], [100.0]], decay=0.9).train()
    vq.counts[1], vq.sums[1] = 0.0, 0.0
    vq(as_map([[1.0], [2.0]]))
    assert vq.counts[1] == 0 and torch.isfinite(vq.codebook).all()
    assert vq.codebook[:, 0].tolist() == pytest.approx([0.3 / 1.1, 0.0], abs=1e-6)


def test_no_learning_in_eval_mode():
    vq = quantiser([[0.0], [10.0]]).eval()
    before = {k: v.clone() for k, v in vq.state_dict().items()}
    vq(as_map([[1.0], [2.0], [9.0]]))
    assert all(torch.equal(before[k], v) for k, v in vq.state_dict().items())


def test_dead_codes_restart_at_vectors_of_the_batch():
    """Codes far from every vector take nothing, their counts fall below 1 and they move onto
    vectors of the batch; the code that took the vectors stays where its average puts it."""
    torch.manual_seed(0)
    vq = quantiser([[0.0, 0.0], [50.0, 50.0], [60.0, -60.0], [-70.0, 70.0]], decay=0.9, restart_below=1.0).train()
    batch = [[1.0, 0.0], [2.0, 1.0], [0.5, -1.0], [1.5, 2.0]]
    vq(as_map(batch))
    assert vq.counts.tolist() == pytest.approx([0.9 + 0.1 * 4, 1.0, 1.0, 1.0])  # the restarted: restart_below
    for k in (1, 2, 3):
        assert vq.codebook[k].tolist() in batch
        assert vq.sums[k].tolist() == vq.codebook[k].tolist()  # sums = restart_below * code
    assert vq.codebook[0].tolist() == pytest.approx([(0.9 * 0 + 0.1 * 5) / 1.3, (0.1 * 2) / 1.3], rel=1e-6)


def test_every_code_the_first_batch_leaves_untaken_restarts_on_the_data():
    torch.manual_seed(0)
    vq = VectorQuantiser(8, 2, restart_below=0.1).train()  # random codes, far from the batch
    batch = torch.randn(64, 2) * 0.01 + 5
    _, index, _ = vq(batch.t()[None, :, None, :])
    untaken = sorted(set(range(8)) - set(index.flatten().tolist()))
    assert len(untaken) >= 6
    for k in untaken:
        assert any(torch.equal(vq.codebook[k], v) for v in batch)


def test_without_restarts_dead_codes_stay_where_they_are():
    vq = quantiser([[0.0, 0.0], [50.0, 50.0]], decay=0.9, restart_below=0.0).train()
    vq(as_map([[1.0, 0.0], [2.0, 1.0]]))
    assert vq.codebook[1].tolist() == pytest.approx([50.0, 50.0])


def test_a_restarted_code_that_takes_vectors_stays():
    torch.manual_seed(0)
    vq = quantiser([[0.0], [100.0]], decay=0.9, restart_below=1.0).train()
    vq(as_map([[1.0], [1.0], [3.0], [3.0]]))  # code 1 restarts at 1 or 3
    moved = float(vq.codebook[1, 0])
    assert moved in (1.0, 3.0)
    vq(as_map([[moved]] * 4))  # the next batch sits on it, and the taken count keeps it alive
    assert float(vq.counts[1]) >= 1.0
    assert float(vq.codebook[1, 0]) == pytest.approx(moved, rel=1e-6)


def test_restarts_draw_from_the_global_generator_so_a_seed_repeats_them():
    def run():
        torch.manual_seed(7)
        vq = quantiser([[0.0], [100.0], [200.0], [300.0]], decay=0.9, restart_below=1.0).train()
        vq(as_map([[float(v)] for v in range(20)]))
        return vq.codebook.clone()

    first, again = run(), run()
    assert torch.equal(first, again)
    assert len(set(first[1:, 0].tolist()) - set(map(float, range(20)))) == 0


def test_gradients_pass_straight_through_and_the_commitment_loss_pulls_towards_the_code():
    vq = quantiser([[0.0], [10.0]]).train()
    z = as_map([[1.0], [2.0], [9.0]]).requires_grad_()
    quantised, _, commitment = vq(z)
    assert quantised[0, 0, 0].tolist() == pytest.approx([0.0, 0.0, 10.0])  # the codes before this step's update
    weights = torch.tensor([1.0, 2.0, 3.0]).view(1, 1, 1, 3)
    (quantised * weights).sum().backward()
    assert torch.equal(z.grad, weights)  # the identity: straight through
    assert commitment.tolist() == pytest.approx([(1 + 4 + 1) / 3])
    z.grad = None
    commitment.sum().backward()
    assert z.grad[0, 0, 0].tolist() == pytest.approx([2 * 1 / 3, 2 * 2 / 3, 2 * -1 / 3])


def test_quantisation_runs_in_float32_under_autocast():
    vq = quantiser([[0.0], [10.0]]).eval()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        quantised, index, commitment = vq(as_map([[4.99], [5.01]]))  # bf16 would round both to 5
    assert quantised.dtype == commitment.dtype == torch.float32
    assert index.tolist() == [[[0, 1]]]
