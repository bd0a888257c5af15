"""Post-norm transformer layer shared by the refiner and the 3D lifter: masked cross-view attention, joint
self-attention, FFN."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from train.models.deform_attn import MSDeformAttn


class JointSelfAttention(nn.Module):
    """Multi-head self-attention over joint tokens with separate q/k/v/out projections (xavier, zero bias).

    forward(x (B, J, D)) -> (B, J, D).
    """

    def __init__(self, dims: int, heads: int):
        super().__init__()
        if dims % heads:
            raise ValueError(f"embed dims {dims} must be divisible by heads {heads}")
        self.heads = heads
        self.q, self.k, self.v, self.out = (nn.Linear(dims, dims) for _ in range(4))
        for lin in (self.q, self.k, self.v):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, j, d = x.shape
        split = lambda t: t.view(b, j, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        y = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)))
        return self.out(y.transpose(1, 2).reshape(b, j, d))


class DenseCrossAttention(nn.Module):
    """Ablation of the deformable sampling: plain multi-head attention from each query to all memory positions.

    Same call as MSDeformAttn; the reference points are ignored.
    """

    def __init__(self, dims: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(dims, heads, batch_first=True)

    def forward(self, query, reference, value, spatial_shapes, value_mask=None):  # noqa: ARG002 - same signature
        pad = None if value_mask is None else ~value_mask
        return self.attn(query, value, value, key_padding_mask=pad, need_weights=False)[0]


class CrossViewLayer(nn.Module):
    """One post-norm layer over J joint queries attending to V views.

    forward(x (B, J, D), memory (B, V, S, D) with S = h * w, anchors (B, V, J, 2) normalised (x, y) in [0, 1],
    valid (B, V, J) bool, spatial_shape (h, w)) -> (B, J, D). A joint whose anchor in view v is not valid gets no
    contribution from view v (its per-view attention output is zeroed before the fusion Linear).
    """

    def __init__(self, num_views: int, dims: int, heads: int = 4, points: int = 16, ffn_dims: int = 512,
                 use_anchors: bool = True, dropout: float = 0.0):
        super().__init__()
        self.num_views = num_views
        self.cross = MSDeformAttn(dims, heads, 1, points) if use_anchors else DenseCrossAttention(dims, heads)
        self.fuse = nn.Linear(num_views * dims, dims)
        self.norm1 = nn.LayerNorm(dims)
        self.self_attn = JointSelfAttention(dims, heads)
        self.norm2 = nn.LayerNorm(dims)
        self.ffn = nn.Sequential(nn.Linear(dims, ffn_dims), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(ffn_dims, dims), nn.Dropout(dropout))
        self.norm3 = nn.LayerNorm(dims)

    def cross_view(self, x: torch.Tensor, memory: torch.Tensor, anchors: torch.Tensor, valid: torch.Tensor,
                   spatial_shape: tuple[int, int]) -> torch.Tensor:
        """The fused cross-view term (B, J, D) before the residual; views are folded into the batch."""
        b, v, s, d = memory.shape
        j = x.shape[1]
        if v != self.num_views:
            raise ValueError(f"layer built for {self.num_views} views, got {v}")
        q = x[:, None].expand(b, v, j, d).reshape(b * v, j, d)
        per_view = self.cross(q, anchors.reshape(b * v, j, 2), memory.reshape(b * v, s, d), [spatial_shape])
        per_view = per_view.view(b, v, j, d) * valid[..., None].to(per_view.dtype)
        return self.fuse(per_view.permute(0, 2, 1, 3).reshape(b, j, v * d))

    def forward(self, x, memory, anchors, valid, spatial_shape):
        x = self.norm1(x + self.cross_view(x, memory, anchors, valid, spatial_shape))
        x = self.norm2(x + self.self_attn(x))
        return self.norm3(x + self.ffn(x))
