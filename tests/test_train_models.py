"""Tests for the ResNet-18 backbone, the EfficientFPN neck and the heatmap heads."""

from __future__ import annotations

import pytest
import torch

from synth.errors import AssetError
from train.models.fpn import EfficientFPN
from train.models.heatmap import HeatmapEstimator, PairHeatmapHead
from train.models.resnet import ResNet18, load_resnet18_weights



# torchvision.models.resnet18().state_dict() keys, in order (written out, not derived from our model).
TORCHVISION_RESNET18_KEYS = """
conv1.weight bn1.weight bn1.bias bn1.running_mean bn1.running_var bn1.num_batches_tracked
layer1.0.conv1.weight layer1.0.bn1.weight layer1.0.bn1.bias layer1.0.bn1.running_mean
layer1.0.bn1.running_var layer1.0.bn1.num_batches_tracked layer1.0.conv2.weight layer1.0.bn2.weight
layer1.0.bn2.bias layer1.0.bn2.running_mean layer1.0.bn2.running_var
layer1.0.bn2.num_batches_tracked layer1.1.conv1.weight layer1.1.bn1.weight layer1.1.bn1.bias
layer1.1.bn1.running_mean layer1.1.bn1.running_var layer1.1.bn1.num_batches_tracked
layer1.1.conv2.weight layer1.1.bn2.weight layer1.1.bn2.bias layer1.1.bn2.running_mean
layer1.1.bn2.running_var layer1.1.bn2.num_batches_tracked layer2.0.conv1.weight layer2.0.bn1.weight
layer2.0.bn1.bias layer2.0.bn1.running_mean layer2.0.bn1.running_var
layer2.0.bn1.num_batches_tracked layer2.0.conv2.weight layer2.0.bn2.weight layer2.0.bn2.bias
layer2.0.bn2.running_mean layer2.0.bn2.running_var layer2.0.bn2.num_batches_tracked
layer2.0.downsample.0.weight layer2.0.downsample.1.weight layer2.0.downsample.1.bias
layer2.0.downsample.1.running_mean layer2.0.downsample.1.running_var
layer2.0.downsample.1.num_batches_tracked layer2.1.conv1.weight layer2.1.bn1.weight
layer2.1.bn1.bias layer2.1.bn1.running_mean layer2.1.bn1.running_var
layer2.1.bn1.num_batches_tracked layer2.1.conv2.weight layer2.1.bn2.weight layer2.1.bn2.bias
layer2.1.bn2.running_mean layer2.1.bn2.running_var layer2.1.bn2.num_batches_tracked
layer3.0.conv1.weight layer3.0.bn1.weight layer3.0.bn1.bias layer3.0.bn1.running_mean
layer3.0.bn1.running_var layer3.0.bn1.num_batches_tracked layer3.0.conv2.weight layer3.0.bn2.weight
layer3.0.bn2.bias layer3.0.bn2.running_mean layer3.0.bn2.running_var
layer3.0.bn2.num_batches_tracked layer3.0.downsample.0.weight layer3.0.downsample.1.weight
layer3.0.downsample.1.bias layer3.0.downsample.1.running_mean layer3.0.downsample.1.running_var
layer3.0.downsample.1.num_batches_tracked layer3.1.conv1.weight layer3.1.bn1.weight
layer3.1.bn1.bias layer3.1.bn1.running_mean layer3.1.bn1.running_var
layer3.1.bn1.num_batches_tracked layer3.1.conv2.weight layer3.1.bn2.weight layer3.1.bn2.bias
layer3.1.bn2.running_mean layer3.1.bn2.running_var layer3.1.bn2.num_batches_tracked
layer4.0.conv1.weight layer4.0.bn1.weight layer4.0.bn1.bias layer4.0.bn1.running_mean
layer4.0.bn1.running_var layer4.0.bn1.num_batches_tracked layer4.0.conv2.weight layer4.0.bn2.weight
layer4.0.bn2.bias layer4.0.bn2.running_mean layer4.0.bn2.running_var
layer4.0.bn2.num_batches_tracked layer4.0.downsample.0.weight layer4.0.downsample.1.weight
layer4.0.downsample.1.bias layer4.0.downsample.1.running_mean layer4.0.downsample.1.running_var
layer4.0.downsample.1.num_batches_tracked layer4.1.conv1.weight layer4.1.bn1.weight
layer4.1.bn1.bias layer4.1.bn1.running_mean layer4.1.bn1.running_var
layer4.1.bn1.num_batches_tracked layer4.1.conv2.weight layer4.1.bn2.weight layer4.1.bn2.bias
layer4.1.bn2.running_mean layer4.1.bn2.running_var layer4.1.bn2.num_batches_tracked fc.weight
fc.bias
""".split()


