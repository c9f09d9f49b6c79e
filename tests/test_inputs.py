"""Bad inputs to the public API are refused before the expensive work, with the argument named and what to pass;
inputs that only look different (tensors, integer-valued floats, float64 images, a sequential DataLoader) give the
well-formed call's result."""

import json
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import pdepth

N, K = 200, 5


def toy():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).eval()
    generator = np.random.default_rng(0)
    images = torch.from_numpy(generator.normal(size=(N, 8)).astype(np.float32))
    labels = generator.integers(0, 3, N)
    in_train = np.arange(N) < 150
    return model, images, labels, in_train


def probe(images=None, labels=None, in_train=None, **options):
    model, images_, labels_, in_train_ = toy()
    options = {"k": K, "backend": "exact", "progress": False} | options
    return pdepth.probe_model(
        options.pop("model", model),
        images_ if images is None else images,
        labels_ if labels is None else labels,
        in_train_ if in_train is None else in_train,
        **options,
    )


@pytest.fixture(scope="module")
def reference():
    return probe()


@pytest.mark.parametrize(
    ("change", "error", "named"),
    [
        ({"k": 150}, ValueError, "k=150 needs more than k training examples"),
        ({"k": 150, "backend": "pynndescent"}, ValueError, "k=150 needs more than k training examples"),
        ({"in_train": np.zeros(N, bool)}, ValueError, "got 0"),
        ({"k": 0}, ValueError, "k: the number of neighbours"),
        ({"labels": np.zeros(N - 1, int)}, ValueError, "images: 200 images for 199 labels"),
        ({"in_train": np.ones(N - 1, bool)}, ValueError, "in_train: (199,) flags for 200 examples"),
        ({"labels": np.full(N, 1.5)}, TypeError, "labels: class indices must be integers"),
        ({"labels": np.full(N, -1)}, ValueError, "labels: class indices start at 0"),
        ({"images": torch.zeros(N, 8, dtype=torch.uint8)}, TypeError, "images: torch.uint8 inputs"),
        ({"layers": ["input", "1"]}, ValueError, "layers: ['input'] are the names of the probes"),
    ],
)
def test_a_bad_input_is_refused_with_its_argument_named(change, error, named):
    with pytest.raises(error) as raised:
        probe(**change)
    assert named in str(raised.value)


def test_channels_last_images_and_a_missing_gpu_are_refused_before_any_work(monkeypatch):
    """A conv net given (N, H, W, C) images is told to permute them; device="cuda" on a machine without one is told
    what to set; neither reaches the embedding pass."""
    monkeypatch.setattr(pdepth.probing.embeddings, "write_probes", lambda *a, **k: pytest.fail("embedding pass ran"))
    conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(3))
    conv(torch.zeros(1, 3, 8, 8))
    images = torch.zeros(N, 8, 8, 3)
    with pytest.raises(ValueError, match=r"shape \(8, 8, 3\).* look channels-last .* images.permute\(0, 3, 1, 2\)"):
        probe(model=conv.eval(), images=images)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(pdepth.errors.ConfigError, match="device: cuda, but torch .* sees 0 CUDA GPU"):
        probe(device="cuda")


def test_a_nan_image_is_refused_with_its_index():
    _, images, _, _ = toy()
    images[57, 3] = float("nan")
    with pytest.raises(ValueError, match="images: example 57 has NaN or infinite values"):
        probe(images=images)


def test_a_submodule_named_like_an_added_probe_is_refused():
    model = nn.Sequential()
    model.add_module("input", nn.Linear(8, 16))
    model.add_module("act", nn.ReLU())
    model.add_module("softmax", nn.Linear(16, 3))
    with pytest.raises(ValueError, match=r"layers: \['input'\] are the names of the probes probe_model adds"):
        probe(model=model.eval())


@pytest.mark.parametrize(
    "change",
    [
        {"labels": torch.from_numpy(toy()[2])},
        {"labels": toy()[2].astype(np.float64)},
        {"in_train": torch.from_numpy(toy()[3])},
        {"in_train": toy()[3].astype(int)},
        {"images": toy()[1].double()},
        {"images": toy()[1].numpy()},
        {"images": torch.utils.data.DataLoader(toy()[1], batch_size=64)},
        {"images": torch.utils.data.DataLoader(toy()[1], batch_size=64, sampler=range(N))},
    ],
    ids=[
        "tensor labels",
        "float labels",
        "tensor in_train",
        "0/1 in_train",
        "float64 images",
        "array",
        "loader",
        "in-order sampler",
    ],
)
def test_inputs_of_another_form_give_the_well_formed_result(reference, change):
    result = probe(**change)
    np.testing.assert_array_equal(result.pd.values, reference.pd.values)
    np.testing.assert_array_equal(result.knn_pred.values, reference.knn_pred.values)


def test_a_loader_that_reorders_is_refused_by_what_it_does():
    _, images, _, _ = toy()
    indices = list(range(N))[::-1]
    for sampler in (torch.utils.data.SubsetRandomSampler(indices), indices):  # a sampler, or any iterable of indices
        loader = torch.utils.data.DataLoader(images, batch_size=64, sampler=sampler)
        with pytest.raises(ValueError, match="images: the DataLoader does not yield its examples in order"):
            probe(images=loader)
    with pytest.raises(ValueError, match="does not yield its examples in order"):
        probe(images=torch.utils.data.DataLoader(images, batch_size=64, shuffle=True))


def test_knn_probe_and_prediction_depth_refuse_what_they_cannot_use():
    generator = np.random.default_rng(1)
    embedding, labels, in_train = generator.normal(size=(100, 4)), generator.integers(0, 2, 100), np.arange(100) < 80
    with pytest.raises(ValueError, match="k: the number of neighbours"):
        pdepth.knn_probe(embedding, labels, in_train, k=0)
    embedding[7, 1] = np.inf
    with pytest.raises(ValueError, match="the first: example 7"):
        pdepth.knn_probe(embedding, labels, in_train, k=5, backend="exact")
    knn_pred = generator.integers(0, 2, (100, 4))
    pred = generator.integers(0, 2, 100)
    np.testing.assert_array_equal(
        pdepth.prediction_depth(torch.from_numpy(knn_pred), torch.from_numpy(pred)),
        pdepth.prediction_depth(knn_pred, pred),
    )
    with pytest.raises(ValueError, match=r"knn_pred \(100, 4\) and pred \(99,\)"):
        pdepth.prediction_depth(knn_pred, pred[:99])


def test_the_cube_records_the_search_that_ran(capsys):
    cube = probe(backend="auto", progress=True)  # 150 training examples: within probe.exact_work, searched exactly
    assert cube.attrs["probe_backend"] == "exact"
    assert json.loads(cube.attrs["probe_settings"])["search_used"] == "exact"
    assert "probe: 100%" in capsys.readouterr().err  # a bar over the layers, after the embedding's


@pytest.mark.slow
def test_pynndescent_leaves_the_warning_filters_as_it_found_them():
    before = list(warnings.filters)
    probe(backend="pynndescent")
    assert warnings.filters == before
