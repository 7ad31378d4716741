"""The training loop: cross-entropy in one parallel pass, EMA, checkpoints, exact resume.

What depends on the kind of model (an autoregressive prior or a VQ-VAE: how
it is built, its loss, its figures and its pictures) is asked of the run's
kind (:mod:`pixelcnn.training.kinds`), chosen by ``model.name``.

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

Several processes (``torchrun``, see :mod:`pixelcnn.training.distributed`)
train one model: ``train.batch_size`` is per process, a step takes a global
batch of ``batch_size * world`` images, and the position in the epoch is
counted in images. A run resumed with another number of processes (or
another ``train.batch_size``) continues at the first image of the epoch not
yet trained on, with the new global batch from there on; with the same
global batch it continues exactly as an uninterrupted run. Every decision to
stop is taken by all processes together, and only rank 0 writes.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path

import torch

from pixelcnn import __version__
from pixelcnn.config import RunConfig, check_model_levels, levels_ordered, to_dict
from pixelcnn.errors import CheckpointError, DataError, PixelCNNError
from pixelcnn.models import build_model, config_to_dict
from pixelcnn.nn.weight_norm import initialize_from_data, weight_normed_layers
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training import distributed
from pixelcnn.nn.condition import move_cond
from pixelcnn.training.data import (Batch, TrainStream, load_split, validation_split_name,
                                    with_levels)
from pixelcnn.training.data_location import anchor_data
from pixelcnn.training.ema import EMA
from pixelcnn.training.kinds import kind_of
from pixelcnn.training.lock import RunLock
from pixelcnn.training.loss import weighted_mean
from pixelcnn.training.metrics import Metrics
from pixelcnn.training.progress import Progress
from pixelcnn.training.runtime import (Processes, StopSignals, check_compile, check_memory, compiled, pick_device,
                                       pick_precision)
from pixelcnn.training.schedule import learning_rate

log = logging.getLogger("pixelcnn")


class TrainingError(PixelCNNError):
    """Training cannot go on (a non-finite loss, gradient or weight); the last good checkpoint is intact."""


def default_optimizer(parameters, t) -> torch.optim.Optimizer:
    """Adam or AdamW as ``train.optimizer`` says, with the train section's rate, betas and decay."""
    opt = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
    return opt(parameters, lr=t.lr, betas=t.betas, weight_decay=t.weight_decay)


def build_parts(model_config, t, device: torch.device, init=None, optimizer=default_optimizer, build=build_model):
    """The model (``build(model_config)``), its optimiser (``optimizer(parameters, t)``) and its
    EMA (None when ``t.ema_decay`` is 0), on ``device``.

    ``init``: a function returning ``(levels, labels or None)`` of a batch to set weight
    normalisation's gains and biases from (:func:`~pixelcnn.nn.weight_norm.initialize_from_data`),
    called only when the model has such layers, before the EMA copies the weights; None keeps
    the weights as built (a resumed run loads its own next).
    """
    model = build(model_config).to(device)
    if init is not None and weight_normed_layers(model):
        levels, cond = init()
        initialize_from_data(model, levels.to(device), move_cond(cond, lambda t: t.to(device)))
    ema = EMA(model, t.ema_decay) if t.ema_decay > 0 else None
    return model, optimizer(model.parameters(), t), ema


