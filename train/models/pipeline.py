"""The assembled multi-view network: per-group encoders, initial heatmap heads, per-view refiners and the 3D
lifter, with the per-stage gradient flow of the paper."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from train.models.heatmap import HeatmapEstimator, PairHeatmapHead
from train.models.lifter import LifterOutput, LifterSettings, PoseLifter, ProjectFn
from train.models.refiner import DEFAULT_HEATMAP_THRESHOLD, HeatmapRefiner, RefinerSettings, heatmap_anchors


@dataclass
class MultiViewOutput:
    """One multi-view pass. features_init (B, V, C, h, w); s32 (B, V, 512, h/8, w/8); heatmaps_init (B, V, 15, h, w);
    heatmaps_refined, features_refined: same shapes, None without refiner; anchors (B, V, 15, 2), valid (B, V, 15)
    (None without refiner); lifter: LifterOutput or None."""

    features_init: torch.Tensor
    s32: torch.Tensor
    heatmaps_init: torch.Tensor
    heatmaps_refined: torch.Tensor | None = None
    features_refined: torch.Tensor | None = None
    anchors: torch.Tensor | None = None
    valid: torch.Tensor | None = None
    lifter: LifterOutput | None = None


class MultiViewPoseNet(nn.Module):
    """Views are grouped (e.g. front: (0, 1), back: (2, 3)); each group owns a stage-1 `HeatmapEstimator` encoder.

    With a refiner: each group also owns a new `PairHeatmapHead` (initial heatmaps) and each view a `HeatmapRefiner`.
    Without one (the baseline), initial heatmaps come from the stage-1 1x1 head of the group's estimator.
    With a lifter, forward() also regresses 3D joints.
    heatmap_size: (h, w) cells of the heatmap / feature grid, the input's (H / 4, W / 4) (h != w for non-square
    images; train.engine.heatmap_hw gives it for a dataset).
    """

    def __init__(self, groups: dict[str, tuple[int, ...]], heatmap_size: tuple[int, int], feature_dims: int = 128,
                 refiner: RefinerSettings | None = None, lifter: LifterSettings | None = None,
                 heatmap_threshold: float = DEFAULT_HEATMAP_THRESHOLD, anchor_cell_centre: bool = False):
        super().__init__()
        self.groups = {k: tuple(v) for k, v in groups.items()}
        views = sorted(i for idx in self.groups.values() for i in idx)
        if views != list(range(len(views))):
            raise ValueError(f"view groups {groups} must cover views 0..V-1 exactly once")
        self.num_views = len(views)
        self.heatmap_size = tuple(heatmap_size)
        self.heatmap_threshold = heatmap_threshold
        self.anchor_cell_centre = anchor_cell_centre
        self.estimators = nn.ModuleDict({g: HeatmapEstimator(feature_dims) for g in self.groups})
        self.pair_heads = nn.ModuleDict({g: PairHeatmapHead(feature_dims) for g in self.groups}) if refiner else None
        self.refiners = None
        if refiner is not None:
            if refiner.num_views != self.num_views:
                raise ValueError(f"refiner built for {refiner.num_views} views, groups give {self.num_views}")
            self.refiners = nn.ModuleList(HeatmapRefiner(refiner, heatmap_size) for _ in range(self.num_views))
        self.lifter = PoseLifter(lifter, heatmap_size) if lifter is not None else None

    def encoder_parameters(self):
        """Parameters of the ResNet + FPN encoders (frozen in stage 2)."""
        for est in self.estimators.values():
            yield from est.backbone.parameters()
            yield from est.neck.parameters()

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (B, V, 3, H, W) -> features (B, V, C, H/4, W/4), s32 (B, V, 512, H/32, W/32)."""
        b = images.shape[0]
        feats: list[torch.Tensor | None] = [None] * self.num_views
        s32s: list[torch.Tensor | None] = [None] * self.num_views
        for g, idx in self.groups.items():
            enc = self.estimators[g].encode(images[:, list(idx)].flatten(0, 1))
            f = enc.features.unflatten(0, (b, len(idx)))
            r = enc.s32.unflatten(0, (b, len(idx)))
            for k, v in enumerate(idx):
                feats[v], s32s[v] = f[:, k], r[:, k]
        return torch.stack(feats, 1), torch.stack(s32s, 1)

    def initial_heatmaps(self, features: torch.Tensor) -> torch.Tensor:
        """features (B, V, C, h, w) -> (B, V, 15, h, w) from the pair heads (or the stage-1 heads: baseline)."""
        out: list[torch.Tensor | None] = [None] * self.num_views
        for g, idx in self.groups.items():
            head = self.pair_heads[g] if self.pair_heads is not None else self.estimators[g].head
            hm = head(features[:, list(idx)].flatten(0, 1)).unflatten(0, (features.shape[0], len(idx)))
            for k, v in enumerate(idx):
                out[v] = hm[:, k]
        return torch.stack(out, 1)

    def forward(self, images: torch.Tensor, stage: str = "pose3d", T_camera_from_device: torch.Tensor | None = None,
                project_fn: ProjectFn | None = None) -> MultiViewOutput:
        """images (B, V, 3, H, W) ImageNet-normalised. stage "refine": encoders run without gradient and the refiner
        loss reaches the initial heads; stage "pose3d": encoders train through the lifter, heatmap heads and the
        refined-heatmap head see detached inputs (their losses train only them)."""
        if stage not in ("refine", "pose3d"):
            raise ValueError(f"stage must be 'refine' or 'pose3d', got {stage!r}")
        full = stage == "pose3d"
        with torch.set_grad_enabled(full and torch.is_grad_enabled()):
            features, s32 = self.encode(images)
        heatmaps0 = self.initial_heatmaps(features.detach() if full else features)
        out = MultiViewOutput(features_init=features, s32=s32, heatmaps_init=heatmaps0)
        if self.refiners is not None:
            anchors, valid, _ = heatmap_anchors(heatmaps0, self.heatmap_threshold, self.anchor_cell_centre)
            h_in = heatmaps0.detach() if full else heatmaps0
            f_in = features.detach() if full else features
            r_in = s32.detach() if full else s32
            results = [ref(h_in[:, v], f_in, v, anchors, valid, r_in[:, v], detach_heatmap_feat=full)
                       for v, ref in enumerate(self.refiners)]
            out.heatmaps_refined = torch.stack([r.heatmaps for r in results], 1)
            out.features_refined = torch.stack([r.features for r in results], 1)
            out.anchors, out.valid = anchors, valid
        if stage == "pose3d" and self.lifter is not None:
            if T_camera_from_device is None or project_fn is None:
                raise ValueError("the 3D stage needs T_camera_from_device and project_fn")
            proposal_in = out.features_refined if out.features_refined is not None else features
            out.lifter = self.lifter(features, proposal_in, T_camera_from_device, project_fn)
        return out
