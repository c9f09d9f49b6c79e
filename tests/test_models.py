"""ResNet18 and VGG16: shapes, probe placement and order, 1- and 3-channel inputs, width multipliers."""

import pytest
import torch

from pdepth.data.augment import Normalizer
from pdepth.errors import ConfigError
from pdepth.models import MODELS, InputShape, build
from pdepth.models.architectures import ARCHITECTURES
from pdepth.probing import embeddings

RESNET_PROBES = ["input", "stem", *(f"layer{s}.{b}" for s in range(1, 5) for b in range(2)), "pool", "softmax"]


def probe_dims(arch, channels, size, width, out):
    """Embedding dimension of every probe, from a real extraction."""
    torch.manual_seed(0)
    model = build(arch, InputShape(channels, size, size, 10), {"width": width})
    images = torch.randint(0, 256, (3, channels, size, size), dtype=torch.uint8)
    normalize = Normalizer((0.5,) * channels, (0.25,) * channels, torch.device("cpu"))
    with torch.no_grad():
        assert model(normalize(images)).shape == (3, 10)
    return model, embeddings.extract(model, images, normalize, out, progress=False)[0]


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 32)])
def test_resnet18_probes(channels, size, tmp_path):
    model, layers = probe_dims("resnet18", channels, size, 0.125, tmp_path)
    assert [layer.name for layer in layers] == RESNET_PROBES
    assert [layer.depth for layer in layers] == list(range(12))
    s2, s3, s4 = (size + 1) // 2, (size + 3) // 4, (size + 7) // 8  # stride-2 convolutions with padding 1
    assert [layer.dim for layer in layers] == [
        channels * size * size,
        8 * size * size,
        8 * size * size,
        8 * size * size,
        16 * s2 * s2,
        16 * s2 * s2,
        32 * s3 * s3,
        32 * s3 * s3,
        64 * s4 * s4,
        64 * s4 * s4,
        64,
        10,
    ]
    blocks = sum(1 for m in model.modules() if type(m).__name__ == "BasicBlock")
    assert blocks == 8


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 32)])
def test_vgg16_probes(channels, size, tmp_path):
    model, layers = probe_dims("vgg16", channels, size, 0.125, tmp_path)
    assert len(layers) == 15  # input, 13 convolutions, softmax: depth at most 14 as in the paper
    assert layers[0].name == "input" and layers[-1].name == "softmax"
    convs = [m for m in model.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13
    ceil = [-(-size // 2**i) for i in range(5)]  # max-pools with ceil_mode after each stage
    sides = [ceil[0]] * 2 + [ceil[1]] * 2 + [ceil[2]] * 3 + [ceil[3]] * 3 + [ceil[4]] * 3
    channels_per_conv = [8, 8, 16, 16, 32, 32, 32, 64, 64, 64, 64, 64, 64]
    assert [layer.dim for layer in layers[1:-1]] == [c * s * s for c, s in zip(channels_per_conv, sides, strict=True)]
    assert layers[-1].dim == 10


def test_width_multiplier_scales_channels():
    narrow = build("resnet18", InputShape(3, 32, 32, 10), {"width": 0.25})
    full = build("resnet18", InputShape(3, 32, 32, 10), {"width": 1})
    assert narrow.stem[0].out_channels == 16 and full.stem[0].out_channels == 64
    assert full.head.in_features == 512
    vgg = build("vgg16", InputShape(1, 28, 28, 100), {"width": 1, "batch_norm": False})
    assert vgg.head[-1].in_features == 512 and vgg.head[-1].out_features == 100
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in vgg.modules())


@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
def test_extraction_keeps_batch_norm_statistics(arch, tmp_path):
    torch.manual_seed(0)
    model = build(arch, InputShape(1, 28, 28, 10), {"width": 0.125})
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8)
    normalize = Normalizer((0.5,), (0.25,), torch.device("cpu"))
    a, _ = embeddings.extract(model, images, normalize, tmp_path / "a", progress=False)
    b, _ = embeddings.extract(model, images, normalize, tmp_path / "b", progress=False)
    assert model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    for layer in a:
        assert (embeddings.load_layer(tmp_path / "a", layer) == embeddings.load_layer(tmp_path / "b", layer)).all()
    assert [layer.dim for layer in a] == [layer.dim for layer in b]


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_catalog_agrees_with_the_built_model(arch):
    """pdepth.models.architectures (torch-free: the Snakefile sizes jobs with it) has every builder, and its probe count
    is the built model's, at the defaults and at other options."""
    assert set(MODELS) == set(ARCHITECTURES)
    catalog = ARCHITECTURES[arch]
    for given in ({}, {"hidden_layers": 2, "width": 8} if arch == "mlp" else {"width": 0.125}):
        options = catalog.resolve(given)
        model = build(arch, InputShape(1, 28, 28, 10), given)
        assert catalog.probes(options) == len(model.probe_names())


def test_unknown_or_mistyped_model_options_are_rejected_by_name():
    with pytest.raises(ConfigError, match=r"models\.mlp: unknown option\(s\) \['widht'\]"):
        ARCHITECTURES["mlp"].resolve({"widht": 3})
    with pytest.raises(ConfigError, match=r"models\.mlp\.width must be a int"):
        ARCHITECTURES["mlp"].resolve({"width": 0.5})
    with pytest.raises(ConfigError, match=r"models\.mlp\.hidden_layers must be in \[1, 256\]"):
        ARCHITECTURES["mlp"].resolve({"hidden_layers": 300})
    assert ARCHITECTURES["vgg16"].resolve({"width": 1}) == {"width": 1, "batch_norm": True}  # ints are floats


@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
def test_eval_passes_fold_batch_norm_into_the_convolutions_with_the_same_outputs(arch):
    """``loop.for_inference`` folds every batch norm (with running statistics of its own, not the initial ones) into
    the convolution before it: the logits of ``predict_logits`` equal the unfolded model's to float rounding, the
    classes exactly, and the model itself is left as it was, in training mode."""
    from pdepth.training.loop import for_inference, predict_logits

    torch.manual_seed(0)
    model = build(arch, InputShape(1, 28, 28, 10), {"width": 0.125}).to(memory_format=torch.channels_last)
    images = torch.randint(0, 256, (300, 1, 28, 28), dtype=torch.uint8)
    normalize = Normalizer((0.5,), (0.25,), torch.device("cpu"))
    with torch.no_grad():
        for start in range(0, 300, 100):  # running statistics away from their initial 0 and 1
            model(normalize(images[start : start + 100]) * 2 + 1)
    folded = for_inference(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    logits = predict_logits(model, images, normalize, 128, torch.channels_last)
    assert model.training and all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    model.eval()
    with torch.no_grad():
        unfolded = model(normalize(images).contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(logits, unfolded, rtol=1e-4, atol=1e-5)
    assert torch.equal(logits.argmax(1), unfolded.argmax(1))


@pytest.mark.parametrize("branch", ["on a value", "on a length"])
def test_a_model_that_torch_fx_cannot_trace_is_evaluated_as_it_is(branch):
    """Data-dependent control flow (a registered model of one's own): no folding, the model's own outputs."""
    from pdepth.training.loop import for_inference, predict_logits

    class Branching(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)

        def forward(self, x):
            x = self.bn(self.conv(x))
            positive = x.sum() > 0 if branch == "on a value" else len(x) > 1
            return x.flatten(1) if positive else -x.flatten(1)

    torch.manual_seed(0)
    model = Branching()
    assert for_inference(model) is model
    images = torch.randint(0, 256, (4, 1, 5, 5), dtype=torch.uint8)
    normalize = Normalizer((0.5,), (0.25,), torch.device("cpu"))
    with torch.no_grad():
        expected = torch.cat([model.eval()(normalize(images[i : i + 2])) for i in (0, 2)])
    torch.testing.assert_close(predict_logits(model, images, normalize, 2), expected)
