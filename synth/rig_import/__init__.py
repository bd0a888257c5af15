"""`synth rig import`: calibration files (Kalibr, OpenCV, OCamCalib, Project Aria) -> a render config's rig.

Each reader (one module per format) turns one file into `ImportedCamera`s: a lens mapping in the render-config
schema (synth/config.py) and the camera's pose relative to the first camera of its file. The command then places each
file's first camera in the device frame (x right, y back, z down; metres) with --position-m / --rotation-deg, keeps
the others' calibrated poses relative to it, writes `base:` + `rig: {preset: custom, ...}` atomically and builds the
rig from the written file before it replaces --out, so an --out that exists is always a config that loads.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from synth.errors import ConfigError, EgorigError
from synth.rig_import.aria import read_aria
from synth.rig_import.common import NAME_PATTERN, ImportedCamera, ImportOptions, _relative_or_absolute
from synth.rig_import.kalibr import read_kalibr
from synth.rig_import.ocamcalib import read_ocamcalib
from synth.rig_import.opencv import OPENCV_MODELS, read_opencv

if TYPE_CHECKING:  # numpy and yaml load lazily: `synth` builds this command's parser on every call
    import numpy as np

__all__ = ["DEFAULT_BASE_CONFIG", "FORMATS", "HELP", "READERS", "ImportOptions", "ImportedCamera",
           "add_import_arguments", "camera_configs", "cmd_rig_import", "config_text", "read_aria", "read_kalibr",
           "read_ocamcalib", "read_opencv"]

FORMATS = ("kalibr", "opencv", "ocamcalib", "aria")
#: The base config an imported rig inherits everything else from (bodies, motions, labels, render settings).
DEFAULT_BASE_CONFIG = Path(__file__).resolve().parents[2] / "render_configs" / "default.yaml"
#: Decimals kept of the written positions (m) and Euler angles (deg): 1e-12 is far below any calibration's
#: precision and turns 12.000000000000002 into 12.0.
POSE_DECIMALS = 12

HELP = """\
Write a render config whose rig holds the cameras of calibration files, so that `synth render OUT` and `synth labels
OUT` produce data for that headset.

formats:
  kalibr     a Kalibr camchain YAML (cam0, cam1, ... with T_cn_cnm1): pinhole-radtan/-equidistant/-none,
             omni-radtan/-none, ds-none, eucm-none. Names cam0, cam1, ...
  opencv     one OpenCV FileStorage YAML or JSON per camera (camera_matrix, distortion_coefficients, image_width,
             image_height): 0, 5 or 8 coefficients are pinhole; 4 are pinhole or fisheye, from the file's model
             key (model, camera_model, distortion_model, fisheye_model) or --model. Names: the file stems.
  ocamcalib  one OCamCalib calib_results.txt per camera (applied with its affine part; image circle: half the image
             diagonal, where OCamCalib fits its inverse polynomial, or --image-circle-px), or an Ego4View-layout
             JSON (referenced as `file:`). Nominal field of view: 185 deg unless --fov-deg. Names: the file stems.
  aria       a Project Aria device calibration JSON (CameraCalibrations: FisheyeRadTanThinPrism, Fisheye62,
             KannalaBrandtK3). Image sizes: --size, else the entry's ConfigData, else the factory calibration size
             of the label (Gen1: SLAM 640x480, RGB 2880x2880, ET 640x480; Gen2: SLAM 512x512, RGB 4032x3024,
             ET 400x400). Names: the labels with '-' as '_'.

