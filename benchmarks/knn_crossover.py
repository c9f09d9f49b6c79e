"""Where the exact k-NN search stops beating pynndescent: one probe (Fashion-MNIST's pixels, or a random projection
of them to --dims) at several numbers of examples (90% of them the support), each search timed warm, pynndescent's
numba start-up timed apart (once per process: a probe job pays it once for all its layers). Each size runs
``--repeats`` rounds of this machine's float32 matmul rate, the exact search and pynndescent; medians are printed.

    .venv/bin/python benchmarks/knn_crossover.py [--sizes 5000 10000 20000 40000] [--dims 784] [--layers 9]

Prints, per size, the seconds of each search and the work of the exact one (examples x support x dims, the
quantity ``probe.exact_work`` bounds), and for a model of ``--layers`` probes which search is faster in all,
pynndescent's start-up included; then the largest work at which exact still wins, for the config.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from machine import matmul_rate, seconds

from pdepth.data import registry
from pdepth.data.sources import SourceOptions
from pdepth.device import configure_torch, usable_cpus
from pdepth.probing import knn


def pixels(workdir: Path) -> np.ndarray:
    prepared = workdir / "fmnist.npz"
    if not prepared.exists():
        system = tuple(Path(d) for d in registry.get("fmnist").system_dirs)
        options = SourceOptions(data_dir=None, system_dirs=system, download_dir=workdir / "downloads")
        registry.prepare("fmnist", options).save(prepared)
    images = np.load(prepared)["images"]
    return (images.reshape(len(images), -1) / 255.0).astype(np.float32)


def timed(embedding: np.ndarray, in_train: np.ndarray, settings: knn.ProbeSettings) -> float:
    return seconds(lambda: knn.training_and_query_neighbours(embedding, in_train, settings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000, 40000])
    parser.add_argument("--dims", type=int, default=784)
    parser.add_argument("--layers", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=3, help="rounds per size (yardstick, exact, pynndescent)")
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    configure_torch(usable_cpus())
    data = pixels(args.workdir)
    if args.dims != data.shape[1]:
        projection = np.random.default_rng(0).normal(size=(data.shape[1], args.dims)).astype(np.float32)
        data = data @ projection / np.sqrt(args.dims)
    rng = np.random.default_rng(0)
    exact = knn.ProbeSettings.defaults(backend="exact", n_jobs=usable_cpus())
    approx = knn.ProbeSettings.defaults(backend="pynndescent", exact_work=0, n_jobs=usable_cpus())
    started = time.perf_counter()
    knn.training_and_query_neighbours(data[:600], np.arange(600) < 500, approx)  # numba's start-up, once
    startup = time.perf_counter() - started
    print(f"pynndescent start-up (numba, the process's first search): {startup:.1f} s")
    head = ["examples", "support", "dims", "work (examples x support x dims)", "exact (s)"]
    # The search multiplies each training pair once: its rate is counted on the whole (examples x support) product,
    # the work of one pass over every example, which is what it replaces.
    head += ["exact GFLOP/s of the whole product (median share of the matmul rate of its round, of the median rate)"]
    print("| " + " | ".join([*head, "pynndescent (s)", f"{args.layers} probes: faster"]) + " |")
    print("|" + " --- |" * (len(head) + 2))
    wins = []
    for size in args.sizes:
        embedding = data[rng.choice(len(data), size, replace=False)]
        in_train = rng.random(size) < 0.9
        work = float(size) * in_train.sum() * args.dims
        # The shared machine's speed drifts by tens of percent: each round times the matmul yardstick, then both
        # searches; the medians of the rounds are printed.
        rounds = np.array(
            [
                (matmul_rate(), timed(embedding, in_train, exact), timed(embedding, in_train, approx))
                for _ in range(args.repeats)
            ]
        )
        rate, *searched = np.median(rounds, axis=0)
        share = float(np.median(2 * work / rounds[:, 1] / 1e9 / rounds[:, 0]))
        exact_total, approx_total = args.layers * searched[0], startup + args.layers * searched[1]
        faster = "exact" if exact_total < approx_total else "pynndescent"
        if faster == "exact":
            wins.append(work)
        achieved = 2 * work / searched[0] / 1e9
        cells = [f"{size:,}", f"{in_train.sum():,}", str(args.dims), f"{work:.3g}", f"{searched[0]:.2f}"]
        cells += [f"{achieved:.0f} ({share:.0%} of {rate:.0f})", f"{searched[1]:.2f}"]
        print(
            "| " + " | ".join([*cells, f"{faster} ({exact_total:.0f} s against {approx_total:.0f} s)"]) + " |",
            flush=True,
        )
    print(f"largest work at which exact wins: {max(wins):.3g}" if wins else "exact never wins here")


if __name__ == "__main__":
    main()
