"""Evaluation metrics: MPJPE, PA-MPJPE, per-group MPJPE, PCK/AUC (mm, device frame), heatmap MSE and 2D peak error
(image px) per view group."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from synth.constants import JOINT_GROUPS, M_TO_MM

#: PCK threshold and the AUC threshold grid, mm (0..150 in 31 steps).
PCK_THRESHOLD_MM = 150.0
AUC_NUM_THRESHOLDS = 31
#: Heatmap MSE is reported multiplied by this (the paper's "MSE (x1e-4)").
HEATMAP_MSE_SCALE = 1e4
#: Below this squared norm (m^2) a centred prediction counts as degenerate for Procrustes.
_PROCRUSTES_EPS = 1e-12


def per_joint_error_mm(pred_m: np.ndarray, gt_m: np.ndarray) -> np.ndarray:
    """Euclidean error per joint: pred_m, gt_m (N, J, 3) metres -> (N, J) float64 mm."""
    pred = np.asarray(pred_m, dtype=np.float64)
    gt = np.asarray(gt_m, dtype=np.float64)
    return np.linalg.norm(pred - gt, axis=-1) * M_TO_MM


def mpjpe_mm(pred_m: np.ndarray, gt_m: np.ndarray) -> np.ndarray:
    """Mean per-joint position error per frame: (N, J, 3) metres -> (N,) mm (no root alignment)."""
    return per_joint_error_mm(pred_m, gt_m).mean(axis=-1)


def procrustes_transform(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best similarity transform gt ~ s * R @ pred + t per frame (Umeyama/Kabsch with a reflection fix).

    pred, gt: (N, J, 3) any length unit -> scale (N,), R (N, 3, 3) proper rotation (det +1, a reflected prediction
    is not mirrored back), t (N, 3) same unit. A degenerate prediction (all joints equal) gets scale 0.
    """
    x = np.asarray(pred, dtype=np.float64)
    y = np.asarray(gt, dtype=np.float64)
    mu_x, mu_y = x.mean(axis=1), y.mean(axis=1)
    x0, y0 = x - mu_x[:, None], y - mu_y[:, None]
    k = np.einsum("nji,njk->nik", x0, y0)  # (N, 3, 3) = X0^T Y0
    u, _, vt = np.linalg.svd(k)
    v, ut = vt.transpose(0, 2, 1), u.transpose(0, 2, 1)
    d = np.sign(np.linalg.det(v @ ut))
    d[d == 0] = 1.0
    z = np.tile(np.eye(3), (x.shape[0], 1, 1))
    z[:, 2, 2] = d
    rot = v @ z @ ut
    var = (x0 ** 2).sum(axis=(1, 2))
    scale = np.einsum("nii->n", rot @ k) / np.maximum(var, _PROCRUSTES_EPS)
    t = mu_y - scale[:, None] * np.einsum("nij,nj->ni", rot, mu_x)
    return scale, rot, t


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """pred (N, J, 3) aligned onto gt (N, J, 3) by procrustes_transform -> (N, J, 3) float64, gt's unit."""
    scale, rot, t = procrustes_transform(pred, gt)
    return scale[:, None, None] * np.einsum("nij,nkj->nki", rot, np.asarray(pred, dtype=np.float64)) + t[:, None]


def pa_per_joint_error_mm(pred_m: np.ndarray, gt_m: np.ndarray) -> np.ndarray:
    """Per-joint error after per-frame Procrustes alignment on all joints: (N, J, 3) m -> (N, J) mm."""
    return per_joint_error_mm(procrustes_align(pred_m, gt_m), gt_m)


def pa_mpjpe_mm(pred_m: np.ndarray, gt_m: np.ndarray) -> np.ndarray:
    """PA-MPJPE per frame: (N, J, 3) metres -> (N,) mm."""
    return pa_per_joint_error_mm(pred_m, gt_m).mean(axis=-1)


def group_mpjpe_mm(per_joint_mm: np.ndarray, groups: Mapping[str, Sequence[int]] = JOINT_GROUPS) -> dict[str, float]:
    """Mean error per joint group (synth.constants.JOINT_GROUPS) from per-joint errors (N, J) mm."""
    per_joint = np.asarray(per_joint_mm, dtype=np.float64).mean(axis=0)
    return {name: float(per_joint[list(idx)].mean()) for name, idx in groups.items()}


def pck_auc(per_joint_mm: np.ndarray, threshold_mm: float = PCK_THRESHOLD_MM,
            num_thresholds: int = AUC_NUM_THRESHOLDS) -> tuple[float, float]:
    """PCK (% of joints within threshold_mm, per frame then averaged) and AUC (mean PCK over
    linspace(0, threshold_mm, num_thresholds), in %) from per-joint errors (N, J) mm."""
    err = np.asarray(per_joint_mm, dtype=np.float64)
    pck = float((err <= threshold_mm).mean(axis=1).mean() * 100.0)
    thresholds = np.linspace(0.0, threshold_mm, num_thresholds)
    auc = float(np.mean([(err <= t).mean(axis=1).mean() for t in thresholds]) * 100.0)
    return pck, auc


