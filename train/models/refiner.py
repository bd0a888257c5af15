"""Multi-view heatmap refinement (the paper's module): view-specific joint queries attend around argmax anchors in
every view's features, and the updated queries become offset features that yield refined heatmaps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from synth.constants import NUM_HEATMAP_JOINTS
from train.models.fpn import upsample_to
from train.models.transformer import CrossViewLayer
from train.models.resnet import RESNET18_STAGE_CHANNELS

#: Peak value at or above which a joint's initial heatmap counts as confident (uncertainty mask).
DEFAULT_HEATMAP_THRESHOLD = 0.5


def heatmap_anchors(heatmaps: torch.Tensor, threshold: float = DEFAULT_HEATMAP_THRESHOLD,
                    cell_centre: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Argmax anchors of heatmaps (..., J, h, w) (no gradient).

    Returns anchors (..., J, 2) normalised (x, y): col / w, row / h (the released models' convention: half a cell
    up-left of the cell centre) or (col + 0.5) / w with `cell_centre`; valid (..., J) bool = peak >= threshold;
    peak (..., J) the maximum value.
    """
    h, w = heatmaps.shape[-2:]
    flat = heatmaps.detach().flatten(-2)
    peak, idx = flat.max(-1)
    shift = 0.5 if cell_centre else 0.0
    col = (idx % w).to(heatmaps.dtype) + shift
    row = torch.div(idx, w, rounding_mode="floor").to(heatmaps.dtype) + shift
    anchors = torch.stack([col / w, row / h], dim=-1)
    return anchors, peak >= threshold, peak


@dataclass(frozen=True)
class RefinerSettings:
    """Hyper-parameters and ablation switches of one view's refiner (paper values as defaults)."""

    num_views: int = 4
    num_joints: int = NUM_HEATMAP_JOINTS
    feature_dims: int = 128
    embed_dims: int = 256
    num_layers: int = 1
    heads: int = 4
    points: int = 16
    ffn_dims: int = 512
    use_anchors: bool = True
    use_uncertainty_mask: bool = True
    use_rgb_embedding: bool = True
    use_heatmap_embedding: bool = True
    detach_offset_base: bool = True
    half_resolution: bool = True


@dataclass
class RefinerOutput:
    """features: (B, C, h, w) refined features; heatmaps: (B, J, h, w) refined heatmaps."""

    features: torch.Tensor
    heatmaps: torch.Tensor


