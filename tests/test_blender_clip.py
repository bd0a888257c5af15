"""Render a tiny clothed clip with a loose garment through BlenderScene and check files, images and passes."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

pytestmark = pytest.mark.blender

pytest.importorskip("bpy")
os.environ.setdefault("EGORIG_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".cache", "egorig"))

from PIL import Image  # noqa: E402

from synth.appearance.bodymap import part_names_present  # noqa: E402
from synth.appearance.garments import posed_garments  # noqa: E402
from synth.appearance.model import GARMENT_MASK_BASE, garment_mask_value  # noqa: E402
from synth.appearance.sampling import sample_appearance, sample_environment  # noqa: E402
from synth.constants import VIS_VISIBLE  # noqa: E402
from synth.motions.clip import MotionClip  # noqa: E402

RES = 128
FRAMES = 2


def _motion() -> MotionClip:
    """Two frames: standing, then the left hip flexed and both arms forward (so hands and knees face the cameras)."""
    body_pose = np.zeros((FRAMES, 21, 3))
    body_pose[1, 0, 0] = -0.6   # left hip flexion
    body_pose[1, 15, 2] = -0.9  # left shoulder down/forward
    body_pose[1, 16, 2] = 0.9
    root = np.zeros((FRAMES, 3))
    root[:, 2] = [0.0, 0.4]
    return MotionClip("test_clip", "test", 10.0, root, body_pose, np.zeros((FRAMES, 3)), np.ones(FRAMES, bool))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from synth.bodies.anny_backend import AnnyBackend
    from synth.blender.scene import BlenderScene
    from synth.render_settings import RenderSettings
    from synth.config import RigConfig
    from synth.geometry.rig import build_rig, fit_head_mount
    from synth.labels.compute import compute_labels
    from synth.scene.spec import EnvironmentSpec

    out = tmp_path_factory.mktemp("clip")
    rng = np.random.default_rng(11)
    backend = AnnyBackend()
    body = backend.pose(backend.sample_identity(rng), _motion())
    app = sample_appearance(rng, part_names_present(body.part_of_face), loose_garment_probability=1.0)
    assert app.loose, "appearance with a loose garment expected"
    garments = posed_garments(body, app)
    env = sample_environment(rng)
    rig = build_rig(RigConfig(resolution=RES))
    T_world_from_device = body.T_world_from_head @ fit_head_mount(body.head_vertices_head_m, rig).T_head_from_device

    scene = BlenderScene(RenderSettings(preset="draft", device="cpu"), log_path=out / "blender.log")
    scene.set_cameras(rig)
    scene.set_body(body, app)
    scene.set_garments(garments)
    scene.set_environment(EnvironmentSpec(look=env))
    scene.set_seed(11)
    paths = {kind: {} for kind in ("rgb", "depth", "parts")}
    for f in range(FRAMES):
        scene.set_frame(f, T_world_from_device[f])
        rgb = {v: out / "rgb" / v / f"{f:06d}.jpg" for v in rig.views}
        passes = {"depth": {v: out / "depth" / v / f"{f:06d}.exr" for v in rig.views},
                  "parts": {v: out / "parts" / v / f"{f:06d}.png" for v in rig.views}}
        scene.render_views(rgb, passes=passes)
        for v in rig.views:
            paths["rgb"][(f, v)] = rgb[v]
            paths["depth"][(f, v)] = passes["depth"][v]
            paths["parts"][(f, v)] = passes["parts"][v]
    scene.save_blend(out / "scene.blend")
    scene.close()
    labels = compute_labels(body.vertices, body.faces, body.joints_ego16, T_world_from_device,
                            rig.T_device_from_camera, rig.lenses, garments=garments)
    return dict(out=out, paths=paths, labels=labels, rig=rig, app=app, garments=garments)


def test_all_files_present_and_images_not_blank(rendered):
    assert (rendered["out"] / "scene.blend").stat().st_size > 0
    assert (rendered["out"] / "blender.log").exists()
    for kind in ("rgb", "depth", "parts"):
        assert len(rendered["paths"][kind]) == FRAMES * 4
        for p in rendered["paths"][kind].values():
            assert p.is_file(), p
    assert not list(rendered["out"].rglob(".*tmp*")), "temporary files left behind"
    for p in rendered["paths"]["rgb"].values():
        img = np.asarray(Image.open(p).convert("RGB"), dtype=np.float64)
        assert img.shape == (RES, RES, 3)
        inside = img[RES // 4: 3 * RES // 4, RES // 4: 3 * RES // 4]
        assert inside.std() > 8.0, f"{p} looks blank"


def _read_depth(path):
    from synth.blender.passes import oiio_module

    oiio = oiio_module()
    inp = oiio.ImageInput.open(str(path))
    arr = np.asarray(inp.read_image(0, 0, 0, 1, "float")).reshape(RES, RES)
    inp.close()
    return arr


def test_passes_cover_visible_joints_and_show_garment(rendered):
    labels, rig = rendered["labels"], rendered["rig"]
    n_checked = n_exact = 0
    garment_values = set()
    for f in range(FRAMES):
        for vi, view in enumerate(rig.views):
            mask = np.asarray(Image.open(rendered["paths"]["parts"][(f, view)]))
            depth = _read_depth(rendered["paths"]["depth"][(f, view)])
            assert mask.shape == depth.shape == (RES, RES)
            # Background / scene pixels have no body label; body and garment pixels have positive depth.
            labelled = mask > 0
            assert (depth[labelled] > 0).all()
            garment_values |= set(np.unique(mask[mask >= GARMENT_MASK_BASE]).tolist())
            for j in np.flatnonzero(labels.visibility[f, vi] == VIS_VISIBLE):
                u, v = np.rint(labels.joints2d[f, vi, j]).astype(int)
                n_checked += 1
                n_exact += bool(mask[v, u] > 0)
                win = mask[max(v - 1, 0): v + 2, max(u - 1, 0): u + 2]
                assert (win > 0).any(), f"frame {f} {view}: visible joint {j} at ({u}, {v}) not on the body"
                d_joint = np.linalg.norm(labels.joints3d_camera[f, vi, j])
                if mask[v, u] > 0:
                    assert 0.0 < depth[v, u] < d_joint + 0.05
    assert n_checked >= 6, "too few visible joints to test"
    assert n_exact >= 0.85 * n_checked, f"only {n_exact}/{n_checked} visible joints land exactly on body pixels"
    expected = {garment_mask_value(g.kind) for g in rendered["app"].loose}
    assert expected & garment_values, f"garment mask values {expected} absent (saw {sorted(garment_values)})"
