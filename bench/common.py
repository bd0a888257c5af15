"""Shared helpers for benchmarks: machine description and atomic JSON results."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: The `default` render preset's values before bench/quality.py re-derived it (32 spp with adaptive sampling that
#: never acted, OIDN FAST, bounces 6/3/2/4, the world sampled as a light): benchmarks compare today's preset with it.
PREVIOUS_DEFAULT = dict(samples=32, adaptive_threshold=0.05, adaptive_min_samples=0, denoise=True,
                        denoise_prefilter="FAST", denoise_passes="RGB_ALBEDO_NORMAL", max_bounces=6,
                        diffuse_bounces=3, glossy_bounces=2, transmission_bounces=4, light_tree=True,
                        clamp_direct=0.0, clamp_indirect=10.0, filter_width_px=1.5, world_sampling="auto",
                        world_map_resolution=0, curve_shape="THICK", path_guiding=False, fast_gi_bounces=0)


def machine() -> dict:
    """A short description of the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "when": time.strftime("%Y-%m-%d")}


def write_result(name: str, result: dict) -> Path:
    """Write bench/results/<name>.json atomically and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n")
    tmp.replace(path)
    return path
