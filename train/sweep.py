"""Rig sweeps: for each rig variant of a sweep file, make (or reuse) a dataset with `synth labels`, train the baseline
and the refinement model, evaluate them and write one report table."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from synth.constants import FRONT_VIEWS
from synth.errors import ConfigError, DatasetError
from synth.io import write_text_atomic

log = logging.getLogger(__name__)

#: make_dataset(render_config_path, out_dir, clips) -> dataset dir. Called only when out_dir does not already hold
#: the complete dataset; it may resume a partial one.
MakeDataset = Callable[[Path, Path, "int | None"], Path]


@dataclass(frozen=True)
class Method:
    """One trained arm of a variant: its run directory name, report label, whether the refiner is on, the stages it
    trains, its views (None: all of the dataset's) and the arm whose stage-1 heatmap models it starts from."""

    name: str
    label: str
    refiner: bool
    stages: tuple[str, ...]
    views: tuple[str, ...] | None = None
    init_arm: str | None = None


#: Training order matters: the baselines start from the refinement arm's stage-1 models (the same stage 1 starts every
#: method), so they only train the 3D stage.
REFINE = Method("refine", "+ refinement", True, ("heatmap", "refine", "pose3d"))
BASELINE = Method("baseline", "baseline", False, ("pose3d",), init_arm="refine")
FRONT_ONLY = Method("baseline_front2", "baseline, 2 front views", False, ("pose3d",), FRONT_VIEWS, "refine")
#: Report order of the methods within a variant.
METHOD_ORDER = (BASELINE.name, FRONT_ONLY.name, REFINE.name)


# ----------------------------------------------------------------------------------------------------------------
# Datasets
def synth_labels_dataset(config_path: Path, out_dir: Path, clips: int | None = None) -> Path:
    """Write (or resume) a label-only dataset with the `synth labels` command in a child process."""
    cmd = [sys.executable, "-m", "synth.cli", "labels", str(config_path), "--out", str(out_dir), "--quiet"]
    if clips is not None:
        cmd += ["--clips", str(clips)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [x for x in (result.stderr or result.stdout).strip().splitlines() if x.strip()] or ["no output"]
        raise DatasetError(f"`synth {' '.join(cmd[3:])}` failed: {lines[-1]}")
    return out_dir


def synth_labels_in_process(config_path: Path, out_dir: Path, clips: int | None = None) -> Path:
    """What `synth labels` does, as a library call in this process (no interpreter start-up; used by tests)."""
    from synth.config import load_config
    from synth.run.dataset import label_dataset

    cfg = load_config(config_path)
    label_dataset(cfg, Path(out_dir), clips if clips is not None else cfg.clips.count,
                  config_dir=Path(config_path).resolve().parent, progress=False)
    return out_dir


@dataclass(frozen=True)
class Variant:
    """A resolved sweep variant: name, rig label, the render config file handed to `synth labels`, its hash, and
    whether its rig is the base config's rig (ignoring the rig's display name)."""

    name: str
    rig_label: str
    front_to_rear_m: float
    rear_pitch_deg: float
    config_path: Path
    config_hash: str
    is_default_rig: bool


def _rig_key(rig) -> dict:
    return rig.model_dump(mode="json", exclude={"name"})


def resolve_variants(sweep_path: str | Path, render_overrides: dict, config_dir: Path) -> tuple[str, list[Variant]]:
    """Validate the sweep with synth's loader and write one render config per variant into `config_dir`:
    `base: <the sweep's base config>` plus the variant's overrides plus `render_overrides`.

    The written file must resolve to the same config as the base config with those overrides (a relative asset path
    in the base config would resolve elsewhere); ConfigError otherwise.
    """
    import yaml

    from synth.config import config_hash, deep_merge, load_config, load_sweep

    sweep_path = Path(sweep_path)
    sweep, resolved = load_sweep(sweep_path)
    base_path = (sweep_path.resolve().parent / sweep.base).resolve()
    base_rig = _rig_key(load_config(base_path, render_overrides).rig)
    config_dir.mkdir(parents=True, exist_ok=True)
    variants = []
    for spec, (name, _) in zip(sweep.variants, resolved):
        overrides = deep_merge(dict(spec.overrides), render_overrides)
        expected = load_config(base_path, overrides)
        path = config_dir / f"{name}.yaml"
        text = f"# sweep {sweep.name}, variant {name}\n" + yaml.safe_dump({"base": str(base_path), **overrides},
                                                                         sort_keys=False)
        if not path.is_file() or path.read_text() != text:
            write_text_atomic(path, text, durable=False)
        cfg = load_config(path)
        digest = config_hash(cfg)
        if digest != config_hash(expected):
            raise ConfigError(str(sweep_path), f"variants.{name}", f"the config written to {path} resolves "
                              f"differently from {base_path.name} + overrides; make asset paths in the base absolute")
        variants.append(Variant(name, cfg.rig.label, cfg.rig.front_to_rear_m, cfg.rig.rear_pitch_deg, path, digest,
                                _rig_key(cfg.rig) == base_rig))
    return sweep.name, variants


def ensure_dataset(variant: Variant, data_root: Path, clips: int | None, make_dataset: MakeDataset) -> Path:
    """The variant's dataset under data_root/<variant>-<config hash>, generated unless already complete."""
    out = data_root / f"{variant.name}-{variant.config_hash}"
    meta_path = out / "dataset.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("config_hash") == variant.config_hash and (clips is None or meta.get("num_clips") == clips):
            log.info("%s: reusing %s", variant.name, out)
            return out
    t0 = time.perf_counter()
    make_dataset(variant.config_path, out, clips)
    meta = json.loads(meta_path.read_text())
    if meta.get("config_hash") != variant.config_hash:
        raise DatasetError(f"{meta_path}: config_hash {meta.get('config_hash')} != the variant's {variant.config_hash}")
    log.info("%s: dataset %s (%d clips) in %.1f s", variant.name, out, meta.get("num_clips", 0),
             time.perf_counter() - t0)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Training, evaluation, report
def _row(variant: Variant, method: Method, metrics: dict, seconds: float) -> dict[str, Any]:
    groups = metrics.get("group_mpjpe_mm", {})
    kind = "refined" if method.refiner else "initial"
    row = {"variant": variant.name, "rig": variant.rig_label, "front_to_rear_m": variant.front_to_rear_m,
           "rear_pitch_deg": variant.rear_pitch_deg, "method": method.name, "method_label": method.label,
           "hands_mm": groups.get("hands"), "feet_mm": groups.get("feet"),
           "front_mse_x1e4": metrics.get(f"{kind}_front_mse_x1e4"),
           "back_mse_x1e4": metrics.get(f"{kind}_back_mse_x1e4"), "train_seconds": seconds}
    for key in ("mpjpe_mm", "pa_mpjpe_mm", "pck150", "auc", "frames", "initial_front_mse_x1e4",
                "initial_back_mse_x1e4", "refined_front_mse_x1e4", "refined_back_mse_x1e4"):
        row[key] = metrics.get(key)
    return row


def run_sweep(sweep_path: str | Path, train_config: str | Path, out_dir: str | Path,
              make_dataset: MakeDataset = synth_labels_dataset, extra_overrides: list[dict] | None = None,
              split: str = "test", data_root: str | Path | None = None) -> list[dict[str, Any]]:
    """Per variant: dataset, the refinement arm (3 stages) and the baseline (3D stage from the same stage 1); the
    2-front-view baseline on the default rig. Writes <out>/report.json and <out>/report.md after every method and
    returns the rows. Complete stages and datasets are reused, so an interrupted sweep resumes."""
    from train.config import load_config
    from train.engine import evaluate_checkpoint, fit, write_json_atomic

    t_start = time.perf_counter()
    out = Path(out_dir)
    settings = load_config(train_config, extra_overrides).sweep
    data_root = Path(data_root) if data_root else out / "data"
    name, variants = resolve_variants(sweep_path, settings.render_overrides, data_root / "configs")
    names = [v.name for v in variants]
    default = settings.default_variant or next((v.name for v in variants if v.is_default_rig), None)
    if settings.default_variant and default not in names:
        raise ConfigError(str(train_config), "sweep.default_variant", f"{default!r} is not one of {names}")
    if settings.front_only_baseline and default is None:
        log.warning("no variant has the base config's rig; skipping the 2-front-view baseline")
    rows: list[dict[str, Any]] = []
    timing: dict[str, float] = {}
    for variant in variants:
        t_var = time.perf_counter()
        data_dir = ensure_dataset(variant, data_root, settings.clips, make_dataset)
        methods = [REFINE, BASELINE]
        if settings.front_only_baseline and variant.name == default:
            methods.append(FRONT_ONLY)
        for method in methods:
            run_dir = out / variant.name / method.name
            data: dict[str, Any] = {"root": str(data_dir)}
            if method.views is not None:
                data["views"] = list(method.views)
            train: dict[str, Any] = {"out_dir": str(run_dir), "stages": list(method.stages)}
            if method.init_arm:
                train["init_dir"] = str(out / variant.name / method.init_arm)
            cfg = load_config(train_config, [*(extra_overrides or []), {
                "data": data, "train": train, "model": {"refiner": {"enabled": method.refiner}}}])
            t0 = time.perf_counter()
            fit(cfg)
            seconds = time.perf_counter() - t0
            metrics = evaluate_checkpoint(cfg, run_dir / "pose3d" / "checkpoint.pt", split)
            rows = [r for r in rows if (r["variant"], r["method"]) != (variant.name, method.name)]
            rows.append(_row(variant, method, metrics, seconds))
            rows.sort(key=lambda r: (names.index(r["variant"]), METHOD_ORDER.index(r["method"])))
            write_json_atomic(out / "report.json", {"sweep": name, "split": split, "rows": rows, "seconds": timing})
        timing[variant.name] = time.perf_counter() - t_var
    timing["total"] = time.perf_counter() - t_start
    write_json_atomic(out / "report.json", {"sweep": name, "split": split, "rows": rows, "seconds": timing})
    write_table(out / "report.md", name, split, rows)
    return rows


#: Report columns: (header, row key).
COLUMNS = (("rig", "rig"), ("method", "method_label"), ("MPJPE", "mpjpe_mm"), ("PA-MPJPE", "pa_mpjpe_mm"),
           ("hands", "hands_mm"), ("feet", "feet_mm"), ("front MSE", "front_mse_x1e4"),
           ("back MSE", "back_mse_x1e4"), ("PCK@150", "pck150"), ("frames", "frames"))


def format_table(name: str, split: str, rows: list[dict]) -> str:
    """The report as a Markdown table (mm; heatmap MSE x1e4 of each method's final heatmaps: refined with the
    refiner, initial without)."""
    def fmt(v):
        return f"{v:.1f}" if isinstance(v, float) else ("-" if v is None else str(v))

    lines = [f"Sweep {name}, {split} split. MPJPE, PA-MPJPE, hands, feet: mm; heatmap MSE x1e-4; PCK@150: %.", "",
             "| " + " | ".join(h for h, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(fmt(r.get(k)) for _, k in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_table(path: Path, name: str, split: str, rows: list[dict]) -> None:
    write_text_atomic(path, format_table(name, split, rows), durable=False)
    log.info("wrote %s", path)
