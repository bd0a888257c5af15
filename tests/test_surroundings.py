"""Surroundings: rooms and clutter fitted to the whole clip (never through the body, walls at the sampled
clearances, shelves clear of each other and of the floor in use), seeded and recorded, every surface pattern, the
config, and a real Cycles render whose object-index and depth passes show the walls, shelves and clutter exactly
where an independent ray-box intersection puts them."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from synth.appearance.model import GROUND_PATTERNS, INDOOR_FLOORS, OUTDOOR_GROUNDS
from synth.appearance.sampling import sample_surface
from synth.config import load_config
from synth.constants import OCC_BODY, OCC_GARMENT, OCC_HAIR, OCC_NONE, OCC_SCENE
from synth.errors import ConfigError
from synth.scene.surroundings import (
    CEILING_HEADROOM_M, LAMP_GAP_M, LAMP_THICKNESS_M, LAMP_WALL_GAP_M, SHELF_FLOOR_GAP_M, WALL_THICKNESS_M,
    sample_surroundings,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
#: Render side (px) of the real-render test.
RES = 64
#: The surroundings config of the geometric tests: always indoors, shelves wherever they fit, three pieces of
#: clutter as close as 5 cm.
BUSY = {"indoor_probability": 1.0, "wall_clearance_m": [0.5, 3.0], "wall_height_m": [2.4, 3.2],
        "shelf_probability": 1.0, "clutter": [3, 3], "clutter_gap_m": [0.05, 0.3], "ceiling_probability": 0.5,
        "lamps": [1, 4], "lamp_flux_density": [2.0, 6.0], "lamp_temperature_k": [3000.0, 6500.0]}


def _boxes(vertices: np.ndarray) -> np.ndarray:
    """(B, 8, 3): the boxes a surroundings or prop mesh is made of (8 corners each, synth.scene.props.box order:
    index 4 z + 2 y + x of the corner)."""
    assert len(vertices) % 8 == 0
    return vertices.reshape(-1, 8, 3)


def _inside(points: np.ndarray, corners: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """(P,) bool: points (P, 3) inside the (oriented) box of 8 corners, grown by margin (m) on every side."""
    o = corners[0]
    inside = np.ones(len(points), bool)
    for k in (1, 2, 4):
        e = corners[k] - o
        length = np.linalg.norm(e)
        s = (points - o) @ (e / length)
        inside &= (s > -margin) & (s < length + margin)
    return inside


def _cylinder_body(rng: np.random.Generator, frames: int = 6) -> np.ndarray:
    """(frames * 400, 3) world m: a 0.25 m radius, 1.8 m tall column of points walking 0.6 m along +x."""
    a = rng.uniform(0, 2 * np.pi, (frames, 400))
    z = rng.uniform(0, 1.8, (frames, 400))
    x = 0.25 * np.cos(a) + np.linspace(0, 0.6, frames)[:, None]
    return np.stack([x, 0.25 * np.sin(a), z], axis=-1).reshape(-1, 3)


def _cfg(**kw) -> SimpleNamespace:
    return SimpleNamespace(**{**BUSY, **kw})


def test_walls_stand_at_the_sampled_clearances_and_shelves_keep_clear():
    for seed in range(12):
        rng = np.random.default_rng(seed)
        points = _cylinder_body(rng)
        around = sample_surroundings(np.random.default_rng([7, seed]), _cfg(), points)
        assert around.setting == "indoor" and around.floor.pattern in INDOOR_FLOORS
        assert all(m.code == OCC_SCENE and m.surface is not None for m in around.meshes)
        walls = _boxes(_named(around.meshes, "walls").vertices)
        assert len(walls) == 4
        clutter = [m for m in around.meshes if m.name.startswith("clutter_")]
        extent = np.concatenate([points] + [m.vertices for m in clutter])
        lo, hi = extent[:, :2].min(axis=0), extent[:, :2].max(axis=0)
        # Inner faces: west, east, south, north; each gap to the footprint within the configured range.
        gaps = [lo[0] - walls[0][:, 0].max(), walls[1][:, 0].min() - hi[0],
                lo[1] - walls[2][:, 1].max(), walls[3][:, 1].min() - hi[1]]
        assert all(0.5 - 1e-9 <= g <= 3.0 + 1e-9 for g in gaps), gaps
        assert all(np.isclose(np.ptp(w[:, i]), WALL_THICKNESS_M) for w, i in zip(walls, (0, 0, 1, 1)))
        height = walls[0][:, 2].max()
        lowest_ceiling = points[:, 2].max() + CEILING_HEADROOM_M + LAMP_THICKNESS_M if around.closed else 2.4
        assert max(2.4, lowest_ceiling) - 1e-9 <= height <= max(3.2, lowest_ceiling) + 1e-9
        assert np.allclose(walls[:, :, 2].max(axis=1), height)
        inner_lo = np.array([walls[0][:, 0].max(), walls[2][:, 1].max()])
        inner_hi = np.array([walls[1][:, 0].min(), walls[3][:, 1].min()])
        shelves = [m for m in around.meshes if m.name.startswith("shelf_")]
        boxes = [_aabb(m.vertices) for m in shelves]
        for m, (blo, bhi) in zip(shelves, boxes):
            # Inside the room, on the floor, clear of the floor in use.
            assert np.all(blo[:2] >= inner_lo - 1e-9) and np.all(bhi[:2] <= inner_hi + 1e-9), m.name
            assert blo[2] >= -1e-9
            grown_lo, grown_hi = lo - SHELF_FLOOR_GAP_M, hi + SHELF_FLOOR_GAP_M
            assert np.any(bhi[:2] <= grown_lo + 1e-9) or np.any(blo[:2] >= grown_hi - 1e-9), m.name
        for i in range(len(boxes)):
            for k in range(i + 1, len(boxes)):
                assert np.any(boxes[i][1][:2] <= boxes[k][0][:2] + 1e-9) or \
                    np.any(boxes[k][1][:2] <= boxes[i][0][:2] + 1e-9), "shelves overlap"
        assert len(clutter) == 3


def _aabb(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return vertices.min(axis=0), vertices.max(axis=0)


def _named(meshes, name: str):
    return next(m for m in meshes if m.name == name)


def test_closed_rooms_have_a_ceiling_over_everything_and_lamps_that_light_them_alone():
    """A ceiling closes the walls' top above everything the clip reaches; lamp panels hang under it inside the
    room, apart, in one colour, with the drawn flux per floor area; the look records that no sun, sky or HDRI
    lights the room."""
    closed_seen = open_seen = 0
    for seed in range(16):
        points = _cylinder_body(np.random.default_rng(seed))
        points[:, 2] *= 1.0 + 0.5 * (seed % 3)  # up to 5.4 m: the ceiling must rise above the walls' range
        around = sample_surroundings(np.random.default_rng([5, seed]), _cfg(), points)
        walls = _boxes(_named(around.meshes, "walls").vertices)
        height = walls[:, :, 2].max()
        if not around.closed:
            open_seen += 1
            assert not any(m.name == "ceiling" or m.name.startswith("lamp_") for m in around.meshes)
            continue
        closed_seen += 1
        assert height >= points[:, 2].max() + CEILING_HEADROOM_M + LAMP_THICKNESS_M - 1e-9
        (c_lo, c_hi) = _aabb(_named(around.meshes, "ceiling").vertices)
        outer_lo, outer_hi = walls.reshape(-1, 3).min(axis=0), walls.reshape(-1, 3).max(axis=0)
        # The ceiling rests on the walls and covers their outer footprint: no gap lets light in.
        assert np.isclose(c_lo[2], height) and np.allclose(c_lo[:2], outer_lo[:2]) and np.allclose(c_hi[:2], outer_hi[:2])
        inner_lo = np.array([walls[0][:, 0].max(), walls[2][:, 1].max()])
        inner_hi = np.array([walls[1][:, 0].min(), walls[3][:, 1].min()])
        lamps = [m for m in around.meshes if m.name.startswith("lamp_")]
        assert 1 <= len(lamps) <= 4
        boxes = [_aabb(m.vertices) for m in lamps]
        for m, (lo, hi) in zip(lamps, boxes):
            assert m.material == "lamp" and m.emission_strength > 0 and m.surface.color_a == lamps[0].surface.color_a
            assert np.isclose(hi[2], height) and np.isclose(hi[2] - lo[2], LAMP_THICKNESS_M)
            assert np.all(lo[:2] >= inner_lo + LAMP_WALL_GAP_M - 1e-9) and np.all(hi[:2] <= inner_hi - LAMP_WALL_GAP_M + 1e-9)
            assert m.to_json()["emission_strength"] == m.emission_strength
        for i in range(len(boxes)):
            for k in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[k]
                assert np.any(a[1][:2] + LAMP_GAP_M <= b[0][:2] + 1e-9) or \
                    np.any(b[1][:2] + LAMP_GAP_M <= a[0][:2] + 1e-9), "lamps too close"
        flux = sum(m.emission_strength * np.prod(hi[:2] - lo[:2]) for m, (lo, hi) in zip(lamps, boxes))
        assert 2.0 - 0.01 <= flux / np.prod(inner_hi - inner_lo) <= 6.0 + 0.01
        look = _look()
        lit = around.environment(look)
        assert lit.look.sun.strength == 0.0 and lit.look.sky.strength == 0.0 and lit.look.hdri_strength == 0.0
        assert lit.look.hdri_path == look.hdri_path  # drawn and recorded, not lighting
        assert lit.look.ground == around.floor
    assert closed_seen >= 4 and open_seen >= 4, (closed_seen, open_seen)


def test_a_room_too_small_for_a_lamp_stays_open():
    """Lamps keep LAMP_WALL_GAP_M from the walls: in a room narrower than that allows, no ceiling closes it."""
    points = _cylinder_body(np.random.default_rng(0))[:, :] * np.array([0.1, 0.1, 1.0])  # a 5 cm thin column
    tight = _cfg(wall_clearance_m=[0.3, 0.3], ceiling_probability=1.0, clutter=[0, 0], shelf_probability=0.0)
    around = sample_surroundings(np.random.default_rng(0), tight, points)
    width = np.ptp(_boxes(_named(around.meshes, "walls").vertices)[:, :, :2].reshape(-1, 2), axis=0)
    assert np.all(width - 2 * WALL_THICKNESS_M < 2 * LAMP_WALL_GAP_M + 0.25 + 0.1)
    assert not around.closed and [m.name for m in around.meshes] == ["walls"]
    roomy = sample_surroundings(np.random.default_rng(0), _cfg(ceiling_probability=1.0, clutter=[0, 0]), points)
    assert roomy.closed


def _look():
    from synth.appearance.model import Environment, SkySpec, SunSpec

    return Environment(ground=sample_surface(np.random.default_rng(0), "grass"),
                       sky=SkySpec((0.1, 0.2, 0.5), (0.5, 0.6, 0.8), 1.0),
                       sun=SunSpec(0.5, 0.8, 3.0, 5500.0, (1.0, 0.9, 0.8), 0.01), hdri_path="builtin:hdri/city.exr")


def test_a_lamp_without_light_is_refused():
    from synth.scene.spec import SceneMesh

    with pytest.raises(ValueError, match="lamp 'lamp_0' needs"):
        SceneMesh("lamp_0", np.zeros((8, 3)), np.zeros((12, 3), np.int32), material="lamp",
                  surface=sample_surface(np.random.default_rng(0), "paint"))


def test_clutter_keeps_its_gap_from_every_body_point_that_could_reach_it():
    for seed in range(12):
        points = _cylinder_body(np.random.default_rng(seed))
        gap = 0.05 + 0.02 * seed
        around = sample_surroundings(np.random.default_rng([3, seed]), _cfg(indoor_probability=0.0,
                                                                            clutter_gap_m=[gap, gap]), points)
        assert around.setting == "outdoor" and around.floor is None
        assert [m.name for m in around.meshes] == ["clutter_0", "clutter_1", "clutter_2"]
        for m in around.meshes:
            top = m.vertices[:, 2].max()
            low = points[points[:, 2] < top + gap]
            for corners in _boxes(m.vertices):
                # No body point within the gap in the plane (the piece's axes are vertical boxes: test them grown
                # by the gap horizontally and keep only points below the top plus the gap).
                flat = corners.copy()
                flat[:4, 2], flat[4:, 2] = -1.0, top + gap
                assert not _inside(low, flat, margin=gap - 1e-6).any(), (seed, m.name)
            # Resting on the floor.
            assert abs(m.vertices[:, 2].min()) < 1e-12
        # Pieces keep the gap from each other.
        boxes = [_aabb(m.vertices) for m in around.meshes]
        for i in range(3):
            for k in range(i + 1, 3):
                sep = np.maximum(boxes[k][0][:2] - boxes[i][1][:2], boxes[i][0][:2] - boxes[k][1][:2])
                assert sep.max() >= gap - 1e-9


def test_no_room_or_clutter_when_switched_off_and_always_a_room_when_asked():
    points = _cylinder_body(np.random.default_rng(0))
    for seed in range(20):
        off = sample_surroundings(np.random.default_rng(seed), _cfg(indoor_probability=0.0, clutter=[0, 0]), points)
        assert off.meshes == () and off.setting == "outdoor"
        on = sample_surroundings(np.random.default_rng(seed), _cfg(clutter=[0, 0]), points)
        assert on.setting == "indoor" and any(m.name == "walls" for m in on.meshes)


def test_every_surface_pattern_draws_valid_colours_and_unknown_ones_are_refused():
    rng = np.random.default_rng(0)
    assert set(OUTDOOR_GROUNDS) | set(INDOOR_FLOORS) <= set(GROUND_PATTERNS)
    for pattern in GROUND_PATTERNS:
        for _ in range(20):
            s = sample_surface(rng, pattern)
            assert s.pattern == pattern and s.scale_m > 0 and 0 <= s.roughness <= 1
            assert all(0.0 <= c <= 1.0 for c in (*s.color_a, *s.color_b))
    with pytest.raises(ValueError, match="unknown surface pattern 'lava'"):
        sample_surface(rng, "lava")


def test_bad_surroundings_config_names_the_field():
    with pytest.raises(ConfigError, match="wall_clearance_m"):
        load_config(DEFAULT, overrides={"appearance": {"surroundings": {"wall_clearance_m": [0.1, 1.0]}}})
    with pytest.raises(ConfigError, match="clutter"):
        load_config(DEFAULT, overrides={"appearance": {"surroundings": {"clutter": [3, 1]}}})


@pytest.fixture(scope="module")
def busy_specs():
    """Indoor clips of the default config with every shelf and three pieces of clutter (a seated clip among them,
    so its chair and table are in the room too)."""
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from synth.scene.sampler import ClipSampler

    cfg = load_config(DEFAULT, overrides={"clips": {"frames": 6}, "appearance": {"surroundings": BUSY},
                                          "motion": {"families": ["walk", "sit_chair", "squat"], "weights": None}})
    sampler = ClipSampler(cfg, REPO / "render_configs")
    return cfg, sampler, [sampler.sample(i)[0] for i in range(4)]


def test_nothing_stands_in_the_body_or_the_cameras_at_any_frame(busy_specs):
    _, _, specs = busy_specs
    assert any(m.name == "chair" for s in specs for m in s.environment.occluders), "no seated clip drawn"
    for spec in specs:
        env = spec.environment
        assert env.setting == "indoor" and env.look.ground.pattern in INDOOR_FLOORS
        cams = (spec.T_world_from_device[:, None] @ spec.rig.T_device_from_camera)[..., :3, 3].reshape(-1, 3)
        body = spec.posed.vertices.reshape(-1, 3).astype(np.float64)
        for mesh in env.occluders:
            if mesh.name in ("chair", "table"):
                continue  # the seat carries the body (tests/test_motion_mix.py checks those)
            for corners in _boxes(mesh.vertices):
                assert not _inside(body, corners).any(), f"{spec.clip_id}: {mesh.name} passes through the body"
                assert not _inside(cams, corners, margin=0.1).any(), f"{spec.clip_id}: {mesh.name} at a camera"
        props = [m for m in env.occluders if m.name in ("chair", "table")]
        for piece in (m for m in env.occluders if m.name.startswith("clutter_")):
            for prop in props:
                a, b = _aabb(piece.vertices), _aabb(prop.vertices)
                assert np.any(a[1][:2] <= b[0][:2]) or np.any(b[1][:2] <= a[0][:2]), "clutter in the furniture"


def test_surroundings_are_seeded_and_recorded(busy_specs):
    cfg, sampler, specs = busy_specs
    again = sampler.sample(1)[0]
    first = specs[1].environment
    assert [m.name for m in again.environment.occluders] == [m.name for m in first.occluders]
    assert all(np.array_equal(a.vertices, b.vertices) for a, b in zip(again.environment.occluders, first.occluders))
    record = first.to_json()
    assert record["setting"] == "indoor" and record["ground"]["pattern"] in INDOOR_FLOORS
    assert [o["name"] for o in record["occluders"]] == [m.name for m in first.occluders]
    walls = next(o for o in record["occluders"] if o["name"] == "walls")
    assert walls["surface"]["pattern"] in ("paint", "brick", "wall_tiles")
    # Switched off, the clip is the same clip in the open (the other streams do not move).
    plain = ClipSamplerWithout(cfg, sampler).sample(1)[0]
    assert plain.environment.setting == "outdoor"
    assert [m.name for m in plain.environment.occluders] in ([], ["chair"], ["chair", "table"])
    assert np.array_equal(plain.posed.vertices, specs[1].posed.vertices)
    assert plain.environment.look.sky == first.look.sky


def ClipSamplerWithout(cfg, sampler):
    """A sampler of the same config with `appearance.surroundings: null`, sharing the body backend."""
    from synth.scene.sampler import ClipSampler

    off = cfg.model_copy(update={"appearance": cfg.appearance.model_copy(update={"surroundings": None})})
    return ClipSampler(off, REPO / "render_configs", backend=sampler.backend)


def _ray_boxes(origins: np.ndarray, dirs: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(R,) distance (m) along unit rays (R, 3) from origins (R, 3) to the first of the oriented boxes (B, 8, 3),
    inf where none is hit: the slab method in each box's own axes, independent of any BVH."""
    best = np.full(len(dirs), np.inf)
    for corners in boxes:
        o = corners[0]
        t_in, t_out = np.zeros(len(dirs)), np.full(len(dirs), np.inf)
        for k in (1, 2, 4):
            e = corners[k] - o
            length = np.linalg.norm(e)
            axis = e / length
            p, d = (origins - o) @ axis, dirs @ axis
            with np.errstate(divide="ignore", invalid="ignore"):
                t1, t2 = (0.0 - p) / d, (length - p) / d
            parallel = np.abs(d) < 1e-12
            t1 = np.where(parallel, np.where((p > 0) & (p < length), -np.inf, np.inf), t1)
            t2 = np.where(parallel, np.where((p > 0) & (p < length), np.inf, -np.inf), t2)
            t_in = np.maximum(t_in, np.minimum(t1, t2))
            t_out = np.minimum(t_out, np.maximum(t1, t2))
        hit = t_out >= t_in
        best = np.where(hit & (t_in < best), t_in, best)
    return best


