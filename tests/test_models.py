"""The from-scratch CNNs of book/models.py, checked against torchvision and by their shapes."""

import pytest
import torch
import torchvision

from book import models


def test_resnet18_imagenet_stem_equals_torchvision():
    ours, ref = models.resnet18(), torchvision.models.resnet18()
    assert models.count_parameters(ours) == models.count_parameters(ref) == 11_689_512
    a = {k: v.shape for k, v in ours.state_dict().items()}
    b = {k: v.shape for k, v in ref.state_dict().items()}
    assert a == b  # same names, same shapes, same buffers
    ours.load_state_dict(ref.state_dict())
    ours.eval(), ref.eval()
    x = torch.randn(2, 3, 64, 64)
    assert torch.allclose(ours(x), ref(x), atol=1e-5)


@pytest.mark.parametrize(
    "stem,c,size,first", [("imagenet", 3, 32, 8), ("cifar", 3, 32, 32), ("mnist", 1, 28, 28)]
)
def test_stems_keep_or_shrink_resolution(stem, c, size, first):
    model = models.resnet18(num_classes=10, stem=stem, width=8)
    shapes = dict(models.trace_shapes(model, torch.zeros(2, c, size, size)))
    assert shapes["layer1.0.relu"][-1] == first or shapes["layer1.1.conv2"][-1] == first
    assert shapes["fc"] == (2, 10)
    with pytest.raises(ValueError):
        models.resnet18(stem="huge")


def test_small_stem_param_count():
    # the CIFAR stem replaces the 7x7x3x64 conv by 3x3x3x64 and removes nothing else
    diff = models.count_parameters(models.resnet18(10)) - models.count_parameters(
        models.resnet18(10, "cifar")
    )
    assert diff == (7 * 7 - 3 * 3) * 3 * 64


def test_basic_block_shortcut():
    block = models.BasicBlock(8, 16, stride=2)
    assert block.downsample is not None
    assert block(torch.randn(1, 8, 10, 10)).shape == (1, 16, 5, 5)
    same = models.BasicBlock(8, 8)
    assert same.downsample is None
    # with the residual branch zeroed, the block is ReLU(identity)
    torch.nn.init.zeros_(same.bn2.weight)
    x = torch.randn(1, 8, 5, 5)
    same.eval()
    assert torch.equal(same(x), torch.relu(x))


def test_small_models_shapes():
    assert models.LeNet()(torch.zeros(3, 3, 32, 32)).shape == (3, 10)
    assert models.LeNet(1, padding=2)(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert models.MnistMLP()(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert models.MnistCNN()(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert models.count_parameters(models.LeNet()) == 62_006
    rows = models.trace_shapes(models.LeNet(), torch.zeros(1, 3, 32, 32))
    assert rows[0] == ("conv1", (1, 6, 28, 28)) and rows[3] == ("pool", (1, 16, 5, 5))
