"""VGG16 for small images (Simonyan & Zisserman 2015): 13 3x3 convolutions in 5 stages and a linear head.

The max-pools use ceil_mode, so 28x28 inputs shrink 28-14-7-4-2-1 like 32x32 ones do 32-16-8-4-2-1.
"""

from torch import nn

from pdepth.models.registry import INPUT, SOFTMAX, InputShape, ProbedModel, register

STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class VGG16(ProbedModel):
    def __init__(self, shape: InputShape, width: float, batch_norm: bool):
        super().__init__()
        blocks, c_in = [], shape.channels
        for channels in STAGES:
            for i, c in enumerate(channels):
                c_out = max(1, round(c * width))
                layers = [nn.Conv2d(c_in, c_out, 3, 1, 1, bias=not batch_norm)]
                layers += [nn.BatchNorm2d(c_out)] if batch_norm else []
                layers += [nn.ReLU()]
                blocks.append(nn.Sequential(*layers))
                if i == len(channels) - 1:  # the pool closes the stage; the probe sits before it
                    blocks.append(nn.MaxPool2d(2, ceil_mode=True))
                c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c_in, shape.num_classes))
        self._conv_blocks = [str(i) for i, block in enumerate(self.features) if isinstance(block, nn.Sequential)]

    def forward(self, x):
        return self.head(self.features(x))

    def probe_names(self) -> list[str]:
        return [INPUT, *(f"features.{i}" for i in self._conv_blocks), SOFTMAX]


@register("vgg16")
def build_vgg16(shape: InputShape, options: dict) -> VGG16:
    return VGG16(shape, **options)