@pytest.mark.blender
def test_cycles_draws_the_room_and_clutter_where_the_ray_boxes_put_them(busy_specs, tmp_path):
    """Per pixel of a real render: where an independent ray-box intersection says the first surface is a wall,
    shelf or piece of clutter, the object pass shows scene (or the body in front of it) and the depth pass its
    distance; where it says the sky, nothing is there."""
    pytest.importorskip("bpy")
    from synth.blender.scene import BlenderScene
    from synth.run.blender import load_blender
    from synth.scene.sampler import ClipSampler

    from PIL import Image

    cfg, sampler, _ = busy_specs
    cfg = cfg.model_copy(update={
        "rig": cfg.rig.model_copy(update={"resolution": RES}),
        "clips": cfg.clips.model_copy(update={"frames": 1}),
        "render": cfg.render.model_copy(update={"preset": "draft", "samples": 2, "device": "cpu", "threads": 1})})
    spec = ClipSampler(cfg, REPO / "render_configs", backend=sampler.backend).sample(0)[0]
    scene = BlenderScene(load_blender(cfg), log_path=tmp_path / "blender.log")
    scene.load(spec)
    scene.set_frame(0, spec.T_world_from_device[0])
    views = spec.rig.views
    objects = {v: tmp_path / "objects" / f"{v}.png" for v in views}
    depths = {v: tmp_path / "depth" / f"{v}.exr" for v in views}
    scene.render_views({v: tmp_path / "rgb" / f"{v}.png" for v in views}, passes={"objects": objects, "depth": depths})
    scene.close()

    boxes = np.concatenate([_boxes(m.vertices) for m in spec.environment.occluders])
    counts = {"scene": 0, "agree_depth": 0, "sky": 0, "sky_empty": 0, "covered": 0}
    for v, view in enumerate(views):
        code = np.asarray(Image.open(objects[view]))
        depth = _read_exr(depths[view])
        lens = spec.rig.cameras[v].lens.render_lens()
        uv = np.stack(np.meshgrid(np.arange(RES), np.arange(RES)), axis=-1).reshape(-1, 2).astype(np.float64)
        rays_cam = lens.unproject(uv)
        inside = (np.arccos(np.clip(rays_cam[:, 2], -1, 1)) < lens.max_field_angle_rad - 0.02)
        T = spec.T_world_from_device[0] @ spec.rig.T_device_from_camera[v]
        dirs = rays_cam @ T[:3, :3].T
        origins = np.broadcast_to(T[:3, 3], dirs.shape)
        t_box = _ray_boxes(origins, dirs, boxes)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_ground = np.where(dirs[:, 2] < 0, -origins[:, 2] / dirs[:, 2], np.inf)
        code, depth = code.reshape(-1), depth.reshape(-1)
        box_first = inside & np.isfinite(t_box) & (t_box < t_ground)
        # A pixel's centre ray hits a box: Cycles shows the scene there, or something closer (body, garment, hair).
        counts["covered"] += int(np.isin(code[box_first], (OCC_SCENE, OCC_BODY, OCC_GARMENT, OCC_HAIR)).sum())
        scene_px = box_first & (code == OCC_SCENE)
        counts["scene"] += int(scene_px.sum())
        counts["agree_depth"] += int((np.abs(depth[scene_px] - t_box[scene_px]) < 0.02 * t_box[scene_px]).sum())
        sky = inside & ~np.isfinite(t_box) & ~np.isfinite(t_ground)
        counts["sky"] += int(sky.sum())
        counts["sky_empty"] += int(np.isin(code[sky], (OCC_NONE, OCC_BODY, OCC_HAIR, OCC_GARMENT)).sum())
        counts.setdefault("box_first", 0)
        counts["box_first"] += int(box_first.sum())
    assert counts["box_first"] > 0.2 * len(views) * RES * RES * 0.5, counts  # the room fills a good part
    assert counts["covered"] >= 0.99 * counts["box_first"], counts
    assert counts["agree_depth"] >= 0.95 * counts["scene"], counts
    assert counts["sky_empty"] >= 0.99 * counts["sky"], counts


