"""The standard difficulty scores of every training example, from the training forward passes (docs/outputs.md,
"Scores from training dynamics"): running sums on the device (pdepth.metrics.scores.TrainingScores), read at the
end of the configured epochs and of training, so that no per-step array of every example is kept."""

from dataclasses import dataclass

import numpy as np
import torch

from pdepth.metrics.scores import TrainingScores

PER_POINT = ("forgetting_events", "never_learned", "aum", "confidence", "variability", "correctness", "presentations")


@dataclass
class ScorePoints:
    """The scores read at each point of training: ``epochs`` (P,), each score (P, N), EL2N (N,)."""

    epochs: np.ndarray
    values: dict[str, np.ndarray]
    el2n: np.ndarray


class DynamicsObserver:
    """Sees each training forward pass (an observer of pdepth.training.loop) with the labels trained on."""

    def __init__(self, labels: torch.Tensor, read_at: set[int], aum_from_epoch: int = 1):
        self.scores = TrainingScores(len(labels), labels.device)
        self.labels, self.read_at, self.aum_from_epoch = labels, read_at, aum_from_epoch
        self.points: list[tuple[int, dict]] = []
        self.epoch = 1  # the epoch whose passes it sees now

    def trained(self, batch: torch.Tensor, logits: torch.Tensor, step: int) -> None:
        self.scores.observe(batch, logits, self.labels[batch], margin=self.epoch >= self.aum_from_epoch)

    def evaluated(self, batch: torch.Tensor, logits: torch.Tensor) -> None:
        """EL2N as Paul et al. compute it: from an eval-mode pass over the unaugmented training examples, the
        weights fixed (so an example's score does not depend on where the shuffle put it)."""
        self.scores.mark_el2n(batch, logits, self.labels[batch])

    def epoch_done(self, epoch: int) -> None:
        self.epoch = epoch + 1
        if epoch in self.read_at:
            self.points.append((epoch, self.scores.result()))

    def result(self, last_epoch: int) -> ScorePoints:
        """Every point read, and the end of training (read now if it was not)."""
        points = list(self.points)
        if not points or points[-1][0] != last_epoch:
            points.append((last_epoch, self.scores.result()))
        return ScorePoints(
            epochs=np.array([epoch for epoch, _ in points], dtype=np.int32),
            values={name: np.stack([values[name] for _, values in points]) for name in PER_POINT},
            el2n=points[-1][1]["el2n"],
        )

    def state(self) -> dict:
        return {"sums": self.scores.state(), "points": list(self.points), "epoch": self.epoch}

    def restore(self, state: dict) -> None:
        self.scores.restore(state["sums"])
        self.points[:] = state["points"]
        self.epoch = state["epoch"]
