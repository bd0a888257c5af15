"""Rig sweeps: for each rig variant of a sweep file, make (or reuse) a dataset, train the baseline and the
refinement model, evaluate both and write one report table."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from synth.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

#: make_dataset(base_config_path, overrides, out_dir) -> dataset dir; must be idempotent (reuse a complete one).
MakeDataset = Callable[[Path, dict, Path], Path]
#: The two arms of every variant, in training order: (name, model.refiner.enabled, stages). The baseline reuses the
#: refinement arm's stage-1 heatmap models (the same stage 1 starts both methods), so it only trains the 3D stage.
ARMS = (("refine", True, ("heatmap", "refine", "pose3d")), ("baseline", False, ("pose3d",)))


def read_sweep(path: str | Path) -> tuple[str, Path, list[tuple[str, dict]]]:
    """(sweep name, base render config path, [(variant name, overrides)]) from a sweep YAML."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "-", "sweep file not found")
    data = yaml.safe_load(path.read_text()) or {}
    for key in ("base", "variants"):
        if key not in data:
            raise ConfigError(str(path), key, "missing; a sweep names a base config and a list of variants")
    variants = []
    for i, v in enumerate(data["variants"]):
        if not isinstance(v, dict) or "name" not in v:
            raise ConfigError(str(path), f"variants[{i}]", "each variant needs a name and overrides")
        variants.append((str(v["name"]), dict(v.get("overrides") or {})))
    return str(data.get("name", path.stem)), (path.parent / data["base"]).resolve(), variants


def synth_labels_dataset(base: Path, overrides: dict, out_dir: Path) -> Path:
    """Generate a label-only dataset with `synth labels` (resolved config written next to it first)."""
    from synth.config import config_to_yaml, load_config

    out_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = out_dir.parent / f"{out_dir.name}_render_config.yaml"
    tmp = cfg_path.with_name(f".{cfg_path.name}.tmp")
    tmp.write_text(config_to_yaml(load_config(base, overrides)))
    os.replace(tmp, cfg_path)
    cmd = [sys.executable, "-m", "synth.cli", "labels", str(cfg_path), "--out", str(out_dir)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DatasetError(f"`{' '.join(cmd[2:])}` failed: {tail[0]}")
    return out_dir


def fixture_dataset(base: Path, overrides: dict, out_dir: Path, frames: int = 8, identities: int = 4) -> Path:
    """Synthetic stick-figure dataset with the variant's front_to_rear_m (for testing the sweep itself)."""
    import numpy as np

    from train.fixtures import write_fixture_dataset

    d_fr = float(overrides.get("rig", {}).get("front_to_rear_m", 0.37))
    return write_fixture_dataset(out_dir, np.random.default_rng(0), identities=identities, frames=frames,
                                 image_size=64, front_to_rear_m=d_fr)


def run_sweep(sweep_path: str | Path, train_config: str | Path, out_dir: str | Path,
              make_dataset: MakeDataset = synth_labels_dataset, extra_overrides: list[dict] | None = None,
              split: str = "test") -> list[dict[str, Any]]:
    """Train and evaluate both arms per variant; writes <out>/report.json and <out>/report.md; returns the rows.
    Completed stages are skipped on rerun (checkpoints), so an interrupted sweep resumes."""
    from train.config import load_config
    from train.engine import evaluate_checkpoint, fit, write_json_atomic

    name, base, variants = read_sweep(sweep_path)
    out = Path(out_dir)
    order = {v: i for i, (v, _) in enumerate(variants)}
    rows: list[dict[str, Any]] = []
    for variant, overrides in variants:
        data_dir = make_dataset(base, overrides, out / variant / "data")
        for arm, refine, stages in ARMS:
            train = {"out_dir": str(out / variant / arm), "stages": list(stages)}
            if not refine:
                train["init_dir"] = str(out / variant / "refine")
            ov = [*(extra_overrides or []), {"data": {"root": str(data_dir)}, "train": train,
                                             "model": {"refiner": {"enabled": refine}}}]
            cfg = load_config(train_config, ov)
            fit(cfg)
            metrics = evaluate_checkpoint(cfg, out / variant / arm / "pose3d" / "checkpoint.pt", split)
            rows.append({"variant": variant, "arm": arm, "front_to_rear_m": overrides.get("rig", {}).get(
                "front_to_rear_m"), **{k: metrics.get(k) for k in ("mpjpe_mm", "pa_mpjpe_mm", "pck150", "auc")},
                "hands_mm": metrics.get("group_mpjpe_mm", {}).get("hands"),
                "feet_mm": metrics.get("group_mpjpe_mm", {}).get("feet"), "frames": metrics.get("frames")})
            rows.sort(key=lambda r: (order[r["variant"]], r["arm"] != "baseline"))
            write_json_atomic(out / "report.json", {"sweep": name, "split": split, "rows": rows})
    _write_table(out / "report.md", name, split, rows)
    return rows


def _write_table(path: Path, name: str, split: str, rows: list[dict]) -> None:
    cols = ("variant", "arm", "front_to_rear_m", "mpjpe_mm", "pa_mpjpe_mm", "pck150", "auc", "hands_mm", "feet_mm",
            "frames")
    fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else ("-" if v is None else str(v))  # noqa: E731
    lines = [f"# Sweep {name} ({split} split)", "", "| " + " | ".join(cols) + " |",
             "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
    log.info("wrote %s", json.dumps(str(path)))
