"""Synthetic studies for testing verdicts: random networks whose examples are exchangeable (no per-example
difficulty at all), built through the real cube and metrics code, and planted signals of known size on top."""

import numpy as np
import xarray as xr

from pdepth.data.prepared import TEST, TRAIN
from pdepth.metrics import per_example as metrics_module
from pdepth.outputs import cube as cube_module
from pdepth.training.dynamics import PER_POINT
from pdepth.training.runs import RunOutputs

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
    cube = built_cube(labels, orig_split, in_train, pred, knn_pred, k, "random")
    runs = random_runs(rng, pred, np.where(orig_split == TEST, 1.0, np.nan))
    metrics = metrics_module.build(cube, runs, None, corner_examples=100, gain_layer=layers // 2)
    return cube, metrics


def built_cube(labels, orig_split, in_train, pred, knn_pred, k: int, architecture: str) -> xr.Dataset:
    """The cube of these probe classes (each probe's k votes all for its class), through the real code."""
    n, seeds, layers = knn_pred.shape
    votes = k * np.eye(len(CLASSES), dtype=np.int64)[knn_pred]
    return cube_module.build(
        cube_module.ExampleCoords(np.arange(n), labels, CLASSES, orig_split, np.arange(n)),
        cube_module.SeedResults(list(range(seeds)), in_train, pred, knn_pred, votes),
        cube_module.Probes([f"layer{i}" for i in range(layers)], [8] * layers, ["none"] * layers, k),
        {"dataset": "synthetic", "architecture": architecture, "variant": "split", "probe_backend": "exact"},
    )


def random_runs(rng: np.random.Generator, pred: np.ndarray, measured: np.ndarray) -> list:
    """Per seed: random logits of the final model whose argmax is ``pred``, random snapshots, and lognormal input
    margins where ``measured`` is 1 (NaN where it is NaN)."""
    (n, seeds), c = pred.shape, len(CLASSES)
    runs = []
    for s in range(seeds):
        logits = rng.normal(size=(n, c))
        logits[np.arange(n), pred[:, s]] += 3.0  # the network's class is its argmax
        snapshots = rng.integers(0, c, (5, n)).astype(np.int16)
        lag = np.zeros(snapshots.shape, np.int32)
        dynamics = {name: rng.random((1, n)).astype(np.float32) for name in PER_POINT}
        outputs = RunOutputs(
            example_index=np.arange(n),
            in_train=np.ones(n, bool),  # the metrics read membership from the cube
            snapshot_preds=snapshots,
            snapshot_steps=np.arange(5) * 100,
            snapshot_lag=lag,
            score_epochs=np.array([5]),
            **dynamics,
            el2n=rng.random(n).astype(np.float32),
        )
        runs.append(metrics_module.SeedRun(outputs, logits, measured * rng.lognormal(0, 1, n)))
    return runs


def correlated(rng: np.random.Generator, shape: tuple[int, ...], r: float, shared: float = 0.0):
    """Two standard normal arrays with correlation ``r`` between matching entries; a ``shared`` part of each comes
    from a per-row (per-example) term, so that appearances of one example are correlated too."""
    rows = shape[:1] + (1,) * (len(shape) - 1)
    common = np.sqrt(shared) * rng.normal(size=rows) + np.sqrt(1 - shared) * rng.normal(size=shape)
    own = rng.normal(size=shape)
    return common, r * common + np.sqrt(1 - r * r) * own


LAYERS, GAIN_LAYER = 7, 3


def study(
    rng: np.random.Generator,
    labels: np.ndarray,
    in_train: np.ndarray,
    depth: np.ndarray,
    pred: np.ndarray,
    probe_finds_label: np.ndarray | None = None,
    orig_split: np.ndarray | None = None,
) -> tuple[xr.Dataset, xr.Dataset]:
    """(cube, metrics) through the real cube and metrics code, with the prediction depth of every (example, seed)
    set to ``depth`` (LAYERS: undefined) and the network predicting ``pred``: probes agree with the network from
    that layer on and disagree just below. Where ``probe_finds_label`` and the gain layer lies below the depth,
    that probe predicts the label (Section 4's corner). Snapshots, logits and input margins are random."""
    n, seeds = pred.shape
    c = len(CLASSES)
    layer = np.arange(LAYERS)[None, None, :]
    other = (pred[..., None] + rng.integers(1, c, (n, seeds, LAYERS))) % c  # never the network's class
    knn_pred = np.where(layer >= depth[..., None], pred[..., None], other)
    if probe_finds_label is not None:
        finds = probe_finds_label & (depth > GAIN_LAYER) & (pred != labels[:, None])
        knn_pred[..., GAIN_LAYER] = np.where(finds, labels[:, None], knn_pred[..., GAIN_LAYER])
    orig_split = np.where(in_train.any(axis=1), TRAIN, TEST) if orig_split is None else orig_split
    cube = built_cube(labels, orig_split, in_train, pred, knn_pred, 1, "planted")
    runs = random_runs(rng, pred, np.ones(n))
    metrics = metrics_module.build(cube, runs, None, corner_examples=100, gain_layer=GAIN_LAYER)
    return cube, metrics


def with_outcomes(cube, metrics, learned, log_output_margin, log_input_margin):
    """``metrics`` with planted (example, seed) iteration learned and margins (given as log10)."""
    dims = cube.pd.dims
    return metrics.assign(
        iteration_learned=(dims, learned),
        output_margin=(dims, 10.0**log_output_margin),
        input_margin=(dims, 10.0**log_input_margin),
    )


def difficulty_world(
    seed: int, kind: str, seeds: int = 4, examples: int = 0, n_train: int = 2400, n_test: int = 600, holdout=0.1
) -> tuple[xr.Dataset, xr.Dataset]:
    """A study whose examples differ in difficulty only as ``kind`` says; worlds with the same ``examples`` share
    their examples (labels, per-example difficulty), so they stand for two architectures trained on one dataset.

    - "coupled": within each network, depth, correctness, iteration learned and margins of an appearance go
      together (as they do by definition), and the middle-layer probe is right 60% of the time, whatever the network
      does; every (example, seed) is drawn anew, so no example is harder than another;
    - "class": difficulty (depth, accuracy, iteration learned, margins) depends only on the class;
    - "stratum": it depends only on the class and the original split (the test split is harder: a shifted test set);
    - "planted": a per-example difficulty, the same for every seed, drives all of them, and 10% of the training
      set is "ambiguous unless the label is given": undefined depth when held out, 0 when trained on, and a
      middle-layer probe that finds the label the network misses.

    ``holdout``: each seed's held-out share of the training set. Section 4's gain is scored on the corner's
    held-out appearances: at 0.1 and 4 seeds only ~4% of the corner's examples are scored in a fold.
    """
    rng, per_example = np.random.default_rng(seed), np.random.default_rng(10_000 + examples)
    n, c = n_train + n_test, len(CLASSES)
    labels = per_example.integers(0, c, n)
    orig_split = np.r_[np.full(n_train, TRAIN), np.full(n_test, TEST)]
    in_train = (rng.random((n, seeds)) >= holdout) & (orig_split == TRAIN)[:, None]
    shape, held = (n, seeds), ~in_train
    if kind == "coupled":
        hardness = rng.normal(size=shape)
    elif kind == "class":
        hardness = np.linspace(-1.5, 1.5, c)[labels][:, None] + 0.5 * rng.normal(size=shape)
    elif kind == "stratum":
        shift = np.linspace(-1.0, 1.0, c)[labels] + 1.0 * (orig_split == TEST)
        hardness = shift[:, None] + 0.5 * rng.normal(size=shape)
    elif kind == "planted":
        hardness = per_example.normal(size=(n, 1)) + 0.5 * rng.normal(size=shape)
    else:
        raise ValueError(kind)
    depth = np.clip(np.round(2.5 + 1.5 * hardness), 0, LAYERS).astype(np.int64)
    correct = rng.random(shape) < 1 / (1 + np.exp(2 * hardness - 1))
    finds = rng.random(shape) < 0.6 if kind == "coupled" else None
    if kind == "planted":
        ambiguous = ((orig_split == TRAIN) & (per_example.random(n) < 0.1))[:, None]
        depth = np.where(ambiguous, np.where(held, LAYERS, 0), depth)
        correct = np.where(ambiguous & held, rng.random(shape) < 0.05, correct)
        finds = ambiguous & (rng.random(shape) < 0.98)
    pred = np.where(correct, labels[:, None], (labels[:, None] + rng.integers(1, c, shape)) % c)
    cube, metrics = study(rng, labels, in_train, depth, pred, finds, orig_split)
    metrics.attrs["corner_examples"] = 50
    noise = rng.normal(size=(3,) + shape)
    learned, output, inputs = 0.5 + 0.2 * hardness + 0.2 * noise[0], -hardness + noise[1], -hardness + noise[2]
    return cube, with_outcomes(cube, metrics, learned, output, inputs)