class Trainer:
    """One run in ``run_dir``: ``Trainer(cfg, run_dir).run()``; ``resume=True`` continues it.

    ``procs``: this process's place among several; by default read from
    torchrun's environment (rank 0 of 1 without it). The process group is
    joined here when there are several processes and nobody joined it yet.

    The parts of a step can be replaced, with today's as defaults:

    - ``optimizer(parameters, train_section)`` -> a ``torch.optim.Optimizer``
      (:func:`default_optimizer`: Adam or AdamW);
    - ``loss(model)`` -> a module whose ``forward(levels, cond)`` gives each image's
      loss summed over its sub-pixels, ``[B]`` (the kind's: for an autoregressive model
      :class:`~pixelcnn.training.loss.Loss`, its negative log-likelihood in nats);
    - ``stream``: the training batches, an object with :class:`~pixelcnn.training.data.TrainStream`'s
      ``batch``, ``batches_per_epoch`` and ``len`` (default: the train split's stream).

    A resumed run must be given the same parts it was trained with.
    """

    @classmethod
    def resume(cls, run_dir: str | Path, overrides=(), **parts) -> "Trainer":
        """The run saved in ``run_dir``, ready to go on, with ``overrides`` that the resume
        policy allows (:func:`~pixelcnn.training.resume.resumed_config`)."""
        from pixelcnn.training.resume import resumed_config

        return cls(resumed_config(run_dir, overrides), run_dir, resume=True, **parts)

    def __init__(self, cfg: RunConfig, run_dir: str | Path, *, resume: bool = False, procs: Processes | None = None,
                 optimizer=default_optimizer, loss=None, stream=None):
        procs = distributed.from_environment() if procs is None else procs
        self.kind = kind_of(cfg.model.name)
        loss = loss or self.kind.loss
        self._make_loss = loss
        cfg = anchor_data(cfg)  # the run records its data paths as absolute ones
        cfg = dataclasses.replace(cfg, data=with_levels(cfg.data))  # K of codes read from the data
        check_model_levels(cfg.model, cfg.data.levels)  # before any work
        self.cfg, self.run_dir, self.procs = cfg, Path(run_dir), procs
        t = cfg.train
        if resume:
            ckpt.check_run_dir(self.run_dir)
        ckpt.check_writable(self.run_dir)
        if t.threads:
            torch.set_num_threads(t.threads)
        self.device = distributed.process_device(pick_device(t.device), procs)
        self.autocast = pick_precision(t.precision, self.device)
        if t.compile:
            check_compile(self.device)  # before any data is read
        self._owns_group = distributed.start(procs, self.device)
        torch.manual_seed(t.seed)
        train = load_split(cfg.data, cfg.data.train_split, seed=t.seed)
        self.train_split = train
        self._splits: dict = {}  # evaluation splits, loaded once
        self.valid_name = validation_split_name(cfg.data)
        model_config = self.kind.model_config(cfg, train)
        self._check_splits(model_config)
        self.stream = stream if stream is not None else TrainStream(
            train.images, train.conditions(cfg.data), cfg.data, t.seed,
            pin=self.device.type == "cuda")  # pinned batches copy without blocking
        self._check_memory(model_config)
        self.model, self.optimizer, self.ema = build_parts(
            model_config, t, self.device, init=None if resume else self._first_images, optimizer=optimizer,
            build=self.kind.build)
        self.loss = distributed.wrap(loss(self.model), procs, self.device)  # DDP when several processes
        if t.compile:  # the step's forward and loss compiled (DDP inside it); self.model stays plain
            self.loss = compiled(self.loss, self.device)
        if procs.rank > 0:
            distributed.seed_process(t.seed, procs.rank, 0)
        # position: images of the epoch already trained on; batch_index: steps taken in the epoch
        self.step = self.epoch = self.batch_index = self.position = 0
        self.seconds_before = 0.0  # training time of earlier sessions of this run
        self._started: float | None = None
        self.meta = self._meta(train)
        self._lock = RunLock(self.run_dir) if procs.is_main else None  # one writer per run, before any write
        try:
            if resume:
                self._restore()
            elif procs.is_main:
                ckpt.write_json(self.run_dir / "config.json", self.meta)
            self.metrics = Metrics(self.run_dir, enabled=procs.is_main, resume_step=self.step if resume else None)
        except BaseException:
            self.release()
            raise
        if procs.world > 1:
            log.info("training on %d processes (%s, %s), batch %d per process, global batch %d", procs.world,
                     self.device.type, distributed.backend(self.device), t.batch_size, t.batch_size * procs.world)

    # ----------------------------------------------------------------- setup
    def _first_images(self, images: int = 256):
        """The first ``images`` training images of epoch 0 and their conditions (or None): what a
        fresh run initialises weight normalisation from, the same on every process."""
        batch = self.stream.batch(0, 0, min(images, len(self.stream)))
        return batch.levels, batch.cond

    def _check_memory(self, model_config) -> None:
        """Refuse, before allocating anything, a model or batch far too large for the device."""
        t = self.cfg.train
        check_memory(self.kind.memory(model_config, t.batch_size), f"training this model at batch {t.batch_size}",
                     self.device, "use a smaller model or train.batch_size")

    def _check_splits(self, model_config) -> None:
        """Every split the run will use holds images that fit the model, checked before the first step."""
        d = self.cfg.data
        names = [d.train_split, self.valid_name] + ([d.test_split] if d.test_split else [])
        for name in dict.fromkeys(names):
            split = self._split(name)
            if len(split.images) == 0:
                raise DataError(f"the {name} split of {d.name} holds no images; training needs a non-empty "
                                f"train split and something to validate and test on")
            self.kind.check_split(model_config, split)

    def _meta(self, train) -> dict:
        return {
            "format": ckpt.FORMAT,
            "format_version": ckpt.FORMAT_VERSION,
            "pixelcnn_version": __version__,
            "model_kind": self.kind.name,
            "preset": self.cfg.model.name,
            "model": config_to_dict(self.model.config),
            "data": {
                "name": self.cfg.data.name,
                "kind": self.cfg.data.kind,
                "ordered": levels_ordered(self.cfg.data),
                "levels": self.cfg.data.levels,
                "binarize": self.cfg.data.binarize,
                "num_classes": train.num_classes if self.cfg.data.conditional else 0,
                "class_names": list(train.class_names) if self.cfg.data.conditional else [],
            },
            "run": to_dict(self.cfg),
            "processes": {"world_size": self.procs.world, "batch_size_per_process": self.cfg.train.batch_size,
                          "global_batch": self.cfg.train.batch_size * self.procs.world},
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
                if not ema_file.is_file():
                    raise CheckpointError(f"{ema_file} is missing; the run keeps EMA weights "
                                          f"(train.ema_decay = {self.cfg.train.ema_decay}) and cannot resume without them")
                self.ema.load(ckpt.read_tensors(ema_file), state["ema_updates"])
            distributed.restore_rng(state["rng"], self.procs, self.cfg.train.seed, state["step"], self.device)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{path} holds a training state this run cannot restore "
                                  f"({type(e).__name__}: {e})") from None
        self.step, self.epoch, self.batch_index = state["step"], state["epoch"], state["batch_index"]
        self.position = self._saved_position(path, meta, state)
        self.seconds_before = float(state.get("train_seconds", 0.0))
        log.info("resuming %s at step %d (epoch %d, image %d of %d)", self.run_dir, self.step, self.epoch + 1,
                 self.position, len(self.stream))
        was = state.get("global_batch", meta["run"].get("train", {}).get("batch_size"))
        now = self.cfg.train.batch_size * self.procs.world
        if was != now:
            log.info("the global batch was %s images (%s process(es)) and is now %d (%d x %d): the epoch "
                     "continues at image %d in batches of %d", was, state.get("world", 1), now,
                     self.procs.world, self.cfg.train.batch_size, self.position, now)

    def _saved_position(self, path: Path, meta: dict, state: dict) -> int:
        """Images of the current epoch already trained on (checkpoints before multi-process training
        saved only the batch index of a single process)."""
        position = state.get("position")
        if position is None:
            batch = meta["run"].get("train", {}).get("batch_size")
            if type(batch) is not int:
                raise CheckpointError(f"{path} saves no position in the epoch and no batch size to derive it")
            position = min(state["batch_index"] * batch, len(self.stream))
        if type(position) is not int or not 0 <= position <= len(self.stream):
            raise CheckpointError(f"{path / 'state.json'} is damaged: position {position!r} is not an image of "
                                  f"an epoch of {len(self.stream)} images; the training split may have changed")
        return position

    # ----------------------------------------------------------------- loop
    def run(self, *, stop_on_signals: bool = True) -> dict:
        """Train until a limit is reached; returns the final scores (also in metrics.jsonl).

        With ``stop_on_signals``, SIGTERM or SIGINT stops after the current step and
        checkpoint; the summary then has ``"interrupted"`` (the signal's name) and no
        test score, and ``Trainer(cfg, run_dir, resume=True)`` continues the run. The
        run's lock is given back when it returns or fails.
        """
        try:
            return self._run(stop_on_signals)
        finally:
            self.release()

    def _run(self, stop_on_signals: bool) -> dict:
        t = self.cfg.train
        per_epoch = self.stream.batches_per_epoch(t.batch_size * self.procs.world)
        self._started = time.monotonic()
        progress = Progress(self._bar_total(per_epoch), self.step, enabled=t.progress and self.procs.is_main)
        self._seen, self._mark, self._running, self._rate = 0, time.monotonic(), None, None
        signals = StopSignals(enabled=stop_on_signals)
        try:
            with signals:
                reason, stopped_by = self._should_stop(signals)  # a resumed run may have nothing left to do
                while reason is None:
                    if self.position >= len(self.stream):
                        self._end_epoch()
                        self._seen, self._mark = 0, time.monotonic()  # images/s counts training, not evaluation
                    else:
                        self._one_step(progress)
                        if t.checkpoint_every and self.step % t.checkpoint_every == 0:
                            self.save()
                    reason, stopped_by = self._should_stop(signals)
                path = self.save()
                stopped_by = stopped_by or (signals.received if self.procs.world == 1 else None)
        finally:
            progress.close()
        summary = (self._interrupted(stopped_by, path) if stopped_by
                   else self._finish(reason, time.monotonic() - self._started))
        if self._owns_group:  # only after a run that ended well: a failing process must not wait here
            self.loss = self._make_loss(self.model)  # the DDP wrapper goes before the group it uses
            distributed.stop()
            self._owns_group = False
        return summary

    def release(self) -> None:
        """Give back the run's lock (the end of the process gives it back too)."""
        if self._lock is not None:
            self._lock.release()

    def _should_stop(self, signals: StopSignals) -> tuple[str | None, str | None]:
        """(why the run stops now or None, the signal that stopped it or None), the same on every
        process: the time limit and the signals may reach the processes at different steps."""
        limit = self._limit()
        got = signals.received
        flags = distributed.any_of([limit is not None] + [got == name for name in StopSignals.SIGNALS],
                                   self.procs, self.device)
        if flags[0]:
            return limit or f"reached train.max_minutes = {self.cfg.train.max_minutes}", None
        for name, flag in zip(StopSignals.SIGNALS, flags[1:]):
            if flag:
                return f"stopped by {name}", name
        return None, None

    def _one_step(self, progress: Progress) -> None:
        t = self.cfg.train
        batch = self.stream.batch(self.epoch, self.position, t.batch_size, self.procs.rank, self.procs.world)
        value = self._train_step(batch)
        self.step += 1
        self.batch_index += 1
        self.position += batch.total
        self._seen += batch.total  # images/s counts the global batch
        self._running = value if self._running is None else 0.95 * self._running + 0.05 * value
        figure = self.kind.figure  # bpd, or the loss
        if self.step % t.log_every == 0:
            now = time.monotonic()
            self._rate = self._seen / max(now - self._mark, 1e-9)
            self.metrics.write("train", step=self.step, epoch=self.epoch + 1,
                               **{figure: value, f"{figure}_smooth": self._running},
                               lr=learning_rate(self.step - 1, t), images_per_s=self._rate)
            self._seen, self._mark = 0, now
        post = {figure: f"{self._running:.4f}", "epoch": self.epoch + 1}
        if self._rate is not None:  # measured over the first train.log_every steps; no "nan" before that
            post["img_s"] = f"{self._rate:.0f}"
        if t.max_minutes:  # the bar's own ETA counts steps; this counts the time limit
            post["left"] = f"{max(t.max_minutes - self.train_seconds() / 60, 0):.1f}min"
        progress.update(self.step, post)

    def train_seconds(self) -> float:
        """Training time of this run so far, over every session (what train.max_minutes limits)."""
        now = 0.0 if self._started is None else time.monotonic() - self._started
        return self.seconds_before + now

    def _train_step(self, batch: Batch) -> float:
        """One optimiser step on the global batch that ``batch`` is this process's share of;
        returns the kind's training figure of the batch (over every process): bits per
        sub-pixel, or the loss per sub-pixel."""
        t = self.cfg.train
        self.loss.train()
        lr = learning_rate(self.step, t)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x = batch.levels.to(self.device, non_blocking=True)
        cond = move_cond(batch.cond, lambda t: t.to(self.device, non_blocking=True))
        with torch.autocast(self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None):
            nats = self.loss(x, cond)  # [b] nats (the loss) per image; through DDP's forward when wrapped
        part = weighted_mean(nats, batch.real, batch.total, self.model.dims)
        self.optimizer.zero_grad(set_to_none=True)
        (part * self.procs.world).backward()  # DDP averages gradients over the processes: the world cancels
        # the batch's loss, summed over the processes before deciding, so that all stop together
        mean = distributed.sum_across(part.detach().reshape(1), self.procs, self.device)[0]  # nats per sub-pixel
        if not math.isfinite(mean):
            raise self._diverged(f"the loss became {mean}")
        # the norm is wanted even without clipping (an infinite bound clips nothing): a non-finite
        # gradient must stop the run before the optimiser writes it into the weights
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip or math.inf)
        if not torch.isfinite(norm):
            raise self._diverged(f"the gradient norm became {float(norm)}")
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model)
        return self.kind.train_figure(mean)

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
        self.batch_index = self.position = 0
        score = self.validate()
        log.info("epoch %d: %s %s (%s split, %d images)", self.epoch, "EMA" if self.ema else "model",
                 self.kind.describe(score), self.valid_name, score["images"])
        if self.cfg.train.sample_every_epoch and self.cfg.train.sample_count and self.procs.is_main:
            self._picture(f"epoch-{self.epoch:04d}.png")
        self.save()

    # ----------------------------------------------------------------- outputs
    @property
    def eval_model(self):
        """The weights used for evaluation and sampling: EMA when kept."""
        return self.ema.model if self.ema is not None else self.model

    def validate(self) -> dict:
        """The validation split's figures (the kind's: bits/dim, or PSNR and codebook usage)."""
        return self._score(self.valid_name, "valid")

    def _score(self, name: str, kind: str) -> dict:
        """Score split ``name`` with the evaluation weights and log it as a ``kind`` record."""
        score = self.kind.evaluate(self.eval_model, self._split(name), self.cfg.data,
                                   batch_size=self.cfg.train.eval_batch_size, procs=self.procs, device=self.device)
        epoch = self.epoch + (self.position > 0)  # the epoch of the last step, from 1, as in train records
        self.metrics.write(kind, step=self.step, epoch=epoch, split=name, **score)
        return score

    def _picture(self, name: str) -> Path:
        """The kind's picture of the evaluation weights (samples, reconstructions) in its folder of the run."""
        return self.kind.picture(self.eval_model, self.run_dir / self.kind.pictures / name, self.cfg,
                                 self._split(self.valid_name))

    def _split(self, name: str):
        if name == self.cfg.data.train_split:
            return self.train_split
        if name not in self._splits:
            self._splits[name] = load_split(self.cfg.data, name, seed=self.cfg.train.seed)
        return self._splits[name]

    def save(self) -> Path | None:
        """Checkpoint the run (refusing non-finite weights, so the last checkpoint stays good).

        Every process calls it (each gives its random state); rank 0 writes and returns the path.
        """
        ranks = distributed.gather(distributed.rng_state(self.device), self.procs)  # [world] states
        self._check_finite_weights()  # the weights are the same on every process: all refuse alike
        if not self.procs.is_main:
            return None
        state = {
            "train_seconds": self.train_seconds(),
            "step": self.step,
            "epoch": self.epoch,
            "batch_index": self.batch_index,
            "position": self.position,
            "world": self.procs.world,
            "global_batch": self.cfg.train.batch_size * self.procs.world,
            "ema_updates": self.ema.updates if self.ema is not None else 0,
            "optimizer": self.optimizer.state_dict(),
            "rng": {"ranks": ranks},
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
        log.debug("stopped by %s after step %d; checkpoint %s", signal_name, self.step, path)  # the caller says it
        self.metrics.close()
        return {"steps": self.step, "epochs": self.epoch, "seconds": round(time.monotonic() - self._started, 1),
                "stopped": f"stopped by {signal_name}", "interrupted": signal_name,
                "checkpoint": str(path) if path else None}

    def _finish(self, reason: str | None, seconds: float) -> dict:
        log.info("stopped: %s after %d steps (%.1f s)", reason, self.step, seconds)
        summary = {"steps": self.step, "epochs": self.epoch, "seconds": round(seconds, 1), "stopped": reason}
        test_name = self.cfg.data.test_split
        if test_name:
            log.info("final evaluation: scoring the %s split (%d images)", test_name,
                     len(self._split(test_name).images))
            score = self._score(test_name, "test")
            summary["test"] = {"split": test_name, **score}
        if self.procs.is_main and self.cfg.train.sample_count:
            log.info("final %s", self.kind.picture_note(self.cfg))
            summary[self.kind.pictures] = str(self._picture("final.png"))
        self.metrics.close()
        return summary

    def _bar_total(self, per_epoch: int) -> int | None:
        """The step at which the run ends, when a step or epoch limit says (the bar's ETA)."""
        t = self.cfg.train
        totals = [n for n in (t.epochs * per_epoch, t.max_steps) if n]
        return min(totals) if totals else None
