"""Synthetic studies for testing verdicts: random networks whose examples are exchangeable (no per-example
difficulty at all), built through the real cube and metrics code, and planted signals of known size on top."""

import numpy as np
import xarray as xr

from pdepth import cube as cube_module
from pdepth import metrics as metrics_module
from pdepth.data.prepared import TEST, TRAIN

CLASSES = tuple(f"c{i}" for i in range(10))


def random_networks(
    seed: int,
    accurate: bool = False,
    n_train: int = 2400,
    n_test: int = 600,
    seeds: int = 4,
    layers: int = 7,
    k: int = 30,
) -> tuple[xr.Dataset, xr.Dataset]:
    """(cube, metrics) of ``seeds`` networks whose examples are exchangeable, every (example, seed, layer) drawn
    independently. Random networks predict uniformly random classes and their k-NN probes agree with the network's
    class more often in later layers (as real probes do); ``accurate`` ones predict the label 90% of the time and
    their probes find the label more often in later layers (30% to 95%), whatever the network predicts. Snapshots,
    logits and input margins are random too. Each seed holds out a random 10% of the training set; the test set is
    always held out."""
    rng = np.random.default_rng(seed)
    n, c = n_train + n_test, len(CLASSES)
    labels = rng.integers(0, c, n)
    orig_split = np.r_[np.full(n_train, TRAIN), np.full(n_test, TEST)]
    in_train = (rng.random((n, seeds)) >= 0.1) & (orig_split == TRAIN)[:, None]

    def other_than(classes):
        return (classes + rng.integers(1, c, classes.shape)) % c

    if accurate:
        pred = np.where(rng.random((n, seeds)) < 0.9, labels[:, None], other_than(np.repeat(labels[:, None], seeds, 1)))
        truth = np.broadcast_to(labels[:, None, None], (n, seeds, layers))
        finds = rng.random((n, seeds, layers)) < np.linspace(0.3, 0.95, layers)
        knn_pred = np.where(finds, truth, other_than(truth))
    else:
        pred = rng.integers(0, c, (n, seeds))
        agrees = rng.random((n, seeds, layers)) < np.linspace(0.1, 0.95, layers)
        knn_pred = np.where(agrees, pred[..., None], rng.integers(0, c, (n, seeds, layers)))
    votes = k * np.eye(c, dtype=np.int64)[knn_pred]
    cube = cube_module.build(
        example_index=np.arange(n),
        labels=labels,
        orig_split=orig_split,
        orig_index=np.arange(n),
        classes=CLASSES,
        seeds=list(range(seeds)),
        in_train=in_train,
        pred=pred,
        knn_pred=knn_pred,
        votes=votes,
        layer_names=[f"layer{i}" for i in range(layers)],
        layer_dims=[8] * layers,
        layer_reductions=["none"] * layers,
        k=k,
        attrs={"dataset": "synthetic", "architecture": "random", "variant": "split", "probe_backend": "exact"},
    )
    runs = []
    for s in range(seeds):
        logits = rng.normal(size=(n, c))
        logits[np.arange(n), pred[:, s]] += 3.0  # the network's class is its argmax
        snapshots = np.vstack([rng.integers(0, c, (5, n)), pred[None, :, s]])
        margin = np.where(orig_split == TEST, rng.lognormal(0, 1, n), np.nan)
        runs.append(metrics_module.SeedRun(logits, snapshots, np.arange(6) * 100, margin))
    metrics = metrics_module.build(cube, runs, None, corner_examples=100, gain_layer=layers // 2)
    return cube, metrics


def correlated(rng: np.random.Generator, shape: tuple[int, ...], r: float, shared: float = 0.0):
    """Two standard normal arrays with correlation ``r`` between matching entries; a ``shared`` part of each comes
    from a per-row (per-example) term, so that appearances of one example are correlated too."""
    rows = shape[:1] + (1,) * (len(shape) - 1)
    common = np.sqrt(shared) * rng.normal(size=rows) + np.sqrt(1 - shared) * rng.normal(size=shape)
    own = rng.normal(size=shape)
    return common, r * common + np.sqrt(1 - r * r) * own
