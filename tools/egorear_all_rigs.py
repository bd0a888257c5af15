"""For every rig in render_configs/ (rigs/ included) and render_configs/sweeps/: label a few clips, export both
Ego4View layouts and run the authors' released code on each export (tools/check_egorear.py), or record the
export's one-line refusal (and, for a Syn refusal, how far their Syn camera model would miss under --force).

    python tools/egorear_all_rigs.py --egorear /path/to/EgoRear --work /tmp/egorear_rigs [--md table.md]

Label-only datasets (no Blender): their image loaders read placeholder images (tools/check_egorear.py), so every
label they return is compared but no pixel is; check a rendered export for that. Each dataset grows until every
split holds a clip, so their loaders read all three split files. A config whose licensed assets are missing here
(bedlam.yaml) is checked with its rig on the default bodies and motions: the export only sees the rig.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FRAMES = 2
#: Clips labelled first, and at most: more are added until train, val and test each hold one.
FIRST_CLIPS, MAX_CLIPS = 3, 12
#: Split fractions used here so that few clips fill all three splits.
SPLIT_FRACTIONS = {"val": 0.34, "test": 0.33}


def rigs() -> list[tuple[str, object, Path]]:
    """(name, RenderConfig or the error loading it, config dir) of every shipped config and sweep variant."""
    from synth.config import load_config, load_sweep

    out = []
    for path in sorted((REPO / "render_configs").rglob("*.yaml")):
        if path.parent.name == "sweeps":
            spec, variants = load_sweep(path)
            base_dir = (path.parent / spec.base).resolve().parent
            out += [(f"sweeps/{path.stem}:{name}", cfg, base_dir) for name, cfg in variants]
        else:
            try:
                out.append((str(path.relative_to(REPO / "render_configs")), load_config(path), path.parent))
            except Exception as exc:  # a config that cannot load here
                out.append((str(path.relative_to(REPO / "render_configs")), exc, path.parent))
    return out


def label(cfg, cfg_dir: Path, ds: Path) -> dict:
    """Label clips into ds until every split holds one (or MAX_CLIPS); the clips per split."""
    from synth.run.dataset import label_dataset

    clips = FIRST_CLIPS
    while True:
        label_dataset(cfg, ds, clips, config_dir=cfg_dir, progress=False)
        counts = {k: len(v) for k, v in json.loads((ds / "dataset.json").read_text())["splits"].items()}
        if all(counts.values()) or clips >= MAX_CLIPS:
            return counts
        clips += 1


def check(egorear: Path, out: Path) -> tuple[int, dict]:
    """tools/check_egorear.py on an export: its exit status and report."""
    report_path = Path(str(out) + ".report.json")
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "check_egorear.py"), "--egorear", str(egorear),
                           "--export", str(out), "--json", str(report_path)], capture_output=True, text=True)
    if not report_path.exists():
        raise RuntimeError(f"{out}: tools/check_egorear.py wrote no report: {proc.stderr.strip()[-500:]}")
    return proc.returncode, json.loads(report_path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--egorear", required=True, type=Path)
    parser.add_argument("--work", required=True, type=Path, help="scratch directory (a path without '-')")
    parser.add_argument("--md", type=Path, default=None, help="write the result table (markdown) here")
    args = parser.parse_args(argv)
    if "-" in str(args.work.absolute()):
        parser.error(f"--work {args.work}: the path has a '-'; their RW loaders cut frame paths at the first '-'")
    from synth.config import load_config
    from synth.dataset.ego4view import export_ego4view
    from synth.errors import AssetError, EgorigError

    args.work.mkdir(parents=True, exist_ok=True)
    default = load_config(REPO / "render_configs" / "default.yaml")
    rows, failed = [], False
    for name, cfg, cfg_dir in rigs():
        if isinstance(cfg, Exception):
            rows.append((name, "-", f"not loaded here: {str(cfg).splitlines()[0][:120]}", "", "", ""))
            failed = True
            continue
        slug = name.replace("/", "_").replace(":", "_").replace(".yaml", "")
        ds = args.work / slug
        shutil.rmtree(ds, ignore_errors=True)
        cfg = cfg.model_copy(update={"clips": cfg.clips.model_copy(update={"frames": FRAMES}),
                                     "splits": cfg.splits.model_copy(update=SPLIT_FRACTIONS)})
        try:
            label(cfg, cfg_dir, ds)
        except AssetError:
            # Licensed bodies, motions or textures missing: the export depends only on the rig, so check that.
            cfg = default.model_copy(update={"rig": cfg.rig, "clips": cfg.clips, "splits": cfg.splits})
            shutil.rmtree(ds, ignore_errors=True)
            label(cfg, REPO / "render_configs", ds)
            name = f"{name} (its rig; licensed assets missing here)"
        for layout in ("syn", "rw"):
            out = args.work / f"{slug}_{layout}"
            shutil.rmtree(out, ignore_errors=True)
            try:
                export_ego4view(ds, out, layout=layout, labels_only=True)
            except EgorigError as exc:
                reason = str(exc).split(": ", 1)[1]
                forced = ""
                if layout == "syn" and "--force" in reason:
                    export_ego4view(ds, out, layout=layout, labels_only=True, force=True, overwrite=True)
                    _, report = check(args.egorear, out)
                    worst = max(report["camera_model"][0]["max_px"].values())
                    forced = f"with --force their Syn camera model misses our labels by up to {worst:.1f} px"
                rows.append((name, layout, f"refused: {reason}", forced, "", ""))
                continue
            status, report = check(args.egorear, out)
            failed |= status != 0
            worst = max(max(report["camera_model"][0]["max_px"].values()), report["datasets"]["pose3d_max_px"])
            hm = report["heatmap_script"]
            loaders = report["datasets"]
            rows.append((
                name, layout, "ok" if report["ok"] else "FAILED", f"{worst:.1e} px",
                f"{hm['files'] - len(hm['differ'])}/{hm['files']} files identical",
                f"{'all' if loaders['ok'] else 'NOT all'} {loaders['items_compared']} items agree; frames per split "
                + ", ".join(f"{k} {v}" for k, v in loaders["frames_per_split"].items()),
            ))
    lines = ["| rig | layout | result | their camera model vs our 2D (max, px at 872) | generate_heatmap.py rerun "
             "| their loaders |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.md:
        args.md.write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
