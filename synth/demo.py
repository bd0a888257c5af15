"""The main job on the embedded default: rig drawing, a label-only dataset, visibility across rig placements, a
small render on the Ray farm, and contact sheets, all from render_configs/ with no licensed asset."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from synth.config import RenderConfig, config_hash, load_config
from synth.dataset import format as fmt
from synth.farm.driver import FarmSummary, run_farm
from synth.farm.jobs import FarmOptions
from synth.geometry.rig import config_rig
from synth.run.dataset import label_dataset
from synth.studies.visibility import visibility_study
from synth.viz.preview import preview
from synth.viz.rig_plot import plot_rig

#: The repository's configs: the embedded default and its rig-distance sweep.
REPO_CONFIGS = Path(__file__).resolve().parents[1] / "render_configs"
DEFAULT_CONFIG = REPO_CONFIGS / "default.yaml"
DEFAULT_SWEEP = REPO_CONFIGS / "sweeps" / "rig_distance.yaml"
#: Farm shape of the demo render: workers x threads each.
DEMO_WORKERS, DEMO_THREADS_PER_WORKER = 2, 1


def discard_stale(dataset_dir: Path, cfg: RenderConfig, report: Callable[[str], None]) -> None:
    """Delete the demo's own earlier dataset at `dataset_dir` when another config (or egorig version) made it, so
    the demo reruns after an upgrade instead of refusing to resume it; anything that is not an egorig dataset
    with a config_hash is left alone (the writer then refuses it in one line)."""
    meta_path = Path(dataset_dir) / fmt.DATASET_JSON
    try:
        old_hash = json.loads(meta_path.read_text()).get("config_hash")
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(old_hash, str) and old_hash != config_hash(cfg):
        report(f"{dataset_dir}: made with another config ({old_hash}); starting it anew")
        shutil.rmtree(dataset_dir)


def run_demo(out: Path, clips: int = 6, render_clips: int = 2, render_frames: int = 4,
             report: Callable[[str], None] = print) -> FarmSummary:
    """Run the demo into `out`; report(line) after each step. Returns the render farm's summary (a failed or
    interrupted render stops the demo before the previews)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_config(DEFAULT_CONFIG)
    rig = config_rig(cfg, DEFAULT_CONFIG.parent)
    report(f"[1/5] rig drawing: {plot_rig(rig, out / 'rig.png')}")

    labels_dir = out / "labels"
    discard_stale(labels_dir, cfg, report)
    summary = label_dataset(cfg, labels_dir, clips, config_dir=DEFAULT_CONFIG.parent, progress=True)
    report(f"[2/5] label-only dataset: {labels_dir} ({summary['clips']} clips)")

    for path in visibility_study(out / "visibility", sweep=DEFAULT_SWEEP, clips=clips):
        report(f"wrote {path}")
    report(f"[3/5] visibility tables across rig placements: {out / 'visibility'}")

    render_cfg = load_config(DEFAULT_CONFIG, overrides={"clips": {"frames": render_frames}})
    render_dir = out / "render"
    discard_stale(render_dir, render_cfg, report)
    farm = run_farm(render_cfg, render_dir, render_clips, DEFAULT_CONFIG.parent,
                    FarmOptions(workers=DEMO_WORKERS, threads_per_worker=DEMO_THREADS_PER_WORKER))
    if farm.failed or farm.interrupted:
        return farm
    report(f"[4/5] rendered dataset (Ray farm, {DEMO_WORKERS} workers x {DEMO_THREADS_PER_WORKER} thread): "
           f"{render_dir} ({farm.completed} clips x {render_frames} frames, {render_cfg.rig.resolution} px)")

    sheets = [preview(labels_dir, out=out / "previews" / "labels.png")]
    for clip_id in sorted(p.name for p in (render_dir / "clips").iterdir() if not p.name.startswith(".")):
        sheets.append(preview(render_dir, clip_id=clip_id, out=out / "previews" / f"render_{clip_id}.png"))
    report(f"[5/5] previews: {', '.join(str(s) for s in sheets)}")
    return farm
