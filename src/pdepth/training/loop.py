"""SGD-with-momentum training on in-memory tensors, recording every example's prediction at snapshot points.

The training examples' predictions are those of the training forward passes (docs/methods.md, "Iteration learned"):
a snapshot evaluates only the held-out examples, and the whole set once, at the end."""

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from pdepth.data.augment import Normalizer
from pdepth.data.examples import Examples
from pdepth.data.prepared import TEST, TRAIN
from pdepth.errors import TrainingDiverged
from pdepth.models import ProbedModel, build
from pdepth.training.checkpoint import Checkpointing
from pdepth.training.hparams import TrainConfig
from pdepth.training.losses import LOSSES

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
    logits: np.ndarray  # (N, C) float32, final model, eval mode
    snapshot_preds: np.ndarray  # (S, N) int16, predicted class at each snapshot (NOT_SEEN: no prediction yet)
    snapshot_steps: np.ndarray  # (S,) optimiser steps taken before each snapshot
    snapshot_lag: np.ndarray  # (S, N) steps between each prediction and its snapshot (0: made at the snapshot)
    history: list[dict]  # one row per epoch


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


def seeded_generator(seed: int, stream: int, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(int(np.random.SeedSequence([seed, stream]).generate_state(1)[0]))
    return generator


def init_seed(seed: int) -> int:
    """The torch seed for a model's initial weights, derived from the study seed."""
    return int(np.random.SeedSequence([seed, _INIT_STREAM]).generate_state(1)[0])


def sgd(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """The optimiser of ``config`` (its base learning rate; ``train`` schedules it)."""
    return torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    images: torch.Tensor,
    normalize: Normalizer,
    batch_size: int,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> torch.Tensor:
    """Logits of every image, model in eval mode, no augmentation; batches in the model's ``memory_format``."""
    was_training = model.training
    model.eval()
    batches = (
        images[i : i + batch_size].contiguous(memory_format=memory_format) for i in range(0, len(images), batch_size)
    )
    out = torch.cat([model(normalize(batch)) for batch in batches])
    model.train(was_training)
    return out


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
) -> TrainResult:
    """Train ``model`` on the examples where ``in_train``; ``images`` are uint8 (N, C, H, W) on the model's device.

    With ``checkpointing``, the whole state is saved every few epochs and a matching checkpoint is resumed from, so
    that a killed run, re-run, ends with the outputs of an uninterrupted one (bit-identical on the CPU).
    """
    device = images.device
    train_idx = torch.from_numpy(np.flatnonzero(in_train)).to(device)
    groups = {
        "train": in_train,
        "holdout": (orig_split == TRAIN) & ~in_train,
        "test": orig_split == TEST,
    }
    labels_np = labels.cpu().numpy()
    step_size = len(train_idx) if config.full_batch else config.batch_size
    steps_per_epoch = math.ceil(len(train_idx) / step_size)
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = int(round(config.warmup_epochs * steps_per_epoch))
    snapshot_at = {
        round(steps_per_epoch * (e + i / config.snapshots_per_epoch))
        for e in range(config.epochs)
        for i in range(1, config.snapshots_per_epoch + 1)
    }
    optimizer = sgd(model, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total_steps, warmup_steps, config.schedule)
    )
    generator = seeded_generator(seed, _SHUFFLE_STREAM, device)
    loss_fn = LOSSES[config.loss]
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format

    held_out = torch.from_numpy(np.flatnonzero(~in_train)).to(device)
    recorder = Recorder(len(images), held_out, device)
    snapshots, lags, snapshot_steps, history = [], [], [], []
    logits, snapshot_seconds, loss_sum = None, 0.0, None

    def diverged(epoch: int, step: int, what: str) -> TrainingDiverged:
        return TrainingDiverged(
            f"{what} during epoch {epoch} (by step {step}, lr {scheduler.get_last_lr()[0]:.4g}); lower training.lr "
            "or raise training.warmup_epochs"
        )

    def evaluate(which: torch.Tensor | None, epoch: int, step: int) -> torch.Tensor:
        """Eval-mode logits of the examples ``which`` (None: all), checked finite."""
        chosen = images if which is None else images[which]
        if not len(chosen):
            return torch.zeros((0, 1), device=device)
        out = predict_logits(model, chosen, normalize, config.eval_batch_size, memory_format)
        finite = torch.isfinite(out).all(1)
        if not bool(finite.all()):  # e.g. a blow-up at the last step, after the last loss was seen finite
            raise diverged(
                epoch,
                step,
                f"the model's outputs became non-finite for {int((~finite).sum())} of {len(finite)} examples",
            )
        return out

    def snapshot(step: int, epoch: int) -> np.ndarray:
        """Every example's latest prediction, the held-out ones evaluated now (all examples at the last step, whose
        logits are the run's); first the divergence check of the loss so far. The last step of every epoch is a
        snapshot, so this is where the epoch's loss is first read on the host."""
        nonlocal logits, snapshot_seconds
        started = time.perf_counter()
        if epoch and not math.isfinite(loss := loss_sum.item()):
            raise diverged(epoch, step, f"the training loss became {loss}")
        if step == total_steps:
            logits = evaluate(None, epoch, step)
            held_out_logits = logits[held_out]
        else:
            held_out_logits = evaluate(held_out, epoch, step)
        preds, lag = recorder.row(step, held_out_logits.argmax(1))
        snapshots.append(preds.copy())
        lags.append(lag)
        snapshot_steps.append(step)
        snapshot_seconds += time.perf_counter() - started
        return preds

    first_epoch, step = 1, 0
    resumed = checkpointing.load() if checkpointing else None
    if resumed is None:
        snapshot(0, 0)
    else:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        scheduler.load_state_dict(resumed["scheduler"])
        generator.set_state(resumed["generator"])
        snapshots[:], lags[:], snapshot_steps[:] = resumed["snapshots"], resumed["lags"], resumed["snapshot_steps"]
        recorder.restore(resumed["recorder"])
        history[:] = resumed["history"]
        first_epoch, step = resumed["epoch"] + 1, resumed["step"]
    model.train()
    bar = tqdm(total=total_steps, initial=step, disable=not progress, desc="train", unit="step", dynamic_ncols=True)
    for epoch in range(first_epoch, config.epochs + 1):
        started, snapshot_seconds = time.perf_counter(), 0.0
        order = train_idx[torch.randperm(len(train_idx), generator=generator, device=device)]
        loss_sum = torch.zeros((), device=device)
        for start in range(0, len(order), step_size):
            step_examples = order[start : start + step_size]
            optimizer.zero_grad(set_to_none=True)
            for chunk in range(0, len(step_examples), config.batch_size):  # one chunk unless full_batch
                batch = step_examples[chunk : chunk + config.batch_size]
                x = images[batch]
                x = x.contiguous(memory_format=memory_format)
                if config.augmentation.active:
                    x = config.augmentation(x, generator)
                out = model(normalize(x))
                recorder.trained(batch, out, step)
                loss = loss_fn(out, labels[batch])
                if len(batch) < len(step_examples):
                    loss = loss * (len(batch) / len(step_examples))  # the chunks' gradients sum to the step's mean
                loss.backward()
                loss_sum += loss.detach() * len(step_examples)
            optimizer.step()
            scheduler.step()
            step += 1
            bar.update()
            if step in snapshot_at:
                preds = snapshot(step, epoch)
        mean_loss = loss_sum.item() / len(order)
        bar.set_postfix(loss=f"{mean_loss:.4f}")
        row = {"epoch": epoch, "step": step, "lr": scheduler.get_last_lr()[0], "loss": mean_loss}
        row |= {
            f"{name}_acc": float((preds[mask] == labels_np[mask]).mean()) if mask.any() else float("nan")
            for name, mask in groups.items()
        }
        row["seconds"] = time.perf_counter() - started
        row["snapshot_seconds"] = snapshot_seconds
        history.append(row)
        log.info(
            "epoch %d/%d  loss %.4f  train %.4f  holdout %.4f  test %.4f  lr %.4g  %.1f s",
            epoch,
            config.epochs,
            row["loss"],
            row["train_acc"],
            row["holdout_acc"],
            row["test_acc"],
            row["lr"],
            row["seconds"],
        )
        if checkpointing and checkpointing.due(epoch, config.epochs):
            checkpointing.save(
                {
                    "epoch": epoch,
                    "step": step,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "generator": generator.get_state(),
                    "snapshots": snapshots,
                    "lags": lags,
                    "snapshot_steps": snapshot_steps,
                    "recorder": recorder.state(),
                    "history": history,
                }
            )
    bar.close()
    if logits is None:  # resumed from a checkpoint taken after the last epoch
        logits = evaluate(None, config.epochs, step)
    # The final row: the final model's eval-mode prediction of every example (the last snapshot's held-out ones).
    snapshots.append(logits.argmax(1).to(torch.int16).cpu().numpy())
    lags.append(np.zeros(len(images), np.int32))
    snapshot_steps.append(step)
    return TrainResult(
        logits=logits.cpu().numpy().astype(np.float32),
        snapshot_preds=np.stack(snapshots),
        snapshot_steps=np.array(snapshot_steps, dtype=np.int64),
        snapshot_lag=np.stack(lags),
        history=history,
    )


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
) -> tuple[ProbedModel, TrainResult]:
    """Build ``arch`` with the seed's initial weights on the normaliser's device and train it where ``in_train``."""
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
    )
    return model, result
