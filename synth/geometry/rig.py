"""The head-mounted rig: cameras posed in the device frame from config, and the fit of the device onto a head."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.constants import VIEWS
from synth.errors import CONFIG_PLACEHOLDER, ConfigError
from synth.geometry.transforms import euler_xyz_deg_to_matrix, make_T

if TYPE_CHECKING:
    from synth.config import LensConfig, RenderConfig, RigConfig
    from synth.geometry.lenses import Lens

#: Rotation of the back cameras relative to the front ones: 180 degrees about the optical (z) axis (Ego4View).
R_BACK_FROM_FRONT_CAMERA = np.diag([-1.0, -1.0, 1.0])
#: Half-height of the horizontal slab of head vertices used to find the face and the back of the head, m.
HEAD_SLAB_HALF_HEIGHT_M = 0.015
#: Half-width, m, of the x-z window around a camera in which head vertices decide whether it is inside the head.
HEAD_CLEARANCE_WINDOW_M = 0.015


@dataclass(frozen=True)
class RigCamera:
    """One camera of the rig.

    T_device_from_camera: (4, 4) float64, OpenCV camera frame -> device frame, metres.
    lens: the lens Cycles renders exactly (labels are computed with it).
    calibration: the original calibration when it is not a Cycles lens type (OCamCalib), else None; `lens` is then
        the calibration itself (render "osl") or Cycles' polynomial fitted to it (render "native").
    fit_residual_px: max pixel distance between `calibration` and `lens` over the image circle (0 if exact).
    render: "native" (Cycles' fisheye with `lens.cycles_settings()`) or "osl" (the OSL camera of `lens`).
    """

    name: str
    T_device_from_camera: np.ndarray
    lens: "Lens"
    calibration: "Lens | None" = None
    fit_residual_px: float = 0.0
    render: str = "native"

    @property
    def position_device_m(self) -> np.ndarray:
        """(3,) camera centre in the device frame, metres."""
        return self.T_device_from_camera[:3, 3].copy()

    def cycles_settings(self):
        """The native Cycles camera settings (with the calibration fit residual when the lens is a fit); None for
        an OSL camera."""
        if self.render == "osl":
            return None
        return (self.calibration or self.lens).cycles_settings()

    @property
    def optical_axis_device(self) -> np.ndarray:
        """(3,) unit optical axis (OpenCV +z) in the device frame."""
        return self.T_device_from_camera[:3, 2].copy()


@dataclass(frozen=True)
class Rig:
    """The cameras of a head-mounted device, in the device frame (x right, y back, z down; metres)."""

    cameras: tuple[RigCamera, ...]
    label: str
    front_to_rear_m: float
    front_baseline_m: float
    front_clearance_m: float
    mount_height_m: float
    mount_anchor: str = "face"
    mount_point_device_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    min_head_clearance_m: float = 0.0
    head_clearance: str = "refit"
    #: Pairs of cameras joined by a straight rigid bar (the ego4view preset's front and rear pairs): the bar's
    #: midpoint must clear the head like a camera.
    bars: tuple[tuple[str, str], ...] = ()

    def clearance_points(self) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        """What must keep rig.min_head_clearance_m from the head: (names, (P, 3) device-frame points in metres,
        (P,) bool "is behind the head"): every camera centre, then every bar's midpoint."""
        rear_names = {c.name for c in self.rear_cameras()}
        names = list(self.views)
        points = [c.T_device_from_camera[:3, 3] for c in self.cameras]
        rear = [n in rear_names for n in names]
        for a, b in self.bars:
            names.append(f"the bar {a}-{b}")
            points.append((self.camera(a).T_device_from_camera[:3, 3] + self.camera(b).T_device_from_camera[:3, 3]) / 2)
            rear.append(a in rear_names and b in rear_names)
        return tuple(names), np.array(points, dtype=np.float64).reshape(-1, 3), np.array(rear, dtype=bool)

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    @property
    def T_device_from_camera(self) -> np.ndarray:
        """(V, 4, 4) float64, one OpenCV camera -> device transform per view."""
        return np.stack([c.T_device_from_camera for c in self.cameras])

    @property
    def lenses(self) -> tuple["Lens", ...]:
        return tuple(c.lens for c in self.cameras)

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) px of every rendered image (build_rig checks that the cameras agree)."""
        return self.cameras[0].lens.width, self.cameras[0].lens.height

    def camera(self, name: str) -> RigCamera:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise KeyError(f"rig has no camera {name!r}; views: {self.views}")

    def rear_cameras(self) -> tuple[RigCamera, ...]:
        """Cameras behind the head: named back_* (or, for custom rigs without such names, behind y = 0.1 m)."""
        named = tuple(c for c in self.cameras if c.name.startswith("back"))
        if named:
            return named
        return tuple(c for c in self.cameras if c.T_device_from_camera[1, 3] > 0.1)

    def to_json(self) -> dict[str, Any]:
        """Plain-data description for dataset.json (lens dicts, Cycles settings and fit residuals included)."""
        cams = []
        for c in self.cameras:
            cams.append(
                {
                    "name": c.name,
                    "T_device_from_camera": c.T_device_from_camera.tolist(),
                    "lens": c.lens.to_dict(),
                    "calibration": c.calibration.to_dict() if c.calibration is not None else None,
                    "render": c.render,
                    "cycles": c.cycles_settings().to_dict() if c.render == "native" else None,
                    "max_fit_residual_px": c.fit_residual_px,
                }
            )
        return {
            "label": self.label,
            "front_to_rear_m": self.front_to_rear_m,
            "front_baseline_m": self.front_baseline_m,
            "front_clearance_m": self.front_clearance_m,
            "mount_height_m": self.mount_height_m,
            "mount_anchor": self.mount_anchor,
            "mount_point_device_m": list(self.mount_point_device_m),
            "min_head_clearance_m": self.min_head_clearance_m,
            "head_clearance": self.head_clearance,
            "bars": [list(b) for b in self.bars],
            "cameras": cams,
        }


# ----------------------------------------------------------------------------------------------------------------
def calibration_lens(cfg: "LensConfig", base_dir: Any = None):
    """The calibration of a lens config at its own image size: an OCamCalibLens or a camera model
    (synth.geometry.camera_models); None for the Cycles lens types (equidistant, equisolid, polynomial)."""
    from synth.config import resolve_data_path
    from synth.geometry import lenses
    from synth.geometry.camera_models import CAMERA_MODELS

    if cfg.type in CAMERA_MODELS:
        params = cfg.model_dump(exclude={"type", "fov_deg"})
        fov = math.radians(cfg.fov_deg) if cfg.fov_deg is not None else None
        return CAMERA_MODELS[cfg.type](**params, fov_rad=fov)
    if cfg.type != "ocamcalib":
        return None
    fov = math.radians(cfg.fov_deg) if cfg.fov_deg is not None else lenses.OCAMCALIB_DEFAULT_FOV_RAD
    if cfg.file is not None:
        calib = lenses.load_ocamcalib(resolve_data_path(cfg.file, base_dir), fov_rad=fov)
        if cfg.apply_affine:
            calib = dataclasses.replace(calib, apply_affine=True)
        return calib
    return lenses.OCamCalibLens(
        width=cfg.width, height=cfg.height, image_center=cfg.image_center, poly_w2c=cfg.poly_w2c,
        poly_c2w=cfg.poly_c2w, affine=cfg.affine, image_circle_radius_px=cfg.image_circle_radius_px, fov_rad=fov,
        apply_affine=cfg.apply_affine is not False,
    )


def image_size_at(width: int, height: int, resolution: int | None) -> tuple[tuple[int, int], float]:
    """((W, H) px, scale) of a width x height image rendered at `resolution` px on its longer side (None: as is).

    The scale is one factor for both axes (a calibration stays exact); W and H are the scaled sides rounded.
    """
    if resolution is None:
        return (int(width), int(height)), 1.0
    scale = resolution / max(width, height)
    return (max(1, round(width * scale)), max(1, round(height * scale))), scale


def lens_from_config(cfg: "LensConfig", resolution: int | None, base_dir: Any = None,
                     render: str = "native") -> tuple["Lens", "Lens | None"]:
    """(render lens, calibration or None) of one lens config rendered at `resolution` px on the longer side.

    Cycles lens types are built at their own width x height scaled to the resolution (square resolution x
    resolution without a size); a calibration is scaled uniformly, and its render lens is Cycles' polynomial
    fitted to it under render "native", the calibration itself under "osl".
    """
    from synth.geometry import lenses

    calib = calibration_lens(cfg, base_dir)
    if calib is not None:
        (width, height), scale = image_size_at(calib.width, calib.height, resolution)
        if scale != 1.0:
            calib = calib.scaled_to(width, height, scale=scale)
        return (calib.render_lens() if render == "native" else calib), calib
    if cfg.width is not None:
        (width, height), _ = image_size_at(cfg.width, cfg.height, resolution)
    elif resolution is not None:
        width = height = resolution
    else:
        raise ValueError(f"a {cfg.type} lens without width and height needs rig.resolution (null means each "
                         f"calibration's own size): give the lens width and height or set rig.resolution")
    fov_rad = math.radians(cfg.fov_deg)
    if cfg.type == "equidistant":
        lens = lenses.EquidistantLens(
            width=width, height=height, fov_rad=fov_rad, shift_x=cfg.shift[0], shift_y=cfg.shift[1]
        )
        return lens, None
    common = dict(
        width=width,
        height=height,
        fov_rad=fov_rad,
        sensor_width_mm=cfg.sensor_width_mm,
        sensor_height_mm=cfg.sensor_height_mm if cfg.sensor_height_mm is not None else cfg.sensor_width_mm,
        sensor_fit=cfg.sensor_fit,
        shift_x=cfg.shift[0],
        shift_y=cfg.shift[1],
    )
    if cfg.type == "equisolid":
        return lenses.EquisolidLens(focal_mm=cfg.focal_mm, **common), None
    return lenses.PolynomialLens(k=tuple(cfg.k), **common), None


def _camera_rotation(base: np.ndarray, pitch_deg: float, outward_deg: float, side_sign: float) -> np.ndarray:
    """R_device_from_camera: `base` tilted by `pitch_deg` towards the body (camera +y) and `outward_deg` sideways.

    base: (3, 3) neutral camera orientation in the device frame (optical axis = device +z).
    side_sign: -1 for cameras on the wearer's left (device -x), +1 on the right.
    """
    # Pitch: rotate the optical axis (camera z) towards camera +y, i.e. about camera x by -pitch.
    pitch = euler_xyz_deg_to_matrix((-pitch_deg, 0.0, 0.0))
    # Outward tilt: about camera y; choose the sign so the optical axis leans to the camera's own side.
    cam_x_in_device_x = base[0, 0]
    sign = side_sign * (1.0 if cam_x_in_device_x >= 0 else -1.0)
    outward = euler_xyz_deg_to_matrix((0.0, sign * outward_deg, 0.0))
    return base @ outward @ pitch


def build_rig(cfg: "RigConfig", base_dir: Any = None, render: str = "native") -> Rig:
    """Construct the rig of a config: the Ego4View layout or explicit custom cameras (device frame, metres).

    render: synth.config.camera_path(cfg.render): "osl" renders calibrations Cycles has no model for through their
    own model (labels use the calibration itself), "native" through a fitted Cycles polynomial (labels use the fit).
    """
    cameras: list[RigCamera] = []
    if cfg.preset == "ego4view":
        rear_baseline = cfg.rear_baseline_m if cfg.rear_baseline_m is not None else cfg.front_baseline_m
        layout = {
            # view: (position in the device frame, neutral rotation, side sign, pitch)
            "front_left": ((-cfg.front_baseline_m / 2, 0.0, 0.0), np.eye(3), -1.0, cfg.front_pitch_deg),
            "front_right": ((cfg.front_baseline_m / 2, 0.0, 0.0), np.eye(3), 1.0, cfg.front_pitch_deg),
            "back_left": ((-rear_baseline / 2, cfg.front_to_rear_m, cfg.rear_drop_m), R_BACK_FROM_FRONT_CAMERA,
                          -1.0, cfg.rear_pitch_deg),
            "back_right": ((rear_baseline / 2, cfg.front_to_rear_m, cfg.rear_drop_m), R_BACK_FROM_FRONT_CAMERA,
                           1.0, cfg.rear_pitch_deg),
        }
        for view in VIEWS:
            position, base, side, pitch = layout[view]
            R = _camera_rotation(base, pitch, cfg.yaw_deg, side)
            lens, calib = _config_lens(cfg.lens_for(view), cfg.resolution, base_dir, f"rig.lenses.{view}",
                                       render)
            cameras.append(_rig_camera(view, make_T(R, np.asarray(position)), lens, calib, render))
        front_to_rear = cfg.front_to_rear_m
    else:
        for i, cam in enumerate(cfg.cameras or ()):
            R = euler_xyz_deg_to_matrix(cam.rotation_deg)
            lens, calib = _config_lens(cam.lens, cfg.resolution, base_dir, f"rig.cameras[{i}].lens", render)
            T = make_T(R, np.asarray(cam.position_m, dtype=np.float64))
            cameras.append(_rig_camera(cam.name, T, lens, calib, render))
        ys = [c.T_device_from_camera[1, 3] for c in cameras]
        front_to_rear = float(max(ys) - min(ys))
    sizes = {c.name: (c.lens.width, c.lens.height) for c in cameras}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} {w}x{h}" for name, (w, h) in sizes.items())
        raise ConfigError(CONFIG_PLACEHOLDER, "rig.resolution",
                          f"the cameras render at different image sizes ({listed}); a dataset has one image size: "
                          f"use calibrations of one aspect ratio (rig.resolution scales the longer side), or one "
                          f"size with rig.resolution null")
    return Rig(
        cameras=tuple(cameras),
        label=cfg.label,
        front_to_rear_m=front_to_rear,
        front_baseline_m=cfg.front_baseline_m,
        front_clearance_m=cfg.front_clearance_m,
        mount_height_m=cfg.mount_height_m,
        mount_anchor=cfg.mount_anchor,
        mount_point_device_m=tuple(float(v) for v in cfg.mount_point_m),
        min_head_clearance_m=cfg.min_head_clearance_m,
        head_clearance=cfg.head_clearance,
        bars=(("front_left", "front_right"), ("back_left", "back_right")) if cfg.preset == "ego4view" else (),
    )


def _config_lens(cfg: "LensConfig", resolution: int | None, base_dir: Any, field: str, render: str):
    """lens_from_config with a model's refusal (e.g. a size it cannot scale to) as a ConfigError at `field`."""
    try:
        return lens_from_config(cfg, resolution, base_dir, render)
    except ValueError as exc:
        raise ConfigError(CONFIG_PLACEHOLDER, field, str(exc)) from None


