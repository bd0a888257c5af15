"""EgoPoseFormer-style 3D lifting: a pose proposal from (refined) features, projected through the rig's lenses to
anchor deformable cross-view attention that regresses per-layer offsets from the proposal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from synth.constants import NUM_JOINTS
from train.models.transformer import CrossViewLayer

#: project_fn(points_cam (B, V, J, 3) metres, OpenCV camera frame per view) ->
#:     (uv_norm (B, V, J, 2) in [0, 1] (x, y), image-corner origin; valid (B, V, J) bool: in the lens' field and image).
#: Smallest hidden width of the conv-proposal MLP (the paper's sizes are flat/16 and flat/256).
MIN_PROPOSAL_HIDDEN = 128

ProjectFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class LifterSettings:
    """Hyper-parameters and switches of the 3D stage (paper values as defaults).

    units_per_metre: the unit the network regresses in (100 = centimetres, as the paper; loss weights and the
    query MLP's raw-coordinate input assume it). proposal: "conv" (EgoRear: conv stack on each view's refined
    features, all views flattened into an MLP) or "avgpool" (original EgoPoseFormer: global average pool per view).
    """

    num_views: int = 4
    num_joints: int = NUM_JOINTS
    feature_dims: int = 128
    embed_dims: int = 128
    num_layers: int = 3
    heads: int = 4
    points: int = 16
    ffn_dims: int = 512
    proposal: str = "conv"
    use_anchors: bool = True
    use_in_view_mask: bool = True
    units_per_metre: float = 100.0


@dataclass
class LifterOutput:
    """poses: [P0 proposal, P1 .. PL] each (B, J, 3) device frame in `units_per_metre` units;
    anchors: (B, V, J, 2) normalised projections of the detached proposal; valid: (B, V, J) bool."""

    poses: list[torch.Tensor]
    anchors: torch.Tensor
    valid: torch.Tensor


def transform_points(T: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Apply T (B, V, 4, 4) to points (B, J, 3) -> (B, V, J, 3) (same length unit as T's translation)."""
    return torch.einsum("bvij,bnj->bvni", T[..., :3, :3], points) + T[:, :, None, :3, 3]


class PoseLifter(nn.Module):
    """feature_size: (h, w) cells of the feature grid (both divisible by 8 for the conv proposal; h != w allowed).
    forward(features_init (B, V, C, h, w), features_proposal (B, V, C, h, w) (refined, or initial when the
    refiner is off), T_camera_from_device (B, V, 4, 4) metres, project_fn: ProjectFn) -> LifterOutput; the anchors
    are normalised per axis ((u + 0.5) / W, (v + 0.5) / H), so they address the (h, w) grid for any aspect ratio."""

    def __init__(self, settings: LifterSettings, feature_size: tuple[int, int]):
        super().__init__()
        s = settings
        self.settings = s
        h, w = feature_size
        self.value_proj = nn.Conv2d(s.feature_dims, s.embed_dims, 1)
        if s.proposal == "conv":
            if h % 8 or w % 8:
                raise ValueError(f"feature size {feature_size} must be divisible by 8 for the conv proposal")
            self.proposal_conv = nn.Sequential(
                nn.Conv2d(s.feature_dims, 64, 1), nn.ReLU(inplace=True),
                nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(128, 64, 1), nn.ReLU(inplace=True),
                nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            )
            flat = s.num_views * 128 * (h // 8) * (w // 8)
            # Paper: 32768 -> 2048 -> 128; the floor keeps small inputs from collapsing to a tiny bottleneck.
            hidden = (max(flat // 16, MIN_PROPOSAL_HIDDEN), max(flat // 256, MIN_PROPOSAL_HIDDEN))
        elif s.proposal == "avgpool":
            self.proposal_conv = None
            flat, hidden = s.num_views * s.embed_dims, (1024, 1024)
        else:
            raise ValueError(f"proposal must be 'conv' or 'avgpool', got {s.proposal!r}")
        self.proposal_mlp = nn.Sequential(
            nn.Linear(flat, hidden[0]), nn.GELU(), nn.Linear(hidden[0], hidden[1]), nn.GELU(),
            nn.Linear(hidden[1], s.num_joints * 3),
        )
        self.query_mlp = nn.Sequential(
            nn.Linear(4, s.embed_dims), nn.ReLU(inplace=True), nn.Linear(s.embed_dims, s.embed_dims),
            nn.ReLU(inplace=True), nn.Linear(s.embed_dims, s.embed_dims),
        )
        self.layers = nn.ModuleList(
            CrossViewLayer(s.num_views, s.embed_dims, s.heads, s.points, s.ffn_dims, s.use_anchors)
            for _ in range(s.num_layers)
        )
        self.reg = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(s.embed_dims), nn.Linear(s.embed_dims, s.embed_dims), nn.GELU(),
                          nn.Linear(s.embed_dims, 3))
            for _ in range(s.num_layers)
        )
        self.register_buffer("joint_index", torch.arange(1, s.num_joints + 1, dtype=torch.float32) / s.num_joints,
                             persistent=False)

    def propose(self, features_proposal: torch.Tensor, value_tokens: torch.Tensor) -> torch.Tensor:
        """Pose proposal (B, J, 3) in model units."""
        b = features_proposal.shape[0]
        if self.proposal_conv is not None:
            flat = self.proposal_conv(features_proposal.flatten(0, 1)).reshape(b, -1)
        else:
            flat = value_tokens.mean(dim=2).reshape(b, -1)
        return self.proposal_mlp(flat).view(b, self.settings.num_joints, 3)

    def forward(self, features_init, features_proposal, T_camera_from_device, project_fn: ProjectFn) -> LifterOutput:
        b, v, c, h, w = features_init.shape
        s = self.settings
        tokens = self.value_proj(features_init.flatten(0, 1)).flatten(2).transpose(1, 2).reshape(b, v, h * w, -1)
        proposal = self.propose(features_proposal, tokens)
        anchor3d = proposal.detach()
        points_cam_m = transform_points(T_camera_from_device.to(anchor3d.dtype), anchor3d / s.units_per_metre)
        with torch.no_grad():
            uv, valid = project_fn(points_cam_m)
        uv = uv.to(anchor3d.dtype).clamp(0.0, 1.0)
        if not s.use_in_view_mask:
            valid = torch.ones_like(valid)
        index = self.joint_index.to(anchor3d.dtype)[None, :, None].expand(b, -1, 1)
        x = self.query_mlp(torch.cat([index, anchor3d], dim=-1))
        poses = [proposal]
        for layer, reg in zip(self.layers, self.reg):
            x = layer(x, tokens, uv, valid, (h, w))
            poses.append(anchor3d + reg(x))
        return LifterOutput(poses=poses, anchors=uv, valid=valid)
