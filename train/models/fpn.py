"""EfficientFPN neck: fuses ResNet stages s4..s32 top-down into one stride-4 feature map."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from train.models.resnet import RESNET18_STAGE_CHANNELS


def upsample_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (N, C, h, w) to (N, C, *size) with align_corners=True (the released models' choice)."""
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class EfficientFPN(nn.Module):
    """Top-down FPN: lateral 1x1 conv + ReLU per level, then for each coarser level: upsample x2, concatenate with
    the finer lateral, 1x1 conv (2C -> C) + ReLU, 3x3 conv + ReLU.

    forward(s4, s8, s16, s32) with channels `in_channels` -> (N, out_dims, H4, W4) at s4's resolution.
    """

    def __init__(self, in_channels: tuple[int, ...] = RESNET18_STAGE_CHANNELS, out_dims: int = 128):
        super().__init__()
        self.lateral = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, out_dims, 1), nn.ReLU(inplace=True)) for c in in_channels
        )
        self.fuse = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(2 * out_dims, out_dims, 1), nn.ReLU(inplace=True),
                nn.Conv2d(out_dims, out_dims, 3, padding=1), nn.ReLU(inplace=True),
            )
            for _ in range(len(in_channels) - 1)
        )

    def forward(self, *levels: torch.Tensor) -> torch.Tensor:
        lat = [layer(x) for layer, x in zip(self.lateral, levels)]
        top = lat[-1]
        for i in range(len(lat) - 1, 0, -1):
            finer = lat[i - 1]
            top = self.fuse[i - 1](torch.cat([finer, upsample_to(top, finer.shape[-2:])], dim=1))
        return top