def _read_exr(path: Path) -> np.ndarray:
    from synth.blender.passes import oiio_module

    oiio = oiio_module()
    inp = oiio.ImageInput.open(str(path))
    arr = np.asarray(inp.read_image(0, 0, 0, 1, "float")).reshape(RES, RES)
    inp.close()
    return arr


@pytest.mark.blender
def test_a_closed_room_is_lit_by_its_lamps_alone(busy_specs, tmp_path):
    """A real render of a closed room: with its lamps it is lit about as brightly as a room under the sun and sky;
    with the lamps dimmed a million times it is black, so no sky, sun or HDRI light leaks in."""
    pytest.importorskip("bpy")
    import dataclasses

    from PIL import Image

    from synth.blender.scene import BlenderScene
    from synth.run.blender import load_blender
    from synth.scene.sampler import ClipSampler

    cfg, sampler, _ = busy_specs
    cfg = cfg.model_copy(update={
        "rig": cfg.rig.model_copy(update={"resolution": RES}),
        "clips": cfg.clips.model_copy(update={"frames": 1}),
        "appearance": cfg.appearance.model_copy(update={
            "surroundings": cfg.appearance.surroundings.model_copy(update={"ceiling_probability": 1.0}),
            "camera_effects": None, "hair": None}),
        "render": cfg.render.model_copy(update={"preset": "draft", "samples": 4, "device": "cpu", "threads": 1})})
    spec = ClipSampler(cfg, REPO / "render_configs", backend=sampler.backend).sample(2)[0]
    env = spec.environment
    assert any(m.name == "ceiling" for m in env.occluders) and env.look.sun.strength == 0.0
    dimmed = tuple(dataclasses.replace(m, emission_strength=m.emission_strength * 1e-6) if m.material == "lamp" else m
                   for m in env.occluders)
    scene = BlenderScene(load_blender(cfg), log_path=tmp_path / "blender.log")
    mean = {}
    for name, occluders in (("lit", env.occluders), ("dimmed", dimmed)):
        clip = dataclasses.replace(spec, environment=dataclasses.replace(env, occluders=occluders))
        scene.load(clip)
        scene.set_frame(0, clip.T_world_from_device[0])
        out = {v: tmp_path / name / f"{v}.png" for v in clip.rig.views}
        scene.render_views(out)
        mean[name] = float(np.mean([np.asarray(Image.open(p).convert("L"), np.float64).mean() for p in out.values()]))
    scene.close()
    assert mean["lit"] > 25.0, mean  # 8-bit display values over the whole frame, image circle and black corners
    assert mean["dimmed"] < 0.5, mean
