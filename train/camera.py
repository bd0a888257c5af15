"""Projection of camera-frame points into normalised image coordinates through the rig's own lens models, the
`project_fn` of the 3D lifter."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch


class LensProjector:
    """ProjectFn over a rig's lenses: __call__(points_cam (B, V, J, 3) metres, OpenCV camera frame of each view) ->
    (uv_norm (B, V, J, 2) in [0, 1] (x, y), valid (B, V, J) bool = in the lens' field and inside the image).

    uv_norm = ((u_px + 0.5) / width, (v_px + 0.5) / height): the image's left/top EDGE is 0, the convention of
    grid_sample(align_corners=False) and of the heatmap labels (synth.labels.heatmaps: heatmap cell i is the
    normalised position i / S), so projected 3D anchors and heatmap argmax anchors agree.
    Lenses: synth.geometry.lenses.Lens objects (anything with project(points) -> (uv px, valid), width, height);
    normalised coordinates do not depend on the lens' resolution.
    """

    def __init__(self, lenses: Sequence[Any]):
        self.lenses = tuple(lenses)
        self.sizes = np.array([[lens.width, lens.height] for lens in self.lenses], dtype=np.float64)

    @property
    def num_views(self) -> int:
        return len(self.lenses)

    def __call__(self, points_cam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if points_cam.shape[1] != self.num_views:
            raise ValueError(f"projector has {self.num_views} lenses, points have {points_cam.shape[1]} views")
        uvs, valids = [], []
        for v, lens in enumerate(self.lenses):
            uv, ok = lens.project(points_cam[:, v])
            uv = torch.as_tensor(uv, device=points_cam.device).to(points_cam.dtype)
            size = torch.as_tensor(self.sizes[v], dtype=points_cam.dtype, device=points_cam.device)
            uv_norm = (uv + 0.5) / size
            inside = ((uv_norm >= 0.0) & (uv_norm <= 1.0)).all(-1) & torch.isfinite(uv_norm).all(-1)
            uvs.append(torch.nan_to_num(uv_norm, nan=0.0, posinf=1.0, neginf=0.0))
            valids.append(torch.as_tensor(ok, device=points_cam.device).bool() & inside)
        return torch.stack(uvs, dim=1), torch.stack(valids, dim=1)
