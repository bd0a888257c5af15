"""Placement metrics from visibility labels, per joint and per joint group (definitions in docs/placement.md)."""

from __future__ import annotations

import numpy as np

from synth.constants import EGO16_JOINTS, JOINT_GROUPS, VIS_OUTSIDE, VIS_VISIBLE

#: Metric columns, each a percentage of frames (rear_gain_pts: percentage points).
METRICS: tuple[str, ...] = (
    "pct_visible_any_view",    # visible (in image, not occluded) in at least one view
    "pct_visible_two_views",   # ... in at least two views (what triangulation and multi-view refinement need)
    "pct_visible_any_front",   # ... in at least one front (non-rear) view
    "rear_gain_pts",           # pct_visible_any_view - pct_visible_any_front: what the rear cameras add
    "pct_in_image_occluded",   # inside at least one view's image but visible in none (hidden by body or garment)
    "pct_outside_all_views",   # outside every view's image
)


def joint_metrics(visibility: np.ndarray, rear: np.ndarray) -> dict[str, np.ndarray]:
    """Per-joint placement metrics.

    visibility: (F, V, 16) uint8 codes (synth.constants VIS_*), EGO16 order; the frames of all clips of one rig.
    rear: (V,) bool, the views behind the head.
    Returns {metric: (16,) float64 percent of the F frames} for every name in METRICS (NaN when F = 0).
    """
    vis = np.asarray(visibility)
    rear = np.asarray(rear, dtype=bool)
    if vis.ndim != 3 or vis.shape[2] != len(EGO16_JOINTS) or vis.shape[1] != rear.shape[0]:
        raise ValueError(f"visibility must be (F, V={rear.shape[0]}, {len(EGO16_JOINTS)}), got {vis.shape}")
    frames = vis.shape[0]
    visible = vis == VIS_VISIBLE                       # (F, V, 16)
    in_image = vis != VIS_OUTSIDE
    n_visible = visible.sum(axis=1)                    # (F, 16)

    def pct(mask: np.ndarray) -> np.ndarray:
        return 100.0 * mask.sum(axis=0) / frames if frames else np.full(len(EGO16_JOINTS), np.nan)

    any_view = pct(n_visible >= 1)
    any_front = pct(visible[:, ~rear].any(axis=1)) if (~rear).any() else np.zeros(len(EGO16_JOINTS))
    return {
        "pct_visible_any_view": any_view,
        "pct_visible_two_views": pct(n_visible >= 2),
        "pct_visible_any_front": any_front,
        "rear_gain_pts": any_view - any_front,
        "pct_in_image_occluded": pct(in_image.any(axis=1) & (n_visible == 0)),
        "pct_outside_all_views": pct(~in_image.any(axis=1)),
    }


def group_metrics(per_joint: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """{group: {metric: mean over the group's joints}} for synth.constants.JOINT_GROUPS."""
    return {group: {m: float(np.mean(v[list(idx)])) for m, v in per_joint.items()}
            for group, idx in JOINT_GROUPS.items()}
