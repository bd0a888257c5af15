"""Strand hair: growth on a real Anny scalp (outside the body, clear of the cameras, every style where it belongs),
the label prisms (hit as often as a round strand), the rigid-occluder path of the label ray caster, the config, and
a real Cycles render of moving long hair: the rear views' object-index pass shows hair where the labels say it hides
a joint."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from synth.appearance.hair import (
    CAMERA_KEEP_OUT_M, HAIR_STYLES, MIN_LAYER_M, PRISM_CIRCUMRADIUS_PER_RADIUS, Hair, HairStyle, grow_on_body,
)
from synth.config import load_config
from synth.constants import OCC_BODY, OCC_HAIR, OCC_NONE, VIS_OCCLUDED, VIS_VISIBLE
from synth.errors import ConfigError
from synth.geometry.transforms import apply_T, invert_T

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
#: Render side (px) of the real-render test.
RES = 96
#: Fraction of hair-occluded joints whose pixel must show hair, and of visible joints whose pixel shows the body
#: (a joint at a strand's edge may fall either way).
MIN_AGREEMENT = 0.8


def _only(style: str) -> dict:
    from synth.appearance.hair import NO_HAIR

    return {"styles": {s: float(s == style) for s in (NO_HAIR, *HAIR_STYLES)}}


@pytest.fixture(scope="module")
def spec():
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from synth.scene.sampler import ClipSampler

    cfg = load_config(DEFAULT, overrides={"clips": {"frames": 2}, "appearance": {"hair": _only("long")}})
    return ClipSampler(cfg, REPO / "render_configs").sample(0)[0]


def _style(name: str, length: float, curl: float = 0.0, seed: int = 5) -> HairStyle:
    return HairStyle(style=name, length_m=length, num_strands=600, root_radius_m=0.0004, tip_radius_m=0.00016,
                     volume_m=0.015, clumps=30, clumping=0.3, curl_radius_m=curl, curl_period_m=0.04, frizz_m=0.002,
                     melanin=0.5, melanin_redness=0.2, roughness=0.3, seed=seed)


def _body_head(spec):
    return apply_T(invert_T(spec.posed.T_world_from_head[0]), spec.posed.vertices[0].astype(np.float64))


def _signed_depth(points: np.ndarray, verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Signed distance of points to the body along the nearest vertex's normal (an independent normal estimate:
    unweighted mean of the adjacent face normals)."""
    from scipy.spatial import cKDTree

    tri = verts[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    normals = np.zeros_like(verts)
    for c in range(3):
        np.add.at(normals, faces[:, c], n)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    _, idx = cKDTree(verts).query(points)
    return np.einsum("ij,ij->i", points - verts[idx], normals[idx])


@pytest.mark.parametrize("name,length", [("buzz", 0.01), ("short", 0.06), ("bob", 0.15), ("long", 0.4),
                                         ("ponytail", 0.3), ("bun", 0.2)])
def test_every_style_grows_outside_the_body_and_clear_of_the_cameras(spec, name, length):
    from synth.scene.spec import camera_centres_head

    cams = camera_centres_head(spec.mount, spec.rig)
    grown = grow_on_body(_style(name, length, curl=0.006 if name == "bob" else 0.0), spec.posed)
    hair = grown.worn_with_cameras(cams)
    pts = hair.points_at(None).astype(np.float64)
    assert pts.shape[0] == 600 and hair.radius_m.shape == pts.shape[:2] and np.isfinite(pts).all()
    depth = _signed_depth(pts[:, 1:].reshape(-1, 3), _body_head(spec), spec.posed.faces)
    assert np.quantile(depth, 0.01) > 0.0, "strands run inside the body"
    gaps = np.linalg.norm(pts.reshape(-1, 1, 3) - cams[None], axis=-1)
    assert gaps.min() >= CAMERA_KEEP_OUT_M - 1e-6
    # Where each style ends up, head frame (z down, y back): long hair hangs below the chin, a ponytail behind the
    # head down to about the chin, a bun sits on the back of the head, short cuts stay on it.
    tips = pts[:, -1]
    head = spec.posed.head_vertices_head_m
    chin_z = head[:, 2].max()
    if name == "long":
        assert np.median(tips[:, 2]) > chin_z
    elif name == "ponytail":
        assert np.median(tips[:, 2]) > chin_z - 0.03 and np.median(tips[:, 1]) > 0.05
    elif name == "bun":
        assert np.median(tips[:, 1]) > 0.0 and np.median(tips[:, 2]) < chin_z
    else:
        assert np.quantile(tips[:, 2], 0.95) < chin_z + 0.1
    # Arc length of every strand stays within the sampled length (+ curls and frizz, which add to the path).
    arc = np.linalg.norm(np.diff(pts, axis=1), axis=-1).sum(axis=1)
    assert np.median(arc) < (3.0 if name == "bob" else 1.6) * length + 0.02


def test_growth_is_seeded(spec):
    a = grow_on_body(_style("long", 0.3), spec.posed)
    b = grow_on_body(_style("long", 0.3), spec.posed)
    c = grow_on_body(_style("long", 0.3, seed=6), spec.posed)
    assert np.array_equal(a.points_head_m, b.points_head_m) and not np.allclose(a.points_head_m, c.points_head_m)


def test_label_prism_is_hit_as_often_as_the_round_strand():
    """Mean width of the prism seen from random directions (measured by projecting its corners) equals the diameter
    of the rendered round strand."""
    rng = np.random.default_rng(0)
    r = 0.0004
    pts = np.stack([np.zeros(3), np.array([0.0, 0.0, 0.01])])[None]
    hair = Hair(_style("short", 0.01), pts.astype(np.float32), np.full((1, 2), r, np.float32))
    verts, faces = hair.label_mesh()
    assert verts.shape == (6, 3) and faces.shape == (6, 3)
    ring = verts[:3, :2].astype(np.float64)
    assert np.allclose(np.linalg.norm(ring, axis=1), PRISM_CIRCUMRADIUS_PER_RADIUS * r, rtol=1e-5)
    angles = rng.uniform(0, np.pi, 20000)
    d = np.stack([np.cos(angles), np.sin(angles)], -1)  # in-plane directions across the strand
    widths = (ring @ d.T).max(axis=0) - (ring @ d.T).min(axis=0)
    assert widths.mean() == pytest.approx(2 * r, rel=0.01)


def test_a_rigid_occluder_hides_a_joint_only_where_it_is():
    """The label ray caster moves a rigid mesh per frame by its own transforms: a plate before the joint in frame 0,
    moved aside in frame 1."""
    from synth.labels.visibility import OccluderScene, compute_visibility

    body = np.array([[[0, 0, 0], [0.01, 0, 0], [0, 0.01, 0]]] * 2, dtype=np.float64) + [0, 0, -5]
    plate = np.array([[-0.1, -0.1, 0], [0.1, -0.1, 0], [0.1, 0.1, 0], [-0.1, 0.1, 0]], dtype=np.float64)
    T = np.tile(np.eye(4), (2, 1, 1))
    T[:, 2, 3] = 0.5
    T[1, 0, 3] = 1.0  # frame 1: 1 m to the side
    scene = OccluderScene(body, np.array([[0, 1, 2]]),
                          rigid_meshes=((plate, np.array([[0, 1, 2], [0, 2, 3]]), T, OCC_HAIR),))
    centres = np.array([[[0, 0, 1.0]]] * 2)
    joints = np.array([[[0, 0, 0.0]]] * 2)
    vis = compute_visibility(scene, centres, joints, np.ones((2, 1, 1), bool))
    assert vis.occluder[:, 0, 0].tolist() == [OCC_HAIR, OCC_NONE]
    assert vis.visibility[:, 0, 0].tolist() == [VIS_OCCLUDED, VIS_VISIBLE]


def test_bad_hair_config_names_the_field():
    with pytest.raises(ConfigError, match="appearance.hair.styles"):
        load_config(DEFAULT, overrides={"appearance": {"hair": {"styles": {"mohawk": 1.0}}}})
    with pytest.raises(ConfigError, match="appearance.hair.volume_m"):
        load_config(DEFAULT, overrides={"appearance": {"hair": {"volume_m": [0.02, 0.01]}}})


def test_sampled_hair_is_recorded_and_paints_the_scalp(spec):
    from synth.dataset.meta import clip_meta

    assert spec.hair is not None and spec.hair.style.style == "long"
    meta = clip_meta(spec, 0, [])
    assert meta["hair"]["style"] == "long" and meta["hair"]["num_strands"] == spec.hair.num_strands
    assert tuple(spec.appearance.hair_rgb) == spec.hair.style.albedo_rgb()
    # Worn with the same rig again, the hair regrows identically.
    again = spec.worn_with(dataclasses.replace(spec.rig))
    assert np.array_equal(again.hair.points_head_m, spec.hair.points_head_m)
    assert again.hair.moves and np.array_equal(again.hair.points_at(1), spec.hair.points_at(1))


@pytest.mark.blender
def test_rear_views_of_long_hair_show_the_hair_the_labels_report(spec, tmp_path):
    pytest.importorskip("bpy")
    from PIL import Image

    from synth.blender.scene import BlenderScene
    from synth.labels.compute import compute_clip_labels
    from synth.run.blender import load_blender

    cfg = load_config(DEFAULT, overrides={
        "rig": {"resolution": RES}, "clips": {"frames": 2}, "appearance": {"hair": _only("long")},
        "render": {"preset": "draft", "samples": 2, "device": "cpu", "threads": 1}})
    from synth.scene.sampler import ClipSampler

    one = ClipSampler(cfg, REPO / "render_configs").sample(0)[0]
    assert np.allclose(one.hair.points_head_m, spec.hair.points_head_m, atol=1e-6)
    # The hair moves: frame 1 (rendered) is not the rest shape, so Cycles and the labels must both take its shape.
    assert one.hair.moves and np.abs(one.hair.points_at(1) - one.hair.points_head_m).max() > 0.01
    labels = compute_clip_labels(one, cfg.labels.heatmap_size, cfg.labels.heatmap_sigma_px)
    scene = BlenderScene(load_blender(cfg), log_path=tmp_path / "blender.log")
    scene.load(one)
    scene.set_frame(1, one.T_world_from_device[1])
    views = one.rig.views
    objects = {v: tmp_path / "objects" / f"{v}.png" for v in views}
    scene.render_views({v: tmp_path / "rgb" / f"{v}.png" for v in views}, passes={"objects": objects})
    scene.close()
    codes = {v: np.asarray(Image.open(objects[v])) for v in views}

    hair_hits, body_hits = [], []
    for v, view in enumerate(views):
        if view.startswith("back"):
            assert (codes[view] == OCC_HAIR).mean() > 0.05, f"{view}: long hair should fill part of a rear view"
        for j in range(labels.visibility.shape[2]):
            u, w = np.rint(labels.joints2d[1, v, j]).astype(int)
            if not (0 <= u < RES and 0 <= w < RES):
                continue
            if labels.visibility[1, v, j] == VIS_OCCLUDED and labels.occluder[1, v, j] == OCC_HAIR:
                hair_hits.append(codes[view][w, u] == OCC_HAIR)
            elif labels.visibility[1, v, j] == VIS_VISIBLE:
                body_hits.append(codes[view][w, u] == OCC_BODY)
    rear_hair = labels.occluder[1, [i for i, v in enumerate(views) if v.startswith("back")]] == OCC_HAIR
    assert rear_hair.any(), "no joint hidden by hair in the rear views"
    assert len(hair_hits) >= 4 and np.mean(hair_hits) >= MIN_AGREEMENT, hair_hits
    assert len(body_hits) >= 8 and np.mean(body_hits) >= MIN_AGREEMENT, body_hits


@pytest.mark.parametrize("moves", [False, True])
def test_the_rigid_bvh_path_equals_moving_the_prisms_every_frame(spec, moves):
    """The label ray caster visits the hair's own BVH in the head frame (refitted per frame where the hair moves in
    it); the same prisms moved into the world every frame (the garment path, class 2) give the same visibility and
    the same occluders."""
    from synth.geometry.transforms import apply_T
    from synth.labels.compute import compute_labels

    if not moves:
        spec = dataclasses.replace(spec, hair=dataclasses.replace(spec.hair, motion=None))
    assert spec.hair.moves == moves
    faces = spec.hair.label_faces()
    T = spec.posed.T_world_from_head
    moving = np.stack([apply_T(T[f], spec.hair.label_vertices(f).astype(np.float64))
                       for f in range(spec.num_frames)])  # (F, Vr, 3) world m
    if moves:
        assert np.abs(moving[-1] - apply_T(T[-1], spec.hair.label_vertices().astype(np.float64))).max() > 0.01
    common = dict(posed_vertices_world=spec.posed.vertices, body_faces=spec.posed.faces,
                  joints3d_world=spec.posed.joints_ego16, T_world_from_device=spec.T_world_from_device,
                  T_device_from_camera=spec.rig.T_device_from_camera, lenses=spec.rig.lenses,
                  scene_meshes=[(m.vertices, m.faces, m.code) for m in spec.environment.meshes()],
                  body_part_of_face=spec.posed.part_of_face)
    rigid = compute_labels(**common, rigid_meshes=spec.rigid_occluders())
    moved = compute_labels(**common, garments=[(moving, faces)])
    assert (rigid.occluder == OCC_HAIR).any()
    assert np.array_equal(rigid.visibility, moved.visibility)
    assert np.array_equal(rigid.occluder, np.where(moved.occluder == 2, OCC_HAIR, moved.occluder))