def camera_lines(rig: Rig) -> list[str]:
    """One line per camera for the terminal: name, calibration model, image size, position (m) and optical axis in
    the device frame (`synth rig show`, `synth rig import`)."""
    name_width = max(len(cam.name) for cam in rig.cameras)
    lines = []
    for cam in rig.cameras:
        p, a = cam.position_device_m, cam.optical_axis_device
        model = (cam.calibration or cam.lens).type
        lines.append(f"  {cam.name:{name_width}s}  {model:14s} {cam.lens.width}x{cam.lens.height}  position "
                     f"({p[0]:+.4f}, {p[1]:+.4f}, {p[2]:+.4f})  optical axis ({a[0]:+.3f}, {a[1]:+.3f}, {a[2]:+.3f})")
    return lines


def config_rig(cfg: "RenderConfig", base_dir: Any = None) -> Rig:
    """The rig a whole config renders and labels: build_rig with render.camera resolved."""
    from synth.config import camera_path

    return build_rig(cfg.rig, base_dir, render=camera_path(cfg.render))


def _rig_camera(name: str, T: np.ndarray, lens: "Lens", calib: "Lens | None", render: str) -> RigCamera:
    if render not in ("native", "osl"):
        raise ValueError(f"render must be 'native' or 'osl', got {render!r}")
    if calib is None:  # a Cycles lens type: native is exact
        return RigCamera(name=name, T_device_from_camera=T, lens=lens)
    if render == "osl":
        return RigCamera(name=name, T_device_from_camera=T, lens=calib, calibration=calib, render="osl")
    return RigCamera(name=name, T_device_from_camera=T, lens=lens, calibration=calib,
                     fit_residual_px=float(calib.max_fit_residual_px))


# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeadMount:
    """Where the device sits on one head.

    T_head_from_device: (4, 4) float64; the device axes equal the head axes (x right, y back, z down).
    face_front_head_m, head_back_head_m: (3,) float64, head frame: the face's front-most and the head's back-most
        surface points at the mount height.
    head_top_head_m: (3,) float64, head frame: the top of the head (its highest vertex).
    d_fh_m: the front-most camera to the face along the device y axis, metres (with the face anchor and the
        ego4view preset: the configured front clearance).
    d_rh_m: rear cameras to the back of the head along the device y axis, metres, measured in the head's
        mid-sagittal plane at the rear cameras' height (negative: that point of the head lies behind them; NaN for a
        rig without rear cameras).
    anchor: the rig's mount anchor ("face", "back_of_head", "top_of_head").
    camera_clearance_m: (C,) float64 or None, per rig camera: its signed distance from the head surface, metres
        (camera_head_clearance_m), after any refit.
    refit_m: how far the device was moved along the head's y axis (back positive), metres, to give every camera
        the rig's minimum head clearance; 0 when it fitted as configured.
    """

    T_head_from_device: np.ndarray
    face_front_head_m: np.ndarray
    head_back_head_m: np.ndarray
    d_fh_m: float
    d_rh_m: float
    head_top_head_m: np.ndarray | None = None
    anchor: str = "face"
    camera_clearance_m: np.ndarray | None = None
    refit_m: float = 0.0


