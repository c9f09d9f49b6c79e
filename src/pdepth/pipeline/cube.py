"""Stage: gather every seed of one (dataset, arch) into the NetCDF cube."""

import json
import logging
from pathlib import Path

import numpy as np
import xarray as xr

from pdepth.config import jobs
from pdepth.data.examples import Examples
from pdepth.outputs import cube
from pdepth.probing.results import ProbeResults
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
        example_coords(examples, noisy=job.examples.label_noise > 0),
        cube.SeedResults.stacked(
            job.seeds,
            [r.in_train for r in runs],
            [p.logits.argmax(1) for p in probes],
            [p.knn_pred for p in probes],
            [p.votes for p in probes],
        ),
        cube.Probes(
            names=[str(name) for name in probes[0].layer_names],
            dims=[int(d) for d in probes[0].layer_dims],
            reductions=[str(r) for r in probes[0].layer_reductions],
            k=settings["k"],
        ),
        {
            "dataset": job.model.dataset,
            "architecture": job.model.arch,
            "variant": job.model.variant or "split",
            "design": jobs.design(job.holdout_fraction),
            "normalisation_mean": np.array(mean),
            "normalisation_std": np.array(std),
            "probe_backend": searched,  # what ran, whatever probe.backend says (probe.exact_work)
            "probe_settings": json.dumps(settings | {"search_used": searched}),
            "job": jobs.to_json(job),
            "training_job": str(runs[0].job),  # of seed 0; the others differ in their seed only
            "probe_job": str(probes[0].job),
            "git_commit": cube.git_commit(workflow_dir) if workflow_dir else "unknown",
        },
    )
    cube.write(data, output)
    log_summary(output, data)
    return data


def example_coords(examples: Examples, noisy: bool) -> cube.ExampleCoords:
    """The cube's examples, with the dataset's extra coordinates and, under label noise, the clean labels and which
    examples are mislabelled."""
    categorical = {name: (values, examples.extra_classes.get(name, ())) for name, values in examples.extra.items()}
    if noisy:
        categorical["clean_label"] = (examples.clean_labels, examples.classes)
    return cube.ExampleCoords(
        examples.index,
        examples.labels,
        examples.classes,
        examples.orig_split,
        examples.orig_index,
        categorical=categorical,
        flags={"mislabelled": examples.mislabelled} if noisy else {},
    )


def log_summary(output: Path, data: xr.Dataset) -> None:
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
