"""pdepth.probe_model against the loops a user would write: each method in a fresh process (its first call: imports,
numba's compilation, everything), then once more in that process (warm), on the study's MLP (7 x 512) and a
ResNet18 (width 1/8) at several sizes of Fashion-MNIST; the same model and images for every method.

    .venv/bin/python benchmarks/probe_speed.py [--sizes 5000 15000] [--archs mlp resnet18] [--workdir probe_speed]
        [--methods ...] [--device cuda] [--data-dir DIR]

Methods: pdepth (backend auto, exact, pynndescent); a scikit-learn loop (forward hooks on the same layers,
``NearestNeighbors(algorithm="brute")`` per layer, self excluded by index, majority vote); a torch loop
(``torch.cdist`` + ``topk`` per chunk). Every method probes the same layers at the same reduction (none: the MLP's
layers are at most 784 wide; ResNet18's wider ones are projected by pdepth's reducer in every method) with k = 30.
Prints wall time, peak memory, each method's speed as the sklearn loop's time over its own, the share of examples
whose depth equals exact pdepth's, and the exact search's GFLOP/s against this machine's float32 matmul rate.
"""

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from machine import matmul_rate

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("pdepth auto", "pdepth exact", "pdepth pynndescent", "sklearn loop", "torch loop")
K = 30


