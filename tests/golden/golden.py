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
#: Files compared by content (globs relative to a run's output directory): JSON and NPZ values with FLOAT_RTOL /
#: FLOAT_ATOL for floats (last-bit differences of float maths between CPUs), exactly otherwise; text byte for byte.
BYTE_GLOBS = ("dataset.json", "clips/*/clip.json", "clips/*/labels.npz", "clips/*/heatmaps.npz",
              "visibility.csv", "visibility.md")
FLOAT_RTOL, FLOAT_ATOL = 1e-6, 1e-5
#: Rendered images: at most this fraction of pixel values may differ, by at most PIXEL_MAX_LEVELS (Cycles traces
#: a scene whose vertices differ in their last float32 bits between CPUs); masks (parts) at most MASK_FRACTION.
PIXEL_FRACTION, PIXEL_MAX_LEVELS, MASK_FRACTION = 0.01, 4, 0.001
#: Images compared by their decoded pixels.
PIXEL_GLOBS = ("clips/*/rgb/*/*.png", "clips/*/parts/*/*.png")
#: index.jsonl keys compared (the stage times differ from run to run).
INDEX_KEYS = ("clip_id", "frames")


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


def same_values(a, b) -> bool:
    """JSON-like values equal, floats within FLOAT_RTOL / FLOAT_ATOL."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_values(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        return bool(np.isclose(a, b, rtol=FLOAT_RTOL, atol=FLOAT_ATOL, equal_nan=True))
    return a == b


def same_arrays(got: Path, want: Path) -> bool:
    """Two .npz files hold the same arrays: same keys, shapes and dtypes; floats within tolerance, others exact."""
    with np.load(got) as a, np.load(want) as b:
        if sorted(a.files) != sorted(b.files):
            return False
        for key in b.files:
            x, y = a[key], b[key]
            if x.shape != y.shape or x.dtype != y.dtype:
                return False
            if np.issubdtype(y.dtype, np.floating):
                if not np.allclose(x, y, rtol=FLOAT_RTOL, atol=FLOAT_ATOL, equal_nan=True):
                    return False
            elif not np.array_equal(x, y):
                return False
    return True


def same_pixels(got: Path, want: Path, mask: bool) -> bool:
    """Decoded images equal up to PIXEL_FRACTION values off by <= PIXEL_MAX_LEVELS (masks: MASK_FRACTION, any)."""
    a, b = pixels(got).astype(np.int64), pixels(want).astype(np.int64)
    if a.shape != b.shape:
        return False
    diff = np.abs(a - b)
    if mask:
        return float((diff > 0).mean()) <= MASK_FRACTION
    return float((diff > 0).mean()) <= PIXEL_FRACTION and int(diff.max(initial=0)) <= PIXEL_MAX_LEVELS


def same_file(got: Path, want: Path, rel: str) -> bool:
    """One compared file of a run matches the fixture (by the rules above)."""
    if is_image(rel):
        return same_pixels(got, want, mask="/parts/" in rel)
    if rel.endswith(".npz"):
        return same_arrays(got, want)
    if rel.endswith(".json"):
        return same_values(json.loads(got.read_text()), json.loads(want.read_text()))
    return got.read_bytes() == want.read_bytes()
