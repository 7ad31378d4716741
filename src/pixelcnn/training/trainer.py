"""The training loop: cross-entropy in one parallel pass, EMA, checkpoints, exact resume.

Everything a step depends on is either saved in the checkpoint (weights,
EMA, optimiser, step, epoch, position in the epoch, random states) or a pure
function of the config and those counters (data order, binarisation,
learning rate). A run stopped after any step and resumed therefore ends
with the same weights as one that ran straight through.

Nothing goes wrong quietly: a non-finite loss, gradient or weight stops the
run before anything is saved, so the last checkpoint stays the last good one.
SIGTERM or SIGINT (a scheduler's preemption, Ctrl-C) ends the current step,
writes a checkpoint and returns; ``train.max_minutes`` counts training time
summed over every resume, like the step and epoch limits.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch

from pixelcnn import __version__
from pixelcnn.config import RunConfig, to_dict
from pixelcnn.errors import CheckpointError, DataError, PixelCNNError
from pixelcnn.evaluation import evaluate
from pixelcnn.models import build_model, config_to_dict, preset_config
from pixelcnn.nn.weight_norm import initialize_from_data, weight_normed_layers
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training.data import TrainStream, load_split, validation_split_name
from pixelcnn.training.ema import EMA
from pixelcnn.training.metrics import Metrics
from pixelcnn.training.progress import Progress
from pixelcnn.training.runtime import (Processes, StopSignals, activation_bytes, check_memory, pick_device,
                                       pick_precision, weight_count_estimate)
from pixelcnn.training.samples import write_sample_grid
from pixelcnn.training.schedule import learning_rate

log = logging.getLogger("pixelcnn")


class TrainingError(PixelCNNError):
    """Training cannot go on (a non-finite loss, gradient or weight); the last good checkpoint is intact."""


class Trainer:
    """One run in ``run_dir``: ``Trainer(cfg, run_dir).run()``; ``resume=True`` continues it."""

    def __init__(self, cfg: RunConfig, run_dir: str | Path, *, resume: bool = False, procs: Processes = Processes()):
        self.cfg, self.run_dir, self.procs = cfg, Path(run_dir), procs
        t = cfg.train
        if resume:
            ckpt.check_run_dir(self.run_dir)
        ckpt.check_writable(self.run_dir)
        if t.threads:
            torch.set_num_threads(t.threads)
        self.device = pick_device(t.device)
        self.autocast = pick_precision(t.precision, self.device)
        torch.manual_seed(t.seed)
        train = load_split(cfg.data, cfg.data.train_split, seed=t.seed)
        self.train_split = train
        self._splits: dict = {}  # evaluation splits, loaded once
        self.valid_name = validation_split_name(cfg.data)
        self._check_splits()
        self.stream = TrainStream(train.images, train.labels if cfg.data.conditional else None, cfg.data, t.seed)
        model_config = self._model_config(train)
        self._check_memory(model_config)
        self.model = build_model(model_config).to(self.device)
        if not resume:
            self._initialize_from_data()
        self.ema = EMA(self.model, t.ema_decay) if t.ema_decay > 0 else None
        opt = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
        self.optimizer = opt(self.model.parameters(), lr=t.lr, betas=t.betas, weight_decay=t.weight_decay)
        self.step = self.epoch = self.batch_index = 0
        self.seconds_before = 0.0  # training time of earlier sessions of this run
        self._started: float | None = None
        self.meta = self._meta(train)
        if resume:
            self._restore()
        elif procs.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            ckpt.write_json(self.run_dir / "config.json", self.meta)
        self.metrics = Metrics(self.run_dir, enabled=procs.is_main, resume_step=self.step if resume else None)

    # ----------------------------------------------------------------- setup
    def _initialize_from_data(self, images: int = 256) -> None:
        """Weight-normalised layers get their gains and biases from the first ``images``
        training images of epoch 0 (a pure function of the config, like the data order)."""
        if not weight_normed_layers(self.model):
            return
        x, y = self.stream.batch(0, 0, min(images, len(self.stream)))
        initialize_from_data(self.model, x.to(self.device), None if y is None else y.to(self.device))

    def _model_config(self, train):
        cfg = self.cfg
        _, c, h, w = train.levels.shape
        overrides = {"in_channels": c, "image_size": (h, w), "levels": cfg.data.levels}
        if cfg.data.conditional:
            if not train.num_classes:
                raise PixelCNNError(f"data.conditional is set but {cfg.data.name} has no class labels")
            overrides["num_classes"] = train.num_classes
        overrides.update(cfg.model.overrides)
        return preset_config(cfg.model.name, **overrides)

    def _check_memory(self, model_config) -> None:
        """Refuse, before allocating anything, a model or batch far too large for the device."""
        weights = weight_count_estimate(model_config)
        t = self.cfg.train
        # fp32 weights, gradients, two Adam moments and the EMA copy, plus one step's activations
        need = 5 * 4 * weights + activation_bytes(model_config, t.batch_size, model_config.image_size)
        check_memory(need, f"training this model (up to {weights:,} weights) at batch {t.batch_size}", self.device,
                     "use a smaller model or train.batch_size")

    def _check_splits(self) -> None:
        """Every split the run will use holds images, checked before the first step."""
        d = self.cfg.data
        names = [d.train_split, self.valid_name] + ([d.test_split] if d.test_split else [])
        for name in dict.fromkeys(names):
            if len(self._split(name).images) == 0:
                raise DataError(f"the {name} split of {d.name} holds no images; training needs a non-empty "
                                f"train split and something to validate and test on")

    def _meta(self, train) -> dict:
        return {
            "format": ckpt.FORMAT,
            "format_version": ckpt.FORMAT_VERSION,
            "pixelcnn_version": __version__,
            "preset": self.cfg.model.name,
            "model": config_to_dict(self.model.config),
            "data": {
                "name": self.cfg.data.name,
                "levels": self.cfg.data.levels,
                "binarize": self.cfg.data.binarize,
                "num_classes": train.num_classes if self.cfg.data.conditional else 0,
                "class_names": list(train.class_names) if self.cfg.data.conditional else [],
            },
            "run": to_dict(self.cfg),
        }

    def _restore(self) -> None:
        path = ckpt.resolve_checkpoint(self.run_dir)
        meta = ckpt.read_meta(path)
        if meta.get("model") != self.meta["model"]:
            raise PixelCNNError(f"{path} holds a different model than this config describes; cannot resume it")
        ckpt.load_weights(self.model, path / "model.safetensors")
        state = ckpt.read_state(path)
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            if self.ema is not None:
                ema_file = path / "ema.safetensors"
                self.ema.load(ckpt.read_tensors(ema_file) if ema_file.is_file() else self.model.state_dict(),
                              state["ema_updates"])
            torch.set_rng_state(state["rng"]["torch"])
            if torch.cuda.is_available() and state["rng"].get("cuda"):
                torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{path} holds a training state this run cannot restore "
                                  f"({type(e).__name__}: {e})") from None
        self.step, self.epoch, self.batch_index = state["step"], state["epoch"], state["batch_index"]
        self.seconds_before = float(state.get("train_seconds", 0.0))
        log.info("resuming %s at step %d (epoch %d, batch %d)", self.run_dir, self.step, self.epoch + 1, self.batch_index)

    # ----------------------------------------------------------------- loop
    def run(self, *, stop_on_signals: bool = True) -> dict:
        """Train until a limit is reached; returns the final scores (also in metrics.jsonl).

        With ``stop_on_signals``, SIGTERM or SIGINT stops after the current step and
        checkpoint; the summary then has ``"interrupted"`` (the signal's name) and no
        test score, and ``Trainer(cfg, run_dir, resume=True)`` continues the run.
        """
        t = self.cfg.train
        per_epoch = self.stream.batches_per_epoch(t.batch_size, self.procs.world)
        self._started = time.monotonic()
        progress = Progress(self._bar_total(per_epoch), self.step, enabled=t.progress and self.procs.is_main)
        self._seen, self._mark, self._running, self._rate = 0, time.monotonic(), None, None
        reason = self._limit()  # a resumed run may have nothing left to do
        signals = StopSignals(enabled=stop_on_signals)
        try:
            with signals:
                while reason is None:
                    if self.batch_index >= per_epoch:
                        self._end_epoch()
                        self._seen, self._mark = 0, time.monotonic()  # images/s counts training, not evaluation
                    else:
                        self._one_step(progress)
                        if t.checkpoint_every and self.step % t.checkpoint_every == 0:
                            self.save()
                    reason = self._limit() or (signals.received and f"stopped by {signals.received}")
        finally:
            progress.close()
        path = self.save()
        if signals.received and reason == f"stopped by {signals.received}":
            return self._interrupted(signals.received, path)
        return self._finish(reason, time.monotonic() - self._started)

    def _one_step(self, progress: Progress) -> None:
        t = self.cfg.train
        x, y = self.stream.batch(self.epoch, self.batch_index, t.batch_size, self.procs.rank, self.procs.world)
        bpd = self._train_step(x, y)
        self.step += 1
        self.batch_index += 1
        self._seen += x.shape[0]
        self._running = bpd if self._running is None else 0.95 * self._running + 0.05 * bpd
        if self.step % t.log_every == 0:
            now = time.monotonic()
            self._rate = self._seen / max(now - self._mark, 1e-9)
            self.metrics.write("train", step=self.step, epoch=self.epoch + 1, bpd=bpd, bpd_smooth=self._running,
                               lr=learning_rate(self.step - 1, t), images_per_s=self._rate)
            self._seen, self._mark = 0, now
        post = {"bpd": f"{self._running:.4f}", "epoch": self.epoch + 1}
        if self._rate is not None:  # measured over the first train.log_every steps; no "nan" before that
            post["img_s"] = f"{self._rate:.0f}"
        if t.max_minutes:  # the bar's own ETA counts steps; this counts the time limit
            post["left"] = f"{max(t.max_minutes - self.train_seconds() / 60, 0):.1f}min"
        progress.update(self.step, post)

    def train_seconds(self) -> float:
        """Training time of this run so far, over every session (what train.max_minutes limits)."""
        now = 0.0 if self._started is None else time.monotonic() - self._started
        return self.seconds_before + now

    def _train_step(self, x: torch.Tensor, y) -> float:
        t = self.cfg.train
        self.model.train()
        lr = learning_rate(self.step, t)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x = x.to(self.device)
        cond = None if y is None else y.to(self.device)
        with torch.autocast(self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None):
            nats = -self.model.log_prob(x, cond).float().mean() / self.model.dims  # nats per sub-pixel
        if not torch.isfinite(nats):
            raise self._diverged(f"the loss became {float(nats.detach())}")
        self.optimizer.zero_grad(set_to_none=True)
        nats.backward()
        # the norm is wanted even without clipping (an infinite bound clips nothing): a non-finite
        # gradient must stop the run before the optimiser writes it into the weights
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip or math.inf)
        if not torch.isfinite(norm):
            raise self._diverged(f"the gradient norm became {float(norm)}")
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model)
        return float(nats.detach()) / math.log(2)

    def _diverged(self, what: str) -> TrainingError:
        """The error that stops a run going wrong; nothing after the last checkpoint is saved."""
        if (self.run_dir / "latest").exists():
            last = f"the last good checkpoint, {ckpt.resolve_checkpoint(self.run_dir).name}, is intact"
        else:
            last = "no checkpoint had been written yet"
        return TrainingError(f"{what} at step {self.step + 1} (epoch {self.epoch + 1}); training stopped and "
                             f"nothing was saved after it ({last}); try a lower train.lr or train.grad_clip")

    def _limit(self) -> str | None:
        t = self.cfg.train
        if t.max_steps and self.step >= t.max_steps:
            return f"reached train.max_steps = {t.max_steps}"
        if t.epochs and self.epoch >= t.epochs:
            return f"reached train.epochs = {t.epochs}"
        if t.max_minutes and self.train_seconds() >= 60 * t.max_minutes:
            return f"reached train.max_minutes = {t.max_minutes}"
        return None

    def _end_epoch(self) -> None:
        self.epoch += 1
        self.batch_index = 0
        score = self.validate()
        log.info("epoch %d: %s bits/dim %.4f (%s split, %d images)", self.epoch,
                 "EMA" if self.ema else "model", score.bits_per_dim, self.valid_name, score.images)
        if self.cfg.train.sample_every_epoch and self.cfg.train.sample_count and self.procs.is_main:
            write_sample_grid(self.eval_model, self.run_dir / "samples" / f"epoch-{self.epoch:04d}.png", self.cfg)
        self.save()

    # ----------------------------------------------------------------- outputs
    @property
    def eval_model(self):
        """The weights used for evaluation and sampling: EMA when kept."""
        return self.ema.model if self.ema is not None else self.model

    def validate(self):
        return self._score(self.valid_name, "valid")

    def _score(self, name: str, kind: str):
        """Score split ``name`` with the evaluation weights and log it as a ``kind`` record."""
        split = self._split(name)
        score = evaluate(self.eval_model, split.levels, split.labels if self.cfg.data.conditional else None,
                         batch_size=self.cfg.train.eval_batch_size)
        epoch = self.epoch + (self.batch_index > 0)  # the epoch of the last step, from 1, as in train records
        self.metrics.write(kind, step=self.step, epoch=epoch, split=name, **score.to_dict())
        return score

    def _split(self, name: str):
        if name == self.cfg.data.train_split:
            return self.train_split
        if name not in self._splits:
            self._splits[name] = load_split(self.cfg.data, name, seed=self.cfg.train.seed)
        return self._splits[name]

    def save(self) -> Path | None:
        """Checkpoint the run (refusing non-finite weights, so the last checkpoint stays good)."""
        if not self.procs.is_main:
            return None
        self._check_finite_weights()
        state = {
            "train_seconds": self.train_seconds(),
            "step": self.step,
            "epoch": self.epoch,
            "batch_index": self.batch_index,
            "ema_updates": self.ema.updates if self.ema is not None else 0,
            "optimizer": self.optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }
        ema = self.ema.state_dict() if self.ema is not None else None
        path = ckpt.save_checkpoint(self.run_dir, self.meta, self.model.state_dict(), ema, state,
                                    keep=self.cfg.train.keep_checkpoints)
        return path

    def _check_finite_weights(self) -> None:
        models = [("weight", self.model)] + ([("EMA weight", self.ema.model)] if self.ema is not None else [])
        for what, model in models:
            for key, value in model.state_dict().items():
                if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                    raise self._diverged(f"the {what} {key} became non-finite")

    def _interrupted(self, signal_name: str, path: Path | None) -> dict:
        log.info("stopped by %s after step %d; checkpoint %s", signal_name, self.step, path)
        self.metrics.close()
        return {"steps": self.step, "epochs": self.epoch, "seconds": round(time.monotonic() - self._started, 1),
                "stopped": f"stopped by {signal_name}", "interrupted": signal_name,
                "checkpoint": str(path) if path else None}

    def _finish(self, reason: str | None, seconds: float) -> dict:
        log.info("stopped: %s after %d steps (%.1f s)", reason, self.step, seconds)
        summary = {"steps": self.step, "epochs": self.epoch, "seconds": round(seconds, 1), "stopped": reason}
        test_name = self.cfg.data.test_split
        if test_name:
            score = self._score(test_name, "test")
            summary["test"] = {"split": test_name, **score.to_dict()}
        if self.procs.is_main and self.cfg.train.sample_count:
            summary["samples"] = str(write_sample_grid(self.eval_model, self.run_dir / "samples" / "final.png", self.cfg))
        self.metrics.close()
        return summary

    def _bar_total(self, per_epoch: int) -> int | None:
        """The step at which the run ends, when a step or epoch limit says (the bar's ETA)."""
        t = self.cfg.train
        totals = [n for n in (t.epochs * per_epoch, t.max_steps) if n]
        return min(totals) if totals else None