def prepare(arch: str, size: int, workdir: Path) -> Path:
    """A model trained for one epoch on 90% of the ``size`` images from Fashion-MNIST's training split, saved with its
    inputs: the case file."""
    import torch

    from pdepth.config.records import JobRecords
    from pdepth.config.study import Study
    from pdepth.data.augment import Normalizer
    from pdepth.data.splits import train_mask
    from pdepth.training.loop import fit

    case = workdir / f"{arch}_{size}.pt"
    if case.exists():
        return case
    study = Study.load(ROOT / "config.yaml", data={"subset": {"train": size - size // 7, "test": size // 7}})
    job = JobRecords(study).train_job("fmnist", "", arch, 0)
    examples = job.examples.load(workdir / "fmnist.npz")
    in_train = train_mask(examples.orig_split, job.holdout_fraction, 0)
    normalize = Normalizer(*job.normalisation.resolve(examples), device="cpu")
    config = replace(job.training, epochs=1, score_epochs=())
    model, _ = fit(arch, job.model_options, examples, in_train, normalize, config, 0, progress=False)
    images = normalize(examples.image_tensor("cpu")).contiguous()
    torch.save({"model": model.eval(), "images": images, "labels": examples.labels, "in_train": in_train}, case)
    return case


def run_method(method: str, case: Path, device: str, calls: int = 2) -> dict:
    """In this (fresh) process: the method's first call and (``calls`` 2) a second one, their wall times and
    depths."""
    import torch

    from pdepth.device import configure_torch, usable_cpus

    configure_torch(usable_cpus())
    data = torch.load(case, weights_only=False)
    data = {**data, "model": data["model"].to(device), "images": data["images"].to(device)}
    times, depth = [], None
    for _ in range(calls):
        started = time.perf_counter()
        depth = DEPTH_OF[method.split()[0]](method, **data)
        times.append(time.perf_counter() - started)
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    warm = times[-1] if calls > 1 else np.nan
    return {"first": times[0], "warm": warm, "peak": peak, "depth": np.nan_to_num(depth, nan=-1).tolist()}


def pdepth_depth(method: str, model, images, labels, in_train) -> np.ndarray:
    import pdepth

    backend = method.split()[1]
    cube = pdepth.probe_model(model, images, labels, in_train, backend=backend, device=images.device, progress=False)
    return cube.pd.values[:, 0]


def layer_embeddings(model, images, labels, in_train):
    """The embeddings of pdepth's default layers, the input first and the softmax last, each reduced as pdepth
    reduces it (so every method searches the same vectors); a user's hook loop."""
    import torch

    from pdepth.api import PROBE, default_layers
    from pdepth.probing.reduction import Reducer

    names, found = default_layers(model), {}
    modules = dict(model.named_modules())
    hooks = [modules[n].register_forward_hook(lambda m, i, o, n=n: found.setdefault(n, []).append(o)) for n in names]
    with torch.no_grad():
        outputs = torch.cat([model(images[i : i + 256]) for i in range(0, len(images), 256)])
    for hook in hooks:
        hook.remove()
    layers = [images.flatten(1), *(torch.cat(found[n]).flatten(1) for n in names), outputs.softmax(1)]
    reducer = Reducer(PROBE["max_dim"], 0, PROBE["reduction"])
    reduced = [reducer(str(number), layer).cpu().numpy() for number, layer in enumerate(layers)]
    return reduced, outputs.argmax(1).cpu().numpy()


def depth_from(knn_preds: list[np.ndarray], pred: np.ndarray) -> np.ndarray:
    from pdepth.probing.depth import prediction_depth

    return prediction_depth(np.stack(knn_preds, axis=1), pred).astype(float)


def votes_of(neighbour_labels: np.ndarray, classes: int) -> np.ndarray:
    """Majority vote, ties to the nearest neighbour's class among the tied ones (pdepth's rule)."""
    from pdepth.probing.knn import vote

    return vote(neighbour_labels, classes)[1]


def loop_depth(search, model, images, labels, in_train) -> np.ndarray:
    """A user's loop: per layer, ``search(layer, train)`` gives each example's k + 1 nearest training examples
    (their positions among the training ones); the example itself dropped by index, then the vote."""
    layers, pred = layer_embeddings(model, images, labels, in_train)
    train, classes, preds = np.flatnonzero(in_train), int(labels.max()) + 1, []
    own = np.full(len(labels), -1)
    own[train] = np.arange(len(train))
    for layer in layers:
        index = search(layer, train)
        keep = index != own[:, None]
        keep[~(~keep).any(1), -1] = False
        preds.append(votes_of(labels[train][index[keep].reshape(len(labels), K)], classes))
    return depth_from(preds, pred)


def sklearn_depth(method: str, model, images, labels, in_train) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    def search(layer, train):
        return NearestNeighbors(n_neighbors=K + 1, algorithm="brute").fit(layer[train]).kneighbors(layer)[1]

    return loop_depth(search, model, images, labels, in_train)


def torch_depth(method: str, model, images, labels, in_train) -> np.ndarray:
    import torch

    def search(layer, train):
        x = torch.from_numpy(layer).to(images.device)
        chunks = [
            torch.cdist(x[i : i + 2048], x[train]).topk(K + 1, largest=False).indices for i in range(0, len(x), 2048)
        ]
        return torch.cat(chunks).cpu().numpy()

    return loop_depth(search, model, images, labels, in_train)


DEPTH_OF = {"pdepth": pdepth_depth, "sklearn": sklearn_depth, "torch": torch_depth}


def exact_flops(case: Path) -> tuple[float, float]:
    """(The exact search's multiply-adds as FLOPs: every example against the training ones, at every layer; the
    share of the examples in training: 90% of those from Fashion-MNIST's training split)."""
    import torch

    data = torch.load(case, weights_only=False)
    layers, _ = layer_embeddings(**data)
    support = int(data["in_train"].sum())
    return sum(2.0 * len(layer) * support * layer.shape[1] for layer in layers), support / len(data["in_train"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 15000])
    parser.add_argument("--archs", nargs="+", default=["mlp", "resnet18"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--workdir", type=Path, default=Path("probe_speed"))
    parser.add_argument("--device", default="cpu", help="where the model and every search run (cuda: the GPU)")
    parser.add_argument("--data-dir", type=Path, help="Fashion-MNIST's IDX .gz files, where the system has no copy")
    parser.add_argument("--calls", type=int, choices=(1, 2), default=2, help="1: the first call only (no warm one)")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # (method, case): run one method, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_method(args.one[0], Path(args.one[1]), args.device, args.calls)))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not (args.workdir / "fmnist.npz").exists():
        from pdepth.data import registry
        from pdepth.data.sources import SourceOptions

        system = tuple(Path(d) for d in registry.get("fmnist").system_dirs)
        options = SourceOptions(data_dir=args.data_dir, system_dirs=system, download_dir=args.workdir / "downloads")
        registry.prepare("fmnist", options).save(args.workdir / "fmnist.npz")
    rate = matmul_rate()
    print(f"float32 matmul: {rate:.0f} GFLOP/s (torch, 2048 x 2048, best of 20)", flush=True)
    for arch in args.archs:
        for size in args.sizes:
            case = prepare(arch, size, args.workdir)
            found = {}
            for method in args.methods:
                command = [sys.executable, __file__, "--one", method, str(case), "--device", args.device]
                command += ["--calls", str(args.calls)]
                found[method] = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            report(arch, size, found, *exact_flops(case), rate)


def report(arch: str, size: int, found: dict, flops: float, in_training: float, rate: float) -> None:
    """The table of one case: each method against the first loop run (sklearn's, else torch's), its depths against
    exact pdepth's (else the first method's)."""
    loop = next((m for m in ("sklearn loop", "torch loop") if m in found), next(iter(found)))
    truth = next((m for m in ("pdepth exact", "pdepth auto") if m in found), next(iter(found)))
    print(f"\n{arch}, {size:,} images ({in_training:.0%} in training): {flops / 1e12:.2f} TFLOP of exact distances")
    print(f"| method | first call (s) | warm (s) | peak memory (GB) | {loop} / this (first) | same depth as {truth} |")
    print("| --- | --- | --- | --- | --- | --- |")
    for method, row in found.items():
        same = float(np.mean(np.array(row["depth"]) == np.array(found[truth]["depth"])))
        cells = [f"{row['first']:.1f}", f"{row['warm']:.1f}", f"{row['peak'] / 1e9:.2f}"]
        cells += [f"{found[loop]['first'] / row['first']:.2f}", f"{same:.4f}"]
        print(f"| {method} | " + " | ".join(cells) + " |")
    for method in ("pdepth exact", "pdepth auto"):
        if method in found and np.isfinite(found[method]["warm"]):
            achieved = flops / found[method]["warm"] / 1e9
            print(
                f"{method}, warm: {achieved:.0f} GFLOP/s of exact distances' worth, {achieved / rate:.0%} of the "
                "matmul rate (embedding and voting included)"
            )


if __name__ == "__main__":
    main()
