"""Training hyper-parameters with their defaults, without torch (the configuration layer builds them)."""

from dataclasses import dataclass, fields

from pdepth.data.augment import Augmentation
from pdepth.errors import ConfigError
from pdepth.training.losses import LOSSES

SCHEDULES = ("cosine", "linear", "constant")  # of the learning rate after the warm-up (pdepth.training.loop)


def side_by_side(cpus: int, models: int, cpu_threads: int, on_cpu: bool = True) -> tuple[int, int]:
    """(models trained at once, threads each) in a job of ``cpus`` CPUs with ``models`` to train, each with
    ``cpu_threads`` (TrainConfig.cpu_threads) where the CPUs allow: as many at once as get that many, on a CPU; one
    at a time on a GPU (pdepth.pipeline.side_by_side)."""
    each = min(cpu_threads, max(1, cpus))
    return (max(1, min(models, cpus // each)) if on_cpu else 1), each


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (the ``training`` block of the config)."""

    epochs: int = 10  # 0: the untrained network (initial weights; one snapshot, at initialisation)
    batch_size: int = 128  # with full_batch: the chunk size in which the full-batch gradient is accumulated
    full_batch: bool = False  # one gradient step per epoch on the whole training split (0-Hinge intervention)
    loss: str = "cross_entropy"  # a key of pdepth.training.losses.LOSSES
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # cosine | linear | constant, after a linear warm-up
    warmup_epochs: float = 1.0
    augmentation: Augmentation = Augmentation()  # the dataset's (data.augmentation in the config)
    snapshots_per_epoch: int = 1  # predictions of every example at initialisation and this many times per epoch
    eval_batch_size: int = 1024
    channels_last: bool = False  # NHWC memory layout: faster convolutions on CPUs
    cpu_threads: int = 1  # of each model on a CPU: the weights are bit-identical for a given count, not across counts
    el2n_epoch: int = 1  # EL2N from an eval-mode pass over the training examples after this epoch (Paul et al.)
    aum_from_epoch: int = 1  # AUM from this epoch's presentations on (2: the authors' runner skips the first)
    score_epochs: tuple[int, ...] = ()  # the training-dynamics scores are also read after these epochs

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown training options {sorted(unknown)}; known: {sorted(known)}")
        if isinstance(values.get("augmentation"), dict):
            values = {**values, "augmentation": Augmentation(**values["augmentation"])}
        floats = {f.name for f in fields(cls) if f.type in (float, "float")}  # 1 and 1.0: one job record
        values = {key: float(value) if key in floats else value for key, value in values.items()}
        if "score_epochs" in values:
            values["score_epochs"] = tuple(sorted(set(values["score_epochs"])))
        return cls(**values)

    @property
    def score_points(self) -> tuple[int, ...]:
        """The epochs after which the training-dynamics scores are read: those of ``score_epochs`` before the last
        epoch, then the end of training (every file indexes its points in this order)."""
        return (*sorted(set(self.score_epochs) - {self.epochs}), self.epochs)

    def __post_init__(self):
        if self.epochs < 0:
            raise ConfigError(f"training.epochs must be >= 0 (0 = untrained), got {self.epochs}")
        if self.cpu_threads < 1:
            raise ConfigError(f"training.cpu_threads must be >= 1, got {self.cpu_threads}")
        if self.loss not in LOSSES:
            raise ConfigError(f"training.loss must be one of {sorted(LOSSES)}, got {self.loss!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"training.schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        late = [epoch for epoch in self.score_epochs if epoch > self.epochs]
        if late:
            raise ConfigError(
                f"training.score_epochs {late} come after the last of training.epochs ({self.epochs}): no scores "
                "would be read then; list epochs up to training.epochs (the end is always read)"
            )
        if 0 < self.epochs < self.el2n_epoch:
            raise ConfigError(
                f"training.el2n_epoch ({self.el2n_epoch}) is after the last of training.epochs ({self.epochs}): EL2N "
                "would be undefined for every example; set it to at most training.epochs"
            )
