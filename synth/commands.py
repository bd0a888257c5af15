"""CLI commands that run the pipeline: labels, visibility, preview, export, render, farm and demo (each parses,
makes one library call and prints)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable

from synth.cli_base import frame_list, non_negative_int, positive_int

log = logging.getLogger("synth")


def _config_and_dir(path: str):
    from synth.config import load_config

    p = Path(path)
    return load_config(p), p.resolve().parent


# ----------------------------------------------------------------------------------------------------------------
def cmd_labels(args: argparse.Namespace) -> int:
    from synth.run.dataset import label_dataset

    cfg, cfg_dir = _config_and_dir(args.config)
    clips = args.clips if args.clips is not None else cfg.clips.count
    summary = label_dataset(cfg, Path(args.out), clips, config_dir=cfg_dir, progress=not args.quiet)
    print(f"wrote {summary['clips']} clips to {args.out} (splits {summary['splits']})")
    return 0


def cmd_visibility(args: argparse.Namespace) -> int:
    from synth.studies.visibility import visibility_study

    for path in visibility_study(Path(args.out), sweep=args.sweep, config=args.config, clips=args.clips,
                                 grid=args.grid, metric=args.metric, workers=args.workers, address=args.address):
        print(f"wrote {path}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every committed clip against its recorded sizes and sha256; 1 when any is damaged."""
    import sys

    from synth.dataset.verify import verify_dataset

    damaged = verify_dataset(Path(args.dataset), hashes=not args.sizes_only)
    for clip_id, problems in sorted(damaged.items()):
        print(f"{clip_id}: {'; '.join(problems)}", file=sys.stderr)
    if damaged:
        print(f"error: {len(damaged)} damaged clips in {args.dataset}; rerun the command that made the dataset to "
              f"redo them", file=sys.stderr)
        return 1
    print(f"{args.dataset}: every committed clip is intact")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    source = Path(args.dataset)
    if source.is_file() or source.suffix.lower() in (".yaml", ".yml"):
        return _preview_config(args, source)
    if args.random is not None:
        from synth.viz.variety import dataset_variety

        out = dataset_variety(source, args.random, seed=args.seed, out=Path(args.out) if args.out else None)
        print(f"wrote {out}")
        return 0
    if args.blend:
        from synth.run.blender import save_blend_preview

        out = save_blend_preview(Path(args.dataset), args.clip, Path(args.blend))
        print(f"wrote {out}")
        return 0
    from synth.viz.preview import preview

    out = preview(Path(args.dataset), clip_id=args.clip, frames=args.frames, out=Path(args.out) if args.out else None)
    print(f"wrote {out}")
    return 0


def _preview_config(args: argparse.Namespace, config: Path) -> int:
    """`synth preview CONFIG --random N`: render one frame of N random clips of the config."""
    from synth.config import load_config
    from synth.errors import ConfigError

    if args.random is None:
        raise ConfigError(str(config), "--random", "a config is previewed by rendering random clips of it: give "
                                                   "--random N (or give a dataset directory)")
    render = {"preset": args.preset}
    if args.threads is not None:
        render["threads"] = args.threads
    cfg = load_config(config, overrides={"rig": {"resolution": args.resolution}, "render": render})
    from synth.run.variety import render_variety

    out = Path(args.out) if args.out else Path(f"variety_{config.stem}.png")
    print(f"rendering the middle frame of {args.random} random clips of {config} at {args.resolution} px "
          f"({args.preset} preset)", flush=True)
    print(f"wrote {render_variety(cfg, config.resolve().parent, args.random, out, seed=args.seed)}")
    return 0


def camera_map(text: str) -> dict[str, str]:
    """argparse type of --cameras: "a=b,c=d" -> {"a": "b", "c": "d"}."""
    pairs = [item.strip() for item in text.split(",") if item.strip()]
    if not pairs or any(item.count("=") != 1 or item.startswith("=") or item.endswith("=") for item in pairs):
        raise argparse.ArgumentTypeError(f"{text!r}: give VIEW=CAMERA pairs separated by commas, e.g. "
                                         f"side_left=back_left,side_right=back_right")
    return dict(item.split("=") for item in pairs)