poses: each file's first camera is placed in the device frame (x right, y back, z down; m) by --position-m and
--rotation-deg (one per file, in file order; default the origin, looking down); the other cameras of a file keep
their calibrated poses relative to it. A value that starts with a minus sign needs the = form:
--position-m=-0.06,0,0 --rotation-deg=-20,0,0.
"""


READERS: dict[str, Callable[[Path, ImportOptions], list[ImportedCamera]]] = {
    "kalibr": read_kalibr, "opencv": read_opencv, "ocamcalib": read_ocamcalib, "aria": read_aria,
}


# ----------------------------------------------------------------------------------------------------------------
# Placing cameras and writing the config
def camera_configs(files: list[list[ImportedCamera]], names: list[str],
                   positions_m: list[tuple[float, float, float]],
                   rotations_deg: list[tuple[float, float, float]]) -> list[dict[str, Any]]:
    """`rig.cameras` entries named `names` (one per camera, in order): file i's first camera at positions_m[i] /
    rotations_deg[i] (default: the origin, looking down), its other cameras at their calibrated poses relative to
    it."""
    import numpy as np
    from synth.geometry.transforms import euler_xyz_deg_to_matrix, make_T, matrix_to_euler_xyz_deg

    out = []
    for i, cams in enumerate(files):
        position = positions_m[i] if i < len(positions_m) else (0.0, 0.0, 0.0)
        rotation = rotations_deg[i] if i < len(rotations_deg) else (0.0, 0.0, 0.0)
        T_device_from_first = make_T(euler_xyz_deg_to_matrix(rotation), np.array(position, dtype=np.float64))
        for cam in cams:
            T = T_device_from_first @ cam.T_first_from_camera
            out.append({
                "name": names[len(out)],
                "position_m": _rounded(T[:3, 3]),
                "rotation_deg": _rounded(matrix_to_euler_xyz_deg(T[:3, :3])),
                "lens": cam.lens,
            })
    return out


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), POSE_DECIMALS) + 0.0 for v in values]


def _config_dumper():
    """yaml.SafeDumper writing block mappings and number lists on one line."""
    import yaml

    class ConfigDumper(yaml.SafeDumper):
        pass

    def sequence(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
        flow = all(isinstance(v, (int, float, str, bool)) or v is None for v in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    ConfigDumper.add_representer(list, sequence)
    return ConfigDumper


def config_text(cameras: list[dict[str, Any]], base: str, rig_name: str, resolution: int | None,
                clear_lenses: bool, header: list[str]) -> str:
    """The YAML of the imported config: comment header, `base:` and the custom rig."""
    rig: dict[str, Any] = {"preset": "custom", "name": rig_name, "resolution": resolution}
    if clear_lenses:  # the base sets per-view lenses, which a custom rig may not have
        rig["lenses"] = None
    rig["cameras"] = cameras
    import yaml

    body = yaml.dump({"base": base, "rig": rig}, Dumper=_config_dumper(), sort_keys=False, width=120)
    return "".join(f"# {line}\n" for line in header) + body


def _parse_triple(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected three comma-separated numbers such as 0,0.05,0, got {text!r}")
    return values  # type: ignore[return-value]


def _parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or int(match[1]) <= 0 or int(match[2]) <= 0:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in px such as 640x480, got {text!r}")
    return int(match[1]), int(match[2])


def _parse_list(text: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in text.split(","))
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected comma-separated names without empty entries, got {text!r}")
    return items


def add_import_arguments(p: argparse.ArgumentParser) -> None:
    from synth.cli_base import positive_float, positive_int

    p.description = HELP
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("files", nargs="+", metavar="FILE", help="calibration file(s), in camera order")
    p.add_argument("--format", required=True, choices=FORMATS, help="the files' format")
    p.add_argument("--out", required=True, metavar="RIG.yaml", help="the render config to write")
    p.add_argument("--names", type=_parse_list, default=None, metavar="A,B,...",
                   help="camera names in order (letters, digits, _); default: from the files")
    p.add_argument("--position-m", type=_parse_triple, action="append", default=[], metavar="X,Y,Z",
                   help="device-frame position (m) of a file's first camera; once per file, in file order")
    p.add_argument("--rotation-deg", type=_parse_triple, action="append", default=[], metavar="RX,RY,RZ",
                   help="extrinsic x-y-z Euler angles (deg) of a file's first camera; (0,0,0) looks down (device +z) "
                   "with image x along device +x; once per file")
    p.add_argument("--base", default=None, metavar="CONFIG",
                   help="base config for everything but the rig (default: the repository's "
                   "render_configs/default.yaml), written relative to --out")
    p.add_argument("--resolution", type=positive_int, default=None, metavar="PX",
                   help="rendered size of the longer image side (aspect ratio kept); default: each calibration's "
                   "own size (rig.resolution null)")
    p.add_argument("--rig-name", default=None, metavar="NAME",
                   help="rig label in tables (default: the first file's stem)")
    p.add_argument("--fov-deg", type=positive_float, default=None, metavar="DEG",
                   help="nominal field of view (deg) of every camera: caps the labelled field angle")
    p.add_argument("--model", choices=OPENCV_MODELS, default=None,
                   help="opencv: the model of files with 4 coefficients and no model key")
    p.add_argument("--image-circle-px", type=positive_float, default=None, metavar="PX",
                   help="ocamcalib txt: radius of the calibrated image circle (default: half the image diagonal)")
    p.add_argument("--cameras", type=_parse_list, default=None, metavar="LABEL,...",
                   help="aria: the cameras to import, first one placed by --position-m (default: all, file order)")
    p.add_argument("--size", type=_parse_size, default=None, metavar="WxH",
                   help="aria: image size (px) of every imported camera's calibration")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")


#: Format-specific flags: (attribute, flag, the format it belongs to).
_FORMAT_FLAGS = (("model", "--model", "opencv"), ("image_circle_px", "--image-circle-px", "ocamcalib"),
                 ("cameras", "--cameras", "aria"), ("size", "--size", "aria"))


def cmd_rig_import(args: argparse.Namespace) -> int:
    from synth.config import load_config
    from synth.geometry.rig import image_size_at

    out = Path(args.out)
    for attr, flag, fmt in _FORMAT_FLAGS:
        if getattr(args, attr) is not None and args.format != fmt:
            raise EgorigError(f"{flag}: applies to --format {fmt} only, not {args.format}; drop it")
    files = [Path(f) for f in args.files]
    for flag, given in (("--position-m", args.position_m), ("--rotation-deg", args.rotation_deg)):
        if len(given) > len(files):
            raise EgorigError(f"{flag}: given {len(given)} times for {len(files)} file(s); give it at most once per "
                              f"file, in file order")
    if out.exists() and not args.overwrite:
        raise EgorigError(f"{out}: already exists; pass --overwrite to replace it, or choose another --out")
    if out.is_dir():
        raise EgorigError(f"{out}: is a directory; --out names the YAML config to write, e.g. {out / 'rig.yaml'}")
    base = Path(args.base) if args.base else DEFAULT_BASE_CONFIG
    if not base.is_file():
        raise ConfigError(str(base), "base", "base config not found; pass --base with an existing render config")
    base_cfg = load_config(base)  # a broken base is reported as itself, before any calibration is read

    opts = ImportOptions(out_dir=out.parent, model=args.model, fov_deg=args.fov_deg,
                         image_circle_px=args.image_circle_px, aria_cameras=args.cameras, size=args.size)
    per_file = [READERS[args.format](path, opts) for path in files]
    flat = [(path, cam) for path, cams in zip(files, per_file) for cam in cams]
    names = _camera_names(args.names, flat)
    sizes = {name: image_size_at(cam.lens["width"], cam.lens["height"], args.resolution)[0]
             for name, (_, cam) in zip(names, flat) if "width" in cam.lens}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} {w}x{h}" for name, (w, h) in sizes.items())
        hint = "pick cameras of one size with --cameras" if args.format == "aria" else \
            "import calibrations of one aspect ratio (--resolution scales the longer side) or of one size"
        raise EgorigError(f"{files[0]}: the cameras would render at different image sizes ({listed}) and a dataset "
                          f"has one; {hint}")

    cameras = camera_configs(per_file, names, args.position_m, args.rotation_deg)
    header = [f"Render config written by `synth rig import --format {args.format}` from:",
              *(f"  {path.resolve()}" for path in files),
              "Device frame: x right, y back, z down (m); each camera's rotation_deg gives its OpenCV frame.",
              "Everything but the rig comes from the base config."]
    text = config_text(cameras, _relative_or_absolute(base, out.parent), args.rig_name or files[0].stem,
                       args.resolution, base_cfg.rig.lenses is not None, header)
    rig = _write_validated(out, text, [(name, path) for name, (path, _) in zip(names, flat)])
    width, height = rig.image_size
    print(f"wrote {out}: rig '{rig.label}', {len(rig.cameras)} camera(s) at {width}x{height} px; device frame x "
          f"right, y back, z down (m)")
    from synth.geometry.rig import camera_lines

    print("\n".join(camera_lines(rig)))
    return 0


def _camera_names(given: tuple[str, ...] | None, flat: list[tuple[Path, ImportedCamera]]) -> list[str]:
    """--names (checked) or the readers' defaults, one per camera and unique."""
    if given is not None:
        if len(given) != len(flat):
            raise EgorigError(f"--names: {len(given)} name(s) for {len(flat)} camera(s) "
                              f"({', '.join(cam.name for _, cam in flat)}); give one per camera, in order")
        bad = [n for n in given if not NAME_PATTERN.match(n)]
        if bad:
            raise EgorigError(f"--names: {bad[0]!r} may hold only letters, digits and _")
    names = list(given) if given is not None else [cam.name for _, cam in flat]
    seen: dict[str, Path] = {}
    for name, (path, _) in zip(names, flat):
        if name in seen:
            raise EgorigError(f"{path}: camera name {name!r} is also used by {seen[name]}; camera names must be "
                              f"unique: pass --names")
        seen[name] = path
    return names


def _write_validated(out: Path, text: str, sources: list[tuple[str, Path]]):
    """Write `text` to `out` through a staging file that must load and build a rig first; return the rig. On any
    failure nothing is left behind and an earlier `out` is untouched; a refused camera is named by its source
    (sources: (camera name, file) per rig.cameras entry)."""
    from synth.config import load_config
    from synth.geometry.rig import config_rig
    from synth.io import atomic_path

    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
        try:
            cfg = load_config(tmp)
            rig = config_rig(cfg, out.parent)
        except ConfigError as exc:
            match = re.match(r"rig\.cameras\[(\d+)\]", exc.field)
            if match and int(match[1]) < len(sources):
                name, path = sources[int(match[1])]
                raise ConfigError(f"{path}: camera {name} ({out} not written)", exc.field,
                                  f"{exc.problem}; check this value in the calibration") from None
            raise ConfigError(f"{out} (not written)", exc.field, exc.problem) from None
    return rig
