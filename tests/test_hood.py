"""Hoodies' hoods worn down: drawn only with long sleeves and no coat, seeded and recorded; the posed hood stays
outside the body (an independent ray-parity test against the body mesh) and clear of the cameras at every frame,
lies on the back, and the labels see it: rear views lose joints behind it (occluder code garment)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from synth.appearance.sampling import sample_appearance
from synth.config import load_config
from synth.constants import BODY_PARTS, OCC_GARMENT
from synth.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
#: Clips of the default config (seed 0) with long sleeves, so hood_probability 1 gives them a hood.
HOODED_CLIPS = (3, 7, 10)


def test_a_hood_comes_only_with_long_sleeves_and_no_coat():
    hooded = 0
    for seed in range(300):
        app = sample_appearance(np.random.default_rng(seed), BODY_PARTS, 0.35, hood_probability=1.0)
        kinds = [g.kind for g in app.loose]
        has_hood = "hood" in kinds
        assert has_hood == (app.top.style == "long_sleeve" and "coat" not in kinds), (seed, kinds, app.top.style)
        if has_hood:
            hooded += 1
            hood = app.loose[kinds.index("hood")]
            assert hood.cloth == app.top.cloth  # the hoodie's own cloth
    assert hooded > 50
    assert not any(g.kind == "hood" for s in range(100)
                   for g in sample_appearance(np.random.default_rng(s), BODY_PARTS, 0.35).loose)
    with pytest.raises(ConfigError, match="hood_probability"):
        load_config(DEFAULT, overrides={"appearance": {"hood_probability": 1.5}})


@pytest.fixture(scope="module")
def hooded():
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from synth.scene.sampler import ClipSampler

    cfg = load_config(DEFAULT, overrides={"clips": {"frames": 6}, "appearance": {
        "hood_probability": 1.0, "surroundings": None, "hair": None}})
    sampler = ClipSampler(cfg, REPO / "render_configs")
    return [sampler.sample(i)[0] for i in HOODED_CLIPS]


def _inside_mesh(points: np.ndarray, verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(P,) bool: points inside a closed triangle mesh, by the parity of +x ray crossings (Moller-Trumbore)."""
    tri = verts[faces]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    d = np.array([1.0, 0.0, 0.0])
    h = np.cross(d, e2)
    a = np.einsum("ti,ti->t", e1, h)
    ok = np.abs(a) > 1e-12
    f = np.where(ok, 1.0 / np.where(ok, a, 1.0), 0.0)
    out = np.zeros(len(points), bool)
    for i, p in enumerate(points):
        s = p - tri[:, 0]
        u = f * np.einsum("ti,ti->t", s, h)
        q = np.cross(s, e1)
        v = f * (q @ d)
        t = f * np.einsum("ti,ti->t", e2, q)
        hits = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        out[i] = bool(hits.sum() % 2)
    return out


def test_the_hood_stays_outside_the_body_and_clear_of_the_cameras(hooded):
    for spec in hooded:
        (hood,) = [g for g in spec.garments if g.kind == "hood"]
        assert spec.appearance.to_json()["loose"][-1]["kind"] == "hood"
        cams = (spec.T_world_from_device[:, None] @ spec.rig.T_device_from_camera)[..., :3, 3]
        assert np.linalg.norm(hood.vertices[:, :, None] - cams[:, None], axis=-1).min() > 0.1
        body = spec.posed.vertices.astype(np.float64)
        # The parity test finds the neck and hip joints inside the body.
        assert _inside_mesh(spec.posed.joints_ego16[0, [1, 8, 9]], body[0], spec.posed.faces).all()
        for f in range(spec.num_frames):
            inside = _inside_mesh(hood.vertices[f].astype(np.float64), body[f], spec.posed.faces)
            assert inside.mean() < 0.01, f"{spec.clip_id} frame {f}: {inside.mean():.1%} of the hood in the body"


def test_the_hood_lies_on_the_back(hooded):
    for spec in hooded:
        (hood,) = [g for g in spec.garments if g.kind == "hood"]
        # In the head frame (x right, y back, z down) the hood is behind the neck and below the head.
        T_head_from_world = np.linalg.inv(spec.posed.T_world_from_head[0])
        local = hood.vertices[0] @ T_head_from_world[:3, :3].T + T_head_from_world[:3, 3]
        assert np.median(local[:, 1]) > 0.03 and np.median(local[:, 2]) > 0.1, np.median(local, axis=0)


def test_rear_views_lose_joints_behind_the_hood(hooded):
    from synth.labels.compute import compute_clip_labels

    for spec in hooded:
        without = dataclasses.replace(spec, garments=tuple(g for g in spec.garments if g.kind != "hood"))
        rear = [k for k, v in enumerate(spec.rig.views) if v.startswith("back")]
        front = [k for k, v in enumerate(spec.rig.views) if v.startswith("front")]
        a, b = (compute_clip_labels(s, 64, 1.0) for s in (spec, without))
        gained = (a.occluder == OCC_GARMENT).sum(axis=(0, 2)) - (b.occluder == OCC_GARMENT).sum(axis=(0, 2))
        assert gained[rear].sum() > 20, (spec.clip_id, gained)
        assert gained[front].sum() <= 0.1 * gained[rear].sum(), (spec.clip_id, gained)


def test_the_back_is_found_with_and_without_labelled_eyes(hooded):
    """The hood's back direction from the eyes agrees with the one from the shoulders (bodies without eyes)."""
    from synth.appearance.bodymap import body_landmarks
    from synth.appearance.hood import _back_direction
    from synth.constants import PART_INDEX

    posed = hooded[0].posed
    rest = np.asarray(posed.rest_vertices, dtype=np.float64)
    lm = body_landmarks(rest, np.asarray(posed.faces), np.asarray(posed.part_of_face))
    with_eyes = _back_direction(rest, lm)
    no_eyes = dataclasses.replace(lm, vertex_part=np.where(lm.vertex_part == PART_INDEX["eyes"], PART_INDEX["head"],
                                                           lm.vertex_part))
    assert float(with_eyes @ _back_direction(rest, no_eyes)) > 0.95
