"""`synth rig check`: a marker field rendered through every camera of a rig, compared with the labels' projection.

For each camera, emissive spheres spread over its valid field (synth.geometry.markers.place_markers) are rendered
by real Cycles through the camera path the config renders with (render.camera resolved: "osl" = the calibration's
own OSL camera, "native" = Cycles' fisheye, fitted to the calibration where it has no built-in model), at the
camera's pose in the device frame. The coverage-weighted centroid of each rendered sphere is compared with the
centroid of its exact expected image under the lens the labels project with (`RigCamera.lens`). A camera passes
when every marker is found and the largest centroid distance is at most the threshold. Under "native" with a
calibration, the same render is also compared with the calibration itself: that distance is the fit residual the
labels' lens takes on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.cli_base import non_negative_float, positive_int
from synth.errors import ConfigError, EgorigError

if TYPE_CHECKING:
    import numpy as np

    from synth.geometry.markers import MarkerField, MarkerMeasurement

#: A camera fails when a marker's rendered centroid is farther than this from the labels' (px).
DEFAULT_THRESHOLD_PX = 0.25
#: Cycles samples per pixel: the centroid noise is ~0.01 px at 128 (0.017 at 64, 0.05 at 16; 24 markers, 128 px).
DEFAULT_SAMPLES = 128
#: Markers per camera (fewer when not that many fit whole and apart on the image).
DEFAULT_MARKERS = 24
#: A camera also fails when more than this fraction of the rendered marker light falls outside every marker window.
MAX_STRAY_FLUX_FRACTION = 0.01
#: Default output folder, in the current directory: rig_check_<config file stem>.
DEFAULT_OUT_PREFIX = "rig_check_"
REPORT_NAME = "report.json"
SHEET_NAME = "contact_sheet.png"


@dataclasses.dataclass(frozen=True)
class LensCheck:
    """One camera's render against one lens.

    field: the markers (synth.geometry.markers.MarkerField); image: (H, W) float64 rendered coverage;
    measurement: rendered vs the labels' lens; calibration_measurement: rendered vs the calibration (or None);
    render_seconds: Cycles' wall time for the image.
    """

    field: MarkerField
    image: np.ndarray
    measurement: MarkerMeasurement
    calibration_measurement: MarkerMeasurement | None = None
    render_seconds: float = 0.0


def check_lens(render_lens, camera: str, labels_lens, markers: int = DEFAULT_MARKERS, samples: int = DEFAULT_SAMPLES,
               T_world_from_camera: np.ndarray | None = None, calibration=None, threads: int = 0,
               seed: int = 0) -> LensCheck:
    """Render the marker field of `labels_lens` through `render_lens` and measure it against `labels_lens`.

    render_lens: the lens Cycles renders, through `camera` ("osl": its OSL camera; "native": its Cycles fisheye
    settings). labels_lens: the lens the labels project with (markers are placed and their expected images computed
    with it); a render_lens that differs from it shows as marker error. calibration: a third lens to measure the
    same render against (the calibration a native fit approximates), or None.
    T_world_from_camera: (4, 4) pose the camera is rendered at (default identity).
    """
    from synth.blender.markers import render_marker_image
    from synth.geometry.markers import measure_markers, place_markers

    if (render_lens.width, render_lens.height) != (labels_lens.width, labels_lens.height):
        raise ValueError(f"render lens {render_lens.width}x{render_lens.height} and labels' lens "
                         f"{labels_lens.width}x{labels_lens.height} differ in size")
    try:
        field = place_markers(labels_lens, markers)
    except ValueError as exc:  # nothing fits: an image too small for whole markers
        raise EgorigError(f"{labels_lens.type} lens {labels_lens.width}x{labels_lens.height}: {exc}") from None
    start = time.perf_counter()
    image = render_marker_image(render_lens, camera, field.centres_cam_m, field.radii_m,
                                T_world_from_camera=T_world_from_camera, samples=samples, threads=threads, seed=seed)
    seconds = time.perf_counter() - start
    measurement = measure_markers(image, labels_lens, field)
    calib = measure_markers(image, calibration, field) if calibration is not None else None
    return LensCheck(field=field, image=image, measurement=measurement, calibration_measurement=calib,
                     render_seconds=seconds)


@dataclasses.dataclass(frozen=True)
class CameraCheck:
    """The check of one rig camera: its LensCheck and the verdict at `threshold_px`."""

    name: str
    render: str
    lens: Any
    fit_residual_px: float
    threshold_px: float
    result: LensCheck

    @property
    def failure(self) -> str | None:
        """Why the camera fails (None when it passes)."""
        m = self.result.measurement
        missing = int((~m.found).sum())
        if missing:
            return f"{missing} of {len(m.found)} markers not found near their labels"
        if m.stray_flux_fraction > MAX_STRAY_FLUX_FRACTION:
            return f"{100 * m.stray_flux_fraction:.1f}% of the marker light lies away from every marker"
        if m.max_error_px is None or m.max_error_px > self.threshold_px:
            return f"max {m.max_error_px:.3f} px > {self.threshold_px:g} px"
        return None

    @property
    def passed(self) -> bool:
        return self.failure is None

    def to_json(self) -> dict[str, Any]:
        m = self.result.measurement
        cm = self.result.calibration_measurement
        markers = []
        for k in range(len(m.found)):
            markers.append({
                "expected_px": _finite_list(m.expected_px[k]),
                "rendered_px": _finite_list(m.rendered_px[k]),
                "centre_projection_px": _finite_list(m.centre_projection_px[k]),
                "error_px": _finite(m.error_px[k]),
                "calibration_error_px": _finite(cm.error_px[k]) if cm is not None else None,
                "flux_ratio": _finite(m.flux_ratio[k]),
                "found": bool(m.found[k]),
            })
        return {
            "name": self.name,
            "render": self.render,
            "lens_type": self.lens.type,
            "width": int(self.lens.width),
            "height": int(self.lens.height),
            "markers": len(m.found),
            "max_error_px": _finite(m.max_error_px),
            "p99_error_px": _finite(m.p99_error_px),
            "mean_error_px": _finite(m.mean_error_px),
            "stray_flux_fraction": _finite(m.stray_flux_fraction),
            "fit_residual_px": _finite(self.fit_residual_px),
            "calibration_max_error_px": _finite(cm.max_error_px) if cm is not None else None,
            "calibration_p99_error_px": _finite(cm.p99_error_px) if cm is not None else None,
            "passed": self.passed,
            "failure": self.failure,
            "render_seconds": round(self.result.render_seconds, 3),
            "marker_list": markers,
        }


def _finite(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _finite_list(values) -> list[float] | None:
    out = [float(v) for v in values]
    return out if all(math.isfinite(v) for v in out) else None


def check_camera(cam, threshold_px: float = DEFAULT_THRESHOLD_PX, markers: int = DEFAULT_MARKERS,
                 samples: int = DEFAULT_SAMPLES, threads: int = 0, seed: int = 0) -> CameraCheck:
    """Check one RigCamera (synth.geometry.rig): render its lens through its own path at its device-frame pose."""
    calibration = cam.calibration if cam.render == "native" and cam.calibration is not None else None
    result = check_lens(cam.lens, cam.render, cam.lens, markers=markers, samples=samples,
                        T_world_from_camera=cam.T_device_from_camera, calibration=calibration, threads=threads,
                        seed=seed)
    return CameraCheck(name=cam.name, render=cam.render, lens=cam.lens, fit_residual_px=float(cam.fit_residual_px),
                       threshold_px=float(threshold_px), result=result)


def check_rig(rig, cameras: list[str] | None = None, **kwargs: Any) -> list[CameraCheck]:
    """check_camera for the named cameras of a Rig (all of them when None), in rig order."""
    chosen = [c for c in rig.cameras if cameras is None or c.name in cameras]
    return [check_camera(c, **kwargs) for c in chosen]


# ---------------------------------------------------------------------------------------------------- command line
def add_check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="render config whose rig (and render.camera) is checked")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--out", default=None, metavar="DIR",
                   help=f"folder for {SHEET_NAME} and {REPORT_NAME} (default: ./{DEFAULT_OUT_PREFIX}<config name> "
                        f"in the current directory)")
    p.add_argument("--threshold-px", type=non_negative_float, default=DEFAULT_THRESHOLD_PX,
                   help=f"largest marker error a camera may have, px (default {DEFAULT_THRESHOLD_PX})")
    p.add_argument("--resolution", type=positive_int, default=None,
                   help="render at this size on the longer side instead of rig.resolution (a faster check)")
    p.add_argument("--samples", type=positive_int, default=DEFAULT_SAMPLES,
                   help=f"Cycles samples per pixel (default {DEFAULT_SAMPLES})")
    p.add_argument("--camera", action="append", default=None, metavar="NAME",
                   help="check only this camera (repeatable; default: every camera of the rig)")
    p.add_argument("--markers", type=positive_int, default=DEFAULT_MARKERS,
                   help=f"markers per camera (default {DEFAULT_MARKERS})")


def _camera_line(c: CameraCheck) -> str:
    m = c.result.measurement
    max_e = "-" if m.max_error_px is None else f"{m.max_error_px:.3f}"
    p99_e = "-" if m.p99_error_px is None else f"{m.p99_error_px:.3f}"
    line = (f"{c.name:14s} {c.render:6s} {c.lens.type:15s} {c.lens.width}x{c.lens.height}  {len(m.found):3d} markers"
            f"  max {max_e} px  p99 {p99_e} px  {'PASS' if c.passed else 'FAIL'}")
    cm = c.result.calibration_measurement
    if cm is not None and cm.max_error_px is not None:
        line += f"  (vs calibration: max {cm.max_error_px:.3f} px, fit residual {c.fit_residual_px:.3f} px)"
    if not c.passed:
        line += f"  [{c.failure}]"
    return line


def cmd_rig_check(args: argparse.Namespace) -> int:
    from synth.config import camera_path, config_hash, load_config
    from synth.geometry.rig import config_rig
    from synth.io import write_text_atomic
    from synth.viz.rig_check_sheet import rig_check_sheet

    path = Path(args.config)
    overrides = {"rig": {"resolution": args.resolution}} if args.resolution is not None else None
    cfg = load_config(path, overrides)
    rig = config_rig(cfg, path.resolve().parent)
    if args.camera:
        unknown = [n for n in args.camera if n not in rig.views]
        if unknown:
            raise ConfigError(str(path), "--camera", f"the rig has no camera {', '.join(map(repr, unknown))}; "
                              f"choose from {', '.join(rig.views)}")
    out_dir = Path(args.out) if args.out else Path.cwd() / f"{DEFAULT_OUT_PREFIX}{path.stem}"
    threads = int(cfg.render.threads or 0)
    start = time.perf_counter()
    checks = check_rig(rig, args.camera, threshold_px=args.threshold_px, markers=args.markers,
                       samples=args.samples, threads=threads)
    seconds = time.perf_counter() - start
    failing = [c for c in checks if not c.passed]
    sheet = out_dir / SHEET_NAME
    report_path = out_dir / REPORT_NAME
    report = {
        "config": str(path),
        "config_hash": config_hash(cfg),
        "rig": rig.label,
        "render_camera": camera_path(cfg.render),
        "threshold_px": float(args.threshold_px),
        "samples": int(args.samples),
        "markers_requested": int(args.markers),
        "passed": not failing,
        "failing_cameras": [c.name for c in failing],
        "seconds": round(seconds, 3),
        "contact_sheet": str(sheet),
        "report": str(report_path),
        "cameras": [c.to_json() for c in checks],
    }
    text = json.dumps(report, indent=2, allow_nan=False)
    rig_check_sheet([(_sheet_title(c), c.lens, c.result.image, c.result.measurement) for c in checks],
                    args.threshold_px, sheet)
    write_text_atomic(report_path, text + "\n")
    if args.json:
        print(text)
    else:
        for c in checks:
            print(_camera_line(c))
        print(f"wrote {sheet} and {report_path} ({seconds:.1f} s)")
    if failing:
        names = ", ".join(f"{c.name} ({_brief_failure(c)})" for c in failing)
        print(f"rig check failed: {len(failing)} of {len(checks)} cameras above {args.threshold_px:g} px or "
              f"incomplete: {names}", file=sys.stderr)
        return 1
    if not args.json:
        print(f"all {len(checks)} cameras within {args.threshold_px:g} px")
    return 0


def _brief_failure(c: CameraCheck) -> str:
    m = c.result.measurement
    if m.found.all() and m.stray_flux_fraction <= MAX_STRAY_FLUX_FRACTION and m.max_error_px is not None:
        return f"max {m.max_error_px:.3f} px"
    return str(c.failure)


def _sheet_title(c: CameraCheck) -> str:
    m = c.result.measurement
    max_e = "-" if m.max_error_px is None else f"{m.max_error_px:.3f}"
    p99_e = "-" if m.p99_error_px is None else f"{m.p99_error_px:.3f}"
    return (f"{c.name}  {c.render} {c.lens.type} {c.lens.width}x{c.lens.height}\n"
            f"max {max_e} px  p99 {p99_e} px  {len(m.found)} markers  {'PASS' if c.passed else 'FAIL'}")
