"""train.precision: what "auto" picks, and the bf16 path on its own terms.

Tests that compare runs at fp32 tolerances pin ``train.precision=fp32``; this
file tests bf16 where it differs: it must train (finite, falling loss), keep
the weights in fp32, evaluate in fp32, and stay near the fp32 run at bf16's
tolerance. bf16 autocast runs on every CPU (emulated where it is not native),
so these tests run on AVX2 and AVX-512 machines alike.
"""

import pytest
import torch
from training_helpers import tiny_overrides

from pixelcnn.config import resolve
from pixelcnn.evaluation import evaluate
from pixelcnn.training import Trainer
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training.data import load_split
from pixelcnn.training.metrics import read_records
from pixelcnn.training.runtime import pick_precision

CPU = torch.device("cpu")


@pytest.mark.parametrize("native", [True, False])
def test_auto_picks_bf16_exactly_where_the_cpu_computes_it_natively(monkeypatch, native):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native, raising=False)
    assert pick_precision("auto", CPU) == (torch.bfloat16 if native else None)
    assert pick_precision("fp32", CPU) is None
    assert pick_precision("bf16", CPU) == torch.bfloat16


def _train(tmp_path, npz, precision):
    run = tmp_path / precision
    cfg = resolve(None, tiny_overrides(npz, f"train.precision={precision}", "train.max_steps=8",
                                       "train.lr=3e-3", "train.warmup_steps=2", "train.sample_count=0"))
    Trainer(cfg, run).run(stop_on_signals=False)
    return cfg, run


def test_bf16_trains_near_fp32_with_fp32_weights_and_fp32_evaluation(tmp_path, tiny_npz):
    cfg, bf16_run = _train(tmp_path, tiny_npz, "bf16")
    _, fp32_run = _train(tmp_path, tiny_npz, "fp32")
    losses = [r["bpd"] for r in read_records(bf16_run / "metrics.jsonl") if r["kind"] == "train"]
    assert losses and all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]  # it learns

    bf16_model = ckpt.load(bf16_run, weights="raw")
    fp32_model = ckpt.load(fp32_run, weights="raw")
    assert all(p.dtype == torch.float32 for p in bf16_model.parameters())
    differ = [not torch.equal(a, b) for a, b in zip(bf16_model.parameters(), fp32_model.parameters())]
    assert any(differ)  # bf16 did run: an fp32 run would give the same weights to the bit

    test = load_split(cfg.data, "test").levels[:]  # uint8 [N, C, H, W]
    scored = evaluate(bf16_model, test)
    with torch.no_grad():  # evaluation is plain fp32, whatever the run trained in
        by_hand = -bf16_model.log_prob(test.long()).double().sum().item()
    assert scored.nats_per_image * len(test) == pytest.approx(by_hand, rel=1e-6)
    fp32_scored = evaluate(fp32_model, test)  # bf16 rounds activations: the runs part, but not far
    assert scored.bits_per_dim == pytest.approx(fp32_scored.bits_per_dim, abs=0.05)
