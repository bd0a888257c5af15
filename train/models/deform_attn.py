"""Multi-scale deformable attention (Deformable-DETR) in pure PyTorch via grid_sample, with its initialisation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def deformable_sample(
    value: torch.Tensor,
    spatial_shapes: list[tuple[int, int]],
    locations: torch.Tensor,
    weights: torch.Tensor,
) -> torch.Tensor:
    """Weighted bilinear sampling of per-head value maps.

    value: (N, S, nH, dh) with S = sum_l H_l * W_l (levels flattened row-major, level after level);
    locations: (N, Lq, nH, L, P, 2) normalised (x, y) in [0, 1], origin at the top-left image corner, so
    pixel-centre i sits at (i + 0.5) / W; samples outside the map read zeros;
    weights: (N, Lq, nH, L, P) attention weights. Returns (N, Lq, nH * dh).
    """
    n, _, n_heads, dh = value.shape
    _, lq, _, n_levels, n_points, _ = locations.shape
    sizes = [h * w for h, w in spatial_shapes]
    per_level = value.split(sizes, dim=1)
    grids = 2.0 * locations - 1.0
    sampled = []
    for level, (h, w) in enumerate(spatial_shapes):
        v = per_level[level].flatten(2).transpose(1, 2).reshape(n * n_heads, dh, h, w)
        g = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)  # (N*nH, Lq, P, 2)
        sampled.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False))
    stacked = torch.stack(sampled, dim=-2).flatten(-2)  # (N*nH, dh, Lq, L*P)
    w = weights.transpose(1, 2).reshape(n * n_heads, 1, lq, n_levels * n_points)
    out = (stacked * w).sum(-1)  # (N*nH, dh, Lq)
    return out.view(n, n_heads * dh, lq).transpose(1, 2).contiguous()


class MSDeformAttn(nn.Module):
    """Deformable attention: each query looks at `n_points` learned offsets per head and level around its
    reference point.

    forward(query (N, Lq, d), reference (N, Lq, 2) or (N, Lq, L, 2) normalised (x, y), value (N, S, d),
    spatial_shapes [(H_l, W_l)], value_mask (N, S) bool or None: False positions read zeros) -> (N, Lq, d).
    Offsets are in feature pixels of each level.
    """

    def __init__(self, d_model: int = 256, n_heads: int = 4, n_levels: int = 1, n_points: int = 16):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} must be divisible by n_heads {n_heads}")
        self.d_model, self.n_heads, self.n_levels, self.n_points = d_model, n_heads, n_levels, n_points
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Deformable-DETR init: head h starts sampling along direction 2*pi*h/nH (scaled so its largest component
        is 1) at 1..P feature pixels; uniform attention; xavier projections with zero bias."""
        nn.init.zeros_(self.sampling_offsets.weight)
        angles = torch.arange(self.n_heads, dtype=torch.float64) * (2.0 * math.pi / self.n_heads)
        dirs = torch.stack([angles.cos(), angles.sin()], dim=-1)
        dirs = dirs / dirs.abs().max(dim=-1, keepdim=True).values
        grid = dirs.view(self.n_heads, 1, 1, 2).repeat(1, self.n_levels, self.n_points, 1)
        grid = grid * torch.arange(1, self.n_points + 1, dtype=torch.float64).view(1, 1, -1, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.flatten().to(self.sampling_offsets.bias.dtype))
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        for lin in (self.value_proj, self.output_proj):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(
        self,
        query: torch.Tensor,
        reference: torch.Tensor,
        value: torch.Tensor,
        spatial_shapes: list[tuple[int, int]],
        value_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        n, lq, _ = query.shape
        v = self.value_proj(value)
        if value_mask is not None:
            v = v.masked_fill(~value_mask[..., None], 0.0)
        v = v.view(n, v.shape[1], self.n_heads, self.d_model // self.n_heads)
        off = self.sampling_offsets(query).view(n, lq, self.n_heads, self.n_levels, self.n_points, 2)
        attn = self.attention_weights(query).view(n, lq, self.n_heads, self.n_levels * self.n_points)
        attn = attn.softmax(-1).view(n, lq, self.n_heads, self.n_levels, self.n_points)
        if reference.dim() == 3:
            reference = reference[:, :, None, :].expand(n, lq, self.n_levels, 2)
        norm = torch.tensor([[w, h] for h, w in spatial_shapes], dtype=query.dtype, device=query.device)
        loc = reference[:, :, None, :, None, :] + off / norm[None, None, None, :, None, :]
        # Sample in at least fp32 (half-precision grid_sample loses sub-pixel accuracy).
        dtype = torch.promote_types(v.dtype, torch.float32)
        out = deformable_sample(v.to(dtype), spatial_shapes, loc.to(dtype), attn.to(dtype))
        return self.output_proj(out.to(query.dtype))
