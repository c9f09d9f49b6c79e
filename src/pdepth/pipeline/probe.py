"""Stage: for each seed of a block, the trained model's embeddings, their k-NN probes at every layer (read one layer
at a time) and its input margins; the examples are loaded and pynndescent compiled once per block."""

import json
import logging
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from pdepth import api as probing
from pdepth.config import jobs
from pdepth.config.jobs import ProbeBlock, ProbeJob
from pdepth.device import configure_torch, pick_device, usable_cpus
from pdepth.pipeline import embed, input_margins
from pdepth.pipeline.trained import each_seed, load_trained
from pdepth.probing import knn
from pdepth.probing.results import ProbeResults
from pdepth.training.runs import RunOutputs, load_weights, same_points

log = logging.getLogger(__name__)


def settings_for(job: ProbeJob, threads: int) -> knn.ProbeSettings:
    return knn.ProbeSettings(
        **asdict(job.probe), n_jobs=max(1, min(threads, usable_cpus())), device=str(pick_device(job.device))
    )


def run_block(
    block: ProbeBlock,
    prepared: Path,
    weights: list[Path],
    runs: list[Path],
    probes: list[Path],
    margins: list[Path],
    threads: int,
    progress: bool = True,
) -> None:
    """Each seed of the block in turn: its embeddings in a temporary folder next to its probes, removed once
    probed."""
    configure_torch(threads)
    first = block.runs[0].embed
    device = pick_device(first.device)
    examples = first.examples.load(prepared)  # every seed of a block sees the same examples
    files = each_seed(block.runs, lambda seed_run: seed_run.probe.run, weights, runs, probes, margins)
    for seed_run, weight, outputs, probe_file, margin_file in files:
        saved, run = load_weights(weight, device), RunOutputs.load(outputs)  # once per seed
        in_train, label_votes = run.in_train, []
        same_points(weight, len(saved["state_dicts_at_points"]), len(run.score_epochs) - 1)
        for point in range(len(run.score_epochs) - 1):
            log.info("%s: the model after epoch %d", seed_run.probe.run, run.score_epochs[point])
            earlier = load_trained(examples, seed_run.embed.normalisation, device, saved, point)
            _, votes, _, settings, _ = embed_and_probe(seed_run, earlier, in_train, weight, threads, progress)
            label_votes.append(label_vote_fractions(votes, examples.labels, settings.k))
        trained = load_trained(examples, seed_run.embed.normalisation, device, saved)
        probed = embed_and_probe(seed_run, trained, in_train, weight, threads, progress)
        write(seed_run.probe, probed, in_train, probe_file, label_votes)
        input_margins.run(seed_run.margins, trained, margin_file, progress)


def label_vote_fractions(votes: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(N, L+1): the fraction of each probe's k votes for the example's given label."""
    index = labels.astype(np.int64)[:, None, None]
    return (np.take_along_axis(votes, index, axis=2)[..., 0] / k).astype(np.float32)


def embed_and_probe(seed_run: jobs.ProbeRun, trained, in_train: np.ndarray, weight: Path, threads: int, progress):
    """(knn_pred, votes, layers, settings, logits) of every layer of ``trained``, its embeddings in a temporary
    folder next to its weights, removed once probed (logits: the model's outputs, from the same pass); the support set
    carries the labels the network was trained with."""
    job, examples = seed_run.probe, trained.examples
    settings = settings_for(job, threads)
    with tempfile.TemporaryDirectory(prefix="embeddings-", dir=Path(weight).parent) as folder:
        layers, logits = embed.run(seed_run.embed, trained, Path(folder), progress)
        try:
            knn_pred, votes = probing.probe_layers(
                Path(folder), layers, in_train, examples.labels, len(examples.classes), settings
            )
        except ValueError as exc:  # a NaN embedding, a support set of at most k examples
            raise ValueError(f"{job.run} (its model {weight}): {exc}") from exc
    return knn_pred, votes, layers, settings, logits


def write(
    job: ProbeJob, probed: tuple, in_train: np.ndarray, output: Path, label_votes: list[np.ndarray]
) -> ProbeResults:
    """The final model's probes of every layer and its outputs, with the earlier score points' models' votes for
    the given label."""
    knn_pred, votes, layers, settings, logits = probed
    results = ProbeResults(
        knn_pred=knn_pred,
        votes=votes,
        layer_names=np.array([layer.name for layer in layers]),
        layer_dims=np.array([layer.dim for layer in layers]),
        layer_reductions=np.array([layer.reduction for layer in layers]),
        settings=json.dumps(asdict(settings)),
        search=settings.searches(len(in_train), int(in_train.sum()), [layer.dim for layer in layers]),
        earlier_label_votes=np.stack(label_votes) if label_votes else np.zeros((0, *knn_pred.shape), np.float32),
        logits=logits,
        job=jobs.to_json(job),
    )
    results.save(output)
    return results
