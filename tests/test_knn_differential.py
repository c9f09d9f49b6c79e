"""pynndescent against the exact backend on real embeddings of a model trained on real Fashion-MNIST."""

import numpy as np
import pytest
import torch

from pdepth.data.augment import Normalizer
from pdepth.data.examples import Examples
from pdepth.data.splits import train_mask
from pdepth.probing import embeddings
from pdepth.probing.depth import prediction_depth
from pdepth.probing.knn import ProbeSettings, probe
from pdepth.training.loop import TrainConfig, fit

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def real_embeddings(fmnist_prepared, tmp_path_factory):
    examples = Examples.load(fmnist_prepared, {"train": 4000, "test": 1000, "seed": 0})
    in_train = train_mask(examples.orig_split, 0.1, seed=0)
    normalize = Normalizer(examples.mean, examples.std, CPU)
    options = {"hidden_layers": 4, "width": 256}
    model, _ = fit("mlp", options, examples, in_train, normalize, TrainConfig(epochs=3), seed=0, progress=False)
    out = tmp_path_factory.mktemp("embeddings")
    layers, logits = embeddings.extract(model, examples.image_tensor(CPU), normalize, out, progress=False)
    return examples, in_train, logits.argmax(1), [embeddings.load_layer(out, layer) for layer in layers]


@pytest.mark.slow
def test_pynndescent_agrees_with_exact(real_embeddings):
    examples, in_train, pred, layers = real_embeddings
    preds = {}
    for backend in ("exact", "pynndescent"):
        settings = ProbeSettings.defaults(k=30, backend=backend, random_state=0, n_jobs=2, exact_work=0)
        preds[backend] = np.stack([probe(e, in_train, examples.labels, 10, settings)[1] for e in layers], axis=1)
    class_agreement = (preds["exact"] == preds["pynndescent"]).mean()
    depth_agreement = (prediction_depth(preds["exact"], pred) == prediction_depth(preds["pynndescent"], pred)).mean()
    print(f"probe-class agreement {class_agreement:.4f}, prediction-depth agreement {depth_agreement:.4f}")
    assert class_agreement >= 0.99
    assert depth_agreement >= 0.98
    # the probes are informative, not constant: far above the 10% of chance at the last hidden layer
    assert (preds["exact"][:, -2] == examples.labels).mean() > 0.7


@pytest.mark.slow
def test_pynndescent_is_repeatable(real_embeddings):
    examples, in_train, _, layers = real_embeddings
    settings = ProbeSettings.defaults(k=30, backend="pynndescent", random_state=0, n_jobs=2, exact_work=0)
    a = probe(layers[1], in_train, examples.labels, 10, settings)
    b = probe(layers[1], in_train, examples.labels, 10, settings)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