class PoseMetrics:
    """Accumulates 3D errors over batches; summary() -> {"mpjpe_mm", "pa_mpjpe_mm", "pck150", "auc",
    "group_mpjpe_mm": {group: mm}, "frames"}."""

    def __init__(self):
        self._err: list[np.ndarray] = []
        self._pa: list[np.ndarray] = []

    def update(self, pred_m: np.ndarray, gt_m: np.ndarray) -> None:
        """pred_m, gt_m: (N, 16, 3) device frame, metres."""
        self._err.append(per_joint_error_mm(pred_m, gt_m))
        self._pa.append(pa_per_joint_error_mm(pred_m, gt_m))

    def summary(self) -> dict:
        if not self._err:
            return {"frames": 0}
        err, pa = np.concatenate(self._err), np.concatenate(self._pa)
        pck, auc = pck_auc(err)
        return {"mpjpe_mm": float(err.mean(axis=1).mean()), "pa_mpjpe_mm": float(pa.mean(axis=1).mean()),
                "pck150": pck, "auc": auc, "group_mpjpe_mm": group_mpjpe_mm(err), "frames": int(err.shape[0])}


class HeatmapMetrics:
    """Accumulates per-cell heatmap MSE and the 2D peak error in image px per view group, for initial and refined
    heatmaps.

    update(kind "initial"|"refined", pred (B, V, 15, h, w), gt (B, V, 15, h, w), and optionally joints2d_px
    (B, V, 16, 2) OpenCV px labels, visibility (B, V, 16) u8 and image_size_px (B, 2) (W, H) of the images they
    refer to); summary() -> {"<kind>_<group>_mse_x1e4": MSE per heatmap cell x 1e4,
    "<kind>_<group>_err2d_px": mean distance (px of the W x H image) between each predicted heatmap's argmax, read
    back with per-axis strides W / w and H / h (train.readout), and the joint's label, over the joints inside the
    image (visibility != 0)}; groups given as {name: view indices}. Without 2D labels only the MSE is reported.
    """

    def __init__(self, groups: Mapping[str, Sequence[int]]):
        self.groups = {k: list(v) for k, v in groups.items()}
        self._sse: dict[str, float] = {}
        self._count: dict[str, int] = {}
        self._err2d: dict[str, float] = {}
        self._count2d: dict[str, int] = {}

    def update(self, kind: str, pred: np.ndarray, gt: np.ndarray, joints2d_px: np.ndarray | None = None,
               visibility: np.ndarray | None = None, image_size_px: np.ndarray | None = None) -> None:
        pred = np.asarray(pred, dtype=np.float64)
        sq = (pred - np.asarray(gt, dtype=np.float64)) ** 2
        err = None
        if joints2d_px is not None and visibility is not None and image_size_px is not None:
            err, inside = self._peak_errors_px(pred, joints2d_px, visibility, image_size_px)
        for name, idx in self.groups.items():
            key = f"{kind}_{name}"
            part = sq[:, idx]
            self._sse[key] = self._sse.get(key, 0.0) + float(part.sum())
            self._count[key] = self._count.get(key, 0) + part.size
            if err is not None:
                mask = inside[:, idx]
                self._err2d[key] = self._err2d.get(key, 0.0) + float(err[:, idx][mask].sum())
                self._count2d[key] = self._count2d.get(key, 0) + int(mask.sum())

    @staticmethod
    def _peak_errors_px(pred: np.ndarray, joints2d_px, visibility, image_size_px) -> tuple[np.ndarray, np.ndarray]:
        """(B, V, 15) px distances between argmax read-outs and labels, and the (B, V, 15) mask of joints to score."""
        from train.readout import heatmaps_to_image_px

        uv = np.asarray(joints2d_px, dtype=np.float64)[:, :, 1:]
        sizes = np.asarray(image_size_px).reshape(-1, 2)
        err = np.zeros(pred.shape[:3])
        for b in range(pred.shape[0]):
            px, _ = heatmaps_to_image_px(pred[b], (int(sizes[b, 0]), int(sizes[b, 1])))
            err[b] = np.linalg.norm(px - uv[b], axis=-1)
        inside = (np.asarray(visibility)[:, :, 1:] != 0) & np.isfinite(err)
        return np.where(inside, err, 0.0), inside

    def summary(self) -> dict[str, float]:
        out = {f"{k}_mse_x1e4": self._sse[k] / self._count[k] * HEATMAP_MSE_SCALE for k in self._sse}
        out.update({f"{k}_err2d_px": self._err2d[k] / self._count2d[k] for k in self._err2d if self._count2d[k]})
        return out
