"""The CNNs of chapters 05 (LeNet) and 06 (ResNet), written out so that every layer is visible.

* :class:`MnistMLP` and :class:`MnistCNN`: the framework-overview notes' MNIST stepping stones.
* :class:`LeNet`: the lecture's LeNet-5 (CIFAR-10: 3x32x32; MNIST: 1x28x28 with ``padding=2``).
* :class:`BasicBlock` and :func:`resnet18`: a residual network from scratch whose parameter names and
  shapes equal ``torchvision.models.resnet18`` when built with the ImageNet stem (so torchvision's
  state dicts load into it), with two other stems for small images:

  ======== ===================================================== =========================
  stem     layers                                                32x32 input -> layer1
  ======== ===================================================== =========================
  imagenet conv 7x7 stride 2, BN, ReLU, max-pool 3x3 stride 2    8x8  (16x fewer positions)
  cifar    conv 3x3 stride 1, BN, ReLU                           32x32
  mnist    as cifar, with 1 input channel                        28x28 for MNIST
  ======== ===================================================== =========================
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

STEMS = ("imagenet", "cifar", "mnist")


class MnistMLP(nn.Module):
    """784 -> hidden -> 10: the notes' first MNIST network; pixels, not shapes (chapter 05)."""

    def __init__(self, hidden: int = 128, num_classes: int = 10):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class MnistCNN(nn.Module):
    """The notes' MNIST CNN (PyTorch's example): two 3x3 convs, max-pool, dropout, two FC layers (ch. 05)."""

    def __init__(self, c1: int = 32, c2: int = 64, hidden: int = 128, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, 1)  # 28 -> 26
        self.conv2 = nn.Conv2d(c1, c2, 3, 1)  # 26 -> 24, then max-pool -> 12
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(c2 * 12 * 12, hidden)  # 9216 for the default c2=64
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(torch.flatten(x, 1))
        x = self.dropout2(F.relu(self.fc1(x)))
        return self.fc2(x)


class LeNet(nn.Module):
    """LeNet-5 as in the lecture (chapter 05): conv(5) -> pool -> conv(5) -> pool -> 120 -> 84 -> classes.

    ``in_channels=3`` for CIFAR-10 (32x32). For MNIST (28x28) use ``in_channels=1, padding=2`` so that the
    first conv again sees a 32x32 field and the flatten size stays 16*5*5.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, padding: int = 0):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=padding)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def trace_shapes(
    model: nn.Module, x: torch.Tensor, device: str | torch.device | None = None
) -> list[tuple[str, tuple[int, ...]]]:
    """(name, output shape) of every leaf module in the order they run on ``x`` (chapters 05, 06).

    Forward hooks, eval mode; ``x`` goes to ``device`` (default: where the model's parameters are).
    """
    from .train import model_device

    x = x.to(model_device(model, device))
    rows, hooks = [], []
    for name, module in model.named_modules():
        if len(list(module.children())) == 0:
            hooks.append(
                module.register_forward_hook(lambda m, i, o, name=name: rows.append((name, tuple(o.shape))))
            )
    was_training = model.training
    model.eval()  # BatchNorm in training mode refuses a batch of one 1x1 map
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return rows


class BasicBlock(nn.Module):
    """out = ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x)); the shortcut is a 1x1 conv + BN when the
    shape changes (stride 2 or more channels), else the identity. Names as in torchvision (chapter 06)."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet with :class:`BasicBlock` s; ``layers=(2, 2, 2, 2)`` is ResNet18 (chapter 06). ``width`` scales
    every stage (64 is the standard; smaller widths make quick mode fast)."""

    def __init__(
        self,
        layers: tuple[int, ...] = (2, 2, 2, 2),
        num_classes: int = 1000,
        stem: str = "imagenet",
        in_channels: int | None = None,
        width: int = 64,
    ):
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if in_channels is None:
            in_channels = 1 if stem == "mnist" else 3
        self.stem = stem
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        else:  # small images: keep the resolution, no max-pool
            self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        stages, in_planes = [], width
        for i, n in enumerate(layers):
            planes = width * 2**i
            blocks = [BasicBlock(in_planes, planes, 1 if i == 0 else 2)]
            blocks += [BasicBlock(planes, planes) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            in_planes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_planes, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(
    num_classes: int = 1000, stem: str = "imagenet", in_channels: int | None = None, width: int = 64
) -> ResNet:
    """ResNet18 from scratch (chapter 06); ``stem="imagenet"``, width 64, 3 channels equals torchvision's."""
    return ResNet((2, 2, 2, 2), num_classes, stem, in_channels, width)


def count_parameters(model: nn.Module) -> int:
    """How many numbers the model learns (chapters 05, 06)."""
    return sum(p.numel() for p in model.parameters())


def resnet50_for_finetune(num_classes: int, pretrained: bool = True) -> tuple[nn.Module, str]:
    """torchvision's ResNet50 with a new ``fc`` for ``num_classes``; returns ``(model, message)`` (ch. 06).

    With ``pretrained=True`` the ImageNet weights (IMAGENET1K_V2) are loaded from torch's cache or
    downloaded; when that fails (offline), the message says so and the model keeps its random
    initialisation, so the fine-tuning code path still runs (its accuracy then means little).
    """
    import torchvision

    model, message = None, "random initialisation (pretrained=False)"
    if pretrained:
        try:
            weights = torchvision.models.ResNet50_Weights.IMAGENET1K_V2
            model = torchvision.models.resnet50(weights=weights)
            message = "ImageNet-pretrained weights loaded (IMAGENET1K_V2)"
        except Exception as exc:  # noqa: BLE001 - offline, proxy, corrupt cache...
            message = (
                "pretrained ResNet50 weights unavailable (" + type(exc).__name__ + "); "
                "falling back to random initialisation. To fine-tune for real, run online once "
                "(the weights are cached in ~/.cache/torch/hub) or on Colab."
            )
    if model is None:
        model = torchvision.models.resnet50(weights=None)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model, message
