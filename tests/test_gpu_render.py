"""On a machine with an NVIDIA GPU, render.device auto renders on it (OptiX, then CUDA) and the images agree with the
CPU's. Marked `gpu`: not part of `make test`; skipped where Cycles finds no GPU."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.blender]

pytest.importorskip("bpy")
REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))

#: Mean absolute difference (8-bit image in [0, 1]) allowed between the GPU and CPU renders of one view: the two
#: devices draw different random numbers, so only the noise may differ.
MAX_MEAN_ABS_DIFF = 0.03


def _render(device: str, out: Path) -> tuple[str, np.ndarray]:
    from PIL import Image

    from synth.config import load_config
    from synth.run.blender import BlenderRenderer
    from synth.scene.sampler import ClipSampler

    cfg = load_config(REPO / "render_configs" / "smoke.yaml",
                      overrides={"render": {"device": device, "samples": 64, "denoise": False}})
    spec, _ = ClipSampler(cfg, REPO / "render_configs").sample(0)
    renderer = BlenderRenderer(cfg, log_path=out / f"{device}.log")
    renderer.scene.load(spec)
    renderer.scene.set_frame(0, spec.T_world_from_device[0])
    path = out / f"{device}.png"
    renderer.scene.render_views({"front_left": path})
    with Image.open(path) as im:
        return renderer.scene.device, np.asarray(im, dtype=np.float64) / 255.0


def test_auto_device_renders_on_the_gpu_like_the_cpu(tmp_path):
    device, gpu = _render("auto", tmp_path)
    if device == "CPU":
        pytest.skip("Cycles finds no OptiX or CUDA device on this machine")
    _, cpu = _render("cpu", tmp_path)
    assert np.abs(gpu - cpu).mean() < MAX_MEAN_ABS_DIFF
