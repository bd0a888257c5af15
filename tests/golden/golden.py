"""The golden fixture: small datasets made through the `synth` CLI, and how their files are compared.

`python tests/golden/make_golden.py` writes them to tests/golden/expected/; tests/test_golden.py makes them again
with the code under test and requires the same bytes (images: the same decoded pixels).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIGS = HERE / "configs"
EXPECTED = HERE / "expected"
#: (run name, synth command line; "{out}" is the run's output directory).
RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("labels", ("labels", str(CONFIGS / "labels.yaml"), "--out", "{out}", "--clips", "4", "--quiet")),
    ("sweep", ("visibility", "--sweep", str(CONFIGS / "sweep.yaml"), "--clips", "2", "--out", "{out}")),
    ("render", ("render", str(CONFIGS / "render.yaml"), "--out", "{out}", "--clips", "1", "--quiet")),
)
#: Files compared byte for byte (globs relative to a run's output directory).
BYTE_GLOBS = ("dataset.json", "clips/*/clip.json", "clips/*/labels.npz", "clips/*/heatmaps.npz",
              "visibility.csv", "visibility.md")
#: Images compared by their decoded pixels.
PIXEL_GLOBS = ("clips/*/rgb/*/*.png", "clips/*/parts/*/*.png")
#: index.jsonl keys compared (the stage times differ from run to run).
INDEX_KEYS = ("clip_id", "frames", "labels_sha256", "heatmaps_sha256")


def run_synth(args: tuple[str, ...], out: Path) -> None:
    env = dict(os.environ)
    cache = REPO / ".cache" / "egorig"
    env.setdefault("EGORIG_CACHE_DIR", str(cache))
    env.setdefault("WARP_CACHE_PATH", str(cache / "warp"))
    argv = [a.replace("{out}", str(out)) for a in args]
    proc = subprocess.run([sys.executable, "-m", "synth.cli", *argv], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"synth {' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def collected_files(out: Path) -> list[str]:
    """Paths (relative to `out`) of every compared file of one run, sorted."""
    found = set()
    for pattern in BYTE_GLOBS + PIXEL_GLOBS:
        found.update(p.relative_to(out).as_posix() for p in out.glob(pattern) if p.is_file())
    return sorted(found)


def index_summary(out: Path) -> list[dict]:
    """index.jsonl lines without their stage times."""
    path = out / "index.jsonl"
    if not path.exists():
        return []
    return [{k: json.loads(line)[k] for k in INDEX_KEYS} for line in path.read_text().splitlines() if line.strip()]


def is_image(rel: str) -> bool:
    return rel.endswith(".png")


def pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img)
