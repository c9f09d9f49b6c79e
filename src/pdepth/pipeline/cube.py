"""Stage: gather every seed of one (dataset, arch) into the NetCDF cube."""

import json
import logging
from pathlib import Path

import numpy as np
import yaml

from pdepth import cube
from pdepth.pipeline.probe import ProbeResults
from pdepth.runs import RunOutputs
from pdepth.study import Study, Variant

log = logging.getLogger(__name__)


def run(
    study: Study,
    variant: Variant,
    dataset: str,
    arch: str,
    prepared: Path,
    run_files: list[Path],
    probe_files: list[Path],
    output: Path,
    workflow_dir: Path | None = None,
):
    examples = study.examples(prepared, variant)
    runs = [RunOutputs.load(path) for path in run_files]
    probes = [ProbeResults.load(path) for path in probe_files]
    for path, outputs in zip(run_files, runs, strict=True):
        if not np.array_equal(outputs.example_index, examples.index):
            raise ValueError(f"{path} was trained on other examples than the study's; re-run its training")
    settings = json.loads(str(probes[0].settings))
    mean, std = study.normalisation(dataset, (examples.mean, examples.std))
    data = cube.build(
        example_index=examples.index,
        labels=examples.labels,
        orig_split=examples.orig_split,
        orig_index=examples.orig_index,
        classes=examples.classes,
        seeds=list(variant.seeds),
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
        | ({"clean_label": (examples.clean_labels, examples.classes)} if variant.label_noise else {}),
        flags={"mislabelled": examples.mislabelled} if variant.label_noise else None,
        attrs={
            "dataset": dataset,
            "architecture": arch,
            "variant": variant.name or "split",
            "design": variant.description,
            "normalisation_mean": np.array(mean),
            "normalisation_std": np.array(std),
            "probe_backend": settings["backend"],
            "probe_settings": json.dumps(settings),
            "config": yaml.safe_dump(study.config, sort_keys=True),
            "git_commit": cube.git_commit(workflow_dir) if workflow_dir else "unknown",
        },
    )
    cube.write(data, output)
    pd = data["pd"]
    log.info(
        "%s%s/%s: cube %s, %d examples x %d seeds x %d layers; mean pd (train) %.3f, (held out) %.3f; undefined %.4f",
        variant.prefix,
        dataset,
        arch,
        output,
        data.sizes["example"],
        data.sizes["seed"],
        data.sizes["layer"],
        float(pd.where(data.in_train).mean()),
        float(pd.where(~data.in_train).mean()),
        pd.attrs["undefined_fraction"],
    )
    return data
