"""The paper's MLP: ``hidden_layers`` fully connected ReLU layers of equal width (7 x 2048 in the paper)."""

import math

from torch import nn

from pdepth.models.registry import INPUT, SOFTMAX, InputShape, ProbedModel, register


class MLP(ProbedModel):
    def __init__(self, shape: InputShape, hidden_layers: int, width: int):
        super().__init__()
        self.flatten = nn.Flatten()
        sizes = [shape.channels * shape.height * shape.width] + [width] * hidden_layers
        self.hidden = nn.Sequential(
            *(nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        )
        self.head = nn.Linear(width, shape.num_classes)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.head.weight, std=1 / math.sqrt(width))

    def forward(self, x):
        return self.head(self.hidden(self.flatten(x)))

    def probe_names(self) -> list[str]:
        return [INPUT, *(f"hidden.{i}" for i in range(len(self.hidden))), SOFTMAX]


@register("mlp")
def build_mlp(shape: InputShape, options: dict) -> MLP:
    return MLP(shape, **options)
