"""Placement metrics from visibility labels, per joint and per joint group (definitions in docs/placement.md)."""

from __future__ import annotations

import numpy as np

from synth.constants import (
    EGO16_JOINTS, JOINT_GROUPS, OCC_BODY, OCC_GARMENT, OCC_HAIR, OCC_SCENE, VIS_OCCLUDED, VIS_OUTSIDE, VIS_VISIBLE,
)

#: Metric columns: percentages of frames (rear_gain_pts: percentage points), of in-image views (pct_view_*) or
#: pixels (apparent_size_px).
METRICS: tuple[str, ...] = (
    "pct_visible_any_view",    # visible (in image, not occluded) in at least one view
    "pct_visible_two_views",   # ... in at least two views (what triangulation and multi-view refinement need)
    "pct_visible_any_front",   # ... in at least one front (non-rear) view
    "rear_gain_pts",           # pct_visible_any_view - pct_visible_any_front: what the rear cameras add
    "pct_in_image_occluded",   # inside at least one view's image but visible in none (hidden by body or garment)
    "pct_outside_all_views",   # outside every view's image
    "pct_view_occluded_body",     # of the (frame, view) pairs with the joint in the image: hidden by the body
    "pct_view_occluded_garment",  # ... by a loose garment
    "pct_view_occluded_scene",    # ... by scene geometry (furniture, props)
    "pct_view_occluded_hair",     # ... by the wearer's hair
    "apparent_size_px",        # median image size (px per 10 cm) of the joint where it is visible
)
#: The occluder kind of each pct_view_occluded_* metric (synth.constants OCC_*).
OCCLUDER_METRICS: dict[str, int] = {
    "pct_view_occluded_body": OCC_BODY, "pct_view_occluded_garment": OCC_GARMENT,
    "pct_view_occluded_scene": OCC_SCENE, "pct_view_occluded_hair": OCC_HAIR,
}


def joint_metrics(visibility: np.ndarray, rear: np.ndarray, occluder: np.ndarray | None = None,
                  size_px: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-joint placement metrics.

    visibility: (F, V, 16) uint8 codes (synth.constants VIS_*), EGO16 order; the frames of all clips of one rig.
    rear: (V,) bool, the views behind the head.
    occluder: (F, V, 16) uint8 occluder codes (synth.constants OCC_*) or None (those metrics NaN).
    size_px: (F, V, 16) float apparent size (synth.labels.projection.apparent_size_px) or None (NaN).
    Returns {metric: (16,) float64} for every name in METRICS (NaN when F = 0).
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
    nan = np.full(len(EGO16_JOINTS), np.nan)
    kinds = {name: nan for name in OCCLUDER_METRICS}
    if occluder is not None and frames:
        occ = np.asarray(occluder)
        views_in = in_image.sum(axis=(0, 1))  # (16,) (frame, view) pairs with the joint in the image
        with np.errstate(invalid="ignore", divide="ignore"):
            kinds = {name: 100.0 * ((vis == VIS_OCCLUDED) & (occ == code)).sum(axis=(0, 1)) / views_in
                     for name, code in OCCLUDER_METRICS.items()}
    size = nan
    if size_px is not None and frames:
        seen = np.where(visible, np.asarray(size_px, dtype=np.float64), np.nan).reshape(-1, len(EGO16_JOINTS))
        has = np.isfinite(seen).any(axis=0)
        size = np.full(len(EGO16_JOINTS), np.nan)
        size[has] = np.nanmedian(seen[:, has], axis=0)
    return {
        "pct_visible_any_view": any_view,
        "pct_visible_two_views": pct(n_visible >= 2),
        "pct_visible_any_front": any_front,
        "rear_gain_pts": any_view - any_front,
        "pct_in_image_occluded": pct(in_image.any(axis=1) & (n_visible == 0)),
        "pct_outside_all_views": pct(~in_image.any(axis=1)),
        **kinds,
        "apparent_size_px": size,
    }


def group_metrics(per_joint: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """{group: {metric: mean over the group's joints}} for synth.constants.JOINT_GROUPS (NaN joints left out)."""
    def mean(values: np.ndarray) -> float:
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else float("nan")

    return {group: {m: mean(v[list(idx)]) for m, v in per_joint.items()} for group, idx in JOINT_GROUPS.items()}
