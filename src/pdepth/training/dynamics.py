"""The standard difficulty scores of every training example, from the training forward passes (docs/outputs.md,
"Scores from training dynamics"): running sums on the device (TrainingScores), read at the end of the configured
epochs and of training, so that no per-step array of every example is kept. pdepth.metrics.scores defines each
score on a whole history."""

from dataclasses import dataclass

import numpy as np
import torch

PER_POINT = ("forgetting_events", "never_learned", "aum", "confidence", "variability", "correctness", "presentations")


class TrainingScores:
    """The scores of pdepth.metrics.scores, accumulated on the device from every training minibatch, without host
    synchronisation.

    Each ``observe`` call is one presentation of its examples, whose indices must be distinct within the call. Sums
    are float64; on MPS, which has no float64, float32, where variability (from the sum of squares) loses precision.
    """

    _COUNTS = ("presentations", "correct_count", "forgetting_events", "margin_count")
    _FLAGS = ("last_correct", "ever_correct")
    _FLOATS = ("margin_sum", "prob_sum", "prob_square_sum", "el2n")

    def __init__(self, n: int, device: torch.device | str = "cpu"):
        self.n = n
        self.device = torch.device(device)
        self.dtype = torch.float32 if self.device.type == "mps" else torch.float64
        self.tensors = {name: torch.zeros(n, dtype=torch.int64, device=self.device) for name in self._COUNTS}
        self.tensors |= {name: torch.zeros(n, dtype=torch.bool, device=self.device) for name in self._FLAGS}
        self.tensors |= {name: torch.zeros(n, dtype=self.dtype, device=self.device) for name in self._FLOATS}
        self.tensors["el2n"].fill_(float("nan"))
        self.repeated = torch.zeros((), dtype=torch.bool, device=self.device)  # read at state(): no sync per call

    def _inputs(self, batch: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor):
        logits = logits.detach().to(self.device, self.dtype)
        return batch.to(self.device), logits, labels.to(self.device)

    def observe(self, batch: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor, margin: bool = True) -> None:
        """One presentation of the examples ``batch`` (B,), with their logits (B, C) and labels (B,); ``margin``:
        whether it counts for AUM (the authors' runner skips the first epoch's)."""
        batch, logits, labels = self._inputs(batch, logits, labels)
        running = self.tensors
        ordered = batch.sort().values
        self.repeated |= (ordered[1:] == ordered[:-1]).any()
        correct = logits.argmax(dim=1) == labels
        assigned = logits.gather(1, labels[:, None])[:, 0]
        largest_other = logits.scatter(1, labels[:, None], -torch.inf).amax(dim=1)
        prob = torch.softmax(logits, dim=1).gather(1, labels[:, None])[:, 0]
        running["forgetting_events"].index_add_(0, batch, (running["last_correct"][batch] & ~correct).long())
        running["last_correct"][batch] = correct
        running["ever_correct"][batch] = running["ever_correct"][batch] | correct
        running["presentations"].index_add_(0, batch, torch.ones_like(batch))
        running["correct_count"].index_add_(0, batch, correct.long())
        if margin:
            running["margin_sum"].index_add_(0, batch, assigned - largest_other)
            running["margin_count"].index_add_(0, batch, torch.ones_like(batch))
        running["prob_sum"].index_add_(0, batch, prob)
        running["prob_square_sum"].index_add_(0, batch, prob**2)

    def mark_el2n(self, batch: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Stores the EL2N of these examples (Paul et al. 2021), replacing any stored before."""
        batch, logits, labels = self._inputs(batch, logits, labels)
        one_hot = torch.nn.functional.one_hot(labels, logits.shape[1]).to(self.dtype)
        self.tensors["el2n"][batch] = torch.linalg.vector_norm(torch.softmax(logits, dim=1) - one_hot, dim=1)

    def state(self) -> dict[str, torch.Tensor]:
        """CPU copies of the running sums, for a checkpoint."""
        if self.repeated:
            raise ValueError(
                "TrainingScores.observe got one example index twice in one call: its sums would count it twice; "
                "pass each presentation of an example in its own call"
            )
        return {name: tensor.detach().to("cpu", copy=True) for name, tensor in self.tensors.items()}

    def restore(self, state: dict[str, torch.Tensor]) -> None:
        """Continues from ``state()`` of an accumulator over the same examples."""
        if state.keys() != self.tensors.keys() or any(len(value) != self.n for value in state.values()):
            raise ValueError(f"not the state of TrainingScores over {self.n} examples: {sorted(state)}")
        for name, tensor in self.tensors.items():
            tensor.copy_(state[name].to(tensor.dtype))

    def result(self) -> dict[str, np.ndarray]:
        """The scores per example, as the numpy definitions give them; NaN where undefined."""
        state = self.state()
        count = state["presentations"]
        confidence = _per_presentation(state["prob_sum"], count)
        floats = {
            "aum": _per_presentation(state["margin_sum"], state["margin_count"]),
            "confidence": confidence,
            "variability": (_per_presentation(state["prob_square_sum"], count) - confidence**2).clamp(min=0).sqrt(),
            "correctness": _per_presentation(state["correct_count"], count),
            "el2n": state["el2n"],
        }
        return {
            "forgetting_events": state["forgetting_events"].numpy().astype(np.int32),
            "never_learned": ~state["ever_correct"].numpy(),
            "presentations": count.numpy().astype(np.int32),
        } | {name: value.numpy().astype(np.float32) for name, value in floats.items()}


def _per_presentation(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    return torch.where(count > 0, total.double() / count, torch.nan)


@dataclass
class ScorePoints:
    """The scores read at each point of training: ``epochs`` (P,), each score (P, N), EL2N (N,)."""

    epochs: np.ndarray
    values: dict[str, np.ndarray]
    el2n: np.ndarray


class DynamicsObserver:
    """Sees each training forward pass (an observer of pdepth.training.loop) with the labels trained on."""

    def __init__(self, labels: torch.Tensor, read_at: set[int], aum_from_epoch: int = 1):
        """``read_at``: the epochs before the end at which the scores are read (TrainConfig.score_points)."""
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
