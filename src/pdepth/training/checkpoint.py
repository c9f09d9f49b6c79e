"""Resumable training: the full state of a run, written atomically every few epochs, read back on a re-run."""

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from pdepth.records import atomic_write

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpointing:
    """Where a run keeps its checkpoint, how often (in epochs), and what identifies the run it belongs to."""

    path: Path
    every: int
    fingerprint: str  # a checkpoint of another run (other config, seed or split) is never resumed
    keep_last: bool = False  # also after the last epoch (a block's finished seeds, until the block is done)

    def due(self, epoch: int, epochs: int) -> bool:
        if self.every <= 0:
            return False
        return (epoch % self.every == 0 and epoch < epochs) or (self.keep_last and epoch == epochs)

    def save(self, state: dict) -> None:
        with atomic_write(self.path) as partial:
            torch.save({**state, "fingerprint": self.fingerprint}, partial)
        log.info("checkpoint after epoch %d -> %s", state["epoch"], self.path)

    def load(self) -> dict | None:
        path = Path(self.path)
        if not path.exists():
            return None
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state.get("fingerprint") != self.fingerprint:
            log.warning("%s belongs to another run (config, seed or split changed): starting afresh", path)
            return None
        log.info("resuming from %s (after epoch %d)", path, state["epoch"])
        return state

    def remove(self) -> None:
        Path(self.path).unlink(missing_ok=True)
