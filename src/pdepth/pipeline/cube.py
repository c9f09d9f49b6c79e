"""Stage: gather every seed of one (dataset, arch) into the NetCDF cube."""

import json
import logging
from pathlib import Path

import numpy as np

from pdepth.config import jobs
from pdepth.outputs import cube
from pdepth.pipeline.probe import ProbeResults
from pdepth.training.runs import RunOutputs

log = logging.getLogger(__name__)


def run(
    job: jobs.CubeJob,
    prepared: Path,
    run_files: list[Path],
    probe_files: list[Path],
    output: Path,
    workflow_dir: Path | None = None,
):
    examples = job.examples.load(prepared)
    noisy = job.examples.label_noise > 0
    runs = [RunOutputs.load(path) for path in run_files]
    probes = [ProbeResults.load(path) for path in probe_files]
    for path, outputs in zip(run_files, runs, strict=True):
        if not np.array_equal(outputs.example_index, examples.index):
            raise ValueError(f"{path} was trained on other examples than the study's; re-run its training")
    settings = json.loads(str(probes[0].settings))
    searches = sorted({str(p.search) for p in probes})
    searched = searches[0] if len(searches) == 1 else f"mixed ({', '.join(searches)})"
    mean, std = job.normalisation.resolve(examples)
    data = cube.build(
        example_index=examples.index,
        labels=examples.labels,
        orig_split=examples.orig_split,
        orig_index=examples.orig_index,
        classes=examples.classes,
        seeds=list(job.seeds),
        in_train=np.stack([r.in_train for r in runs], axis=1),
        pred=np.stack([r.pred for r in runs], axis=1),
        knn_pred=np.stack([p.knn_pred for p in probes], axis=1),
        votes=np.stack([p.votes for p in probes], axis=1),
        layer_names=[str(name) for name in probes[0].layer_names],
        layer_dims=[int(d) for d in probes[0].layer_dims],
        layer_reductions=[str(r) for r in probes[0].layer_reductions],
        k=settings["k"],
        categorical_coords={
            name: (values, examples.extra_classes.get(name, ())) for name, values in examples.extra.items()
        }
        | ({"clean_label": (examples.clean_labels, examples.classes)} if noisy else {}),
        flags={"mislabelled": examples.mislabelled} if noisy else None,
        attrs={
            "dataset": job.model.dataset,
            "architecture": job.model.arch,
            "variant": job.model.variant or "split",
            "design": jobs.design(job.holdout_fraction),
            "normalisation_mean": np.array(mean),
            "normalisation_std": np.array(std),
            "probe_backend": searched,  # what ran, whatever probe.backend says (probe.exact_below)
            "probe_settings": json.dumps(settings | {"search_used": searched}),
            "job": jobs.to_json(job),
            "training_job": str(runs[0].job),  # of seed 0; the others differ in their seed only
            "probe_job": str(probes[0].job),
            "git_commit": cube.git_commit(workflow_dir) if workflow_dir else "unknown",
        },
    )
    cube.write(data, output)
    pd = data["pd"]
    log.info(
        "%s: %d examples x %d seeds x %d layers; mean pd (train) %.3f, (held out) %.3f; undefined %.4f",
        output,
        data.sizes["example"],
        data.sizes["seed"],
        data.sizes["layer"],
        float(pd.where(data.in_train).mean()),
        float(pd.where(~data.in_train).mean()),
        pd.attrs["undefined_fraction"],
    )
    return data