def test_resnet18_keys_and_shapes_match_torchvision():
    state = ResNet18().state_dict()
    assert list(state.keys()) == TORCHVISION_RESNET18_KEYS
    assert len(TORCHVISION_RESNET18_KEYS) == 122
    assert tuple(state["conv1.weight"].shape) == (64, 3, 7, 7)
    assert tuple(state["layer2.0.downsample.0.weight"].shape) == (128, 64, 1, 1)
    assert tuple(state["layer4.1.conv2.weight"].shape) == (512, 512, 3, 3)
    assert tuple(state["fc.weight"].shape) == (1000, 512)
    # torchvision's resnet18 has 11,689,512 parameters.
    assert sum(p.numel() for p in ResNet18().parameters()) == 11_689_512


def test_resnet18_stage_shapes():
    feats = ResNet18().eval()(torch.zeros(2, 3, 64, 64))
    assert tuple(feats.stem.shape) == (2, 64, 32, 32)
    assert tuple(feats.s4.shape) == (2, 64, 16, 16)
    assert tuple(feats.s8.shape) == (2, 128, 8, 8)
    assert tuple(feats.s16.shape) == (2, 256, 4, 4)
    assert tuple(feats.s32.shape) == (2, 512, 2, 2)


def test_resnet18_weights_file_loads_strictly(tmp_path):
    torch.manual_seed(0)
    src = ResNet18()
    # Save under torchvision's names, wrapped the way checkpoints often are.
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in src.state_dict().items()}}, path)
    dst = ResNet18()
    assert not torch.equal(dst.conv1.weight, src.conv1.weight)
    load_resnet18_weights(dst, path)
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k

    bad = tmp_path / "bad.pth"
    state = src.state_dict()
    del state["layer3.1.bn2.weight"]
    torch.save(state, bad)
    with pytest.raises(AssetError, match="layer3.1.bn2.weight"):
        load_resnet18_weights(ResNet18(), bad)
    with pytest.raises(AssetError, match="not found"):
        load_resnet18_weights(ResNet18(), tmp_path / "missing.pth")


def test_fpn_and_heads_shapes():
    x = torch.zeros(2, 3, 64, 64)
    est = HeatmapEstimator(feature_dims=128).eval()
    enc = est.encode(x)
    assert tuple(enc.features.shape) == (2, 128, 16, 16)
    assert tuple(enc.s32.shape) == (2, 512, 2, 2)
    assert tuple(est(x).shape) == (2, 15, 16, 16)
    assert tuple(PairHeatmapHead(128)(enc.features).shape) == (2, 15, 16, 16)
    # Paper resolution: 256 px -> 128 x 64 x 64.
    fpn = EfficientFPN()
    out = fpn(torch.zeros(1, 64, 64, 64), torch.zeros(1, 128, 32, 32), torch.zeros(1, 256, 16, 16),
              torch.zeros(1, 512, 8, 8))
    assert tuple(out.shape) == (1, 128, 64, 64)


def test_fpn_uses_coarse_levels():
    torch.manual_seed(0)
    fpn = EfficientFPN(out_dims=8)
    levels = [torch.rand(1, c, s, s) for c, s in ((64, 8), (128, 4), (256, 2), (512, 1))]
    base = fpn(*levels)
    levels[3] = levels[3] + 1.0
    assert not torch.allclose(base, fpn(*levels))
