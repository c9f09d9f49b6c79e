"""How much does bounding the probe width (pdepth.probing.reduction) change the probes and the prediction depth?

Trains a convolutional network on a real Fashion-MNIST subset, extracts every probe without reduction and with each
``--max-dims`` bound, probes all of them with the exact k-NN backend (so that only the reduction differs), and prints,
per bound, the agreement of the probe classes and of the prediction depth with the unreduced probes.

    .venv/bin/python benchmarks/reduction.py --arch resnet18 --width 0.25 [--train 10000 --test 2000 --epochs 3]
"""

import argparse
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
from pdepth.probing.depth import UNDEFINED, prediction_depth
from pdepth.probing.reduction import Reducer
from pdepth.training.loop import TrainConfig, fit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-dims", type=int, nargs="+", default=[4096, 2048, 1024, 512])
    parser.add_argument("--method", default="pool", choices=["pool", "project"])
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    configure_torch(usable_cpus())
    args.workdir.mkdir(parents=True, exist_ok=True)
    prepared = args.workdir / "fmnist.npz"
    if not prepared.exists():
        options = SourceOptions(system_dirs=tuple(Path(d) for d in registry.get("fmnist").system_dirs), download=False)
        registry.prepare("fmnist", options).save(prepared)
    examples = Examples.load(prepared, {"train": args.train, "test": args.test, "seed": 0})
    in_train = train_mask(examples.orig_split, 0.1, seed=0)
    cpu = torch.device("cpu")
    normalize = Normalizer(examples.mean, examples.std, cpu)
    started = time.perf_counter()
    config = TrainConfig(epochs=args.epochs, channels_last=True)
    model, result = fit(args.arch, {"width": args.width}, examples, in_train, normalize, config, seed=0)
    print(
        f"{args.arch} width {args.width}: {args.epochs} epochs on {in_train.sum():,} examples in "
        f"{time.perf_counter() - started:.0f} s; holdout accuracy {result.history[-1]['holdout_acc']:.4f}"
    )
    settings = knn.ProbeSettings.defaults(k=30, backend="exact")
    reference = None
    for max_dim in [None, *args.max_dims]:
        out = args.workdir / f"reduction_{args.arch}_{max_dim}"
        layers, logits = embeddings.extract(
            model,
            examples.image_tensor(cpu),
            normalize,
            out,
            reducer=Reducer(max_dim, 0, args.method),
            progress=False,
        )
        started = time.perf_counter()
        probes = np.stack(
            [
                knn.probe(embeddings.load_layer(out, layer), in_train, examples.labels, 10, settings)[1]
                for layer in layers
            ],
            axis=1,
        )
        seconds = time.perf_counter() - started
        depth = prediction_depth(probes, logits.argmax(1))
        dims = " ".join(str(layer.dim) for layer in layers)
        if reference is None:
            reference = probes, depth
            print(
                f"unreduced: probe dims {dims}; exact probing {seconds:.0f} s; "
                f"undefined depth {(depth == UNDEFINED).mean():.4f}; mean depth {depth[depth >= 0].mean():.3f}"
            )
            continue
        ref_probes, ref_depth = reference
        per_layer = " ".join(f"{a:.3f}" for a in (probes == ref_probes).mean(0))
        both = (depth >= 0) & (ref_depth >= 0)
        print(
            f"max_dim {max_dim}: dims {dims}; exact probing {seconds:.0f} s\n"
            f"  probe-class agreement {(probes == ref_probes).mean():.4f} (per layer {per_layer})\n"
            f"  depth agreement {(depth == ref_depth).mean():.4f}; mean |change| "
            f"{np.abs(depth[both].astype(int) - ref_depth[both]).mean():.3f} layers; "
            f"mean depth {depth[depth >= 0].mean():.3f}"
        )
        for path in out.iterdir():
            path.unlink()


if __name__ == "__main__":
    main()