def cmd_export(args: argparse.Namespace) -> int:
    from synth.dataset.ego4view import export_ego4view

    # args.profile: argparse allows only "ego4view"
    result = export_ego4view(Path(args.dataset), Path(args.out), layout=args.layout, overwrite=args.overwrite,
                             force=args.force, labels_only=args.labels_only, camera_map=args.cameras)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {result.out} (Ego4View-{result.layout}: {result.sequences} sequences, {result.frames} frames)")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from synth.run.dataset import render_dataset

    cfg, cfg_dir = _config_and_dir(args.config)
    clips = args.clips if args.clips is not None else cfg.clips.count
    summary = render_dataset(cfg, Path(args.out), clips, config_dir=cfg_dir, progress=not args.quiet)
    print(f"wrote {summary['clips']} clips to {args.out} (splits {summary['splits']})")
    return 0


def cmd_farm(args: argparse.Namespace) -> int:
    import os

    from synth.farm.driver import run_farm
    from synth.farm.faults import FAULT_ENV
    from synth.farm.jobs import FarmOptions

    cfg, cfg_dir = _config_and_dir(args.config)
    clips = args.clips if args.clips is not None else cfg.clips.count
    options = FarmOptions(
        workers=args.workers, threads_per_worker=args.threads_per_worker, gpus_per_worker=args.gpus_per_worker,
        clips_per_worker=args.clips_per_worker, retries=args.retries, max_restarts=args.max_restarts,
        clip_timeout_s=args.clip_timeout, address=args.address, progress=not args.quiet,
        faults=os.environ.get(FAULT_ENV, ""),
    )
    return farm_exit_code(run_farm(cfg, Path(args.out), clips, cfg_dir, options), Path(args.out))


