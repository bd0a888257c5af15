"""The `synth` command line: validate|lens|rig|labels|visibility|render|farm|preview|export|assets|demo."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable

from synth.cli_base import (OneLineParser, add_debug_flag, configure_logging, positive_int, run_command,
                             split_debug)
from synth.errors import EgorigError

log = logging.getLogger("synth")


def _is_sweep_file(path: Path) -> bool:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except Exception:  # noqa: BLE001 - the real loader reports the problem
        return False
    return isinstance(data, dict) and "variants" in data


# ----------------------------------------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from synth.config import config_hash, config_to_yaml, load_sweep

    path = Path(args.config)
    if path.is_file() and _is_sweep_file(path):
        sweep, variants = load_sweep(path)
        print(f"# sweep {sweep.name}: {len(variants)} variants on {sweep.base}")
        for name, cfg in variants:
            print(f"{name}\t{config_hash(cfg)}\t{cfg.rig.label}")
        return 0
    cfg, _ = _rig_from_config_path(path)  # the rig too: its lens models check themselves when built
    sys.stdout.write(config_to_yaml(cfg))
    print(f"# config_hash: {config_hash(cfg)}")
    return 0


def _rig_from_config_path(path: Path):
    from synth.config import load_config
    from synth.geometry.rig import config_rig

    cfg = load_config(path)
    return cfg, config_rig(cfg, path.resolve().parent)


def cmd_lens(args: argparse.Namespace) -> int:
    from synth.geometry import lenses

    path = Path(args.path)
    rows = []
    if path.suffix.lower() == ".json" or args.path.startswith("builtin:"):
        from synth.config import resolve_data_path

        resolved = resolve_data_path(args.path, Path.cwd())
        calib = lenses.load_ocamcalib(resolved)
        if args.resolution:
            from synth.geometry.rig import image_size_at

            (width, height), scale = image_size_at(calib.width, calib.height, args.resolution)
            calib = calib.scaled_to(width, height, scale=scale)
        render = calib.render_lens()
        settings = render.cycles_settings()
        rows.append(
            {
                "camera": Path(resolved).stem,
                "render": "native",  # a calibration alone: its native Cycles fit (a config chooses render.camera)
                "lens": calib.to_dict(),
                "cycles": settings.to_dict(),
                "max_fit_residual_px": settings.max_fit_residual_px,
                "max_field_angle_deg": _deg(calib.max_field_angle_rad),
            }
        )
    else:
        _, rig = _rig_from_config_path(path)
        for cam in rig.cameras:
            cc = cam.cycles_settings()
            rows.append(
                {
                    "camera": cam.name,
                    "render": cam.render,
                    "lens": (cam.calibration or cam.lens).to_dict(),
                    "cycles": cc.to_dict() if cc is not None else None,
                    "max_fit_residual_px": cam.fit_residual_px,
                    "max_field_angle_deg": _deg(cam.lens.max_field_angle_rad),
                }
            )
    if args.json:
        try:
            text = json.dumps(rows, indent=2, allow_nan=False)  # strict JSON: never NaN or Infinity
        except ValueError:
            raise EgorigError(f"{args.path}: a lens value is not finite; check the calibration's numbers") from None
        print(text)
    else:
        for row in rows:
            c = row["cycles"]
            if c is None:
                lens = row["lens"]
                print(f"{row['camera']}: OSL camera of the {lens['type']} calibration (exact, no fit), "
                      f"{lens['width']}x{lens['height']} px, field angle up to {row['max_field_angle_deg']:.1f} deg")
                continue
            print(
                f"{row['camera']}: {c['panorama_type']} fov {_deg(c['fisheye_fov_rad']):.1f} deg, "
                f"k = {[f'{k:.6g}' for k in c['polynomial_k']]}, sensor {c['sensor_width_mm']} mm, "
                f"shift ({c['shift_x']:.5f}, {c['shift_y']:.5f}), {c['resolution_x']}x{c['resolution_y']} px, "
                f"max fit residual {row['max_fit_residual_px']:.3f} px"
            )
    return 0


def _deg(rad: float) -> float:
    import math

    return math.degrees(rad)


#: The `synth rig` subcommands; `synth rig CONFIG` alone means `synth rig show CONFIG`.
RIG_SUBCOMMANDS = ("show", "import", "check", "optimize")


def cmd_rig(args: argparse.Namespace) -> int:
    if args.rig_command == "import":
        from synth.rig_import import cmd_rig_import

        return cmd_rig_import(args)
    if args.rig_command == "check":
        from synth.run.rig_check import cmd_rig_check

        return cmd_rig_check(args)
    if args.rig_command == "optimize":
        from synth.studies.optimize import cmd_rig_optimize

        return cmd_rig_optimize(args)
    return cmd_rig_show(args)


def cmd_rig_show(args: argparse.Namespace) -> int:
    cfg, rig = _rig_from_config_path(Path(args.config))
    from synth.geometry.rig import camera_lines

    print(f"rig {rig.label}: {len(rig.cameras)} cameras, device frame x right, y back, z down (m)")
    print("\n".join(camera_lines(rig)))
    if args.plot:
        from synth.viz.rig_plot import plot_rig

        out = plot_rig(rig, Path(args.plot))
        print(f"wrote {out}")
    return 0


# ----------------------------------------------------------------------------------------------------------------
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": cmd_validate,
    "lens": cmd_lens,
    "rig": cmd_rig,
}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="synth", description="egorig's synthetic data generator")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_debug_flag(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="validate a render config (or sweep) and print it with its hash")
    p.add_argument("config")

    p = sub.add_parser("lens", help="print the Cycles camera settings of a calibration or of a config's rig")
    p.add_argument("path", metavar="CALIB_OR_CONFIG")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--resolution", type=positive_int, default=None,
                   help="scale a calibration to this size of its longer side (px)")

    p = sub.add_parser("rig", help="show a config's rig, import a calibration as a rig, or check a rig's cameras "
                       "against real renders")
    rig_sub = p.add_subparsers(dest="rig_command", required=True)
    q = rig_sub.add_parser("show", help="print a config's rig and optionally draw it on a head (the default)")
    q.add_argument("config")
    q.add_argument("--plot", metavar="PNG", default=None)
    from synth.rig_import import add_import_arguments
    from synth.run.rig_check import add_check_arguments

    add_import_arguments(rig_sub.add_parser(
        "import", help="write a render config whose rig holds the cameras of a calibration file"))
    add_check_arguments(rig_sub.add_parser(
        "check", help="render a marker field through every camera and compare it with the labels' projection"))
    from synth.studies.optimize import add_optimize_arguments

    add_optimize_arguments(rig_sub.add_parser(
        "optimize", help="search placements within bounds for the best visibility metric (labels only)"))

    _register_pipeline_commands(sub)
    return parser


def _register_pipeline_commands(sub: argparse._SubParsersAction) -> None:
    """Commands that run the pipeline (synth/commands.py)."""
    from synth import assets_cli, commands

    commands.register(sub, COMMANDS)
    assets_cli.register(sub, COMMANDS)


def _default_rig_subcommand(argv: list[str]) -> list[str]:
    """`synth rig CONFIG ...` -> `synth rig show CONFIG ...` (the command before it had subcommands)."""
    for i, arg in enumerate(argv):
        if arg == "rig":
            rest = argv[i + 1:]
            if rest and rest[0] not in RIG_SUBCOMMANDS and rest[0] not in ("-h", "--help"):
                return argv[: i + 1] + ["show"] + rest
            return argv
        if not arg.startswith("-"):
            return argv
    return argv


def main(argv: list[str] | None = None) -> int:
    argv, debug = split_debug(argv)
    argv = _default_rig_subcommand(argv)
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    return run_command(COMMANDS[args.command], args, debug)


if __name__ == "__main__":
    sys.exit(main())
