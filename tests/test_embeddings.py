"""Probe placement and embedding extraction for the MLP."""

import numpy as np
import torch

from pdepth.data.augment import Normalizer
from pdepth.models import InputShape, build
from pdepth.probing import embeddings


def make_mlp(channels=1, size=28, layers=3, width=16):
    torch.manual_seed(0)
    return build("mlp", InputShape(channels, size, size, 10), {"hidden_layers": layers, "width": width})


def test_mlp_probes_are_input_hidden_layers_softmax_in_order():
    model = make_mlp(layers=7, width=32)
    assert model.probe_names() == ["input", *(f"hidden.{i}" for i in range(7)), "softmax"]


def test_extraction_shapes_values_and_order(tmp_path):
    for channels, size in ((1, 28), (3, 32)):
        model = make_mlp(channels, size)
        images = torch.randint(0, 256, (37, channels, size, size), dtype=torch.uint8)
        normalize = Normalizer((0.5,) * channels, (0.25,) * channels, torch.device("cpu"))
        out = tmp_path / f"{channels}x{size}"
        layers, logits = embeddings.extract(model, images, normalize, out, batch_size=10, progress=False)
        assert [(layer.name, layer.depth, layer.dim) for layer in layers] == [
            ("input", 0, channels * size * size),
            ("hidden.0", 1, 16),
            ("hidden.1", 2, 16),
            ("hidden.2", 3, 16),
            ("softmax", 4, 10),
        ]
        assert embeddings.read_manifest(out) == layers
        x = normalize(images)
        with torch.no_grad():
            h1 = model.hidden[0](x.flatten(1))
            expected_softmax = torch.softmax(model(x), 1)
        np.testing.assert_allclose(embeddings.load_layer(out, layers[0]), x.flatten(1).numpy(), rtol=1e-6)
        np.testing.assert_allclose(embeddings.load_layer(out, layers[1]), h1.numpy(), rtol=1e-5, atol=1e-5)
        assert (embeddings.load_layer(out, layers[1]) >= 0).all()  # after the ReLU
        np.testing.assert_allclose(embeddings.load_layer(out, layers[-1]), expected_softmax.numpy(), rtol=1e-5)
        with torch.no_grad():
            np.testing.assert_allclose(logits, model(x).numpy(), rtol=1e-5, atol=1e-6)  # the model's own outputs


def test_extraction_leaves_model_unchanged_and_is_deterministic(tmp_path):
    model = make_mlp()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = torch.randint(0, 256, (20, 1, 28, 28), dtype=torch.uint8)
    normalize = Normalizer((0.5,), (0.25,), torch.device("cpu"))
    a, _ = embeddings.extract(model, images, normalize, tmp_path / "a", batch_size=7, progress=False)
    embeddings.extract(model, images, normalize, tmp_path / "b", batch_size=7, progress=False)
    assert model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    assert not model.hidden[0]._forward_hooks  # hooks removed
    for layer in a:
        np.testing.assert_array_equal(np.load(tmp_path / "a" / layer.file), np.load(tmp_path / "b" / layer.file))