def farm_exit_code(summary, out: Path) -> int:
    """Print a farm run's outcome; 0 when every clip is complete, 1 after failed clips, 128 + signal if stopped."""
    import signal
    import sys

    from synth.farm.driver import FAILURES_JSONL

    print(f"farm: rendered {summary.rendered} clips ({summary.frames} frames) in {summary.wall_s:.1f} s, "
          f"{summary.skipped} were already complete; {summary.completed}/{summary.requested} clips in {out} "
          f"(splits {summary.splits})")
    if summary.interrupted:
        print(f"error: stopped by {summary.interrupted}: {summary.completed} of {summary.requested} clips are "
              f"complete and nothing half-written was committed; run the same command again to resume",
              file=sys.stderr)
        return 128 + int(getattr(signal, summary.interrupted))
    if summary.failed:
        ids = ", ".join(f"{r['clip_id']} (seed {r['seed']})" for r in summary.failed)
        print(f"error: {len(summary.failed)} clips failed after their last retry: {ids}; errors in "
              f"{out / FAILURES_JSONL}; run the same command again to retry them", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the embedded default: rig plot, labels, visibility sweep, a small render, previews."""
    from synth.demo import run_demo

    farm = run_demo(Path(args.out), args.clips, args.render_clips, args.render_frames)
    if farm.failed or farm.interrupted:
        return farm_exit_code(farm, Path(args.out) / "render")
    return 0


# ----------------------------------------------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction, commands: dict[str, Callable[[argparse.Namespace], int]]) -> None:
    """Add the pipeline commands to the `synth` parser."""
    p = sub.add_parser("labels", help="write a label-only dataset (no rendering)")
    p.add_argument("config")
    p.add_argument("--out", required=True)
    p.add_argument("--clips", type=positive_int, default=None,
                   help="number of clips (default: the config's clips.count)")
    p.add_argument("--quiet", action="store_true")
    commands["labels"] = cmd_labels

    p = sub.add_parser("visibility", help="per-view joint visibility across rig placements (no renderer)")
    p.add_argument("--sweep", default=None, help="sweep YAML (base config + rig overrides)")
    p.add_argument("--config", default=None, help="a single config instead of a sweep")
    p.add_argument("--clips", type=positive_int, default=None)
    p.add_argument("--grid", action="append", default=None, metavar="FIELD=START:STOP:STEP|FIELD=A,B,...",
                   help="sweep a config field over a range or list (repeat for more axes: every combination), on "
                   "top of --config; writes the study table study.csv/.parquet and study.png")
    p.add_argument("--metric", default="pct_visible_two_views",
                   help="metric drawn in study.png (a column of study.csv; see docs/placement.md)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="grid studies: label the points on this many Ray workers (one CPU each)")
    p.add_argument("--address", default=None, help="grid studies: a running Ray cluster (default RAY_ADDRESS, else "
                   "a local instance)")
    p.add_argument("--out", required=True)
    commands["visibility"] = cmd_visibility

    p = sub.add_parser("verify", help="check every committed clip against its recorded sizes and sha256")
    p.add_argument("dataset")
    p.add_argument("--sizes-only", action="store_true", help="check file sizes only (fast)")
    commands["verify"] = cmd_verify

    p = sub.add_parser("preview", help="contact sheet of a clip's views with projected joints; with --random N, "
                                       "one frame of N random clips of a dataset or of a config (rendered)")
    p.add_argument("dataset", metavar="DATASET_OR_CONFIG",
                   help="a dataset directory, or a render config (.yaml) to render --random N clips of")
    p.add_argument("--clip", default=None)
    p.add_argument("--frames", type=frame_list, default=None, help="comma-separated frame indices")
    p.add_argument("--out", default=None)
    p.add_argument("--blend", default=None, help="save the assembled Blender scene of the clip to this .blend")
    p.add_argument("--random", type=positive_int, default=None, metavar="N",
                   help="a variety sheet: the middle frame of N random clips")
    p.add_argument("--seed", type=non_negative_int, default=0, help="which random clips (--random)")
    p.add_argument("--resolution", type=positive_int, default=128, help="px, rendering a config (--random)")
    p.add_argument("--preset", default="draft", help="render preset, rendering a config (--random)")
    p.add_argument("--threads", type=non_negative_int, default=None, help="render threads (default: all cores)")
    commands["preview"] = cmd_preview

    p = sub.add_parser("export", help="export a dataset to another layout")
    p.add_argument("profile", choices=["ego4view"])
    p.add_argument("dataset")
    p.add_argument("--out", required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    p.add_argument("--layout", choices=["syn", "rw"], default="syn",
                   help="syn: Ego4View-Syn (the fixed Ego4View rig only); rw: Ego4View-RW (any four-camera square "
                        "rig: per-sequence device-to-camera transforms)")
    p.add_argument("--force", action="store_true",
                   help="export a rig the layout's camera model cannot represent exactly (recorded in the README)")
    p.add_argument("--cameras", type=camera_map, default=None, metavar="VIEW=CAMERA,...",
                   help="map the rig's views to Ego4View's front_left, front_right, back_left, back_right "
                        "(e.g. side_left=back_left,side_right=back_right)")
    p.add_argument("--labels-only", action="store_true",
                   help="no images (required for a label-only dataset; the authors' image loaders will not work)")
    commands["export"] = cmd_export

    p = sub.add_parser("render", help="render a dataset with Blender in this process")
    p.add_argument("config")
    p.add_argument("--out", required=True)
    p.add_argument("--clips", type=positive_int, default=None)
    p.add_argument("--quiet", action="store_true")
    commands["render"] = cmd_render

    from synth.farm.jobs import CLIPS_PER_WORKER, MAX_RESTARTS, RETRIES

    p = sub.add_parser("farm", help="render a dataset with Blender workers on Ray (local, or a cluster)")
    p.add_argument("config")
    p.add_argument("--out", required=True, help="dataset directory (on storage every node sees)")
    p.add_argument("--clips", type=positive_int, default=None,
                   help="number of clips (default: the config's clips.count)")
    p.add_argument("--workers", type=positive_int, default=2, help="Blender worker processes")
    p.add_argument("--threads-per-worker", type=positive_int, default=1,
                   help="CPUs each worker reserves and Cycles uses")
    p.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per worker (0: render on the CPU)")
    p.add_argument("--clips-per-worker", type=positive_int, default=CLIPS_PER_WORKER,
                   help="clips before a worker is replaced by a fresh process (bounds memory)")
    p.add_argument("--retries", type=non_negative_int, default=RETRIES, help="extra attempts for a failed clip")
    p.add_argument("--max-restarts", type=non_negative_int, default=MAX_RESTARTS,
                   help="Ray restarts of a crashed worker")
    p.add_argument("--clip-timeout", type=float, default=None, metavar="SECONDS",
                   help="a clip rendering longer than this is a failed attempt and its worker is replaced "
                        "(default: no limit)")
    p.add_argument("--address", default=None, help="a running Ray cluster (default: RAY_ADDRESS, else local)")
    p.add_argument("--quiet", action="store_true")
    commands["farm"] = cmd_farm

    p = sub.add_parser("demo", help="the main job on the embedded default configuration")
    p.add_argument("--out", default="out/demo")
    p.add_argument("--clips", type=positive_int, default=6, help="clips of the label-only dataset and the sweep")
    p.add_argument("--render-clips", type=positive_int, default=2)
    p.add_argument("--render-frames", type=positive_int, default=4)
    commands["demo"] = cmd_demo

