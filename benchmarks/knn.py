"""Benchmark: pynndescent against the exact k-NN backend on real Fashion-MNIST embeddings.

Trains the paper's MLP (7 x WIDTH) briefly, takes the first hidden layer of all 70,000 examples, and probes it with
both backends in this one process, as the workflow does (support: seed 0's 54,000 training examples; every example
classified). Prints wall time, their ratio, recall@k, probe-class agreement and peak memory of each.

    .venv/bin/python benchmarks/knn.py [--width 2048] [--epochs 1] [--device cuda] [--data-dir DIR]
"""

import argparse
import resource
import threading
import time
from pathlib import Path

import numpy as np
import torch

from pdepth.data import registry
from pdepth.data.augment import Normalizer
from pdepth.data.examples import Examples
from pdepth.data.sources import SourceOptions
from pdepth.data.splits import train_mask
from pdepth.device import configure_torch, usable_cpus
from pdepth.probing import embeddings, knn
from pdepth.training.loop import TrainConfig, fit


class PeakRSS:
    """Peak resident memory of this process while the block runs (sampled every 50 ms)."""

    def __enter__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            with open("/proc/self/status") as status:
                rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            self.peak = max(self.peak, rss * 1024)
            time.sleep(0.05)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def first_hidden_layer(
    width: int, epochs: int, workdir: Path, data_dir: Path | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    prepared = workdir / "fmnist.npz"
    if not prepared.exists():
        options = SourceOptions(
            data_dir=data_dir,
            system_dirs=tuple(Path(d) for d in registry.get("fmnist").system_dirs),
            download_dir=workdir / "downloads",
        )
        registry.prepare("fmnist", options).save(prepared)
    examples = Examples.load(prepared, {})
    in_train = train_mask(examples.orig_split, 0.1, seed=0)
    cpu = torch.device("cpu")
    normalize = Normalizer(examples.mean, examples.std, cpu)
    started = time.perf_counter()
    options = {"hidden_layers": 7, "width": width}
    model, _ = fit("mlp", options, examples, in_train, normalize, TrainConfig(epochs=epochs), seed=0)
    print(f"trained MLP 7x{width} for {epochs} epoch(s) in {time.perf_counter() - started:.0f} s")
    layers, _ = embeddings.extract(model, examples.image_tensor(cpu), normalize, workdir / "embeddings")
    return embeddings.load_layer(workdir / "embeddings", layers[1]), in_train, examples.labels


def recall(found: knn.Neighbours, truth: knn.Neighbours) -> float:
    hits = [len(np.intersect1d(a, b)) for a, b in zip(found.indices, truth.indices, strict=True)]
    return float(np.sum(hits)) / truth.indices.size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--data-dir", type=Path, help="Fashion-MNIST's IDX .gz files, looked at first")
    parser.add_argument("--device", default="cpu", help="of the exact search (cuda: on the GPU)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    configure_torch(usable_cpus())
    embedding, in_train, labels = first_hidden_layer(args.width, args.epochs, args.workdir, args.data_dir)
    print(f"embedding: {embedding.shape[0]:,} examples x {embedding.shape[1]:,} dims; support {in_train.sum():,}")

    # pynndescent compiles with numba on first use: time that apart, on a tiny problem.
    started = time.perf_counter()
    tiny = np.random.default_rng(0).normal(size=(500, embedding.shape[1])).astype(np.float32)
    knn.probe(tiny, np.arange(500) < 400, np.zeros(500, int), 10, knn.ProbeSettings.defaults(k=args.k, exact_work=0))
    startup = time.perf_counter() - started

    results = {}
    for backend in ("exact", "pynndescent"):
        settings = knn.ProbeSettings.defaults(
            k=args.k, backend=backend, n_jobs=usable_cpus(), exact_work=0, device=args.device
        )
        with PeakRSS() as memory:
            started = time.perf_counter()
            neighbours = knn.training_and_query_neighbours(embedding, in_train, settings)
            _, pred = knn.classify(*neighbours, in_train, labels, 10)
            seconds = time.perf_counter() - started
        results[backend] = {"neighbours": neighbours, "pred": pred, "seconds": seconds, "peak": memory.peak}

    exact, approx = results["exact"], results["pynndescent"]
    inside = recall(approx["neighbours"][0], exact["neighbours"][0])
    outside = recall(approx["neighbours"][1], exact["neighbours"][1])
    print(f"exact        {exact['seconds']:8.1f} s   peak RSS {exact['peak'] / 2**30:5.2f} GiB")
    print(
        f"pynndescent  {approx['seconds']:8.1f} s   peak RSS {approx['peak'] / 2**30:5.2f} GiB"
        f"   (+ {startup:.1f} s numba start-up, once per process)"
    )
    print(
        f"speed-up exact / pynndescent: {exact['seconds'] / approx['seconds']:.2f}x "
        f"({exact['seconds'] / (approx['seconds'] + startup):.2f}x with start-up)"
    )
    print(f"recall@{args.k}: training points {inside:.4f}, other points {outside:.4f}")
    print(f"probe-class agreement: {(exact['pred'] == approx['pred']).mean():.4f}")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
