"""Peak memory of one probing job at paper scale: 60,000 examples (CIFAR-sized: 50,000 + 10,000), max_dim dims.

The probe job's memory depends on the number of examples and the probe width, not on the model, so this builds
structured embeddings of that size from real Fashion-MNIST pixels (a fixed random projection of 784 -> DIM, so that
pynndescent meets real neighbourhoods), writes them to disk as the embed stage does, and runs the probe stage's code on
LAYERS of them, one at a time, as the workflow does. Run it under /usr/bin/time -v:

    /usr/bin/time -v .venv/bin/python benchmarks/probe_memory.py [--dim 4096 --layers 3]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from pdepth.data.prepared import Prepared
from pdepth.data.splits import train_mask
from pdepth.probing import knn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=4096)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--prepared", type=Path, default=Path("benchmarks/out/fmnist.npz"))
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/memory"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    prepared = Prepared.load(args.prepared)
    n_train, n_test = 50000, 10000  # CIFAR's sizes
    index = np.concatenate([np.arange(n_train), 60000 + np.arange(n_test)])
    pixels = prepared.images[index].reshape(len(index), -1).astype(np.float32) / 255
    labels, orig_split = prepared.labels[index], prepared.orig_split[index]
    in_train = train_mask(orig_split, 0.1, seed=0)
    rng = np.random.default_rng(0)
    for layer in range(args.layers):
        path = args.workdir / f"layer{layer:02d}.npy"
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(index), args.dim))
        projection = rng.normal(size=(pixels.shape[1], args.dim)).astype(np.float32) / np.sqrt(args.dim)
        for start in range(0, len(index), 5000):
            out[start : start + 5000] = pixels[start : start + 5000] @ projection
        out.flush()
        del out
    del pixels
    settings = knn.ProbeSettings.defaults(k=30, backend="pynndescent", n_jobs=2, exact_work=0)
    for layer in range(args.layers):
        started = time.perf_counter()
        embedding = np.load(args.workdir / f"layer{layer:02d}.npy", mmap_mode="r")
        _, pred = knn.probe(embedding, in_train, labels, 10, settings)
        print(
            f"layer {layer}: {embedding.shape[0]:,} x {embedding.shape[1]:,}, k-NN accuracy "
            f"{(pred == labels).mean():.4f}, {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        del embedding
    for path in args.workdir.glob("layer*.npy"):
        path.unlink()


if __name__ == "__main__":
    main()
