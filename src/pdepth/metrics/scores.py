"""Example-difficulty scores from training dynamics, to compare with prediction depth.

The numpy functions are the definitions: they take a whole training history, T presentations of N examples, with
an optional ``seen`` mask (T, N) whose False entries are ignored (an example's presentations are its seen entries,
in order; one never seen gets NaN means and zero counts). ``TrainingScores`` computes the same scores on the device
from the training minibatches, keeping only per-example running sums.

A prediction is correct iff the first largest logit (numpy's and torch's argmax) is the label's.

This module imports nothing from pdepth, and torch only where the accumulator runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def _seen_mask(seen: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    return np.ones(shape, bool) if seen is None else np.asarray(seen, bool)


def _mean_over_seen(values: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Per example, the mean of ``values`` (T, N) over its seen presentations; NaN when it has none."""
    count = seen.sum(axis=0)
    total = np.where(seen, values, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the largest logit so that it never overflows."""
    logits = np.asarray(logits, np.float64)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def correct_predictions(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether argmax over the last axis equals the label; a tie goes to the first largest logit."""
    return np.argmax(logits, axis=-1) == labels


def assigned_probability(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The softmax probability of each example's assigned label (logits (..., N, C), labels (N,))."""
    probs = softmax(logits)
    return np.take_along_axis(probs, np.broadcast_to(labels[:, None], probs.shape[:-1] + (1,)), axis=-1)[..., 0]


def forgetting_events(correct: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """Toneva et al. 2019, "An Empirical Study of Example Forgetting": per example, the number of transitions from
    correct to incorrect between consecutive presentations.

    A never-learned example counts 0 here (the raw count): :func:`toneva_forgetting` is the score.
    """
    correct = np.asarray(correct, bool)
    seen = _seen_mask(seen, correct.shape)
    previous = np.zeros(correct.shape[1], bool)
    events = np.zeros(correct.shape[1], np.int64)
    for now_correct, now_seen in zip(correct, seen, strict=True):
        events += now_seen & previous & ~now_correct
        previous = np.where(now_seen, now_correct, previous)
    return events


def never_learned(correct: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """Toneva et al. 2019: per example, whether it was correct at no presentation (also when never presented)."""
    correct = np.asarray(correct, bool)
    return ~(correct & _seen_mask(seen, correct.shape)).any(axis=0)


def toneva_forgetting(events: np.ndarray, never: np.ndarray, presentations: np.ndarray) -> np.ndarray:
    """The count Toneva et al.'s code ranks by (mtoneva/example_forgetting, order_examples_by_forgetting.py): the
    forgetting events of a run, or its number of presentations where the example was never learned (the paper: "an
    infinite number of times"; within a run the ranking is the same, a run of T presentations has < T / 2 events)."""
    return np.where(never, presentations, events)


def forgetting_score(correct: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """:func:`toneva_forgetting` of one run's history (T, N); NaN for an example never presented."""
    correct = np.asarray(correct, bool)
    seen = _seen_mask(seen, correct.shape)
    presented = seen.sum(axis=0)
    score = toneva_forgetting(forgetting_events(correct, seen), never_learned(correct, seen), presented)
    return np.where(presented > 0, score, np.nan)


def margins(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The logit of the assigned label minus the largest other logit (logits (..., N, C), labels (N,))."""
    logits = np.asarray(logits, np.float64)
    is_label = np.arange(logits.shape[-1]) == np.asarray(labels)[:, None]
    assigned = np.where(is_label, logits, 0.0).sum(axis=-1)
    return assigned - np.where(is_label, -np.inf, logits).max(axis=-1)


def area_under_margin(logits: np.ndarray, labels: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """Pleiss et al. 2020, "Identifying Mislabeled Data using the Area Under the Margin Ranking": per example, the
    mean over presentations of the assigned label's logit minus the largest other logit (logits (T, N, C), as in the
    paper, not probabilities)."""
    logits = np.asarray(logits, np.float64)
    return _mean_over_seen(margins(logits, labels), _seen_mask(seen, logits.shape[:2]))


def dataset_map(
    probs_assigned: np.ndarray, correct: np.ndarray, seen: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Swayamdipta et al. 2020, "Dataset Cartography": per example, over presentations, the mean probability of the
    assigned label (confidence), its population standard deviation (variability, ddof=0 as in allenai/cartography)
    and the fraction of correct predictions (correctness)."""
    probs_assigned = np.asarray(probs_assigned, np.float64)
    seen = _seen_mask(seen, probs_assigned.shape)
    confidence = _mean_over_seen(probs_assigned, seen)
    variability = np.sqrt(_mean_over_seen((probs_assigned - confidence) ** 2, seen))
    correctness = _mean_over_seen(np.asarray(correct, np.float64), seen)
    return confidence, variability, correctness


def el2n(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Paul et al. 2021, "Deep Learning on a Data Diet": the L2 norm of the softmax output minus the one-hot label
    (one network; the paper averages it over several initialisations)."""
    probs = np.asarray(probs, np.float64)
    one_hot = np.arange(probs.shape[-1]) == np.asarray(labels)[:, None]
    return np.linalg.norm(probs - one_hot, axis=-1)


def final_loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-example cross-entropy of logits (N, C), with a log-sum-exp that never overflows."""
    logits = np.asarray(logits, np.float64)
    largest = logits.max(axis=-1)
    log_normaliser = largest + np.log(np.exp(logits - largest[:, None]).sum(axis=-1))
    return log_normaliser - logits[np.arange(len(logits)), labels]


class TrainingScores:
    """The scores above, accumulated on the device from every training minibatch, without host synchronisation.

    Each ``observe`` call is one presentation of its examples, whose indices must be distinct within the call. Sums
    are float64; on MPS, which has no float64, float32, where variability (from the sum of squares) loses precision.
    """

    _COUNTS = ("presentations", "correct_count", "forgetting_events", "margin_count")
    _FLAGS = ("last_correct", "ever_correct")
    _FLOATS = ("margin_sum", "prob_sum", "prob_square_sum", "el2n")

    def __init__(self, n: int, device: torch.device | str = "cpu"):
        import torch

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
        import torch

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
        import torch

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
    import torch

    return torch.where(count > 0, total.double() / count, torch.nan)
