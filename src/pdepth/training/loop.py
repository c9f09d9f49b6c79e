"""SGD-with-momentum training on in-memory tensors, recording every example's prediction at snapshot points.

The training examples' predictions are those of the training forward passes (docs/methods.md, "Iteration learned"):
a snapshot evaluates only the held-out examples. The final model's prediction of every example is not made here: the
probe job's embedding pass, which runs the final model on every example anyway, records it (pdepth.pipeline.probe)."""

import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn
from torch.fx.experimental.optimization import fuse
from tqdm import tqdm

from pdepth.data.augment import Normalizer
from pdepth.data.examples import Examples
from pdepth.data.prepared import TEST, TRAIN
from pdepth.errors import TrainingDiverged
from pdepth.models import ProbedModel, build
from pdepth.training.checkpoint import Checkpointing
from pdepth.training.dynamics import DynamicsObserver
from pdepth.training.hparams import TrainConfig
from pdepth.training.losses import LOSSES
from pdepth.training.runs import RunOutputs

log = logging.getLogger(__name__)

_INIT_STREAM, _SHUFFLE_STREAM = 0x1417, 0x5F1E
HISTORY_COLUMNS = ("epoch", "step", "lr", "loss", "train_acc", "holdout_acc", "test_acc", "seconds", "snapshot_seconds")


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Multiplier of the base learning rate at ``step``: linear warm-up, then the schedule's decay towards 0."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "linear":
        return 1 - progress
    return 1.0


@dataclass
class TrainResult:
    outputs: RunOutputs | None  # the run's arrays, as run.npz holds them (example_index: positions in the images
    # given); None for a run that records nothing (``train(record=False)``)
    history: list[dict]  # one row per epoch
    states_at_points: list[dict]  # the model's state at each score point before the last, in order, on the CPU


NOT_SEEN = -1  # a training example's entry before its first training forward pass


