"""The public API on models outside the registry, against an independent computation: activations by hand, exact
self-excluded k-NN with scipy in float64, votes and depths by their definitions."""

import collections

import numpy as np
import pytest
import torch
import torchvision
import xarray as xr
from scipy.spatial.distance import cdist
from torch import nn

import pdepth
from conftest import ROOT
from pdepth.api import default_layers
from pdepth.data.examples import Examples
from pdepth.outputs import cube

K = 30


def independent_knn(embedding: np.ndarray, labels: np.ndarray, in_train: np.ndarray, k: int) -> np.ndarray:
    """The probe's class by the paper's definition: the majority of the k nearest training examples, a training
    example not counting itself; a tie goes to the tied class whose member is nearest."""
    train = np.flatnonzero(in_train)
    distances = cdist(embedding.astype(np.float64), embedding[train].astype(np.float64))
    distances[in_train[:, None] & (np.arange(len(labels))[:, None] == train[None, :])] = np.inf  # not itself
    pred = np.empty(len(labels), np.int64)
    for i, row in enumerate(distances):
        nearest = train[np.argsort(row, kind="stable")[:k]]
        counts = collections.Counter(labels[nearest].tolist())
        top = max(counts.values())
        pred[i] = next(label for label in labels[nearest] if counts[label] == top)
    return pred


def independent_depth(knn_pred: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The smallest layer from which every probe agrees with the network; NaN when the last one does not."""
    depth = np.full(len(pred), np.nan)
    for i in range(len(pred)):
        for layer in range(knn_pred.shape[1] - 1, -1, -1):
            if knn_pred[i, layer] != pred[i]:
                break
            depth[i] = layer
    return depth


@pytest.fixture(scope="module")
def fmnist(fmnist_prepared):
    examples = Examples.load(fmnist_prepared, {"train": 1600, "test": 400, "seed": 0})
    images = (examples.image_tensor(torch.device("cpu")).float() / 255 - 0.286) / 0.353
    in_train = np.random.default_rng(0).random(len(examples)) < 0.8
    return images, examples.labels.astype(np.int64), in_train


def small_cnn(images: torch.Tensor, labels: np.ndarray, in_train: np.ndarray) -> nn.Sequential:
    """A CNN trained for four epochs on the training examples, so that its probes are far from chance."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 7 * 7, 32),
        nn.ReLU(),
        nn.Linear(32, 10),
    )
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = images[in_train], torch.from_numpy(labels[in_train])
    for start in [*range(0, len(x), 64)] * 4:
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x[start : start + 64]), y[start : start + 64]).backward()
        optimiser.step()
    return model.eval()


def by_hand(model: nn.Sequential, images: torch.Tensor) -> tuple[list[np.ndarray], np.ndarray]:
    """Input, the output of every layer but flatten and the last, softmax; computed layer by layer."""
    with torch.no_grad():
        outputs, x = [images.flatten(1).numpy()], images
        for layer in model:
            x = layer(x)
            if not isinstance(layer, nn.Flatten) and layer is not model[-1]:
                outputs.append(x.flatten(1).numpy())
        outputs.append(torch.softmax(x, 1).numpy())
    return outputs, x.argmax(1).numpy()


def assert_same_depths(result: xr.Dataset, layers: list[np.ndarray], pred, labels, in_train) -> None:
    """Equal but for near-ties that float32 (pdepth) and float64 (here) distances order differently: at most 1 probe
    class in 2,000 (one was seen in 20,000), and the depths of at most 1 example in 1,000."""
    knn_pred = np.stack([independent_knn(layer, labels, in_train, K) for layer in layers], axis=1)
    np.testing.assert_array_equal(result.pred.values[:, 0], pred)
    assert (result.knn_pred.values[:, 0] != knn_pred).mean() <= 1 / 2000
    depth, expected = result.pd.values[:, 0], independent_depth(knn_pred, pred)
    assert ((depth != expected) & ~(np.isnan(depth) & np.isnan(expected))).mean() <= 1 / 1000


