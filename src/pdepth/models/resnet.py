"""ResNet18 for small images (He et al. 2016, CIFAR variant): 3x3 stride-1 stem, no max-pool, [2, 2, 2, 2] blocks."""

from torch import nn

from pdepth.models.registry import INPUT, SOFTMAX, InputShape, ProbedModel, register


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, batch_norm: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not batch_norm)
        self.bn1 = _norm(c_out, batch_norm)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=not batch_norm)
        self.bn2 = _norm(c_out, batch_norm)
        self.relu = nn.ReLU()
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=not batch_norm), _norm(c_out, batch_norm)
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(ProbedModel):
    def __init__(self, shape: InputShape, width: float, batch_norm: bool):
        super().__init__()
        widths = [max(1, round(c * width)) for c in (64, 128, 256, 512)]
        self.stem = nn.Sequential(
            nn.Conv2d(shape.channels, widths[0], 3, 1, 1, bias=not batch_norm), _norm(widths[0], batch_norm), nn.ReLU()
        )
        stages, c_in = [], widths[0]
        for i, c_out in enumerate(widths):
            stride = 1 if i == 0 else 2
            stages.append(
                nn.Sequential(BasicBlock(c_in, c_out, stride, batch_norm), BasicBlock(c_out, c_out, 1, batch_norm))
            )
            c_in = c_out
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(widths[-1], shape.num_classes)

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.head(self.pool(x))

    def probe_names(self) -> list[str]:
        blocks = [f"layer{stage}.{block}" for stage in range(1, 5) for block in range(2)]
        return [INPUT, "stem", *blocks, "pool", SOFTMAX]


@register("resnet18")
def build_resnet18(shape: InputShape, options: dict) -> ResNet18:
    return ResNet18(shape, **options)