class Recorder:
    """Every example's latest prediction, on the model's device: the training examples' from their training forward
    passes (augmented inputs, the weights before the step), the held-out ones' from eval passes at each snapshot."""

    def __init__(self, n: int, held_out: torch.Tensor, device: torch.device):
        self.held_out = held_out  # indices
        self.pred = torch.full((n,), NOT_SEEN, dtype=torch.int16, device=device)
        self.made_at = torch.zeros(n, dtype=torch.int64, device=device)

    def trained(self, batch: torch.Tensor, logits: torch.Tensor, step: int) -> None:
        self.pred[batch] = logits.detach().argmax(1).to(torch.int16)
        self.made_at[batch] = step

    def row(self, step: int, held_out_preds: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """The snapshot at ``step``: (predictions, lag) of every example, held-out ones just evaluated."""
        self.pred[self.held_out] = held_out_preds.to(torch.int16)
        self.made_at[self.held_out] = step
        lag = (step - self.made_at).clamp_(max=np.iinfo(np.int32).max).to(torch.int32)
        return self.pred.cpu().numpy(), lag.cpu().numpy()

    def state(self) -> dict:
        return {"pred": self.pred.cpu(), "made_at": self.made_at.cpu()}

    def restore(self, state: dict) -> None:
        self.pred.copy_(state["pred"])
        self.made_at.copy_(state["made_at"])

    def epoch_done(self, epoch: int) -> None:
        pass


def memory_format(config: TrainConfig) -> torch.memory_format:
    """The memory layout of the run's images and model (``training.channels_last``)."""
    return torch.channels_last if config.channels_last else torch.contiguous_format


def seeded_generator(seed: int, stream: int, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(int(np.random.SeedSequence([seed, stream]).generate_state(1)[0]))
    return generator


def init_seed(seed: int) -> int:
    """The torch seed for a model's initial weights, derived from the study seed."""
    return int(np.random.SeedSequence([seed, _INIT_STREAM]).generate_state(1)[0])


def sgd(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """The optimiser of ``config`` (its base learning rate; ``train`` schedules it): torch's fused SGD, one kernel
    for every parameter's update (the same update up to rounding; 11-15% faster MLP training on the CPU)."""
    return torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
        fused=True,
    )


_UNFOLDED: set[type] = set()  # model classes whose batch norm could not be folded (said once per process)


def for_inference(model: nn.Module) -> nn.Module:
    """``model`` in eval mode for an eval pass: a copy with each batch norm folded into the convolution before it
    (torch.fx's ``fuse``; the same outputs up to float rounding, 12-22% faster on the CPU for the study's CNNs);
    ``model`` itself where it has no batch norm, or where torch.fx cannot trace or copy it (a registered model of one's
    own with data-dependent control flow, say: it is evaluated as it is, the same outputs, a warning once)."""
    model.eval()
    kind = type(model)
    if kind in _UNFOLDED or not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return model
    try:
        return fuse(model)
    except Exception as exc:  # noqa: BLE001 - tracing fails in many ways; the unfolded model is the same function
        _UNFOLDED.add(kind)
        log.warning("%s: batch norm not folded for eval passes (torch.fx: %s); evaluated as it is", kind.__name__, exc)
        return model


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    images: torch.Tensor,
    normalize: Normalizer,
    batch_size: int,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> torch.Tensor:
    """Logits of every image, model in eval mode (batch norm folded: :func:`for_inference`), no augmentation;
    batches in the model's ``memory_format``. The model is left in the mode it was in."""
    was_training = model.training
    evaluated = for_inference(model)
    batches = (
        images[i : i + batch_size].contiguous(memory_format=memory_format) for i in range(0, len(images), batch_size)
    )
    out = torch.cat([evaluated(normalize(batch)) for batch in batches])
    model.train(was_training)
    return out


class Observer(Protocol):
    """Something that watches every training forward pass and is saved in the run's checkpoints (the
    :class:`Recorder`)."""

    def trained(self, batch: torch.Tensor, logits: torch.Tensor, step: int) -> None: ...

    def state(self) -> dict: ...

    def restore(self, state: dict) -> None: ...

    def epoch_done(self, epoch: int) -> None: ...


@dataclass(frozen=True)
class StepPlan:
    """The optimiser steps of a run: training examples per step, steps per epoch and in all, warm-up steps, and the
    steps after which a snapshot is taken (the last of every epoch among them)."""

    step_size: int
    per_epoch: int
    total: int
    warmup: int
    snapshot_at: frozenset[int]

    @classmethod
    def of(cls, n_train: int, config: TrainConfig) -> "StepPlan":
        step_size = n_train if config.full_batch else config.batch_size
        per_epoch = math.ceil(n_train / step_size)
        snapshot_at = frozenset(
            round(per_epoch * (e + i / config.snapshots_per_epoch))
            for e in range(config.epochs)
            for i in range(1, config.snapshots_per_epoch + 1)
        )
        warmup = int(round(config.warmup_epochs * per_epoch))
        return cls(step_size, per_epoch, per_epoch * config.epochs, warmup, snapshot_at)


class TrainingRun:
    """The state of one :func:`train` run (optimiser, generator, observers, snapshots, history), advanced a step, a
    snapshot and an epoch at a time."""

    def __init__(
        self,
        model: nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor,
        in_train: np.ndarray,
        orig_split: np.ndarray,
        normalize: Normalizer,
        config: TrainConfig,
        seed: int,
        record: bool = True,
    ):
        device = images.device
        self.model, self.images, self.labels, self.normalize, self.config = model, images, labels, normalize, config
        self.in_train = in_train
        self.train_idx = torch.from_numpy(np.flatnonzero(in_train)).to(device)
        self.held_out = torch.from_numpy(np.flatnonzero(~in_train)).to(device)
        self.groups = {"train": in_train, "holdout": (orig_split == TRAIN) & ~in_train, "test": orig_split == TEST}
        self.labels_np = labels.cpu().numpy()
        self.plan = plan = StepPlan.of(len(self.train_idx), config)
        self.optimizer = sgd(model, config)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, plan.total, plan.warmup, config.schedule)
        )
        self.generator = seeded_generator(seed, _SHUFFLE_STREAM, device)
        self.loss_fn = LOSSES[config.loss]
        self.memory_format = memory_format(config)
        self.recorder = Recorder(len(images), self.held_out, device)
        self.dynamics = DynamicsObserver(labels, set(config.score_points[:-1]), config.aum_from_epoch)
        self.record = record  # False: the weights alone (no snapshots, scores or history accuracies)
        # by their key in the checkpoint
        self.observers: dict[str, Observer] = {"recorder": self.recorder, "dynamics": self.dynamics} if record else {}
        self.snapshots, self.lags, self.snapshot_steps, self.history = [], [], [], []
        self.weights_at: dict[int, dict] = {}  # the probe job probes these models too (pdepth.pipeline.probe)
        self.step, self.loss_sum, self.snapshot_seconds = 0, None, 0.0

    def diverged(self, epoch: int, what: str) -> TrainingDiverged:
        return TrainingDiverged(
            f"{what} during epoch {epoch} (by step {self.step}, lr {self.scheduler.get_last_lr()[0]:.4g}); lower "
            "training.lr or raise training.warmup_epochs"
        )

    def evaluate(self, which: torch.Tensor, epoch: int) -> torch.Tensor:
        """Eval-mode logits of the examples ``which``, checked finite."""
        chosen = self.images[which]
        if not len(chosen):
            return torch.zeros((0, 1), device=self.images.device)
        out = predict_logits(self.model, chosen, self.normalize, self.config.eval_batch_size, self.memory_format)
        finite = torch.isfinite(out).all(1)
        if not bool(finite.all()):  # e.g. a blow-up at the last step, after the last loss was seen finite
            raise self.diverged(
                epoch, f"the model's outputs became non-finite for {int((~finite).sum())} of {len(finite)} examples"
            )
        return out

    def snapshot(self, epoch: int) -> np.ndarray:
        """Every example's latest prediction, the held-out ones evaluated now; first the divergence check of the loss
        so far. The last step of every epoch is a snapshot, so this is where the epoch's loss is first read on the
        host."""
        started = time.perf_counter()
        if epoch and not math.isfinite(loss := self.loss_sum.item()):
            raise self.diverged(epoch, f"the training loss became {loss}")
        preds, lag = self.recorder.row(self.step, self.evaluate(self.held_out, epoch).argmax(1))
        self.snapshots.append(preds.copy())
        self.lags.append(lag)
        self.snapshot_steps.append(self.step)
        self.snapshot_seconds += time.perf_counter() - started
        return preds

    def start(self, checkpoint: dict | None) -> int:
        """Resume from ``checkpoint``, or take the snapshot at initialisation without one; the first epoch to run."""
        if checkpoint is None:
            if self.record:
                self.snapshot(0)
            return 1
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.generator.set_state(checkpoint["generator"])
        self.snapshots[:], self.lags[:] = checkpoint["snapshots"], checkpoint["lags"]
        self.snapshot_steps[:] = checkpoint["snapshot_steps"]
        for key, observer in self.observers.items():
            observer.restore(checkpoint[key])
        self.history[:] = checkpoint["history"]
        self.weights_at = checkpoint["weights_at"]
        self.step = checkpoint["step"]
        return checkpoint["epoch"] + 1

    def checkpoint(self, epoch: int) -> dict:
        """The whole state after ``epoch``, as :meth:`start` resumes it."""
        return {
            "epoch": epoch,
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "snapshots": self.snapshots,
            "lags": self.lags,
            "snapshot_steps": self.snapshot_steps,
            **{key: observer.state() for key, observer in self.observers.items()},
            "history": self.history,
            "weights_at": self.weights_at,
        }

    def take_step(self, step_examples: torch.Tensor) -> None:
        """One optimiser step on ``step_examples``, its gradient accumulated over chunks of at most a batch; every
        observer sees each chunk's training forward pass."""
        self.optimizer.zero_grad(set_to_none=True)
        batch_size = self.config.batch_size
        for chunk in range(0, len(step_examples), batch_size):  # one chunk unless full_batch
            batch = step_examples[chunk : chunk + batch_size]
            x = self.images[batch].contiguous(memory_format=self.memory_format)
            if self.config.augmentation.active:
                x = self.config.augmentation(x, self.generator)
            out = self.model(self.normalize(x))
            for observer in self.observers.values():
                observer.trained(batch, out, self.step)
            loss = self.loss_fn(out, self.labels[batch])
            if len(batch) < len(step_examples):
                loss = loss * (len(batch) / len(step_examples))  # the chunks' gradients sum to the step's mean
            loss.backward()
            self.loss_sum += loss.detach() * len(step_examples)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1

    def run_epoch(self, epoch: int, bar: tqdm) -> None:
        """The epoch's steps in a fresh random order, with their snapshots; then its row of the history."""
        started, self.snapshot_seconds = time.perf_counter(), 0.0
        device, size = self.images.device, self.plan.step_size
        order = self.train_idx[torch.randperm(len(self.train_idx), generator=self.generator, device=device)]
        self.loss_sum = torch.zeros((), device=device)
        for start in range(0, len(order), size):
            self.take_step(order[start : start + size])
            bar.update()
            if self.record and self.step in self.plan.snapshot_at:
                preds = self.snapshot(epoch)  # the epoch's last step is always one: its row uses those
        mean_loss = self.loss_sum.item() / len(order)
        if not math.isfinite(mean_loss):  # unrecorded runs: no snapshot has checked it
            raise self.diverged(epoch, f"the training loss became {mean_loss}")
        bar.set_postfix(loss=f"{mean_loss:.4f}")
        row = {"epoch": epoch, "step": self.step, "lr": self.scheduler.get_last_lr()[0], "loss": mean_loss}
        row |= {
            f"{name}_acc": float((preds[mask] == self.labels_np[mask]).mean())
            if self.record and mask.any()
            else float("nan")
            for name, mask in self.groups.items()
        }
        row["seconds"] = time.perf_counter() - started
        row["snapshot_seconds"] = self.snapshot_seconds
        self.history.append(row)
        log_epoch(row, self.config.epochs)
        if self.record and epoch == self.config.el2n_epoch:
            self.dynamics.evaluated(self.train_idx, self.evaluate(self.train_idx, epoch))
        if epoch in self.config.score_points[:-1]:  # the earlier points, whose models are probed too
            self.weights_at[epoch] = {
                name: value.detach().cpu().clone() for name, value in self.model.state_dict().items()
            }
        for observer in self.observers.values():
            observer.epoch_done(epoch)

    def result(self) -> TrainResult:
        """The run's outputs (None unless recorded): its snapshots (the last at the end of training) and scores."""
        states = [self.weights_at[epoch] for epoch in self.config.score_points[:-1]]
        if not self.record:
            return TrainResult(None, self.history, states)
        scores = self.dynamics.result(self.config.epochs)
        outputs = RunOutputs(
            example_index=np.arange(len(self.images)),
            in_train=self.in_train,
            snapshot_preds=np.stack(self.snapshots),
            snapshot_steps=np.array(self.snapshot_steps, dtype=np.int64),
            snapshot_lag=np.stack(self.lags),
            score_epochs=scores.epochs,
            **scores.values,
            el2n=scores.el2n,
        )
        return TrainResult(outputs, self.history, states)


