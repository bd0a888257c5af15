"""Stage-1 heatmap estimator (ResNet-18 + EfficientFPN + 1x1 head) and the stage-2 initial-heatmap head."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from synth.constants import NUM_HEATMAP_JOINTS
from train.models.fpn import EfficientFPN, upsample_to
from train.models.resnet import ResNet18


@dataclass
class EncodedViews:
    """Encoder output for N images of (N, 3, H, W).

    features: (N, C, H/4, W/4) FPN features (C = feature_dims); s32: (N, 512, H/32, W/32) ResNet layer4.
    """

    features: torch.Tensor
    s32: torch.Tensor


class HeatmapEstimator(nn.Module):
    """Stage 1: per-image heatmaps. encode(images (N,3,H,W)) -> EncodedViews;
    forward(images) -> heatmaps (N, 15, H/4, W/4) (raw, no activation; target peak 1.0)."""

    def __init__(self, feature_dims: int = 128, num_heatmaps: int = NUM_HEATMAP_JOINTS):
        super().__init__()
        self.backbone = ResNet18()
        self.neck = EfficientFPN(out_dims=feature_dims)
        self.head = nn.Conv2d(feature_dims, num_heatmaps, 1)

    def encode(self, images: torch.Tensor) -> EncodedViews:
        f = self.backbone(images)
        return EncodedViews(features=self.neck(f.s4, f.s8, f.s16, f.s32), s32=f.s32)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(images).features)


class PairHeatmapHead(nn.Module):
    """Stage-2 initial-heatmap head shared by the views of one camera group:
    1x1 C->128, ReLU, 3x3 s2 128->256, ReLU, 1x1 256->256, ReLU, bilinear up to the input size, 1x1 256->128,
    ReLU, 1x1 128->15. forward(features (N, C, h, w)) -> heatmaps (N, 15, h, w)."""

    def __init__(self, feature_dims: int = 128, num_heatmaps: int = NUM_HEATMAP_JOINTS):
        super().__init__()
        self.down = nn.Sequential(
            nn.Conv2d(feature_dims, 128, 1), nn.ReLU(inplace=True),
            nn.Conv2d(128, 256, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 1), nn.ReLU(inplace=True),
        )
        self.up = nn.Sequential(nn.Conv2d(256, 128, 1), nn.ReLU(inplace=True), nn.Conv2d(128, num_heatmaps, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.up(upsample_to(self.down(features), features.shape[-2:]))