def head_extent_points(
    head_vertices_head_m: np.ndarray, mount_height_m: float, slab_half_height_m: float = HEAD_SLAB_HALF_HEIGHT_M
) -> tuple[np.ndarray, np.ndarray]:
    """Front-most and back-most head vertices within a horizontal slab at the mount height.

    head_vertices_head_m: (K, 3) float64, head frame (z down), metres.
    mount_height_m: height of the slab above the head-frame origin (the EGO16 head joint), metres.
    Returns (front point (3,), back point (3,)), head frame, metres.
    """
    verts = _head_vertices(head_vertices_head_m)
    z_mount = -mount_height_m  # z points down
    half = slab_half_height_m
    in_slab = np.abs(verts[:, 2] - z_mount) <= half
    while not in_slab.any():
        half *= 2.0
        if half > 1.0:
            raise ValueError(f"no head vertex near the mount height {mount_height_m} m; check mount_height_m")
        in_slab = np.abs(verts[:, 2] - z_mount) <= half
    slab = verts[in_slab]
    return slab[np.argmin(slab[:, 1])].copy(), slab[np.argmax(slab[:, 1])].copy()


def _head_vertices(head_vertices_head_m: np.ndarray) -> np.ndarray:
    verts = np.asarray(head_vertices_head_m, dtype=np.float64)
    if verts.ndim != 2 or verts.shape[1] != 3 or len(verts) == 0:
        raise ValueError(f"head_vertices_head_m must be (K, 3) with K > 0, got {verts.shape}")
    return verts


