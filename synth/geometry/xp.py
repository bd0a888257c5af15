"""A tiny array namespace so each lens formula is written once and runs on numpy arrays and torch tensors."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

#: Relative step below which the vectorised root finder stops (a few float64 ulps).
SOLVER_REL_TOL = 4.0 * np.finfo(np.float64).eps
#: Iteration cap of the root finder; safeguarded Newton needs < 10 steps, pure bisection at most ~60 in float64.
SOLVER_MAX_ITER = 100


def is_torch(x: Any) -> bool:
    """True if `x` is a torch.Tensor (checked without importing torch)."""
    return type(x).__module__.split(".")[0] == "torch"


class _NumpyOps:
    """numpy implementation of the handful of operations the lens formulas need."""

    name = "numpy"

    @staticmethod
    def asfloat(x: Any) -> np.ndarray:
        """Array of float64 (float32 input stays float32)."""
        arr = np.asarray(x)
        if arr.dtype in (np.float32, np.float64):
            return arr
        return arr.astype(np.float64)

    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    atan2 = staticmethod(np.arctan2)
    arcsin = staticmethod(np.arcsin)
    abs = staticmethod(np.abs)
    where = staticmethod(np.where)
    zeros_like = staticmethod(np.zeros_like)
    ones_like = staticmethod(np.ones_like)

    @staticmethod
    def clip(x, lo, hi):
        return np.clip(x, lo, hi)

    @staticmethod
    def stack(items: Sequence, axis: int = -1):
        return np.stack(items, axis=axis)

    @staticmethod
    def to_numpy64(x) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def from_numpy(arr: np.ndarray, like):
        return np.asarray(arr, dtype=like.dtype)

    @staticmethod
    def bool_from_numpy(arr: np.ndarray, like):
        return np.asarray(arr, dtype=bool)


class _TorchOps:
    """torch implementation (differentiable; keeps the input's dtype and device)."""

    name = "torch"

    def __init__(self):
        import torch

        self.torch = torch

    def asfloat(self, x):
        if x.dtype in (self.torch.float32, self.torch.float64):
            return x
        return x.to(self.torch.float64)

    def sqrt(self, x):
        return self.torch.sqrt(x)

    def sin(self, x):
        return self.torch.sin(x)

    def cos(self, x):
        return self.torch.cos(x)

    def atan2(self, y, x):
        return self.torch.atan2(y, x)

    def arcsin(self, x):
        return self.torch.asin(x)

    def abs(self, x):
        return self.torch.abs(x)

    def where(self, cond, a, b):
        return self.torch.where(cond, a, b)

    def zeros_like(self, x):
        return self.torch.zeros_like(x)

    def ones_like(self, x):
        return self.torch.ones_like(x)

    def clip(self, x, lo, hi):
        return self.torch.clamp(x, lo, hi)

    def stack(self, items: Sequence, axis: int = -1):
        return self.torch.stack(list(items), dim=axis)

    def to_numpy64(self, x) -> np.ndarray:
        return x.detach().to("cpu", self.torch.float64).numpy()

    def from_numpy(self, arr: np.ndarray, like):
        return self.torch.as_tensor(arr, dtype=like.dtype, device=like.device)

    def bool_from_numpy(self, arr: np.ndarray, like):
        return self.torch.as_tensor(np.asarray(arr, dtype=bool), device=like.device)


_NUMPY = _NumpyOps()
_TORCH: _TorchOps | None = None


def namespace(x: Any):
    """The ops object for `x`: torch ops for a torch.Tensor, numpy ops for anything else."""
    global _TORCH
    if is_torch(x):
        if _TORCH is None:
            _TORCH = _TorchOps()
        return _TORCH
    return _NUMPY


def polyval(coeffs: Sequence[float], x):
    """sum_i coeffs[i] * x**i (ascending order, Horner); works for numpy arrays and torch tensors alike."""
    result = x * 0.0 + coeffs[-1]
    for c in reversed(coeffs[:-1]):
        result = result * x + c
    return result


def polyder(coeffs: Sequence[float]) -> tuple[float, ...]:
    """Ascending coefficients of the derivative of sum_i coeffs[i] * x**i."""
    if len(coeffs) <= 1:
        return (0.0,)
    return tuple(i * float(c) for i, c in enumerate(coeffs) if i > 0)


def solve_increasing(
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray],
    target: np.ndarray,
    lo: float,
    hi: float,
    x0: np.ndarray | None = None,
) -> np.ndarray:
    """Solve f(x) = target for x in [lo, hi], f increasing there, by safeguarded Newton (numpy, float64).

    target: (...) float64; x0: (...) initial guess (default: midpoint). Targets outside [f(lo), f(hi)] converge to
    the nearer end. Newton steps that leave the current bracket are replaced by bisection, so the result is
    accurate to a few ulps whatever the guess. Returns (...) float64.
    """
    target = np.asarray(target, dtype=np.float64)
    lo_arr = np.full(target.shape, float(lo))
    hi_arr = np.full(target.shape, float(hi))
    x = np.full(target.shape, 0.5 * (lo + hi)) if x0 is None else np.clip(np.asarray(x0, np.float64), lo, hi)
    x = np.broadcast_to(x, target.shape).copy()
    for _ in range(SOLVER_MAX_ITER):
        fx = f(x) - target
        lo_arr = np.where(fx < 0.0, x, lo_arr)
        hi_arr = np.where(fx > 0.0, x, hi_arr)
        dfx = df(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_new = x - fx / dfx
        outside = ~((x_new > lo_arr) & (x_new < hi_arr))
        x_new = np.where(outside, 0.5 * (lo_arr + hi_arr), x_new)
        x_new = np.where(fx == 0.0, x, x_new)
        done = np.abs(x_new - x) <= SOLVER_REL_TOL * np.maximum(1.0, np.abs(x))
        x = x_new
        if bool(np.all(done)):
            break
    return x
