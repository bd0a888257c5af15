"""One ClipSpec, two consumers: what Cycles draws (its object-index pass) is exactly what the labels ray-cast.

A real small render of a sampled clip with a loose garment, the ground and an extra occluder plate hung between a
rear camera and an ankle. Every non-background code in the object-index pass is an occluder the spec lists, every
occluder class the spec lists is drawn, and at every joint the labels call occluded the pixel shows the occluder
the labels name (body, garment or scene), while at visible joints it shows the body.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.blender

pytest.importorskip("bpy")
os.environ.setdefault("EGORIG_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".cache", "egorig"))

from PIL import Image  # noqa: E402

from synth.config import load_config  # noqa: E402
from synth.constants import (  # noqa: E402
    JOINT_INDEX, OCC_BODY, OCC_GARMENT, OCC_NONE, OCC_SCENE, VIS_OCCLUDED, VIS_VISIBLE,
)
from synth.labels.compute import compute_clip_labels  # noqa: E402
from synth.labels.projection import camera_centres_world  # noqa: E402
from synth.scene.sampler import ClipSampler  # noqa: E402
from synth.scene.spec import SPEC_CODES, ClipSpec, SceneMesh  # noqa: E402


REPO = Path(__file__).resolve().parents[1]
RES = 96
#: Half side of the occluder plate, m, and the least clearance it keeps from the body, m.
PLATE_HALF_M = 0.03
PLATE_CLEARANCE_M = 0.06
#: Fraction of a group's joints whose pixel must show what the labels say (silhouette edges may not).
MIN_AGREEMENT = 0.85


def _plate_towards(spec: ClipSpec, view: str, joint: str) -> SceneMesh:
    """A small horizontal plate on the ray from `view`'s camera to `joint` (frame 0), clear of the body."""
    v = spec.rig.views.index(view)
    centre = camera_centres_world(spec.T_world_from_device[:1], spec.rig.T_device_from_camera)[0, v]
    target = spec.posed.joints_ego16[0, JOINT_INDEX[joint]]
    body = spec.posed.vertices[0].astype(np.float64)
    for t in np.linspace(0.08, 0.5, 22):
        p = centre + t * (target - centre)
        if np.linalg.norm(body - p, axis=1).min() > PLATE_CLEARANCE_M + PLATE_HALF_M * np.sqrt(2):
            h = PLATE_HALF_M
            verts = p + np.array([[-h, -h, 0.0], [h, -h, 0.0], [h, h, 0.0], [-h, h, 0.0]])
            return SceneMesh("plate", verts, np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32))
    raise AssertionError(f"no room for a plate between {view} and {joint}")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from synth.run.blender import load_blender

    cfg = load_config(REPO / "render_configs" / "default.yaml", overrides={
        "rig": {"resolution": RES}, "clips": {"frames": 1},
        "appearance": {"loose_garment_probability": 1.0, "hair": None},
        "render": {"preset": "draft", "samples": 2, "device": "cpu", "threads": 1}})
    settings = load_blender(cfg)
    from synth.blender.scene import BlenderScene

    sampler = ClipSampler(cfg, REPO / "render_configs")
    spec, _ = sampler.sample(3)
    assert spec.garments, "a clip with a loose garment expected"
    plate = _plate_towards(spec, "back_left", "left_foot")
    spec = dataclasses.replace(spec, environment=dataclasses.replace(spec.environment, occluders=(plate,)))
    labels = compute_clip_labels(spec, cfg.labels.heatmap_size, cfg.labels.heatmap_sigma_px)

    out = tmp_path_factory.mktemp("spec")
    scene = BlenderScene(settings, log_path=out / "blender.log")
    scene.load(spec)
    scene.set_frame(0, spec.T_world_from_device[0])
    views = spec.rig.views
    objects = {v: out / "objects" / f"{v}.png" for v in views}
    scene.render_views({v: out / "rgb" / f"{v}.png" for v in views}, passes={"objects": objects})
    scene.close()
    codes = {v: np.asarray(Image.open(objects[v])) for v in views}
    return spec, labels, codes


def test_renderer_draws_exactly_the_spec_occluders(rendered):
    spec, _, codes = rendered
    drawn = set().union(*(np.unique(c).tolist() for c in codes.values())) - {OCC_NONE}
    listed = {OCC_BODY} | ({OCC_GARMENT} if spec.garments else set()) | {m.code for m in spec.environment.meshes()}
    assert drawn <= set(SPEC_CODES), f"object codes {sorted(drawn)} outside the occluder codes {SPEC_CODES}"
    assert drawn == listed, f"drawn {sorted(drawn)}, but the spec lists {sorted(listed)}"
    for c in codes.values():
        assert c.shape == (RES, RES) and c.dtype == np.uint8


def test_each_joint_pixel_shows_what_the_labels_say(rendered):
    """Per group (visible joints; joints occluded by the body, a garment, the scene) the pixel at the joint shows
    the body or the named occluder (silhouette edges may disagree: MIN_AGREEMENT)."""
    spec, labels, codes = rendered
    groups: dict[tuple[str, int], list[bool]] = {}
    for v, view in enumerate(spec.rig.views):
        for j in range(labels.visibility.shape[2]):
            vis = labels.visibility[0, v, j]
            if vis not in (VIS_VISIBLE, VIS_OCCLUDED):
                continue
            want = OCC_BODY if vis == VIS_VISIBLE else int(labels.occluder[0, v, j])
            u, w = np.rint(labels.joints2d[0, v, j]).astype(int)
            if 0 <= u < RES and 0 <= w < RES:
                groups.setdefault(("visible" if vis == VIS_VISIBLE else "occluded", want), []).append(
                    bool(codes[view][w, u] == want))
    assert sum(map(len, groups.values())) >= 20, "too few joints in the images to compare"
    for key, hits in groups.items():
        assert np.mean(hits) >= MIN_AGREEMENT, f"{key}: only {sum(hits)}/{len(hits)} joint pixels agree"
    for code in (OCC_BODY, OCC_GARMENT, OCC_SCENE):
        assert groups.get(("occluded", code)), f"no joint occluded by code {code}: the test scene is too easy"


def test_plate_hides_the_ankle_in_both(rendered):
    spec, labels, codes = rendered
    v, j = spec.rig.views.index("back_left"), JOINT_INDEX["left_foot"]
    assert labels.visibility[0, v, j] == VIS_OCCLUDED and labels.occluder[0, v, j] == OCC_SCENE
    u, w = np.rint(labels.joints2d[0, v, j]).astype(int)
    assert codes["back_left"][w, u] == OCC_SCENE
