"""Benchmark: a block of seeds trained one after the other against the same models stacked into one (torch.func).

Builds ``--seeds`` copies of an architecture with different initial weights (the default config's options) and takes
``--steps`` SGD steps on each, every model on its own batches of Fashion-MNIST-shaped images (random pixels: speed
does not depend on them): first one model after the other (what a block job does), then all at once with
``torch.func.stack_module_state`` + ``vmap(functional_call)`` and one SGD optimiser over the stacked parameters
(SGD, momentum and weight decay act element by element, so each model's update is its own). Prints images per
second of both, their ratio, and the largest difference of the weights after the steps (the same updates in another
order of floating-point operations). Batch-norm models (ResNet18, VGG16) are left out: their running statistics are
buffers that vmap cannot update in place.

    .venv/bin/python benchmarks/stacked.py [--arch mlp] [--seeds 4] [--steps 40] [--device cpu]
"""

import argparse
import copy
import time

import torch
from torch.func import functional_call, stack_module_state, vmap

from pdepth.config.study import Study
from pdepth.device import configure_torch, pick_device, usable_cpus
from pdepth.models import InputShape, build

FMNIST = InputShape(1, 28, 28, 10)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def sequential(models, images, labels, lr: float, steps: int) -> float:
    synchronize(images.device)
    started = time.perf_counter()
    for m, model in enumerate(models):
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
        for step in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(images[m, step]), labels[m, step])
            loss.backward()
            optimizer.step()
    synchronize(images.device)
    return time.perf_counter() - started


def stacked(models, images, labels, lr: float, steps: int) -> tuple[float, dict]:
    params, buffers = stack_module_state(models)
    params = {name: value.detach().requires_grad_() for name, value in params.items()}
    base = copy.deepcopy(models[0]).to("meta")

    def loss_of(p, b, x, y):
        return torch.nn.functional.cross_entropy(functional_call(base, (p, b), (x,)), y)

    batched = vmap(loss_of)
    optimizer = torch.optim.SGD(params.values(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    synchronize(images.device)
    started = time.perf_counter()
    for step in range(steps):
        optimizer.zero_grad(set_to_none=True)
        batched(params, buffers, images[:, step], labels[:, step]).sum().backward()
        optimizer.step()
    synchronize(images.device)
    return time.perf_counter() - started, params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="mlp")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = pick_device(args.device)
    configure_torch(usable_cpus())
    options = Study.load("config.yaml").model_options(args.arch)
    generator = torch.Generator().manual_seed(0)
    shape = (args.seeds, args.steps, args.batch, 1, 28, 28)
    images = torch.randn(shape, generator=generator).to(device)
    labels = torch.randint(0, 10, shape[:3], generator=generator).to(device)
    models = []
    for seed in range(args.seeds):
        torch.manual_seed(seed)
        models.append(build(args.arch, FMNIST, options).to(device))
    initial = copy.deepcopy(models)
    warm = min(3, args.steps)
    sequential([copy.deepcopy(m) for m in initial], images[:, :warm], labels[:, :warm], 0.05, warm)  # warm-up
    one_by_one = sequential(models, images, labels, 0.05, args.steps)
    together, params = stacked(initial, images, labels, 0.05, args.steps)
    difference = max(
        (params[name][m] - parameter).abs().max().item()
        for m, model in enumerate(models)
        for name, parameter in model.named_parameters()
    )
    total = args.seeds * args.steps * args.batch
    print(
        f"{args.arch} on {device} ({torch.get_num_threads()} threads), {args.seeds} seeds x {args.steps} steps of "
        f"{args.batch}: one after the other {total / one_by_one:,.0f} img/s, stacked {total / together:,.0f} img/s, "
        f"speed-up {one_by_one / together:.2f}x; largest weight difference {difference:.2g}"
    )


if __name__ == "__main__":
    main()
