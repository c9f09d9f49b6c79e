"""The architectures of the study by name, without torch: their options with defaults, their probe count and a
training throughput for sizing cluster jobs. ``pdepth.models`` builds them (each module registers its builder).

Adding an architecture: its module in ``pdepth/models`` (the builder) and one entry here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from pdepth import paths
from pdepth.errors import ConfigError


@dataclass(frozen=True)
class InputShape:
    """What a model is built for: images of ``channels`` × ``height`` × ``width``, ``num_classes`` classes."""

    channels: int
    height: int
    width: int
    num_classes: int


@dataclass(frozen=True)
class Architecture:
    name: str
    module: str  # imported by pdepth.models: it registers the builder
    options: dict = field(default_factory=dict)  # the builder's options and their defaults (the paper's models)
    bounds: dict = field(default_factory=dict)  # option -> (smallest, largest) value accepted
    probes: Callable[[dict], int] = lambda options: 0  # probe count, input and softmax included, for full options
    title: str = ""  # its name in papers and figures (ResNet-18); empty: ``name``
    images_per_second: float = 2000.0  # training throughput on a 2-core CPU at the default config's width

    def __post_init__(self):
        paths.check_name("architecture", self.name)

    def resolve(self, given: dict | None, where: str = "models") -> dict:
        """The full options: the defaults updated by ``given``; an unknown option or a wrong type names the key."""
        given = dict(given or {})
        unknown = set(given) - set(self.options)
        if unknown:
            raise ConfigError(
                f"{where}.{self.name}: unknown option(s) {sorted(unknown)}; known: {', '.join(sorted(self.options))}"
            )
        for key, value in given.items():
            expected = type(self.options[key])
            accepted = (int, float) if expected is float else (expected,)
            if isinstance(value, bool) != (expected is bool) or not isinstance(value, accepted):
                raise ConfigError(f"{where}.{self.name}.{key} must be a {expected.__name__}, got {value!r}")
            low, high = self.bounds.get(key, (None, None))
            if (low is not None and value < low) or (high is not None and value > high):
                raise ConfigError(f"{where}.{self.name}.{key} must be in [{low}, {high}], got {value!r}")
        return {**self.options, **given}


ARCHITECTURES: dict[str, Architecture] = {
    arch.name: arch
    for arch in (
        Architecture(
            "mlp",
            "pdepth.models.mlp",
            {"hidden_layers": 7, "width": 2048},
            bounds={"hidden_layers": (1, 256), "width": (1, None)},  # depths are int8 up to 127 probes, int16 beyond
            probes=lambda options: options["hidden_layers"] + 2,
            title="MLP",
            images_per_second=7000,
        ),
        Architecture(
            "resnet18",
            "pdepth.models.resnet",
            {"width": 1.0, "batch_norm": True},
            bounds={"width": (1e-3, None)},
            probes=lambda options: 12,  # input, stem, 8 blocks, pool, softmax
            title="ResNet-18",
            images_per_second=1500,
        ),
        Architecture(
            "vgg16",
            "pdepth.models.vgg",
            {"width": 1.0, "batch_norm": True},
            bounds={"width": (1e-3, None)},
            probes=lambda options: 15,  # input, 13 convolutions, softmax
            title="VGG-16",
            images_per_second=3000,
        ),
    )
}


def get(name: str, where: str = "") -> Architecture:
    """The architecture ``name``; ``where`` is the config key that names it, for the error message."""
    if name not in ARCHITECTURES:
        place = f"{where}.{name}: " if where else ""
        raise ConfigError(f"{place}unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    return ARCHITECTURES[name]