def head_top_point(head_vertices_head_m: np.ndarray) -> np.ndarray:
    """(3,) the highest head vertex (smallest z; z points down), head frame, metres."""
    verts = _head_vertices(head_vertices_head_m)
    return verts[np.argmin(verts[:, 2])].copy()


def mount_from_points(
    face_front_head_m: np.ndarray, head_back_head_m: np.ndarray, rig: Rig, front_clearance_m: float,
    mount_height_m: float, head_top_head_m: np.ndarray | None = None, anchor: str | None = None,
) -> HeadMount:
    """Place the device on a head by its anchor: the rig's mount point (device frame) goes

    - "face": `front_clearance_m` ahead of the face (y = face_y - clearance) at z = -mount_height;
    - "back_of_head": `front_clearance_m` behind the back of the head (y = back_y + clearance) at z = -mount_height;
    - "top_of_head": `front_clearance_m` above the top of the head (z = top_z - clearance) at y = top_y;

    always in the head's mid-sagittal plane (x = 0), with the device axes equal to the head's.
    """
    anchor = rig.mount_anchor if anchor is None else anchor
    face = np.asarray(face_front_head_m, dtype=np.float64)
    back = np.asarray(head_back_head_m, dtype=np.float64)
    if anchor == "face":
        point_head = np.array([0.0, face[1] - front_clearance_m, -mount_height_m])
    elif anchor == "back_of_head":
        point_head = np.array([0.0, back[1] + front_clearance_m, -mount_height_m])
    elif anchor == "top_of_head":
        if head_top_head_m is None:
            raise ValueError("anchor 'top_of_head' needs head_top_head_m")
        top = np.asarray(head_top_head_m, dtype=np.float64)
        point_head = np.array([0.0, top[1], top[2] - front_clearance_m])
    else:
        raise ValueError(f"unknown mount anchor {anchor!r}; use face, back_of_head or top_of_head")
    origin = point_head - np.asarray(rig.mount_point_device_m, dtype=np.float64)
    T_head_from_device = make_T(np.eye(3), origin)
    cam_y_head = origin[1] + np.array([c.T_device_from_camera[1, 3] for c in rig.cameras])
    rear = rig.rear_cameras()
    if rear:
        rear_y_head = origin[1] + float(np.mean([c.T_device_from_camera[1, 3] for c in rear]))
        d_rh = rear_y_head - back[1]
    else:
        d_rh = float("nan")
    return HeadMount(
        T_head_from_device=T_head_from_device,
        face_front_head_m=face,
        head_back_head_m=back,
        d_fh_m=float(face[1] - cam_y_head.min()),
        d_rh_m=float(d_rh),
        head_top_head_m=None if head_top_head_m is None else np.asarray(head_top_head_m, dtype=np.float64),
        anchor=anchor,
    )