def log_epoch(row: dict, epochs: int) -> None:
    """The epoch's line of the job's log (an unrecorded run has no accuracies to show)."""
    accuracies = "".join(
        f"  {name} {row[f'{name}_acc']:.4f}"
        for name in ("train", "holdout", "test")
        if math.isfinite(row[f"{name}_acc"])
    )
    log.info(
        "epoch %d/%d  loss %.4f%s  lr %.4g  %.1f s",
        row["epoch"],
        epochs,
        row["loss"],
        accuracies,
        row["lr"],
        row["seconds"],
    )


def train(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    in_train: np.ndarray,
    orig_split: np.ndarray,
    normalize: Normalizer,
    config: TrainConfig,
    seed: int,
    progress: bool = True,
    checkpointing: Checkpointing | None = None,
    record: bool = True,
) -> TrainResult:
    """Train ``model`` on the examples where ``in_train``; ``images`` are uint8 (N, C, H, W) on the model's device.
    ``record=False`` trains the same weights without the snapshots' eval passes and the scores (the cross-validation's
    fold models: only their weights are used).

    With ``checkpointing``, the whole state is saved every few epochs and a matching checkpoint is resumed from, so
    that a killed run, re-run, ends with the outputs of an uninterrupted one (bit-identical on the CPU).
    """
    if checkpointing and not record:
        raise ValueError("an unrecorded run (record=False) is not checkpointed: its checkpoint would lack the records")
    run = TrainingRun(model, images, labels, in_train, orig_split, normalize, config, seed, record)
    first_epoch = run.start(checkpointing.load() if checkpointing else None)
    model.train()
    bar = tqdm(
        total=run.plan.total, initial=run.step, disable=not progress, desc="train", unit="step", dynamic_ncols=True
    )
    for epoch in range(first_epoch, config.epochs + 1):
        run.run_epoch(epoch, bar)
        if checkpointing and checkpointing.due(epoch, config.epochs):
            checkpointing.save(run.checkpoint(epoch))
    bar.close()
    return run.result()


def fit(
    arch: str,
    model_options: dict,
    examples: Examples,
    in_train: np.ndarray,
    normalize: Normalizer,
    config: TrainConfig,
    seed: int,
    progress: bool = True,
    checkpointing: Checkpointing | None = None,
    record: bool = True,
) -> tuple[ProbedModel, TrainResult]:
    """Build ``arch`` with the seed's initial weights on the normaliser's device and train it where ``in_train``;
    the result's ``example_index`` is the examples'."""
    device = normalize.mean.device
    torch.manual_seed(init_seed(seed))
    model = build(arch, examples.shape, model_options).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    result = train(
        model,
        examples.image_tensor(device),
        examples.label_tensor(device),
        in_train,
        examples.orig_split,
        normalize,
        config,
        seed,
        progress=progress,
        checkpointing=checkpointing,
        record=record,
    )
    if result.outputs is not None:
        result.outputs.example_index = examples.index
    return model, result