@pytest.mark.slow
def test_probe_model_on_a_sequential_cnn_matches_an_independent_computation(fmnist, tmp_path):
    images, labels, in_train = fmnist
    model = small_cnn(images, labels, in_train)
    result = pdepth.probe_model(model, images, labels, in_train, backend="exact", max_dim=None, progress=False)
    layers, pred = by_hand(model, images)
    assert list(result.layer_name.values) == ["input", "0", "1", "2", "3", "4", "5", "7", "8", "softmax"]
    assert_same_depths(result, layers, pred, labels, in_train)
    assert (result.knn_pred.values[:, 0, -2] == labels).mean() > 0.6  # informative probes, not a trivial agreement
    assert 0 < np.isnan(result.pd.values).mean() < 0.5
    # its output opens as the workflow's cube does
    cube.write(result, tmp_path / "cube.nc")
    with xr.open_dataset(tmp_path / "cube.nc") as reopened:
        xr.testing.assert_identical(reopened.drop_attrs(), result.drop_attrs())


@pytest.mark.slow
def test_probe_model_on_a_torchvision_resnet18_matches_an_independent_computation(fmnist):
    images, labels, in_train = fmnist
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    rgb = images.expand(-1, 3, -1, -1)
    blocks = ["layer1.1", "layer2.1", "layer3.1", "layer4.1", "flatten"]  # a graph node among submodules
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(rgb), batch_size=500)
    result = pdepth.probe_model(model, loader, labels, in_train, blocks, backend="exact", max_dim=None, progress=False)
    with torch.no_grad():
        x = model.maxpool(model.relu(model.bn1(model.conv1(rgb))))
        outputs = [rgb.flatten(1).numpy()]
        for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
            x = stage(x)
            outputs.append(x.flatten(1).numpy())
        x = torch.flatten(model.avgpool(x), 1)
        outputs.append(x.numpy())
        logits = model.fc(x)
        outputs.append(torch.softmax(logits, 1).numpy())
    assert list(result.layer_name.values) == ["input", *blocks, "softmax"]
    assert_same_depths(result, outputs, logits.argmax(1).numpy(), labels, in_train)


def test_default_layers_open_sequential_stages_and_skip_what_keeps_neighbours():
    model = torchvision.models.resnet18(num_classes=10)
    assert default_layers(model) == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        *[f"layer{stage}.{block}" for stage in (1, 2, 3, 4) for block in (0, 1)],
        "avgpool",
    ]
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Dropout(), nn.Flatten(), nn.Identity(), nn.Linear(2, 2))
    assert default_layers(cnn) == ["0", "1"]


def test_a_module_that_runs_twice_is_refused_with_what_to_probe_instead():
    model = torchvision.models.resnet18(num_classes=10)
    with pytest.raises(ValueError, match=r"\['layer1.0.relu'\] run more than once per forward pass"):
        pdepth.probe_model(
            model,
            torch.randn(40, 3, 32, 32),
            np.arange(40) % 10,
            np.arange(40) < 35,
            ["layer1.0.relu"],
            k=3,
            progress=False,
        )


def test_knn_probe_and_prediction_depth_are_the_building_blocks():
    """Two clusters: every probe is right except where a point sits in the other cluster."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    embedding = rng.normal(size=(100, 2)) + labels[:, None] * 10
    embedding[0] += 10  # a class-0 point inside class 1
    probe = pdepth.knn_probe(embedding, labels, np.ones(100, bool), k=5)
    assert probe.pred[0] == 1 and (probe.pred[1:] == labels[1:]).all()
    assert probe.votes.shape == (100, 2) and (probe.votes.sum(1) == 5).all()
    knn_pred = np.stack([probe.pred, labels], axis=1)  # layer 0 wrong for example 0, layer 1 right everywhere
    np.testing.assert_array_equal(pdepth.prediction_depth(knn_pred, labels), np.r_[1, np.zeros(99)])


def readme_snippet(containing: str) -> str:
    """The README's Python block that contains ``containing``: what a newcomer copies."""
    blocks = (ROOT / "README.md").read_text().split("```python\n")[1:]
    (block,) = [block.split("```")[0] for block in blocks if containing in block]
    return block


@pytest.mark.slow
def test_the_readmes_probe_model_example_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(readme_snippet("probe_model("), {})
    reopened = xr.open_dataset(tmp_path / "my_model.nc")
    # input, conv1, bn1, relu, maxpool, 8 residual blocks, avgpool, softmax
    assert reopened.sizes["example"] == 2000 and reopened.sizes["layer"] == 15
    assert "softmax" in capsys.readouterr().out
