"""Every example rig of render_configs/rigs/ rendered end to end with real Cycles at a small size: non-square
images of the rig's size, labels that land on the rendered body, and a preview of the clip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.blender

pytest.importorskip("bpy")

from PIL import Image  # noqa: E402

from synth.constants import VIS_VISIBLE  # noqa: E402
from tests.test_render_pipeline import synth  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RIGS = sorted((REPO / "render_configs" / "rigs").glob("*.yaml"))
#: Rendered image size for the test: the rigs' 4:3 sensors at 64 px on the longer side.
SIZE = (64, 48)


@pytest.mark.parametrize("rig_file", RIGS, ids=[p.stem for p in RIGS])
def test_example_rig_renders_labels_and_previews(tmp_path, rig_file):
    config = tmp_path / "small.yaml"
    config.write_text(f"base: {rig_file}\nrig: {{resolution: {SIZE[0]}}}\nclips: {{count: 1, frames: 1}}\n"
                      f"render: {{preset: draft, samples: 4}}\n")
    out = tmp_path / "out"
    synth("render", config, "--out", out, "--clips", "1", "--quiet")
    meta = json.loads((out / "dataset.json").read_text())
    views = meta["views"]
    assert (meta["image"]["width"], meta["image"]["height"]) == SIZE
    assert (meta["heatmap"]["width"], meta["heatmap"]["height"]) == (64, 48)
    clip = out / "clips" / "clip_000000"
    with np.load(clip / "labels.npz") as npz:
        joints2d, visibility = npz["joints2d"], npz["visibility"]
    assert joints2d.shape[1] == len(views)
    for v, view in enumerate(views):
        with Image.open(clip / "rgb" / view / "000000.jpg") as im:
            assert im.size == SIZE
            rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
        assert rgb.std() > 5.0, f"{view}: a flat image"
        seen = visibility[0, v] == VIS_VISIBLE
        assert seen.any(), f"{rig_file.stem}/{view}: the camera sees no joint of the body"
    preview = tmp_path / "preview.png"
    synth("preview", out, "--out", preview)
    with Image.open(preview) as im:
        # Tiles keep the image's aspect ratio (tile width 256 px for small renders).
        assert im.size == (256 * len(views), 192)


@pytest.mark.parametrize("rig_file", RIGS, ids=[p.stem for p in RIGS])
def test_example_rig_passes_the_marker_check_through_osl(tmp_path, rig_file):
    """`synth rig check` on every camera of the example rig (real Cycles marker renders through the OSL cameras,
    at 128 px to stay fast): every camera well within the 0.25 px the check asks for."""
    proc = synth("rig", "check", rig_file, "--resolution", "128", "--samples", "64", "--json", "--out",
                 tmp_path / "check")
    report = json.loads(proc.stdout)
    cameras = report["cameras"] if isinstance(report, dict) else report
    assert len(cameras) >= 2
    for cam in cameras:
        assert cam["render"] == "osl"
        assert cam["passed"] and cam["max_error_px"] < 0.1, cam["name"]
    assert (tmp_path / "check" / "contact_sheet.png").is_file()


def test_a_kalibr_calibration_becomes_rendered_labelled_data_with_two_commands(tmp_path):
    """`synth rig import` of a Kalibr camchain, then `synth render` of the written config: images of the
    calibration's aspect at the chosen size, and labels whose 2D points are OpenCV's projection of their 3D joints
    through the imported (scaled) calibration."""
    cv2 = pytest.importorskip("cv2")
    import yaml

    chain = REPO / "tests" / "data" / "calib" / "kalibr_camchain_equidistant.yaml"
    rig = tmp_path / "my_rig.yaml"
    synth("rig", "import", chain, "--format", "kalibr", "--out", rig, "--resolution", "64")
    small = tmp_path / "small.yaml"
    small.write_text(f"base: {rig}\nclips: {{count: 1, frames: 1}}\nrender: {{preset: draft, samples: 4}}\n")
    out = tmp_path / "out"
    synth("render", small, "--out", out, "--clips", "1", "--quiet")
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["views"] == ["cam0", "cam1"] and (meta["image"]["width"], meta["image"]["height"]) == (64, 64)
    clip = out / "clips" / "clip_000000"
    with Image.open(clip / "rgb" / "cam0" / "000000.jpg") as im:
        assert im.size == (64, 64)
    with np.load(clip / "labels.npz") as npz:
        j3, j2, vis = npz["joints3d_camera"], npz["joints2d"], npz["visibility"]
    assert (vis[0, 0] == VIS_VISIBLE).any()
    cams = yaml.safe_load(chain.read_text())
    for v, key in enumerate(("cam0", "cam1")):
        fu, fv, pu, pv = cams[key]["intrinsics"]
        s = 64 / cams[key]["resolution"][0]
        K = np.array([[fu * s, 0, (pu + 0.5) * s - 0.5], [0, fv * s, (pv + 0.5) * s - 0.5], [0, 0, 1]])
        pts = j3[0, v]
        front = pts[:, 2] > 0.05 * np.linalg.norm(pts, axis=-1)
        ref, _ = cv2.fisheye.projectPoints(pts[front][:, None], np.zeros(3), np.zeros(3), K,
                                           np.array(cams[key]["distortion_coeffs"]))
        assert np.abs(j2[0, v][front] - ref[:, 0]).max() < 0.05