def camera_head_clearance_m(head_vertices_head_m: np.ndarray, points_head_m: np.ndarray) -> np.ndarray:
    """Signed distance of points from the head surface, metres: positive outside, negative inside.

    head_vertices_head_m: (K, 3) float64, head frame (x right, y back, z down), metres.
    points_head_m: (N, 3) float64, head frame, metres (camera centres).
    Returns (N,) float64. A point is inside when the head vertices within HEAD_CLEARANCE_WINDOW_M of it in x and z
    lie both ahead of it and behind it (a head's cross-section is convex along its front-back axis); its value is
    then minus its depth along y to the nearer of those surfaces. Outside, it is the distance to the nearest head
    vertex (an upper bound on the distance to the surface by at most the mesh's vertex spacing, ~1 cm or less).
    """
    verts = _head_vertices(head_vertices_head_m)
    points = np.asarray(points_head_m, dtype=np.float64).reshape(-1, 3)
    out = np.empty(len(points))
    for i, p in enumerate(points):
        near = (np.abs(verts[:, 0] - p[0]) <= HEAD_CLEARANCE_WINDOW_M) & \
               (np.abs(verts[:, 2] - p[2]) <= HEAD_CLEARANCE_WINDOW_M)
        ys = verts[near, 1]
        if ys.size and ys.min() < p[1] < ys.max():
            out[i] = -min(p[1] - ys.min(), ys.max() - p[1])
        else:
            out[i] = float(np.sqrt(((verts - p) ** 2).sum(axis=1).min()))
    return out


class HeadClearanceError(ConfigError):
    """A rig camera would sit closer to a clip's head than rig.min_head_clearance_m (one line, with the fix)."""

    def __init__(self, problem: str):
        super().__init__(CONFIG_PLACEHOLDER, "rig.min_head_clearance_m", problem)


#: Most refit steps before a placement is declared unfittable (each step closes the worst camera's deficit).
MAX_REFIT_STEPS = 20
#: Margin added to each refit step, metres, so the clearance test's rounding cannot stall the search.
REFIT_STEP_MARGIN_M = 0.001


def _points_head(points_device_m: np.ndarray, T_head_from_device: np.ndarray, shift_y_m: float = 0.0) -> np.ndarray:
    """(P, 3) device-frame points in the head frame, metres, with the device moved `shift_y_m` along head +y."""
    pos = points_device_m @ T_head_from_device[:3, :3].T + T_head_from_device[:3, 3]
    return pos + np.array([0.0, shift_y_m, 0.0])


