"""Fisheye lens models (Cycles equidistant / equisolid / polynomial, OCamCalib): projection, unprojection, Cycles setup.

Frames and units, for every lens:
- Points are in the OpenCV camera frame (x right, y down, z = optical axis), any length unit.
- Pixels follow OpenCV: (u, v) = (0, 0) is the CENTRE of the top-left pixel; pixel (i, j) covers
  [i - 0.5, i + 0.5) x [j - 0.5, j + 0.5). Cycles' raster coordinates (origin at the bottom-left corner, y up) are
  converted here once: col = u_cycles * W - 0.5, row = (1 - v_cycles) * H - 0.5.
- The field angle alpha is the angle between a ray and the optical axis (rad); `max_field_angle_rad` is the largest
  field angle the lens images (half the field of view).

Every lens is radial about its principal point (cx, cy) px:
    uv = (cx, cy) + (a_x, a_y) * R(alpha) * (x, y) / sqrt(x^2 + y^2)
with R in the lens' radial unit (rad for equidistant, mm on the sensor for equisolid / polynomial, px for OCamCalib)
and (a_x, a_y) px per radial unit. In Blender-camera terms (X, Y, Z) = (x, -y, -z), this is exactly Cycles'
`direction_to_fisheye_*` followed by the raster-to-pixel conversion above (kernel/camera/projection.h, Blender 5.0).

OCamCalib (Scaramuzza) with the Ego4View JSON convention:
    theta = atan(-z / sqrt(x^2 + y^2)) = alpha - pi/2,   rho = sum_i W2C[i] * theta^i,
    u = x / r * rho + cx,   v = y / r * rho + cy              (OpenCV axes; no x/y swap)
- Pixel convention: the calibration's (u, v) are taken to be OpenCV pixel coordinates as defined above; this is how
  the Ego4View labels and trainer use them.
- `affine` (c, d, e): OCamCalib's affine part. With `apply_affine` False (the Ego4View JSON files) it is stored and
  serialised, NOT applied, exactly like the released Ego4View trainer and labels; the Ego4View values are within
  2.2e-4 of identity, which moves a pixel by at most 0.13 px at the 436-px image circle. With `apply_affine` True
  (calibrations imported from OCamCalib's calib_results.txt) it is applied exactly as OCamCalib's world2cam does,
  whose image rows are our v and columns our u (its 3D x axis is our y):
      u = cx + mu + e mv,   v = cy + d mu + c mv,   (mu, mv) = (x, y) / r * rho.
- Axis: the published formula is undefined at x = y = 0; the optical axis is mapped to (cx, cy). The polynomial's
  constant offset rho(axis) (|rho| < 0.01 px for Ego4View) is kept as published, so pixels closer than rho(axis)
  to the centre (only when it is positive) unproject to the optical axis.
- Maximum field angle: min(fov_rad / 2, the field angle where rho reaches `image_circle_radius_px`), where fov_rad is
  the lens' nominal field of view (default OCAMCALIB_DEFAULT_FOV_RAD, the Ego4View FUJINON lens, 185 deg). rho must
  increase with the field angle up to there (checked). For Ego4View this gives 85.8-87.5 deg: the calibration's
  image circle, not the nominal 92.5 deg, bounds what is labelled and rendered.
- Unprojection inverts rho numerically (safeguarded Newton in float64, started from the C2W polynomial), so
  project(unproject(uv)) == uv to ~1e-9 px; the C2W polynomial itself is only an approximate inverse.
- Resolution scaling keeps the pixel-centre convention: u' = (u + 0.5) * s - 0.5, uniform scale only.
- `render_lens()` fits Cycles' FISHEYE_LENS_POLYNOMIAL to it (see `fit_cycles_polynomial`).

numpy inputs give numpy outputs and torch tensors give torch tensors (float64 or float32 kept, differentiable). Root
finding runs in float64 numpy on detached values, then one Newton step in the input's namespace carries the exact
implicit-function gradient.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from synth.errors import AssetError
from synth.geometry.xp import namespace, polyder, polyval, solve_increasing

# ---- Blender / Cycles camera property limits and defaults (bpy 5.0 RNA) --------------------------------------------
#: Hard minimum of Camera.fisheye_fov (10 deg), rad.
BLENDER_MIN_FISHEYE_FOV_RAD = math.radians(10.0)
#: Largest field of view we accept (a full sphere of directions), rad; Blender allows more but nothing changes.
MAX_FISHEYE_FOV_RAD = 2.0 * math.pi
#: Hard minimum of Camera.sensor_width / sensor_height, mm.
BLENDER_MIN_SENSOR_MM = 1.0
#: Hard range of Camera.fisheye_lens, mm.
BLENDER_FISHEYE_LENS_RANGE_MM = (0.01, 100.0)
#: Blender's defaults, written for properties a panorama type ignores (equidistant ignores lens and sensor).
BLENDER_DEFAULT_SENSOR_WIDTH_MM = 36.0
BLENDER_DEFAULT_SENSOR_HEIGHT_MM = 24.0
BLENDER_DEFAULT_FISHEYE_LENS_MM = 10.5
SENSOR_FITS = ("AUTO", "HORIZONTAL", "VERTICAL")

# ---- OCamCalib ------------------------------------------------------------------------------------------------------
#: Nominal field of view of the Ego4View lens (FUJINON FE185C057HA-1), rad; caps an OCamCalib lens' field angle.
OCAMCALIB_DEFAULT_FOV_RAD = math.radians(185.0)
#: Square sensor (mm) of the Cycles polynomial fitted to an OCamCalib lens. Any value >= 1 mm gives the same
#: pixels; 6 mm puts the image circle at r ~ 3 mm, so k1 ~ -0.5 rad/mm and the k_i are well scaled for float32.
OCAMCALIB_FIT_SENSOR_MM = 6.0
#: Samples of the field angle used to check that rho(alpha) increases, over [0, pi].
OCAMCALIB_MONOTONE_SAMPLES = 8193
#: Coefficients the OCamCalib OSL camera takes per polynomial (w0..w11, c0..c11).
OCAMCALIB_OSL_MAX_COEFFS = 12
#: Largest relative difference between the x and y scale factors accepted by OCamCalibLens.scaled_to.
OCAMCALIB_MAX_ANISOTROPY = 1e-9
#: Prefix of calibration names that live in the package data (synth/data/calib/...).
BUILTIN_PREFIX = "builtin:"

# ---- Polynomial fit ------------------------------------------------------------------------------------------------
#: Field-angle samples of the least-squares fit, over [0, max_field_angle].
FIT_NUM_ANGLES = 2049
#: Lawson re-weighting rounds that turn the weighted least-squares fit into a (near) minimax fit.
FIT_LAWSON_ITERS = 60
#: Field angles x azimuths on which the fit's pixel residual is measured.
RESIDUAL_NUM_ANGLES = 4001
RESIDUAL_NUM_AZIMUTHS = 16


@dataclasses.dataclass(frozen=True)
class CyclesCamera:
    """Plain Cycles camera settings for one lens (what synth/blender writes into a bpy Camera datablock).

    panorama_type: "FISHEYE_EQUIDISTANT" | "FISHEYE_EQUISOLID" | "FISHEYE_LENS_POLYNOMIAL".
    fisheye_fov_rad: Camera.fisheye_fov (rad); fisheye_lens_mm: Camera.fisheye_lens (mm, equisolid only);
    polynomial_k: fisheye_polynomial_k0..k4 (rad / mm^i); sensor_*: mm; shift_*: fractions of the full image;
    resolution_*: px; max_fit_residual_px: largest pixel distance between the calibration and this camera over the
    image circle (0.0 when the lens is a Cycles model already).
    """

    panorama_type: str
    fisheye_fov_rad: float
    fisheye_lens_mm: float
    polynomial_k: tuple[float, float, float, float, float]
    sensor_width_mm: float
    sensor_height_mm: float
    sensor_fit: str
    shift_x: float
    shift_y: float
    resolution_x: int
    resolution_y: int
    max_fit_residual_px: float = 0.0

    def to_dict(self) -> dict:
        """JSON-serialisable dict of all fields."""
        d = dataclasses.asdict(self)
        d["polynomial_k"] = list(self.polynomial_k)
        return d


def cycles_sensor_size_mm(
    width: int, height: int, sensor_width_mm: float, sensor_height_mm: float, sensor_fit: str
) -> tuple[float, float]:
    """Cycles' effective sensor (Sw, Sh) in mm for a panoramic camera (intern/cycles/blender/camera.cpp).

    AUTO: sensor_width spans the longer image side; HORIZONTAL: sensor_width spans the width; VERTICAL:
    sensor_height spans the height. The other side follows the image aspect, so pixels are square on the sensor.
    """
    xr, yr = float(width), float(height)
    if sensor_fit == "AUTO":
        horizontal = xr > yr
        size = sensor_width_mm
    elif sensor_fit == "HORIZONTAL":
        horizontal = True
        size = sensor_width_mm
    elif sensor_fit == "VERTICAL":
        horizontal = False
        size = sensor_height_mm
    else:
        raise ValueError(f"sensor_fit must be one of {SENSOR_FITS}, got {sensor_fit!r}")
    if horizontal:
        return size, size * yr / xr
    return size * xr / yr, size


def _check_size(width: Any, height: Any) -> tuple[int, int]:
    out = []
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not float(value).is_integer() or int(value) <= 0:
            raise ValueError(f"{name} must be a positive integer number of pixels, got {value!r}")
        out.append(int(value))
    return out[0], out[1]


def _check_fov(fov_rad: float) -> float:
    fov_rad = float(fov_rad)
    if not BLENDER_MIN_FISHEYE_FOV_RAD <= fov_rad <= MAX_FISHEYE_FOV_RAD:
        raise ValueError(
            f"fov_rad must be in [{BLENDER_MIN_FISHEYE_FOV_RAD:.4f}, {MAX_FISHEYE_FOV_RAD:.4f}] rad "
            f"(10 to 360 deg), got {fov_rad}"
        )
    return fov_rad


def _check_finite(name: str, values, min_len: int, max_len: int | None = None) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of numbers, got {values!r}") from None
    if len(out) < min_len or (max_len is not None and len(out) > max_len) or not all(map(math.isfinite, out)):
        if max_len == min_len:
            count = f"{min_len}"
        else:
            count = f"at least {min_len}" if max_len is None else f"{min_len} to {max_len}"
        raise ValueError(f"{name} must be {count} finite numbers, got {values!r}")
    return out


def pixel_in_image(uv, width: int, height: int):
    """(...) bool: uv (..., 2) px (OpenCV pixel centres) lies on a width x height image (numpy or torch)."""
    xp = namespace(uv)
    q = xp.asfloat(uv)
    u, v = q[..., 0], q[..., 1]
    return (u >= -0.5) & (u < width - 0.5) & (v >= -0.5) & (v < height - 0.5)


def _set(obj, **values) -> None:
    """Set fields of a frozen dataclass during __post_init__ (normalisation and derived constants)."""
    for name, value in values.items():
        object.__setattr__(obj, name, value)


class Lens:
    """Shared projection / unprojection code for the radial lens models; subclasses are frozen dataclasses.

    A subclass provides `_centre_px()` -> (cx, cy) px, `_px_per_unit()` -> (a_x, a_y), `_radius(alpha, xp)` ->
    (R, ok) (ok: (...) bool or None when every field angle has a radius), `_angle(R, xp)` -> alpha, and
    `max_field_angle_rad`.
    """

    type: ClassVar[str] = ""
    width: int
    height: int

    # ---- interface for subclasses -----------------------------------------------------------------------------
    def _centre_px(self) -> tuple[float, float]:
        raise NotImplementedError

    def _px_per_unit(self) -> tuple[float, float]:
        raise NotImplementedError

    def _radius(self, alpha, xp):
        raise NotImplementedError

    def _angle(self, radius, xp):
        raise NotImplementedError

    @property
    def max_field_angle_rad(self) -> float:
        raise NotImplementedError

    # ---- shared API ----------------------------------------------------------------------------------------------
    def project(self, points_cam):
        """Project points_cam (..., 3) (OpenCV camera frame, any length unit; numpy or torch).

        Returns (uv, valid): uv (..., 2) px in the OpenCV pixel convention, computed for every point (also invalid
        ones); valid (...) bool: field angle <= max_field_angle_rad and the point is not the camera centre.
        """
        xp = namespace(points_cam)
        p = xp.asfloat(points_cam)
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        rho2 = x * x + y * y
        off_axis = rho2 > 0.0
        rho_safe = xp.sqrt(xp.where(off_axis, rho2, 1.0))
        dir_x = xp.where(off_axis, x / rho_safe, 0.0)
        dir_y = xp.where(off_axis, y / rho_safe, 0.0)
        alpha = xp.atan2(xp.where(off_axis, rho_safe, 0.0), z)
        radius, ok = self._radius(alpha, xp)
        cx, cy = self._centre_px()
        ax, ay = self._px_per_unit()
        uv = xp.stack([cx + ax * radius * dir_x, cy + ay * radius * dir_y], axis=-1)
        valid = (alpha <= self.max_field_angle_rad) & ((rho2 + z * z) > 0.0)
        if ok is not None:
            valid = valid & ok
        return uv, valid

    def unproject(self, uv):
        """Unit rays (..., 3) in the OpenCV camera frame for pixels uv (..., 2) px (numpy or torch).

        Every pixel gets a ray, also outside the image circle (the lens formula extended; check in_image and
        max_field_angle_rad). The principal point maps to the optical axis.
        """
        xp = namespace(uv)
        q = xp.asfloat(uv)
        cx, cy = self._centre_px()
        ax, ay = self._px_per_unit()
        du = (q[..., 0] - cx) / ax
        dv = (q[..., 1] - cy) / ay
        r2 = du * du + dv * dv
        nonzero = r2 > 0.0
        r_safe = xp.sqrt(xp.where(nonzero, r2, 1.0))
        radius = xp.where(nonzero, r_safe, 0.0)
        alpha = self._angle(radius, xp)
        # At the centre the azimuth is undefined; Cycles' fisheye_to_direction then uses phi = pi/2 (image up).
        dir_x = xp.where(nonzero, du / r_safe, 0.0)
        dir_y = xp.where(nonzero, dv / r_safe, -1.0)
        s = xp.sin(alpha)
        return xp.stack([s * dir_x, s * dir_y, xp.cos(alpha)], axis=-1)

    def in_image(self, uv):
        """(...) bool: uv (..., 2) px lies on the image, i.e. -0.5 <= u < W - 0.5 and -0.5 <= v < H - 0.5."""
        return pixel_in_image(uv, self.width, self.height)

    def scaled_to(self, width: int, height: int) -> "Lens":
        """The same lens on an image of width x height px (Cycles types: same settings, Cycles' own scaling)."""
        width, height = _check_size(width, height)
        return dataclasses.replace(self, width=width, height=height)

    def render_lens(self) -> "Lens":
        """The lens Cycles renders exactly: the lens itself for the Cycles types."""
        return self

    def cycles_settings(self) -> CyclesCamera:
        raise NotImplementedError

    def to_dict(self) -> dict:
        """JSON-serialisable dict with "type" and every constructor field; lens_from_dict() inverts it."""
        d: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            d[f.name] = list(value) if isinstance(value, tuple) else value
        return d


# =====================================================================================================================
@dataclasses.dataclass(frozen=True)
class EquidistantLens(Lens):
    """Cycles FISHEYE_EQUIDISTANT: r_norm = alpha / (fov / 2), normalised separately by W and H.

    fov_rad: full field of view (rad); alpha = fov/2 lands on the inscribed circle (ellipse if W != H).
    shift_x, shift_y: Cycles' shift, fractions of the full image width / height (+x moves the image content left).
    """

    type: ClassVar[str] = "equidistant"
    width: int
    height: int
    fov_rad: float
    shift_x: float = 0.0
    shift_y: float = 0.0

    def __post_init__(self):
        width, height = _check_size(self.width, self.height)
        _set(self, width=width, height=height, fov_rad=_check_fov(self.fov_rad),
             shift_x=float(self.shift_x), shift_y=float(self.shift_y))

    @property
    def max_field_angle_rad(self) -> float:
        return min(0.5 * self.fov_rad, math.pi)

    def _centre_px(self):
        return (0.5 - self.shift_x) * self.width - 0.5, (0.5 + self.shift_y) * self.height - 0.5

    def _px_per_unit(self):
        return self.width / self.fov_rad, self.height / self.fov_rad

    def _radius(self, alpha, xp):
        return alpha, None

    def _angle(self, radius, xp):
        return radius

    def cycles_settings(self) -> CyclesCamera:
        return CyclesCamera(
            panorama_type="FISHEYE_EQUIDISTANT", fisheye_fov_rad=self.fov_rad,
            fisheye_lens_mm=BLENDER_DEFAULT_FISHEYE_LENS_MM, polynomial_k=(0.0, 0.0, 0.0, 0.0, 0.0),
            sensor_width_mm=BLENDER_DEFAULT_SENSOR_WIDTH_MM, sensor_height_mm=BLENDER_DEFAULT_SENSOR_HEIGHT_MM,
            sensor_fit="AUTO", shift_x=self.shift_x, shift_y=self.shift_y,
            resolution_x=self.width, resolution_y=self.height,
        )


class _SensorLens(Lens):
    """Shared sensor handling of the Cycles types that measure r in mm (equisolid, polynomial)."""

    sensor_width_mm: float
    sensor_height_mm: float | None
    sensor_fit: str
    shift_x: float
    shift_y: float

    def _check_sensor(self) -> dict:
        if self.sensor_fit not in SENSOR_FITS:
            raise ValueError(f"sensor_fit must be one of {SENSOR_FITS}, got {self.sensor_fit!r}")
        sw = float(self.sensor_width_mm)
        sh = sw if self.sensor_height_mm is None else float(self.sensor_height_mm)
        if not (sw >= BLENDER_MIN_SENSOR_MM and sh >= BLENDER_MIN_SENSOR_MM):
            raise ValueError(f"sensor_width_mm / sensor_height_mm must be >= {BLENDER_MIN_SENSOR_MM} mm (Blender's "
                             f"minimum), got {self.sensor_width_mm}, {self.sensor_height_mm}")
        return dict(sensor_width_mm=sw, sensor_height_mm=sh, shift_x=float(self.shift_x), shift_y=float(self.shift_y))

    def sensor_size_mm(self) -> tuple[float, float]:
        """Cycles' effective (Sw, Sh) in mm for this image size and sensor fit."""
        return cycles_sensor_size_mm(self.width, self.height, self.sensor_width_mm, self.sensor_height_mm,
                                     self.sensor_fit)

    def _centre_px(self):
        return (0.5 - self.shift_x) * self.width - 0.5, (0.5 + self.shift_y) * self.height - 0.5

    def _px_per_unit(self):
        sw, sh = self.sensor_size_mm()
        return self.width / sw, self.height / sh


@dataclasses.dataclass(frozen=True)
class EquisolidLens(_SensorLens):
    """Cycles FISHEYE_EQUISOLID: r = 2 f sin(alpha / 2) mm on the sensor.

    focal_mm: Camera.fisheye_lens; sensor_*_mm, sensor_fit: Blender sensor (sensor_height_mm None = width);
    shift_x, shift_y: fractions of the full image.
    """

    type: ClassVar[str] = "equisolid"
    width: int
    height: int
    fov_rad: float
    focal_mm: float
    sensor_width_mm: float
    sensor_height_mm: float | None = None
    sensor_fit: str = "AUTO"
    shift_x: float = 0.0
    shift_y: float = 0.0

    def __post_init__(self):
        width, height = _check_size(self.width, self.height)
        lo, hi = BLENDER_FISHEYE_LENS_RANGE_MM
        if not lo <= float(self.focal_mm) <= hi:
            raise ValueError(f"focal_mm must be in [{lo}, {hi}] mm (Blender's fisheye_lens range), got {self.focal_mm}")
        _set(self, width=width, height=height, fov_rad=_check_fov(self.fov_rad), focal_mm=float(self.focal_mm),
             **self._check_sensor())

    @property
    def max_field_angle_rad(self) -> float:
        return min(0.5 * self.fov_rad, math.pi)

    def _radius(self, alpha, xp):
        return 2.0 * self.focal_mm * xp.sin(0.5 * alpha), None

    def _angle(self, radius, xp):
        return 2.0 * xp.arcsin(xp.clip(radius / (2.0 * self.focal_mm), -1.0, 1.0))

    def cycles_settings(self) -> CyclesCamera:
        return CyclesCamera(
            panorama_type="FISHEYE_EQUISOLID", fisheye_fov_rad=self.fov_rad, fisheye_lens_mm=self.focal_mm,
            polynomial_k=(0.0, 0.0, 0.0, 0.0, 0.0), sensor_width_mm=self.sensor_width_mm,
            sensor_height_mm=self.sensor_height_mm, sensor_fit=self.sensor_fit, shift_x=self.shift_x,
            shift_y=self.shift_y, resolution_x=self.width, resolution_y=self.height,
        )


@dataclasses.dataclass(frozen=True)
class PolynomialLens(_SensorLens):
    """Cycles FISHEYE_LENS_POLYNOMIAL: alpha = -(k0 + k1 r + k2 r^2 + k3 r^3 + k4 r^4), r in mm on the sensor.

    k: (k0..k4), rad / mm^i; k1 must be negative (the usual orientation; positive k mirror the image). Projection
    solves the polynomial for r in float64 to machine precision on the branch where alpha(r) increases through
    r = 0 (Cycles' Newton iteration from r0 = (-alpha - k0) / k1 converges to the same root); a field angle beyond
    that branch is invalid. Pixels with alpha(r) < 0 (only if k0 > 0) unproject mirrored, as Cycles renders them.
    """

    type: ClassVar[str] = "polynomial"
    width: int
    height: int
    fov_rad: float
    k: tuple[float, float, float, float, float]
    sensor_width_mm: float
    sensor_height_mm: float | None = None
    sensor_fit: str = "AUTO"
    shift_x: float = 0.0
    shift_y: float = 0.0

    def __post_init__(self):
        width, height = _check_size(self.width, self.height)
        k = _check_finite("k", self.k, 5, 5)
        if not k[1] < 0.0:
            raise ValueError(f"k1 must be negative (Cycles maps r to -(k0 + k1 r + ...)), got k = {k}")
        _set(self, width=width, height=height, fov_rad=_check_fov(self.fov_rad), k=k, **self._check_sensor())
        theta = tuple(-c for c in k)  # alpha(r) coefficients, ascending
        r_lo, r_hi = _increasing_branch(theta)
        _set(self, _theta=theta, _dtheta=polyder(theta), _r_lo=r_lo, _r_hi=r_hi,
             _theta_lo=float(polyval(theta, r_lo)), _theta_hi=float(polyval(theta, r_hi)))

    @property
    def max_field_angle_rad(self) -> float:
        return min(0.5 * self.fov_rad, math.pi)

    def _radius(self, alpha, xp):
        alpha64 = xp.to_numpy64(alpha)
        r0 = (-alpha64 - self.k[0]) / self.k[1]
        r64 = solve_increasing(lambda r: polyval(self._theta, r), lambda r: polyval(self._dtheta, r),
                               alpha64, self._r_lo, self._r_hi, r0)
        ok64 = (alpha64 >= self._theta_lo) & (alpha64 <= self._theta_hi)
        r_star = xp.from_numpy(r64, like=alpha)
        ok = xp.bool_from_numpy(ok64, like=alpha)
        r = r_star + (alpha - polyval(self._theta, r_star)) / polyval(self._dtheta, r_star)
        return xp.where(ok, r, r_star), ok

    def _angle(self, radius, xp):
        return polyval(self._theta, radius)

    def cycles_settings(self) -> CyclesCamera:
        return CyclesCamera(
            panorama_type="FISHEYE_LENS_POLYNOMIAL", fisheye_fov_rad=self.fov_rad,
            fisheye_lens_mm=BLENDER_DEFAULT_FISHEYE_LENS_MM, polynomial_k=self.k,
            sensor_width_mm=self.sensor_width_mm, sensor_height_mm=self.sensor_height_mm,
            sensor_fit=self.sensor_fit, shift_x=self.shift_x, shift_y=self.shift_y,
            resolution_x=self.width, resolution_y=self.height,
        )


def _increasing_branch(theta: tuple[float, ...]) -> tuple[float, float]:
    """[r_lo, r_hi] around r = 0 on which alpha(r) = polyval(theta, r) increases and covers alpha in [0, pi]
    as far as the polynomial allows (theta[1] > 0 assumed)."""
    dtheta = polyder(theta)
    coeffs = np.trim_zeros(np.asarray(dtheta[::-1]), "f")
    roots = np.roots(coeffs) if coeffs.size > 1 else np.zeros(0)
    real = roots.real[np.abs(roots.imag) <= 1e-12 * np.maximum(1.0, np.abs(roots))]
    positive, negative = real[real > 0.0], real[real < 0.0]
    if positive.size:
        r_hi = float(positive.min())
    else:  # alpha' > 0 on [0, inf): grow until the branch covers pi
        r_hi = 1.0
        while polyval(theta, r_hi) < math.pi and r_hi < 1e12:
            r_hi *= 2.0
    if polyval(theta, 0.0) <= 0.0:
        r_lo = 0.0
    elif negative.size:
        r_lo = float(negative.max())
    else:
        r_lo = -1.0
        while polyval(theta, r_lo) > 0.0 and r_lo > -1e12:
            r_lo *= 2.0
    return r_lo, r_hi


# =====================================================================================================================
@dataclasses.dataclass(frozen=True)
class OCamCalibLens(Lens):
    """OCamCalib (Scaramuzza) lens in the Ego4View JSON convention; see the module docstring for every choice.

    image_center: (cx, cy) px; poly_w2c: (N,) rho(theta) coefficients, px / rad^i, ascending; poly_c2w: (M,)
    unprojection polynomial (only the initial guess of the exact inverse); affine: (c, d, e), applied only when
    apply_affine; image_circle_radius_px: radius of the calibrated image circle, px; fov_rad: nominal field of
    view, rad.
    """

    type: ClassVar[str] = "ocamcalib"
    width: int
    height: int
    image_center: tuple[float, float]
    poly_w2c: tuple[float, ...]
    poly_c2w: tuple[float, ...]
    affine: tuple[float, float, float] = (1.0, 0.0, 0.0)
    image_circle_radius_px: float | None = None
    fov_rad: float = OCAMCALIB_DEFAULT_FOV_RAD
    apply_affine: bool = False

    def __post_init__(self):
        width, height = _check_size(self.width, self.height)
        if not isinstance(self.apply_affine, bool):
            raise ValueError(f"apply_affine must be true or false, got {self.apply_affine!r}")
        w2c = _check_finite("poly_w2c", self.poly_w2c, 2)
        circle = 0.5 * min(width, height) if self.image_circle_radius_px is None else float(self.image_circle_radius_px)
        if not (math.isfinite(circle) and circle > 0.0):
            raise ValueError(f"image_circle_radius_px must be a positive number, got {self.image_circle_radius_px!r}")
        _set(self, width=width, height=height,
             image_center=_check_finite("image_center", self.image_center, 2, 2), poly_w2c=w2c,
             poly_c2w=_check_finite("poly_c2w", self.poly_c2w, 1), affine=_check_finite("affine", self.affine, 3, 3),
             image_circle_radius_px=circle, fov_rad=_check_fov(self.fov_rad))
        _set(self, _drho_coeffs=polyder(w2c))
        rho, drho = self._rho, self._drho
        grid = np.linspace(0.0, math.pi, OCAMCALIB_MONOTONE_SAMPLES)
        falling = np.nonzero(drho(grid) <= 0.0)[0]
        if falling.size and falling[0] == 0:
            raise ValueError("poly_w2c: rho must increase with the field angle at the optical axis")
        alpha_mono = float(grid[falling[0] - 1]) if falling.size else math.pi
        if rho(0.0) >= circle:
            raise ValueError(f"image_circle_radius_px {circle} is not larger than rho at the optical axis")
        if rho(alpha_mono) > circle:
            alpha_circle = float(solve_increasing(rho, drho, np.array(circle), 0.0, alpha_mono))
        else:
            alpha_circle = alpha_mono
        _set(self, _alpha_mono=alpha_mono, _max_field=min(0.5 * self.fov_rad, alpha_circle))
        c, d, e = self.affine
        if self.apply_affine and not abs(c - d * e) > 1e-9:
            raise ValueError(f"affine (c, d, e) = {self.affine} is singular (c - d e = 0); check the calibration")

    def project(self, points_cam):
        uv, valid = super().project(points_cam)
        if not self.apply_affine:
            return uv, valid
        xp = namespace(uv)
        c, d, e = self.affine
        cx, cy = self.image_center
        mu, mv = uv[..., 0] - cx, uv[..., 1] - cy
        return xp.stack([cx + mu + e * mv, cy + d * mu + c * mv], axis=-1), valid

    def unproject(self, uv):
        if not self.apply_affine:
            return super().unproject(uv)
        xp = namespace(uv)
        q = xp.asfloat(uv)
        c, d, e = self.affine
        cx, cy = self.image_center
        du, dv = q[..., 0] - cx, q[..., 1] - cy
        det = c - d * e
        return super().unproject(xp.stack([cx + (c * du - e * dv) / det, cy + (dv - d * du) / det], axis=-1))

    def _rho(self, alpha):
        """rho (px) at field angle alpha (rad): the W2C polynomial at theta = alpha - pi/2 (numpy or torch)."""
        return polyval(self.poly_w2c, alpha - 0.5 * math.pi)

    def _drho(self, alpha):
        """d rho / d alpha, px / rad."""
        return polyval(self._drho_coeffs, alpha - 0.5 * math.pi)

    @property
    def max_field_angle_rad(self) -> float:
        return self._max_field

    def _centre_px(self):
        return self.image_center

    def _px_per_unit(self):
        return 1.0, 1.0

    def _radius(self, alpha, xp):
        return self._rho(alpha), None

    def _angle(self, radius, xp):
        r64 = xp.to_numpy64(radius)
        guess = np.arctan2(r64, -polyval(self.poly_c2w, r64))
        a64 = solve_increasing(self._rho, self._drho, r64, 0.0, self._alpha_mono, guess)
        inside64 = (r64 >= self._rho(0.0)) & (r64 <= self._rho(self._alpha_mono))
        a_star = xp.from_numpy(a64, like=radius)
        inside = xp.bool_from_numpy(inside64, like=radius)
        alpha = a_star + (radius - self._rho(a_star)) / self._drho(a_star)
        return xp.where(inside, alpha, a_star)

    def scaled_to(self, width: int, height: int, scale: float | None = None) -> "OCamCalibLens":
        """The calibration on a uniformly resized image: u' = (u + 0.5) s - 0.5, rho' = s rho, same field angles.

        scale: s; default width / self.width (then height must keep the aspect ratio). With an explicit scale the
        new image may differ from the exactly scaled one by the rounding of its size (< 1 px per side).
        """
        width, height = _check_size(width, height)
        if (width, height) == (self.width, self.height) and scale in (None, 1.0):
            return self
        sx, sy = width / self.width, height / self.height
        if scale is not None:
            sx = sy = float(scale)
        if abs(sx - sy) > OCAMCALIB_MAX_ANISOTROPY * max(sx, sy):
            raise ValueError(
                f"an OCamCalib lens scales uniformly only: {self.width}x{self.height} -> {width}x{height} gives "
                f"x and y scales {sx:.6g} and {sy:.6g}; keep the aspect ratio"
            )
        cx, cy = self.image_center
        return dataclasses.replace(
            self, width=width, height=height,
            image_center=((cx + 0.5) * sx - 0.5, (cy + 0.5) * sx - 0.5),
            poly_w2c=tuple(c * sx for c in self.poly_w2c),
            poly_c2w=tuple(c * sx ** (1 - i) for i, c in enumerate(self.poly_c2w)),
            image_circle_radius_px=self.image_circle_radius_px * sx,
        )

    def osl_parameters(self) -> dict[str, Any]:
        """Inputs of the OCamCalib OSL camera (synth/blender/osl/ocamcalib.osl): w0..w11 and c0..c11 hold the
        polynomials (zero-padded), the affine part is identity unless apply_affine."""
        w, c = tuple(self.poly_w2c), tuple(self.poly_c2w)
        for name, coeffs in (("poly_w2c", w), ("poly_c2w", c)):
            if len(coeffs) > OCAMCALIB_OSL_MAX_COEFFS:
                raise ValueError(f"{name} has {len(coeffs)} coefficients; the OSL camera takes at most "
                                 f"{OCAMCALIB_OSL_MAX_COEFFS}")
        aff_c, aff_d, aff_e = self.affine if self.apply_affine else (1.0, 0.0, 0.0)
        params: dict[str, Any] = {
            "width": float(self.width), "height": float(self.height),
            "cx": float(self.image_center[0]), "cy": float(self.image_center[1]),
            "num_coeffs": len(w), "num_c2w": len(c), "alpha_mono": float(self._alpha_mono),
            "max_field_angle": float(self.max_field_angle_rad), "aff_c": aff_c, "aff_d": aff_d, "aff_e": aff_e,
        }
        params.update({f"w{i}": float(w[i]) if i < len(w) else 0.0 for i in range(OCAMCALIB_OSL_MAX_COEFFS)})
        params.update({f"c{i}": float(c[i]) if i < len(c) else 0.0 for i in range(OCAMCALIB_OSL_MAX_COEFFS)})
        return params

    @functools.cached_property
    def _fit(self) -> tuple[PolynomialLens, float]:
        return fit_cycles_polynomial(self)

    def render_lens(self) -> PolynomialLens:
        """Cycles' polynomial lens fitted to this calibration (cached)."""
        return self._fit[0]

    @property
    def max_fit_residual_px(self) -> float:
        """Largest pixel distance between this lens and render_lens() over the image circle."""
        return self._fit[1]

    def cycles_settings(self) -> CyclesCamera:
        return dataclasses.replace(self.render_lens().cycles_settings(), max_fit_residual_px=self.max_fit_residual_px)


def _float32(x: float) -> float:
    """The nearest float32 value (what a Blender float property stores), as a Python float."""
    return float(np.float32(x))


def fit_cycles_polynomial(lens: OCamCalibLens) -> tuple[PolynomialLens, float]:
    """Fit Cycles' FISHEYE_LENS_POLYNOMIAL (+ sensor shift for the principal point) to an OCamCalib lens.

    Method: the principal point becomes Cycles' shift exactly; alpha(r) = -(k1 r + ... + k4 r^4) is fitted to
    (r_i, alpha_i) sampled at FIT_NUM_ANGLES field angles over [0, max_field_angle], with r_i = rho(alpha_i) on a
    square OCAMCALIB_FIT_SENSOR_MM sensor. Each angular residual is weighted by d rho / d alpha (px / rad), so the fit
    minimises the first-order PIXEL error, and FIT_LAWSON_ITERS rounds of Lawson re-weighting drive it towards the
    minimax pixel error. k0 is held at 0 so the optical axis maps to the principal point: a free k0 buys nothing
    measurable and would make Cycles mirror (k0 > 0) or leave unrendered (k0 < 0) a small disc around the centre.
    The k_i, shifts and fov are rounded to float32 (Blender's storage), and the residual is measured after that.

    Returns (lens, max_residual_px): residual = max distance between lens.project and the calibration's project
    over RESIDUAL_NUM_ANGLES field angles in [0, max_field_angle] x RESIDUAL_NUM_AZIMUTHS azimuths.
    """
    alpha = np.linspace(0.0, lens.max_field_angle_rad, FIT_NUM_ANGLES)
    return _fit_radial_polynomial(lens, alpha, lens._rho(alpha), lens._drho(alpha), lens.image_center)


def fit_cycles_polynomial_to_model(model) -> tuple[PolynomialLens, float]:
    """Fit Cycles' FISHEYE_LENS_POLYNOMIAL to a calibration model (synth.geometry.camera_models), as
    fit_cycles_polynomial does for OCamCalib: the radius r(alpha) is the model's pixel distance from (cx, cy)
    averaged over RESIDUAL_NUM_AZIMUTHS azimuths. Cycles' polynomial is radial with one pixel scale, so what it
    cannot hold (fx != fy, tangential and thin-prism terms) is in the returned max residual (px)."""
    phi = np.linspace(0.0, 2.0 * math.pi, RESIDUAL_NUM_AZIMUTHS, endpoint=False)

    def mean_radius(alpha: np.ndarray) -> np.ndarray:
        a, p = np.meshgrid(alpha, phi, indexing="ij")
        uv, _ = model.project(np.stack([np.sin(a) * np.cos(p), np.sin(a) * np.sin(p), np.cos(a)], axis=-1))
        return np.linalg.norm(uv - np.array([model.cx, model.cy]), axis=-1).mean(axis=1)

    # Fit only the field angles that reach the image: up to the principal point's farthest image corner.
    alpha = np.linspace(0.0, model.max_field_angle_rad, FIT_NUM_ANGLES)
    corner_px = max(math.hypot(u - model.cx, v - model.cy) for u in (-0.5, model.width - 0.5)
                    for v in (-0.5, model.height - 0.5))
    beyond = np.nonzero(mean_radius(alpha) >= corner_px)[0]
    if beyond.size and beyond[0] > 0:
        alpha = np.linspace(0.0, float(alpha[beyond[0]]), FIT_NUM_ANGLES)
    r_px = mean_radius(alpha)
    weight_px = np.gradient(r_px, alpha)
    if not (np.isfinite(r_px).all() and (weight_px > 0.0).all()):
        raise ValueError(f"cannot fit Cycles' fisheye polynomial to this {model.type} calibration (its radius is not "
                         f"increasing over the field of view); use render.camera: osl")
    return _fit_radial_polynomial(model, alpha, r_px, weight_px, (model.cx, model.cy))


def _fit_radial_polynomial(lens, alpha: np.ndarray, r_px: np.ndarray, weight_px: np.ndarray,
                           centre_px: tuple[float, float]) -> tuple[PolynomialLens, float]:
    """The Lawson-weighted fit of fit_cycles_polynomial.

    alpha: (N,) field angles over [0, max field angle], rad; r_px: (N,) image radius at each, px; weight_px: (N,)
    d r / d alpha, px / rad; centre_px: the principal point (cx, cy), px. `lens.project` is the reference for the
    residual.
    """
    w, h = lens.width, lens.height
    px_per_mm = max(w, h) / OCAMCALIB_FIT_SENSOR_MM  # AUTO fit on a square sensor: the longer side spans it
    alpha_max = float(alpha[-1])
    r_mm = r_px / px_per_mm
    design = np.stack([r_mm**i for i in range(1, 5)], axis=-1)
    lawson = np.full(alpha.shape, 1.0 / alpha.size)
    best_k, best_err = None, np.inf
    for _ in range(FIT_LAWSON_ITERS):
        sw = np.sqrt(lawson) * weight_px
        k, *_ = np.linalg.lstsq(design * sw[:, None], -alpha * sw, rcond=None)
        err = np.abs(design @ k + alpha) * weight_px
        if err.max() < best_err:
            best_k, best_err = k, err.max()
        lawson = lawson * err
        total = lawson.sum()
        if not total > 0.0:
            break
        lawson = lawson / total
    cx, cy = centre_px
    fitted = PolynomialLens(
        width=w, height=h, fov_rad=_float32(2.0 * alpha_max),
        k=(0.0,) + tuple(_float32(c) for c in best_k),
        sensor_width_mm=OCAMCALIB_FIT_SENSOR_MM, sensor_height_mm=OCAMCALIB_FIT_SENSOR_MM, sensor_fit="AUTO",
        shift_x=_float32(0.5 - (cx + 0.5) / w), shift_y=_float32((cy + 0.5) / h - 0.5),
    )
    a = np.linspace(0.0, alpha_max, RESIDUAL_NUM_ANGLES)[:, None]
    phi = np.linspace(0.0, 2.0 * math.pi, RESIDUAL_NUM_AZIMUTHS, endpoint=False)[None, :]
    a, phi = np.broadcast_arrays(a, phi)
    rays = np.stack([np.sin(a) * np.cos(phi), np.sin(a) * np.sin(phi), np.cos(a)], axis=-1)
    uv_calib, _ = lens.project(rays)
    uv_fit, _ = fitted.project(rays)
    residual = float(np.max(np.linalg.norm(uv_fit - uv_calib, axis=-1)))
    return fitted, residual


# =====================================================================================================================
LENS_TYPES: dict[str, type[Lens]] = {
    cls.type: cls for cls in (EquidistantLens, EquisolidLens, PolynomialLens, OCamCalibLens)
}


def lens_from_dict(d: dict) -> Lens:
    """Inverse of Lens.to_dict() and CameraModel.to_dict(): d has "type" and the constructor fields (lists accepted
    for tuples)."""
    from synth.geometry.camera_models import CAMERA_MODELS

    types = {**LENS_TYPES, **CAMERA_MODELS}
    if not isinstance(d, dict) or d.get("type") not in types:
        got = d.get("type") if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"lens dict needs 'type' in {sorted(types)}, got {got!r}")
    cls = types[d["type"]]
    kwargs = {key: value for key, value in d.items() if key != "type"}
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise ValueError(f"{d['type']} lens dict: unknown field(s) {unknown}; allowed: {sorted(names)}")
    return cls(**{key: tuple(v) if isinstance(v, list) else v for key, v in kwargs.items()})


