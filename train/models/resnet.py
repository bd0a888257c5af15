"""ResNet-18 backbone with torchvision-compatible parameter names, returning the stem and the four stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from synth.errors import AssetError

#: Channels of the four residual stages of ResNet-18.
RESNET18_STAGE_CHANNELS: tuple[int, int, int, int] = (64, 128, 256, 512)
#: Number of ImageNet classes of the (unused) classification layer kept for strict weight loading.
IMAGENET_CLASSES = 1000


@dataclass
class BackboneFeatures:
    """Feature maps of one ResNet-18 pass for an input of (N, 3, H, W).

    stem: (N, 64, H/2, W/2); s4: (N, 64, H/4, W/4); s8: (N, 128, H/8, W/8);
    s16: (N, 256, H/16, W/16); s32: (N, 512, H/32, W/32). Unitless activations.
    """

    stem: torch.Tensor
    s4: torch.Tensor
    s8: torch.Tensor
    s16: torch.Tensor
    s32: torch.Tensor


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (downsample when the shape changes)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """ResNet-18 whose state-dict keys equal torchvision's `resnet18` (conv1, bn1, layer1..4, fc).

    `forward(images (N, 3, H, W))` returns `BackboneFeatures`; `fc` is kept only so that a torchvision
    weights file loads strictly and is never used.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_ch = 64
        for i, out_ch in enumerate(RESNET18_STAGE_CHANNELS):
            stride = 1 if i == 0 else 2
            layer = nn.Sequential(BasicBlock(in_ch, out_ch, stride), BasicBlock(out_ch, out_ch, 1))
            self.add_module(f"layer{i + 1}", layer)
            in_ch = out_ch
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, IMAGENET_CLASSES)
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's default: Kaiming-normal (fan_out) convolutions, unit/zero batch-norm affine.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, images: torch.Tensor) -> BackboneFeatures:
        stem = self.relu(self.bn1(self.conv1(images)))
        s4 = self.layer1(self.maxpool(stem))
        s8 = self.layer2(s4)
        s16 = self.layer3(s8)
        s32 = self.layer4(s16)
        return BackboneFeatures(stem=stem, s4=s4, s8=s8, s16=s16, s32=s32)


def strip_prefixes(state: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Remove any of `prefixes` (repeatedly) from the start of each key, e.g. "module.", "_orig_mod."."""
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for p in prefixes:
                if p and key.startswith(p):
                    key = key[len(p):]
                    changed = True
        out[key] = value
    return out


def load_resnet18_weights(model: ResNet18, weights_path: str | Path) -> None:
    """Load a torchvision-style resnet18 state dict (a `torch.save`d dict, optionally under "state_dict")
    strictly into `model`; raises AssetError naming the file and the missing/unexpected keys."""
    path = Path(weights_path)
    if not path.is_file():
        raise AssetError(f"{path}: ResNet-18 weights file not found; pass a torchvision resnet18 state dict saved "
                         f"with torch.save or leave weights_path empty")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one clear message
        raise AssetError(f"{path}: cannot read as a torch state dict ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = strip_prefixes(state, ("module.", "_orig_mod.", "backbone."))
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatch
        raise AssetError(f"{path}: resnet18 weights have wrong shapes: {str(exc).splitlines()[-1].strip()}") from None
    if result.missing_keys or result.unexpected_keys:
        raise AssetError(
            f"{path}: not a resnet18 state dict: missing keys {result.missing_keys[:5]}, "
            f"unexpected keys {result.unexpected_keys[:5]}; export torchvision.models.resnet18().state_dict()"
        )