class HeatmapRefiner(nn.Module):
    """Refiner of ONE view (each view owns one, so its joint queries are view-specific).

    heatmap_size: (h, w) cells of the heatmap / feature grid (h != w for non-square images): it sizes the
    heatmap embedding (h * w inputs) and the learned positional embedding (one per view and cell, row-major).
    forward(heatmaps0 (B, J, h, w) this view's initial heatmaps, features (B, V, C, h, w) all views' initial
    features, view (int) this view's index, anchors (B, V, J, 2) normalised (x, y) = (col / w, row / h) per axis,
    valid (B, V, J) bool, s32 (B, 512, h', w') this view's ResNet layer4, detach_heatmap_feat: bool)
    -> RefinerOutput.
    """

    def __init__(self, settings: RefinerSettings, heatmap_size: tuple[int, int]):
        super().__init__()
        s = settings
        self.settings = s
        self.heatmap_size = tuple(heatmap_size)
        h, w = self.heatmap_size
        side = math.isqrt(s.embed_dims)
        if side * side != s.embed_dims:
            raise ValueError(f"refiner embed_dims {s.embed_dims} must be a square (tokens become side x side maps)")
        if h % 2 or w % 2:
            raise ValueError(f"heatmap size {heatmap_size} must be even")
        self.token_side = side
        self.joint_query = nn.Embedding(s.num_joints, s.embed_dims)
        self.heatmap_embed = nn.Sequential(nn.Linear(h * w, s.embed_dims), nn.ReLU(inplace=True),
                                           nn.Linear(s.embed_dims, s.embed_dims))
        self.rgb_embed = nn.Linear(RESNET18_STAGE_CHANNELS[-1], s.embed_dims)
        self.query_proj = nn.Sequential(nn.Linear(s.embed_dims, s.embed_dims), nn.ReLU(inplace=True))
        self.memory_proj = nn.Conv2d(s.feature_dims, s.embed_dims, 1)
        self.pos_embed = nn.Parameter(torch.zeros(1, s.num_views, h * w, s.embed_dims))
        self.layers = nn.ModuleList(
            CrossViewLayer(s.num_views, s.embed_dims, s.heads, s.points, s.ffn_dims, s.use_anchors)
            for _ in range(s.num_layers)
        )
        self.out_norm = nn.LayerNorm(s.embed_dims)
        self.offset_in = nn.Sequential(nn.Conv2d(s.num_joints, 64, 1), nn.ReLU(inplace=True))
        self.offset_out = nn.Sequential(nn.Conv2d(64, s.feature_dims, 1), nn.ReLU(inplace=True))
        # Released: the offset features meet the initial features at half the heatmap resolution and the refined
        # head works at half resolution too. half_resolution=False keeps both at full resolution (same weights).
        stride = 2 if s.half_resolution else 1
        self.base = nn.Sequential(
            nn.Conv2d(s.feature_dims, 256, 1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 512, 3, stride=stride, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(512, s.feature_dims, 1), nn.ReLU(inplace=True),
        )
        self.fuse_in = nn.Sequential(nn.Conv2d(s.feature_dims, s.feature_dims, 1), nn.ReLU(inplace=True))
        self.fuse_out = nn.Sequential(nn.Conv2d(s.feature_dims, s.feature_dims, 1), nn.ReLU(inplace=True))
        self.head_down = nn.Sequential(
            nn.Conv2d(s.feature_dims, 256, 3, stride=stride, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 1), nn.ReLU(inplace=True),
        )
        self.head_up = nn.Sequential(nn.Conv2d(256, 128, 1), nn.ReLU(inplace=True), nn.Conv2d(128, s.num_joints, 1))

    def queries(self, heatmaps0: torch.Tensor, s32: torch.Tensor) -> torch.Tensor:
        """Initial joint queries (B, J, D): learned embedding + heatmap embedding + RGB (layer4 GAP) embedding."""
        b = heatmaps0.shape[0]
        q = self.joint_query.weight[None].expand(b, -1, -1)
        if self.settings.use_heatmap_embedding:
            q = q + self.heatmap_embed(heatmaps0.flatten(2))
        if self.settings.use_rgb_embedding:
            q = q + self.rgb_embed(s32.mean(dim=(2, 3)))[:, None]
        return self.query_proj(q)

    def memory(self, features: torch.Tensor) -> torch.Tensor:
        """Per-view memory tokens (B, V, h*w, D) with a learned positional embedding."""
        b, v, c, h, w = features.shape
        m = self.memory_proj(features.flatten(0, 1)).flatten(2).transpose(1, 2)
        return m.view(b, v, h * w, -1) + self.pos_embed

    def forward(self, heatmaps0, features, view, anchors, valid, s32, detach_heatmap_feat=False) -> RefinerOutput:
        b, v, c, h, w = features.shape
        if not self.settings.use_uncertainty_mask:
            valid = torch.ones_like(valid)
        x = self.queries(heatmaps0, s32)
        mem = self.memory(features)
        for layer in self.layers:
            x = layer(x, mem, anchors, valid, (h, w))
        side = self.token_side
        tokens = self.out_norm(x).view(b, -1, side, side)
        merge = (h // 2, w // 2) if self.settings.half_resolution else (h, w)
        offset = self.offset_out(upsample_to(self.offset_in(tokens), merge))
        base = self.base(features[:, view])
        if self.settings.detach_offset_base:
            base = base.detach()
        refined = self.fuse_out(upsample_to(self.fuse_in(offset + base), (h, w)))
        head_in = refined.detach() if detach_heatmap_feat else refined
        heatmaps = self.head_up(upsample_to(self.head_down(head_in), (h, w)))
        return RefinerOutput(features=refined, heatmaps=heatmaps)
