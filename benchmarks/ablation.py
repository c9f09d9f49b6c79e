"""Ablation: where the gap between our readings and the paper's numbers comes from.

The paper gives Pearson r = 0.79 for VGG16 on Fashion-MNIST between prediction depth and the iteration learned
(Figure 5, left) and r = -0.70 / -0.69 between depth and log10 output / input margin (Figure 6, VGG16 on CIFAR-10).
Each number allows several readings (``pdepth.fidelity.crossfit.learned_readings`` and ``margin_readings``: per
appearance, per-example means, per-depth means). This script trains VGG16 on Fashion-MNIST through the real
workflow at the default study's setup and at one factor at a time moved toward the paper's (width 1/4 and 1/2,
15 and 30 epochs, 4 snapshots per epoch, all 60,000 training images), ``--seeds`` seeds per point, and reports every
reading with its interval over runs and examples (``pdepth.statistics.verdicts.assess``), so that one sees whether
each reading moves toward the paper's number as the setup approaches the paper's.

    .venv/bin/python benchmarks/ablation.py [--workdir ablation] [--seeds 2] [--points default "width 1/4" ...]
        [--device cpu] [--cores 2] [--data-dir DIR]

Each point is a study of its own (``WORKDIR/<point>/``, resumable: a finished point is not re-run); the results go
to WORKDIR/ablation.csv, WORKDIR/ablation.md and WORKDIR/ablation.png. The point "width 1 (paper)" is not run by
default (for a GPU: benchmarks/gpu/check.sh runs it).
"""

import argparse
import copy
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from pdepth.config.jobs import FidelitySettings
from pdepth.config.study import Study
from pdepth.fidelity import crossfit
from pdepth.fidelity.table import LEARNED, MARGINS, interval
from pdepth.statistics.verdicts import assess

ROOT = Path(__file__).resolve().parents[1]
ARCH, DATASET = "vgg16", "fmnist"
POINTS = {  # one factor at a time from the default study, toward the paper's setup (configs/paper.yaml)
    "default": {},
    "width 1/4": {"models": {ARCH: {"width": 0.25}}},
    "width 1/2": {"models": {ARCH: {"width": 0.5}}},
    "epochs 15": {"training": {ARCH: {"epochs": 15}}},
    "epochs 30": {"training": {ARCH: {"epochs": 30}}},
    "4 snapshots per epoch": {"training": {ARCH: {"snapshots_per_epoch": 4}}},
    "60,000 training images": {"data": {"subset": {"train": None, "test": 3000}}},
    "width 1 (paper)": {"models": {ARCH: {"width": 1.0}}},
}
DEFAULT_POINTS = [name for name in POINTS if name != "width 1 (paper)"]
PAPER = {"iteration learned": LEARNED.number_for(DATASET, ARCH).value}  # the margins': CIFAR-10, the nearest
PAPER |= {f"{margin} margin": spec.paper[0].value for margin, spec in MARGINS.items()}


