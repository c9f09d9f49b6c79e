"""Per-stage times of a measured study and the GPU-hours they project for ``configs/paper.yaml``.

Reads the benchmark files of a finished run (``logs/benchmarks/.../{stage}_seeds0-3.tsv``: one job per block of
seeds), prints each (architecture, stage)'s seconds per seed, and scales them to every model of the paper config:
training by epochs x training examples x image area, probing (the exact search, on the GPU) by examples x training
examples. A rough projection from one dataset: read it to within a factor of two.

    python benchmarks/gpu/projection.py --study benchmarks/gpu/study.yaml --run gpu_check/study
"""

import argparse
from collections import defaultdict
from pathlib import Path

import pandas as pd

from pdepth import paths
from pdepth.config import jobs
from pdepth.config.study import Study
from pdepth.data import registry
from pdepth.workflow import cluster
from pdepth.workflow.stages import STAGES

ROOT = Path(__file__).resolve().parents[2]


def per_seed_seconds(run: Path) -> pd.DataFrame:
    """(dataset, arch, stage) -> mean wall seconds per seed over the run's blocks of the 90:10 variant."""
    rows = []
    for path in sorted((run / paths.BENCHMARKS).glob("*/*/*.tsv")):  # the 90:10 variant: {dataset}/{arch}/...
        stage, _, label = path.stem.partition("_")
        seconds = float(pd.read_csv(path, sep="\t")["s"].iloc[0])
        rows.append((path.parts[-3], path.parts[-2], stage, jobs.block_size(label), seconds / jobs.block_size(label)))
    frame = pd.DataFrame(rows, columns=["dataset", "arch", "stage", "seeds", "seconds_per_seed"])
    return frame.groupby(["dataset", "arch", "stage"], as_index=False).agg(
        blocks=("seeds", "size"), seeds=("seeds", "sum"), seconds_per_seed=("seconds_per_seed", "mean")
    )


def work(study: Study, prefix: str, dataset: str, arch: str, stage: str) -> float:
    """What one seed's job of ``stage`` scales with."""
    shape = cluster.job_shape(study, prefix, dataset, arch)
    height, width, _ = registry.get(dataset).image_shape
    if stage == "train":
        return max(shape.epochs, 1) * shape.train_examples * height * width
    return shape.examples * shape.train_examples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, required=True, help="the measured study's config")
    parser.add_argument("--run", type=Path, required=True, help="its working directory")
    parser.add_argument("--paper", type=Path, default=ROOT / "configs/paper.yaml")
    args = parser.parse_args()
    measured = per_seed_seconds(args.run)
    print(measured.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    study, paper = Study.load(args.study), Study.load(args.paper)
    dataset = study.datasets[0]
    hours = defaultdict(float)
    for variant, paper_dataset, arch in paper.runs():
        for stage in STAGES:
            row = measured[(measured.arch == arch) & (measured.stage == stage) & (measured.dataset == dataset)]
            if row.empty:
                continue
            scale = work(paper, variant.prefix, paper_dataset, arch, stage) / work(study, "", dataset, arch, stage)
            hours[stage] += len(variant.seeds) * float(row.seconds_per_seed.iloc[0]) * scale / 3600
    seeds = sum(len(v.seeds) for v, _, _ in paper.runs())
    print(
        f"projected for {args.paper.name} ({seeds} models): "
        + ", ".join(f"{stage} {value:,.0f} GPU-hours" for stage, value in hours.items())
        + f"; total {sum(hours.values()):,.0f}"
    )


if __name__ == "__main__":
    main()
