"""The calibration models real headsets ship: OpenCV fisheye (Kannala-Brandt), OpenCV pinhole (radial-tangential,
optionally rational), double sphere, unified (Mei: xi + radial-tangential), extended unified (EUCM) and
Fisheye624 (Project Aria).

Frames and units as in synth/geometry/lenses.py: points in the OpenCV camera frame (x right, y down, z optical
axis), pixels in the OpenCV convention ((0, 0) = centre of the top-left pixel), angles in rad, fx, fy, cx, cy in px.
numpy inputs give numpy outputs, torch tensors give torch tensors (dtype kept, differentiable). Iterative inverses
run in float64 numpy on detached values and end with one Newton step in the input's namespace, which carries the
implicit-function gradient.

Each model is `uv = (fx * mx + cx, fy * my + cy)` of model-specific "distorted normalised" coordinates (mx, my):
- opencv_fisheye: theta = atan2(sqrt(x^2 + y^2), z) (OpenCV's atan(r) for z > 0, extended past 90 deg);
  theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8); (mx, my) = theta_d (x, y) / sqrt(x^2 + y^2).
- opencv_pinhole: (a, b) = (x, y) / z; r^2 = a^2 + b^2;
  radial = (1 + k1 r^2 + k2 r^4 + k3 r^6) / (1 + k4 r^2 + k5 r^4 + k6 r^6);
  mx = a radial + 2 p1 a b + p2 (r^2 + 2 a^2);  my = b radial + p1 (r^2 + 2 b^2) + 2 p2 a b   (cv::projectPoints).
- double_sphere (Usenko et al. 2018): d1 = |p|, d2 = |(x, y, xi d1 + z)|,
  (mx, my) = (x, y) / (alpha d2 + (1 - alpha) (xi d1 + z)).
- unified (Mei 2007, Kalibr's `omni`): (a, b) = (x, y) / (z + xi |p|), then the radial-tangential distortion of
  opencv_pinhole (k1, k2, p1, p2; Kalibr `radtan`).
- eucm (Khomutenko et al. 2016, Kalibr's `eucm`): d = sqrt(beta (x^2 + y^2) + z^2),
  (mx, my) = (x, y) / (alpha d + (1 - alpha) z).
- fisheye624: theta as opencv_fisheye, theta_d = theta (1 + k0 theta^2 + ... + k5 theta^12), xr = theta_d (x, y) / rho;
  mx = xr0 + p0 (2 xr0^2 + rd^2) + 2 p1 xr0 xr1 + s0 rd^2 + s1 rd^4, my = xr1 + p1 (2 xr1^2 + rd^2) + 2 p0 xr0 xr1 +
  s2 rd^2 + s3 rd^4, rd^2 = |xr|^2 (projectaria_tools' FisheyeRadTanThinPrism with 6 radial terms).

Validity (project's `valid`): the field angle (angle to the optical axis) is at most `max_field_angle_rad`, which is
the smallest of half the nominal field of view `fov_rad`, the model's own limit (pinhole: 90 deg; double sphere,
unified and eucm: the projection's domain) and the angle up to which the radial distortion keeps increasing (beyond
it the model folds back and a pixel would have two rays). Points outside are reported, never wrapped.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, ClassVar

import numpy as np

from synth.geometry.lenses import pixel_in_image
from synth.geometry.xp import namespace, solve_increasing

#: Samples of the monotonicity scan of a radial distortion (over the model's angle or radius range).
MONOTONE_SAMPLES = 8193
#: Newton iterations of the 2D distortion inverses (radial-tangential, Fisheye624's tangential + thin prism);
#: they converge quadratically from the distorted point within a few steps for real calibrations.
NEWTON_2D_ITERS = 50
#: Stop the 2D Newton iteration when the update is below this (normalised units, ~1e-12 px at f = 1000 px).
NEWTON_2D_TOL = 1e-15


def _floats(name: str, values: Any, length: int) -> tuple[float, ...]:
    vals = tuple(float(v) for v in (values if isinstance(values, (list, tuple)) else [values]))
    if len(vals) != length or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"{name} must be {length} finite numbers, got {values!r}")
    return vals


def _positive(name: str, value: Any) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def _unit_interval(name: str, value: Any) -> float:
    v = _floats(name, value, 1)[0]
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {v}")
    return v


def _first_fold(f_prime, lo: float, hi: float) -> float:
    """The largest x in [lo, hi] up to which f is increasing (f' > 0), from a scan of f' on MONOTONE_SAMPLES points."""
    grid = np.linspace(lo, hi, MONOTONE_SAMPLES)
    bad = np.nonzero(f_prime(grid) <= 0.0)[0]
    if not bad.size:
        return hi
    if bad[0] == 0:
        return lo
    return float(grid[bad[0] - 1])


@dataclasses.dataclass(frozen=True)
class CameraModel:
    """Shared pixel maths of the models above; subclasses give `_distort` and `_undistort` (normalised coords)."""

    type: ClassVar[str] = ""
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def _check_common(self) -> None:
        if not (isinstance(self.width, (int, np.integer)) and isinstance(self.height, (int, np.integer))
                and self.width > 0 and self.height > 0):
            raise ValueError(f"width and height must be positive whole pixels, got {self.width} x {self.height}")
        for name in ("fx", "fy"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
        for name in ("cx", "cy"):
            object.__setattr__(self, name, _floats(name, getattr(self, name), 1)[0])
        fov = getattr(self, "fov_rad", None)
        if fov is not None:
            object.__setattr__(self, "fov_rad", _positive("fov_rad", fov))
            if self.fov_rad > 2.0 * math.pi:
                raise ValueError(f"fov_rad must be at most 2 pi, got {fov!r}")

    # ---- model interface ------------------------------------------------------------------------------------------
    def _distort(self, p, xp):
        """(mx, my, field_ok) of points p (..., 3); field_ok (...) bool or None (model domain)."""
        raise NotImplementedError

    def _undistort(self, mx, my, xp):
        """Unit rays (..., 3) of distorted normalised coordinates (mx, my)."""
        raise NotImplementedError

    @property
    def max_field_angle_rad(self) -> float:
        raise NotImplementedError

    def _fov_cap(self) -> float:
        fov = getattr(self, "fov_rad", None)
        return math.pi if fov is None else 0.5 * fov

    # ---- shared API -----------------------------------------------------------------------------------------------
    def project(self, points_cam):
        """(uv (..., 2) px, valid (...) bool) of points_cam (..., 3), OpenCV camera frame, any length unit."""
        xp = namespace(points_cam)
        p = xp.asfloat(points_cam)
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        rho2 = x * x + y * y
        alpha = xp.atan2(xp.sqrt(rho2), z)
        mx, my, ok = self._distort(p, xp)
        uv = xp.stack([self.fx * mx + self.cx, self.fy * my + self.cy], axis=-1)
        valid = (alpha <= self.max_field_angle_rad) & ((rho2 + z * z) > 0.0)
        if ok is not None:
            valid = valid & ok
        return uv, valid

    def unproject(self, uv):
        """Unit rays (..., 3), OpenCV camera frame, of pixels uv (..., 2) px (check in_image / max_field_angle)."""
        xp = namespace(uv)
        q = xp.asfloat(uv)
        return self._undistort((q[..., 0] - self.cx) / self.fx, (q[..., 1] - self.cy) / self.fy, xp)

    def in_image(self, uv):
        """(...) bool: uv (..., 2) px lies on the image."""
        return pixel_in_image(uv, self.width, self.height)

    def scaled_to(self, width: int, height: int, scale: float | None = None) -> "CameraModel":
        """The calibration on a resized image (pixel-centre convention: u' = (u + 0.5) s - 0.5).

        scale: one factor s for both axes (the new size then only bounds the image); default: per axis,
        width / self.width and height / self.height.
        """
        sx, sy = (width / self.width, height / self.height) if scale is None else (float(scale), float(scale))
        return dataclasses.replace(self, width=int(width), height=int(height), fx=self.fx * sx, fy=self.fy * sy,
                                   cx=(self.cx + 0.5) * sx - 0.5, cy=(self.cy + 0.5) * sy - 0.5)

    @functools.cached_property
    def _fit(self):
        from synth.geometry.lenses import fit_cycles_polynomial_to_model

        return fit_cycles_polynomial_to_model(self)

    def render_lens(self):
        """Cycles' FISHEYE_LENS_POLYNOMIAL fitted to this model (render.camera native; cached): radial about
        (cx, cy) with one pixel scale, so fx != fy, tangential or prism terms show in max_fit_residual_px."""
        return self._fit[0]

    @property
    def max_fit_residual_px(self) -> float:
        """Largest pixel distance between this model and render_lens() over the valid field of view."""
        return self._fit[1]

    def cycles_settings(self):
        return dataclasses.replace(self.render_lens().cycles_settings(), max_fit_residual_px=self.max_fit_residual_px)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            d[f.name] = list(value) if isinstance(value, tuple) else value
        return d

    def osl_parameters(self) -> dict[str, Any]:
        """Inputs of this model's OSL camera shader (synth/blender/osl/<type>.osl): name -> float or float tuple."""
        return {"width": float(self.width), "height": float(self.height), "fx": self.fx, "fy": self.fy,
                "cx": self.cx, "cy": self.cy, "max_field_angle": self.max_field_angle_rad, **self._osl_extra()}

    def _osl_extra(self) -> dict[str, Any]:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------------- helpers
def _theta_and_dir(p, xp):
    """Field angle theta (...) rad and the unit azimuth (cos phi, sin phi) of points p (..., 3) (axis: (0, 0))."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    rho2 = x * x + y * y
    off = rho2 > 0.0
    rho = xp.sqrt(xp.where(off, rho2, 1.0))
    theta = xp.atan2(xp.where(off, rho, 0.0), z)
    return theta, xp.where(off, x / rho, 0.0), xp.where(off, y / rho, 0.0)


def _ray_from_theta(theta, mx, my, xp):
    """Unit ray at field angle theta (...) in the azimuth of (mx, my) (the axis where both are 0)."""
    r2 = mx * mx + my * my
    nz = r2 > 0.0
    r = xp.sqrt(xp.where(nz, r2, 1.0))
    s = xp.sin(theta)
    return xp.stack([s * xp.where(nz, mx / r, 0.0), s * xp.where(nz, my / r, 0.0), xp.cos(theta)], axis=-1)


class _OddPolynomialTheta:
    """theta_d(theta) = theta (1 + c1 theta^2 + c2 theta^4 + ...), its inverse on the increasing branch."""

    def __init__(self, coeffs: tuple[float, ...], cap: float):
        self.c = coeffs
        self.theta_max = _first_fold(self.derivative, 0.0, cap)

    def value(self, theta):
        t2 = theta * theta
        acc = theta * 0.0 + self.c[-1]
        for c in reversed(self.c[:-1]):
            acc = acc * t2 + c
        return theta * (1.0 + t2 * acc)

    def derivative(self, theta):
        t2 = theta * theta
        acc = theta * 0.0
        for i in reversed(range(len(self.c))):
            acc = acc * t2 + (2 * i + 3) * self.c[i]
        return 1.0 + t2 * acc

    def inverse(self, theta_d, xp):
        """theta of theta_d (...) >= 0 in the input's namespace, clamped to [0, theta_max]."""
        td64 = xp.to_numpy64(theta_d)
        t64 = solve_increasing(self.value, self.derivative, td64, 0.0, self.theta_max, td64)
        t = xp.from_numpy(t64, like=theta_d)
        inside = xp.bool_from_numpy((td64 > 0.0) & (td64 < self.value(self.theta_max)), like=theta_d)
        return xp.where(inside, t + (theta_d - self.value(t)) / self.derivative(t), t)


def _radtan(a, b, k: tuple[float, ...], p1: float, p2: float):
    """OpenCV radial (k1, k2, k3 / k4, k5, k6 rational) + tangential distortion of normalised (a, b)."""
    r2 = a * a + b * b
    k1, k2, k3, k4, k5, k6 = k
    radial = (1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1.0 + r2 * (k4 + r2 * (k5 + r2 * k6)))
    return (a * radial + 2.0 * p1 * a * b + p2 * (r2 + 2.0 * a * a),
            b * radial + p1 * (r2 + 2.0 * b * b) + 2.0 * p2 * a * b)


def _newton_2d(forward, mx, my, xp, eps: float = 1e-7, start=None):
    """Solve forward(a, b) = (mx, my) for (a, b): float64 numpy Newton with a central-difference Jacobian, from
    `start(tx, ty) -> (a0, b0)` (default: the distorted point itself), then one Newton step in the input's namespace
    (exact gradient through the implicit function)."""
    tx, ty = xp.to_numpy64(mx), xp.to_numpy64(my)
    a, b = (tx.copy(), ty.copy()) if start is None else start(tx, ty)
    for _ in range(NEWTON_2D_ITERS):
        fa, fb = forward(a, b)
        ra, rb = fa - tx, fb - ty
        j = _jacobian(forward, a, b, eps)
        det = j[0] * j[3] - j[1] * j[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            da = (j[3] * ra - j[1] * rb) / det
            db = (-j[2] * ra + j[0] * rb) / det
        da, db = np.nan_to_num(da), np.nan_to_num(db)
        a, b = a - da, b - db
        if np.all(np.abs(da) + np.abs(db) <= NEWTON_2D_TOL * (1.0 + np.abs(a) + np.abs(b))):
            break
    a_t, b_t = xp.from_numpy(a, like=mx), xp.from_numpy(b, like=mx)
    fa, fb = forward(a_t, b_t)
    j = _jacobian(forward, a, b, eps)
    det = j[0] * j[3] - j[1] * j[2]
    ra, rb = fa - mx, fb - my
    ja, jb, jc, jd = (xp.from_numpy(v / det, like=mx) for v in (j[3], -j[1], -j[2], j[0]))
    return a_t - (ja * ra + jb * rb), b_t - (jc * ra + jd * rb)


def _radial_inverse(k: tuple[float, ...], r_max: float, tx: np.ndarray, ty: np.ndarray):
    """(a, b) with radial distortion r * radial(r) of |(a, b)| equal to |(tx, ty)|, same azimuth (float64)."""
    rd = np.hypot(tx, ty)

    def f(r):
        return _radtan(r, 0.0 * r, k, 0.0, 0.0)[0]

    def df(r, h=1e-7):
        return (f(r + h) - f(r - h)) / (2 * h)

    r = solve_increasing(f, df, rd, 0.0, r_max, rd)
    scale = np.where(rd > 0.0, r / np.where(rd > 0.0, rd, 1.0), 1.0)
    return tx * scale, ty * scale


def _jacobian(forward, a: np.ndarray, b: np.ndarray, eps: float):
    """Central-difference Jacobian (d fa/da, d fa/db, d fb/da, d fb/db) of forward at (a, b), float64."""
    fa1, fb1 = forward(a + eps, b)
    fa0, fb0 = forward(a - eps, b)
    ga1, gb1 = forward(a, b + eps)
    ga0, gb0 = forward(a, b - eps)
    return ((fa1 - fa0) / (2 * eps), (ga1 - ga0) / (2 * eps), (fb1 - fb0) / (2 * eps), (gb1 - gb0) / (2 * eps))


# ---------------------------------------------------------------------------------------------------- models
class _ThetaModel(CameraModel):
    """Models whose radial part is theta_d = theta (1 + k_1 theta^2 + ...) of the field angle theta."""

    def _init_theta(self) -> None:
        object.__setattr__(self, "_theta", _OddPolynomialTheta(self.k, self._fov_cap()))

    @property
    def max_field_angle_rad(self) -> float:
        return min(self._fov_cap(), self._theta.theta_max)


@dataclasses.dataclass(frozen=True)
class OpenCVFisheyeLens(_ThetaModel):
    """OpenCV's fisheye model (cv::fisheye, Kannala-Brandt; Kalibr `pinhole` + `equidistant`)."""

    type: ClassVar[str] = "opencv_fisheye"
    k: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    fov_rad: float | None = None

    def __post_init__(self):
        self._check_common()
        object.__setattr__(self, "k", _floats("k", self.k, 4))
        self._init_theta()

    def _distort(self, p, xp):
        theta, cphi, sphi = _theta_and_dir(p, xp)
        td = self._theta.value(theta)
        return td * cphi, td * sphi, None

    def _undistort(self, mx, my, xp):
        td = xp.sqrt(mx * mx + my * my)
        return _ray_from_theta(self._theta.inverse(td, xp), mx, my, xp)

    def _osl_extra(self):
        return {"k": self.k, "theta_max": self._theta.theta_max}


@dataclasses.dataclass(frozen=True)
class Fisheye624Lens(_ThetaModel):
    """Project Aria's Fisheye624 (FisheyeRadTanThinPrism, 6 radial, 2 tangential, 4 thin-prism coefficients)."""

    type: ClassVar[str] = "fisheye624"
    k: tuple[float, ...] = (0.0,) * 6
    p: tuple[float, float] = (0.0, 0.0)
    s: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    fov_rad: float | None = None

    def __post_init__(self):
        self._check_common()
        object.__setattr__(self, "k", _floats("k", self.k, 6))
        object.__setattr__(self, "p", _floats("p", self.p, 2))
        object.__setattr__(self, "s", _floats("s", self.s, 4))
        self._init_theta()

    def _tangential_prism(self, xr0, xr1):
        p0, p1 = self.p
        s0, s1, s2, s3 = self.s
        rd2 = xr0 * xr0 + xr1 * xr1
        dot2 = 2.0 * (xr0 * p0 + xr1 * p1)
        return (xr0 + dot2 * xr0 + rd2 * p0 + rd2 * (s0 + s1 * rd2),
                xr1 + dot2 * xr1 + rd2 * p1 + rd2 * (s2 + s3 * rd2))

    def _distort(self, p, xp):
        theta, cphi, sphi = _theta_and_dir(p, xp)
        td = self._theta.value(theta)
        mx, my = self._tangential_prism(td * cphi, td * sphi)
        return mx, my, None

    def _undistort(self, mx, my, xp):
        xr0, xr1 = _newton_2d(self._tangential_prism, mx, my, xp)
        td = xp.sqrt(xr0 * xr0 + xr1 * xr1)
        return _ray_from_theta(self._theta.inverse(td, xp), xr0, xr1, xp)

    def _osl_extra(self):
        return {"k": self.k, "p": self.p, "s": self.s, "theta_max": self._theta.theta_max}


@dataclasses.dataclass(frozen=True)
class OpenCVPinholeLens(CameraModel):
    """OpenCV's pinhole camera with radial-tangential distortion (cv::projectPoints; k1, k2, p1, p2[, k3[, k4, k5,
    k6]]; Kalibr `pinhole` + `radtan`). Field of view below 180 deg: points with z <= 0 are never valid."""

    type: ClassVar[str] = "opencv_pinhole"
    k: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    p: tuple[float, float] = (0.0, 0.0)
    fov_rad: float | None = None

    def __post_init__(self):
        self._check_common()
        k = tuple(self.k)
        if len(k) not in (2, 3, 6):
            raise ValueError(f"k must be (k1, k2), (k1, k2, k3) or (k1, ..., k6), got {self.k!r}")
        k = _floats("k", k + (0.0,) * (6 - len(k)), 6)
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "p", _floats("p", self.p, 2))
        # Largest undistorted radius r = tan(theta) up to which the radial distortion r * radial(r) increases (beyond
        # it the model folds back), scanned up to the field-of-view cap (at most 89.9 deg).
        grid = np.tan(np.linspace(0.0, min(self._fov_cap(), math.radians(89.9)), MONOTONE_SAMPLES))
        distorted = _radtan(grid, 0.0 * grid, k, 0.0, 0.0)[0]
        fold = np.nonzero(np.diff(distorted) <= 0.0)[0]
        object.__setattr__(self, "_r_max", float(grid[-1] if not fold.size else grid[fold[0]]))

    @property
    def max_field_angle_rad(self) -> float:
        return math.atan(self._r_max)

    def _forward(self, a, b):
        return _radtan(a, b, self.k, *self.p)

    def _distort(self, p, xp):
        z = p[..., 2]
        front = z > 0.0
        zs = xp.where(front, z, 1.0)
        mx, my = self._forward(p[..., 0] / zs, p[..., 1] / zs)
        return mx, my, front

    def _radial_start(self, tx: np.ndarray, ty: np.ndarray):
        """The exact inverse of the radial part on its increasing branch [0, r_max]: Newton's starting point, so
        a strongly distorted pixel never converges to the folded branch."""
        return _radial_inverse(self.k, self._r_max, tx, ty)

    def _undistort(self, mx, my, xp):
        a, b = _newton_2d(self._forward, mx, my, xp, start=self._radial_start)
        n = xp.sqrt(a * a + b * b + 1.0)
        return xp.stack([a / n, b / n, 1.0 / n], axis=-1)

    def _osl_extra(self):
        return {"k": self.k, "p": self.p, "r_max": self._r_max}


@dataclasses.dataclass(frozen=True)
class DoubleSphereLens(CameraModel):
    """The double sphere model (Usenko, Demmel, Cremers 2018; Kalibr `ds`): xi, alpha in [0, 1]."""

    type: ClassVar[str] = "double_sphere"
    xi: float = 0.0
    alpha: float = 0.5
    fov_rad: float | None = None

    def __post_init__(self):
        self._check_common()
        xi, alpha = _floats("xi", self.xi, 1)[0], _unit_interval("alpha", self.alpha)
        object.__setattr__(self, "xi", xi)
        object.__setattr__(self, "alpha", alpha)
        w1 = alpha / (1.0 - alpha) if alpha <= 0.5 else (1.0 - alpha) / alpha
        w2 = (w1 + xi) / math.sqrt(2.0 * w1 * xi + xi * xi + 1.0)
        # Projection domain: z > -w2 |p|, i.e. field angle < acos(-w2); within it the radius must keep increasing
        # (scanned strictly inside the domain, so the boundary itself, where the projection degenerates, is out).
        object.__setattr__(self, "_w2", w2)
        domain = math.acos(max(-1.0, min(1.0, -w2)))
        theta = np.linspace(0.0, min(self._fov_cap(), domain) * (1.0 - 1e-9), MONOTONE_SAMPLES)
        p = np.stack([np.sin(theta), 0.0 * theta, np.cos(theta)], axis=-1)
        mx, _, ok = self._distort(p, namespace(p))
        bad = np.nonzero(~ok[1:] | (np.diff(mx) <= 0.0))[0]
        object.__setattr__(self, "_domain_rad", float(theta[bad[0]] if bad.size else theta[-1]))

    @property
    def max_field_angle_rad(self) -> float:
        return min(self._fov_cap(), self._domain_rad)

    def _distort(self, p, xp):
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        d1 = xp.sqrt(x * x + y * y + z * z)
        zz = self.xi * d1 + z
        d2 = xp.sqrt(x * x + y * y + zz * zz)
        den = self.alpha * d2 + (1.0 - self.alpha) * zz
        ok = (z > -self._w2 * d1) & (den > 0.0)
        den = xp.where(ok, den, 1.0)
        return x / den, y / den, ok

    def _undistort(self, mx, my, xp):
        a, xi = self.alpha, self.xi
        r2 = mx * mx + my * my
        inner = 1.0 - (2.0 * a - 1.0) * r2
        mz = (1.0 - a * a * r2) / (a * xp.sqrt(xp.clip(inner, 0.0, None)) + 1.0 - a)
        k = (mz * xi + xp.sqrt(mz * mz + (1.0 - xi * xi) * r2)) / (mz * mz + r2)
        ray = xp.stack([k * mx, k * my, k * mz - xi], axis=-1)
        n = xp.sqrt(ray[..., 0] ** 2 + ray[..., 1] ** 2 + ray[..., 2] ** 2)
        return ray / n[..., None]

    def _osl_extra(self):
        return {"xi": self.xi, "alpha": self.alpha}


@dataclasses.dataclass(frozen=True)
class UnifiedLens(CameraModel):
    """The unified (Mei) model: a point on the unit sphere seen by a pinhole xi behind its centre, then radial-
    tangential distortion (k1, k2, p1, p2; Kalibr `omni` + `radtan`, OpenCV's cv::omnidir)."""

    type: ClassVar[str] = "unified"
    xi: float = 1.0
    k: tuple[float, float] = (0.0, 0.0)
    p: tuple[float, float] = (0.0, 0.0)
    fov_rad: float | None = None

    def __post_init__(self):
        self._check_common()
        xi = _floats("xi", self.xi, 1)[0]
        if xi < 0.0:
            raise ValueError(f"xi must be >= 0, got {xi}")
        object.__setattr__(self, "xi", xi)
        object.__setattr__(self, "k", _floats("k", self.k, 2))
        object.__setattr__(self, "p", _floats("p", self.p, 2))
        # Domain of the sphere-to-plane step: z / |p| > -min(xi, 1 / xi).
        bound = min(xi, 1.0 / xi) if xi > 0.0 else 0.0
        domain = math.acos(-bound)
        # The radial distortion must keep increasing along the field angle: scan the sphere-to-plane radius
        # r(alpha) = sin(alpha) / (cos(alpha) + xi) and its distortion up to the domain (or the fov cap).
        alpha = np.linspace(0.0, min(self._fov_cap(), domain) * (1.0 - 1e-9), MONOTONE_SAMPLES)
        r = np.sin(alpha) / (np.cos(alpha) + xi)
        distorted = _radtan(r, 0.0 * r, self.k + (0.0,) * 4, 0.0, 0.0)[0]
        fold = np.nonzero((np.diff(distorted) <= 0.0) | (np.diff(r) <= 0.0))[0]
        last = fold[0] if fold.size else alpha.size - 1
        object.__setattr__(self, "_alpha_max", float(alpha[last]))
        object.__setattr__(self, "_r_max", float(r[last]))

    @property
    def max_field_angle_rad(self) -> float:
        return self._alpha_max

    def _forward(self, a, b):
        return _radtan(a, b, self.k + (0.0,) * 4, *self.p)

    def _distort(self, p, xp):
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        d = xp.sqrt(x * x + y * y + z * z)
        den = z + self.xi * d
        ok = den > 0.0
        den = xp.where(ok, den, 1.0)
        mx, my = self._forward(x / den, y / den)
        return mx, my, ok

    def _undistort(self, mx, my, xp):
        a, b = _newton_2d(self._forward, mx, my, xp,
                          start=lambda tx, ty: _radial_inverse(self.k + (0.0,) * 4, self._r_max, tx, ty))
        r2 = a * a + b * b
        xi = self.xi
        f = (xi + xp.sqrt(1.0 + (1.0 - xi * xi) * r2)) / (1.0 + r2)
        ray = xp.stack([f * a, f * b, f - xi], axis=-1)
        n = xp.sqrt(ray[..., 0] ** 2 + ray[..., 1] ** 2 + ray[..., 2] ** 2)
        return ray / n[..., None]

    def _osl_extra(self):
        return {"xi": self.xi, "k": self.k, "p": self.p, "r_max": self._r_max}


@dataclasses.dataclass(frozen=True)
class EUCMLens(CameraModel):
    """The extended unified camera model (Khomutenko, Garcia, Martinet 2016; Kalibr `eucm`): alpha in [0, 1],
    beta > 0. With beta = 1 it is the unified model with xi = alpha / (1 - alpha) and focal lengths f / (1 - alpha)."""

    type: ClassVar[str] = "eucm"
    alpha: float = 0.5
    beta: float = 1.0
    fov_rad: float | None = None

    def __post_init__(self):
        self._check_common()
        alpha = _unit_interval("alpha", self.alpha)
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "beta", _positive("beta", self.beta))
        # The normalised radius r(theta) must increase with the field angle and the denominator stay positive:
        # scan both up to the field-of-view cap (this is the projection's domain, z > -w d of the paper).
        theta = np.linspace(0.0, self._fov_cap(), MONOTONE_SAMPLES)
        s, c = np.sin(theta), np.cos(theta)
        den = alpha * np.sqrt(self.beta * s * s + c * c) + (1.0 - alpha) * c
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(den > 0.0, s / den, np.inf)
        bad = np.nonzero((den <= 0.0)[1:] | (np.diff(r) <= 0.0) | ~np.isfinite(r[1:]))[0]
        last = bad[0] if bad.size else theta.size - 1
        object.__setattr__(self, "_theta_max", float(theta[last]))

    @property
    def max_field_angle_rad(self) -> float:
        return self._theta_max

    def _distort(self, p, xp):
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        d = xp.sqrt(self.beta * (x * x + y * y) + z * z)
        den = self.alpha * d + (1.0 - self.alpha) * z
        ok = den > 0.0
        den = xp.where(ok, den, 1.0)
        return x / den, y / den, ok

    def _undistort(self, mx, my, xp):
        a, b = self.alpha, self.beta
        r2 = mx * mx + my * my
        inner = xp.clip(1.0 - (2.0 * a - 1.0) * b * r2, 0.0, None)
        mz = (1.0 - b * a * a * r2) / (a * xp.sqrt(inner) + 1.0 - a)
        n = xp.sqrt(r2 + mz * mz)
        return xp.stack([mx / n, my / n, mz / n], axis=-1)

    def _osl_extra(self):
        return {"alpha": self.alpha, "beta": self.beta}


CAMERA_MODELS: dict[str, type[CameraModel]] = {
    cls.type: cls
    for cls in (OpenCVFisheyeLens, OpenCVPinholeLens, DoubleSphereLens, UnifiedLens, EUCMLens, Fisheye624Lens)
}