def _read_calibration_text(path: str | Path) -> str:
    name = str(path)
    try:
        if name.startswith(BUILTIN_PREFIX):
            parts = name[len(BUILTIN_PREFIX):].split("/")
            resource = importlib.resources.files("synth").joinpath("data", "calib", *parts)
            return resource.read_text(encoding="utf-8")
        return Path(name).expanduser().read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AssetError(f"{name}: byte {exc.start}: not UTF-8 text; an OCamCalib calibration is a UTF-8 JSON file: "
                         f"save it as UTF-8") from None
    except OSError as exc:
        raise AssetError(
            f"{name}: cannot read the OCamCalib calibration ({exc.strerror or exc}); give an existing JSON file or a "
            f"built-in name such as '{BUILTIN_PREFIX}ego4view/camera_front_left.json'"
        ) from None


def load_ocamcalib(path: str | Path, width: int | None = None, height: int | None = None,
                   fov_rad: float = OCAMCALIB_DEFAULT_FOV_RAD) -> OCamCalibLens:
    """Read an OCamCalib JSON (Ego4View layout) and optionally scale it to width x height px.

    path: a file, or `builtin:<dir>/<file>.json` for calibrations shipped in synth/data/calib (e.g.
    'builtin:ego4view/camera_front_left.json'). Fields: size [w, h] px, imageCircleRadius px, image_center [cx, cy]
    px, polynomialC2W, polynomialW2C, affine [c, d, e]. If only one of width / height is given, the other keeps the
    aspect ratio. fov_rad: the lens' nominal field of view (caps the field angle). Raises AssetError naming the file
    and field on bad input.
    """
    name = str(path)
    text = _read_calibration_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssetError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}); fix or replace the file") from None
    if not isinstance(data, dict):
        raise AssetError(f"{name}: expected a JSON object with the OCamCalib fields, got {type(data).__name__}")

    def field(key: str, min_len: int, max_len: int | None) -> tuple[float, ...]:
        if key not in data:
            raise AssetError(f"{name}: field '{key}' is missing; an OCamCalib JSON needs size, imageCircleRadius, "
                             f"image_center, polynomialC2W, polynomialW2C and affine")
        value = data[key]
        try:
            return _check_finite(key, value if isinstance(value, list) else [value], min_len, max_len)
        except ValueError as exc:
            raise AssetError(f"{name}: field '{key}': {exc}") from None

    size = field("size", 2, 2)
    if not all(s.is_integer() and s > 0 for s in size):
        raise AssetError(f"{name}: field 'size': must be [width, height] in positive whole pixels, got {data['size']}")
    circle = field("imageCircleRadius", 1, 1)[0]
    if not circle > 0.0:
        raise AssetError(f"{name}: field 'imageCircleRadius': must be positive, got {circle}")
    try:
        lens = OCamCalibLens(
            width=int(size[0]), height=int(size[1]), image_center=field("image_center", 2, 2),
            poly_w2c=field("polynomialW2C", 2, None), poly_c2w=field("polynomialC2W", 1, None),
            affine=field("affine", 3, 3), image_circle_radius_px=circle, fov_rad=fov_rad,
        )
    except ValueError as exc:
        raise AssetError(f"{name}: {exc}") from None
    if width is None and height is None:
        return lens
    if width is None:
        width = round(height * lens.width / lens.height)
    if height is None:
        height = round(width * lens.height / lens.width)
    try:
        return lens.scaled_to(width, height)
    except ValueError as exc:
        raise AssetError(f"{name}: {exc}") from None