def merged(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` written into it, key by key at every depth."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) and value else value
    return out


def point_config(name: str, seeds: int, device: str, data_dir: Path | None) -> dict:
    """The default study (config.yaml) reduced to VGG16 on Fashion-MNIST, ``seeds`` seeds in one block, no
    interventions, with the point's factor changed."""
    base = yaml.safe_load((ROOT / "config.yaml").read_text())
    base.update(datasets=[DATASET], architectures=[ARCH], seeds=seeds, seeds_per_job=seeds, interventions={})
    base["device"] = device
    if data_dir is not None and data_dir.is_dir():
        base.setdefault("data", {})["data_dir"] = str(data_dir.resolve())
    return merged(base, POINTS[name])


def run_point(name: str, workdir: Path, args: argparse.Namespace) -> float:
    """Train and probe one point through the workflow (``workdir``); the wall time in seconds of the run that made
    it (kept in ``workdir/wall_seconds``, so that a finished point is not run again)."""
    workdir.mkdir(parents=True, exist_ok=True)
    target, wall = f"results/{DATASET}/{ARCH}/metrics.nc", workdir / "wall_seconds"
    config = workdir / "study.yaml"
    config.write_text(yaml.safe_dump(point_config(name, args.seeds, args.device, args.data_dir)))
    if (workdir / target).exists() and wall.exists():
        return float(wall.read_text())
    started = time.perf_counter()
    command = [sys.executable, "-m", "snakemake", target, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    command += ["--configfile", str(config), "--cores", str(args.cores), "--scheduler", "greedy"]
    with open(workdir / "snakemake.log", "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
    wall.write_text(f"{time.perf_counter() - started:.1f}")
    return float(wall.read_text())


def readings(model: Path, settings: FidelitySettings) -> list[dict]:
    """Every reading of the three paper numbers on one model's runs (its folder of cube.nc and metrics.nc), with
    its interval over runs and examples."""
    with xr.open_dataset(model / "cube.nc") as cube, xr.open_dataset(model / "metrics.nc") as metrics:
        cube, metrics = cube.load(), metrics.load()
    tests = {"iteration learned": crossfit.learned_readings(cube, metrics)}
    tests |= {f"{margin} margin": crossfit.margin_readings(cube, metrics, margin) for margin in MARGINS}
    rows = []
    for number, by_reading in tests.items():
        for reading, test in by_reading.items():
            evidence = assess(test, +1, 0.0, settings)
            spec = LEARNED if number == "iteration learned" else MARGINS[number.split()[0]]
            rows.append(
                {
                    "number": number,
                    "reading": reading + ("*" if reading in spec.supported else ""),
                    "r": evidence.estimate,
                    "low": evidence.low,
                    "high": evidence.high,
                    "shown": interval(evidence),
                    "paper": PAPER[number],
                    "seeds": cube.sizes["seed"],
                    "held-out accuracy": float((cube.pred == cube.label).where(~cube.in_train).mean()),
                }
            )
    return rows


def draw(table: pd.DataFrame, path: Path) -> None:
    """One panel per paper number: each reading's r (with its interval) at each point, the paper's number dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numbers = list(dict.fromkeys(table.number))
    points = list(dict.fromkeys(table.point))
    figure, axes = plt.subplots(1, len(numbers), figsize=(5.2 * len(numbers), 4.6), sharey=False)
    for ax, number in zip(np.atleast_1d(axes), numbers, strict=True):
        part = table[table.number == number]
        labels = list(dict.fromkeys(part.reading))
        for k, reading in enumerate(labels):
            rows = part[part.reading == reading].set_index("point").reindex(points)
            x = np.arange(len(points)) + (k - (len(labels) - 1) / 2) * 0.12
            error = np.abs(rows[["low", "high"]].to_numpy().T - rows.r.to_numpy())
            ax.errorbar(x, rows.r, yerr=error, fmt="o", capsize=2, label=reading)
        ax.axhline(part.paper.iloc[0], color="k", linestyle="--", linewidth=1, label=f"paper: {part.paper.iloc[0]:.2f}")
        ax.set_xticks(np.arange(len(points)), points, rotation=35, ha="right", fontsize=8)
        ax.set_title(f"depth vs {number}", fontsize=10)
        ax.set_ylabel("Pearson r (95% interval over runs and examples)", fontsize=8)
        ax.legend(fontsize=7, loc="best")
    figure.suptitle(
        "VGG16 on Fashion-MNIST: the paper's readings as the setup moves toward the paper's "
        "(*: the reading its text supports)",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def markdown(table: pd.DataFrame, times: dict[str, float]) -> str:
    """The table as markdown: one row per point, one column per (number, reading)."""
    columns = list(dict.fromkeys(zip(table.number, table.reading, strict=True)))
    head = ["point", "seeds", "held-out accuracy", *(f"{n}: {r}" for n, r in columns), "wall (s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for point, rows in table.groupby("point", sort=False):
        shown = {(n, r): s for n, r, s in zip(rows.number, rows.reading, rows.shown, strict=True)}
        cells = [point, str(rows.seeds.iloc[0]), f"{rows['held-out accuracy'].iloc[0]:.3f}"]
        lines.append("| " + " | ".join(cells + [shown[c] for c in columns] + [f"{times[point]:.0f}"]) + " |")
    paper = ", ".join(f"{n} {v:.2f}" for n, v in PAPER.items())
    return "\n".join(lines) + f"\n\nThe paper: {paper} (*: the reading its text supports).\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("ablation"))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--points", nargs="+", choices=list(POINTS), default=DEFAULT_POINTS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, help="Fashion-MNIST's IDX files, where the system has no copy")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error("--seeds must be at least 2: every interval needs run-to-run variation")
    settings = FidelitySettings.of(Study.load(ROOT / "config.yaml").config["fidelity"])
    rows, times = [], {}
    for name in args.points:
        workdir = args.workdir / name.replace(" ", "_").replace("/", "-").replace(",", "")
        times[name] = run_point(name, workdir, args)
        rows += [{"point": name, **row} for row in readings(workdir / "results" / DATASET / ARCH, settings)]
        print(f"{name}: {times[name]:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.workdir / "ablation.csv", index=False)
    text = markdown(table, times)
    (args.workdir / "ablation.md").write_text(text)
    draw(table, args.workdir / "ablation.png")
    print(text)


if __name__ == "__main__":
    main()
