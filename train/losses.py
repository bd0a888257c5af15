"""Training losses: weighted heatmap MSE (or the released stage-3 row-L2 criterion) and MPJPE in model units."""

from __future__ import annotations

import torch


def heatmap_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel: pred, target (B, [V,] J, h, w) -> scalar."""
    return torch.mean((pred - target) ** 2)


def heatmap_row_l2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The released stage-3 heatmap criterion: mean over all heatmap rows of the L2 norm of the row difference.
    pred, target (..., h, w) -> scalar."""
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-joint Euclidean error, pred, target (B, J, 3) in any unit -> scalar, same unit."""
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


def multiview_heatmap_loss(pred: torch.Tensor, target: torch.Tensor, weight: float,
                           criterion: str = "mse") -> torch.Tensor:
    """sum over views of weight * criterion(pred[:, v], target[:, v]); pred, target (B, V, J, h, w)."""
    fn = heatmap_mse if criterion == "mse" else heatmap_row_l2
    return sum(weight * fn(pred[:, v], target[:, v]) for v in range(pred.shape[1]))


def pose_loss(poses: list[torch.Tensor], target: torch.Tensor, weight: float) -> torch.Tensor:
    """sum over the proposal and every layer output of weight * MPJPE; poses [(B, J, 3)], target (B, J, 3), same
    units (the lifter's: centimetres by default, as the paper's 0.1 weight assumes)."""
    return sum(weight * mpjpe(p, target) for p in poses)