def _refit_shift_m(head_vertices_head_m: np.ndarray, points_device_m: np.ndarray, rear: np.ndarray,
                   T_head_from_device: np.ndarray, need_m: float) -> tuple[float | None, np.ndarray]:
    """Smallest device shift along head y (m) giving every point `need_m` of clearance: rear points that are too
    close push the device back, front ones forward; None when both would be needed (or no shift converges).
    points_device_m: (P, 3); rear: (P,) bool. Returns (shift or None, (P,) clearances at the last shift tried)."""
    shift, direction = 0.0, 0.0
    for _ in range(MAX_REFIT_STEPS + 1):
        clear = camera_head_clearance_m(head_vertices_head_m, _points_head(points_device_m, T_head_from_device, shift))
        bad = clear < need_m
        if not bad.any():
            return shift, clear
        if (bad & rear).any() and (bad & ~rear).any():
            return None, clear
        step_dir = 1.0 if (bad & rear).any() else -1.0
        if direction and step_dir != direction:
            return None, clear
        direction = step_dir
        shift += direction * (need_m - clear[bad].min() + REFIT_STEP_MARGIN_M)
    return None, clear


def fit_head_mount(
    head_vertices_head_m: np.ndarray, rig: Rig, front_clearance_m: float | None = None,
    mount_height_m: float | None = None, clip: str = "clip",
) -> HeadMount:
    """Fit the device onto a head given its vertices in the head frame (defaults: the rig's configured values),
    then enforce the rig's minimum head clearance for every camera (rig.head_clearance: "refit" moves the device
    along the head's y axis, "reject" raises).

    clip: names the clip in a HeadClearanceError.
    Raises HeadClearanceError when a camera is too close to the head and the rig rejects, or no shift along y
    clears every camera.
    """
    clearance = rig.front_clearance_m if front_clearance_m is None else front_clearance_m
    height = rig.mount_height_m if mount_height_m is None else mount_height_m
    front, back = head_extent_points(head_vertices_head_m, height)
    mount = mount_from_points(front, back, rig, clearance, height, head_top_point(head_vertices_head_m))
    names, points, rear = rig.clearance_points()
    need = rig.min_head_clearance_m
    clear = camera_head_clearance_m(head_vertices_head_m, _points_head(points, mount.T_head_from_device))
    shift = 0.0
    if (clear < need).any():
        worst = int(np.argmin(clear))
        where = (f"{clip}: {names[worst]} would sit {abs(clear[worst]) * 100:.1f} cm "
                 f"{'inside' if clear[worst] < 0 else 'from'} the head surface (minimum {need * 100:.1f} cm)")
        fix = ("give the rig more room (rig.front_to_rear_m, rig.rear_drop_m, rig.front_clearance_m or the camera "
               "positions) or lower rig.min_head_clearance_m")
        if rig.head_clearance == "reject":
            raise HeadClearanceError(f"{where}; {fix}, or set rig.head_clearance: refit")
        found, clear = _refit_shift_m(head_vertices_head_m, points, rear, mount.T_head_from_device, need)
        if found is None:
            raise HeadClearanceError(f"{where}, and moving the device front or back cannot clear it all; {fix}")
        shift = found
    T = mount.T_head_from_device.copy()
    T[1, 3] += shift
    cams = _points_head(points[:len(rig.cameras)], T)
    cam_rear = rear[:len(rig.cameras)]
    if cam_rear.any():  # D-RH at the rear cameras' own height (with rig.rear_drop_m below the mount height)
        _, back_at_rear = head_extent_points(head_vertices_head_m, -float(cams[cam_rear, 2].mean()))
        d_rh = float(cams[cam_rear, 1].mean() - back_at_rear[1])
    else:
        d_rh = float("nan")
    cam_y = cams[:, 1]
    return dataclasses.replace(mount, T_head_from_device=T, d_fh_m=float(front[1] - cam_y.min()), d_rh_m=d_rh,
                               camera_clearance_m=clear[:len(rig.cameras)], refit_m=float(shift))
