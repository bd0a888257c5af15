"""For every rig in render_configs/ and render_configs/sweeps/: label a few clips, export both Ego4View layouts and
run the authors' released code on each export (tools/check_egorear.py), or record the export's one-line refusal.

    python tools/egorear_all_rigs.py --egorear /path/to/EgoRear --work /tmp/egorear_rigs [--md table.md]

Label-only datasets (no Blender), so the image loaders are not exercised here; tools/check_egorear.py on a rendered
export covers them. Licensed configs (bedlam.yaml) need their assets and are skipped when those are missing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIPS, FRAMES = 2, 4


def rigs() -> list[tuple[str, object, Path]]:
    """(name, RenderConfig with few frames, config dir) of every shipped config and sweep variant."""
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
            except Exception as exc:  # a config that cannot load here (e.g. licensed assets missing)
                out.append((str(path.relative_to(REPO / "render_configs")), exc, path.parent))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--egorear", required=True, type=Path)
    parser.add_argument("--work", required=True, type=Path, help="scratch directory (a path without '-')")
    parser.add_argument("--md", type=Path, default=None, help="write the result table (markdown) here")
    args = parser.parse_args(argv)
    from synth.errors import EgorigError
    from synth.dataset.ego4view import export_ego4view
    from synth.run.dataset import label_dataset

    args.work.mkdir(parents=True, exist_ok=True)
    rows, failed = [], False
    for name, cfg, cfg_dir in rigs():
        if isinstance(cfg, Exception):
            rows.append((name, "-", f"not loaded here: {str(cfg).splitlines()[0][:120]}"))
            continue
        slug = name.replace("/", "_").replace(":", "_").replace(".yaml", "")
        ds = args.work / slug
        shutil.rmtree(ds, ignore_errors=True)
        cfg = cfg.model_copy(update={"clips": cfg.clips.model_copy(update={"frames": FRAMES})})
        try:
            label_dataset(cfg, ds, CLIPS, config_dir=cfg_dir, progress=False)
        except EgorigError as exc:
            rows.append((name, "-", f"labels refused: {exc}"))
            continue
        for layout in ("syn", "rw"):
            out = args.work / f"{slug}_{layout}"
            shutil.rmtree(out, ignore_errors=True)
            try:
                export_ego4view(ds, out, layout=layout, labels_only=True)
            except EgorigError as exc:
                rows.append((name, layout, f"refused: {str(exc).split(': ', 1)[1]}"))
                continue
            proc = subprocess.run([sys.executable, str(REPO / "tools" / "check_egorear.py"), "--egorear",
                                   str(args.egorear), "--export", str(out), "--json", str(out) + ".report.json"],
                                  capture_output=True, text=True)
            report = json.loads(Path(str(out) + ".report.json").read_text())
            worst = max(max(c["max_px"].values()) for c in report["camera_model"][:1])
            failed |= proc.returncode != 0
            rows.append((name, layout, f"{'ok' if report['ok'] else 'FAILED'}: heatmap script rewrites the same "
                                       f"files, loaders find all frames, camera model max {worst:.1e} px at 872"))
    lines = ["| rig | layout | authors' code on the export |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.md:
        args.md.write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
