"""Buildable placements: every camera (and the ego4view preset's bars) keeps rig.min_head_clearance_m from the head;
a violation is refitted (device moved along the head's y axis) or rejected in one line; rig.rear_drop_m lowers the
rear pair and D-RH is measured at its height. Checked against an analytic ellipsoid head and on real Anny heads for
every shipped rig."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synth.config import load_config, load_sweep
from synth.errors import ConfigError
from synth.geometry.rig import (HEAD_SLAB_HALF_HEIGHT_M, HeadClearanceError, build_rig, camera_head_clearance_m,
                                fit_head_mount)

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "render_configs"
DEFAULT = CONFIGS / "default.yaml"

#: Ellipsoid head: semi-axes (x, y, z) and centre in the head frame (x right, y back, z down), metres. Its face is
#: at y = -0.08 and its back at y = 0.12 in the plane z = -0.07 (the default mount height).
SEMI_AXES = np.array([0.075, 0.10, 0.12])
CENTRE = np.array([0.0, 0.02, -0.07])


def ellipsoid_vertices(n: int = 20000) -> np.ndarray:
    """(n, 3) points spread evenly over the ellipsoid (Fibonacci lattice), head frame, metres (spacing ~3 mm)."""
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(1.0 - z * z)
    phi = np.pi * (1.0 + 5.0 ** 0.5) * i
    unit = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
    return CENTRE + unit * SEMI_AXES


def back_y_at(x: float, z: float) -> float:
    """The ellipsoid's back surface (largest y) at (x, z), analytic."""
    u = ((x - CENTRE[0]) / SEMI_AXES[0]) ** 2 + ((z - CENTRE[2]) / SEMI_AXES[2]) ** 2
    return CENTRE[1] + SEMI_AXES[1] * np.sqrt(1.0 - u)


def slab_back_y(z: float) -> float:
    """D-RH's back of the head at height z: the back-most surface point within HEAD_SLAB_HALF_HEIGHT_M of z on the
    mid-line, analytic."""
    return max(back_y_at(0.0, zz) for zz in np.linspace(z - HEAD_SLAB_HALF_HEIGHT_M, z + HEAD_SLAB_HALF_HEIGHT_M, 301))


def rig(**overrides):
    cfg = load_config(DEFAULT, overrides={"rig": overrides})
    return build_rig(cfg.rig, DEFAULT.parent)


def test_clearance_matches_the_analytic_ellipsoid():
    verts = ellipsoid_vertices()
    # On the mid-line at the equator: 2 cm inside the back, 3 cm behind it, 5 cm ahead of the face.
    points = np.array([[0.0, 0.10, -0.07], [0.0, 0.15, -0.07], [0.0, -0.13, -0.07], [0.0, 0.02, -0.07]])
    got = camera_head_clearance_m(verts, points)
    np.testing.assert_allclose(got[:3], [-0.02, 0.03, 0.05], atol=0.002)
    assert got[3] == pytest.approx(-0.10, abs=0.002)  # the centre: 10 cm from the nearer (front or back) surface
    # Off the mid-line, where the surface is oblique: a point 2 cm behind the surface at x = 6 cm is nearer than 2 cm
    # to it; the reference is the distance to a 50x denser sampling of the surface (spacing ~0.4 mm).
    point = np.array([0.06, back_y_at(0.06, -0.07) + 0.02, -0.07])
    reference = np.sqrt(((ellipsoid_vertices(1_000_000) - point) ** 2).sum(axis=1).min())
    assert reference < 0.015
    assert camera_head_clearance_m(verts, point[None])[0] == pytest.approx(reference, abs=0.002)


def test_a_rear_bar_through_the_head_is_refitted_backwards():
    verts = ellipsoid_vertices()
    # Face anchor, 6 cm clearance: device origin at y = -0.14, rear pair at y = -0.14 + 0.25 = 0.11, 1 cm INSIDE the
    # back of the head on the mid-line (the bar joining the rear cameras), while the cameras at x = +-6 cm are
    # 0.11 - back_y_at(0.06) = 3 cm behind the surface there.
    r = rig(front_to_rear_m=0.25)
    assert 0.11 - back_y_at(0.06, -0.07) == pytest.approx(0.03)
    mount = fit_head_mount(verts, r, clip="clip_000007")
    # Moved back until the bar's midpoint clears the head by the minimum (1 cm) plus the step margin.
    rear_mid_y = mount.T_head_from_device[1, 3] + 0.25
    assert rear_mid_y - back_y_at(0.0, -0.07) == pytest.approx(0.01, abs=0.003)
    assert mount.refit_m == pytest.approx(0.02, abs=0.003)
    assert mount.d_fh_m == pytest.approx(0.06 - mount.refit_m)
    assert mount.camera_clearance_m.shape == (4,)
    assert (mount.camera_clearance_m >= 0.01).all()
    # The same placement with the policy 'reject': one line naming the clip, the bar, the field and the fixes.
    with pytest.raises(HeadClearanceError) as err:
        fit_head_mount(verts, rig(front_to_rear_m=0.25, head_clearance="reject"), clip="clip_000007")
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, ConfigError)
    assert "clip_000007: the bar back_left-back_right would sit 1.0 cm inside the head surface" in msg
    assert "rig.min_head_clearance_m" in msg and "rig.rear_drop_m" in msg and "head_clearance: refit" in msg


def test_a_placement_no_shift_can_clear_is_rejected():
    verts = ellipsoid_vertices()
    # Rear pair 10 cm behind the front pair: inside the head whichever way the device moves along y.
    with pytest.raises(HeadClearanceError, match=r"moving the device front or back cannot clear it all"):
        fit_head_mount(verts, rig(front_to_rear_m=0.10), clip="clip_000001")


def test_a_rig_with_room_is_not_moved_and_rear_drop_measures_d_rh_at_its_height():
    verts = ellipsoid_vertices()
    flat = fit_head_mount(verts, rig(front_to_rear_m=0.30))
    assert flat.refit_m == 0.0
    assert flat.d_rh_m == pytest.approx(-0.14 + 0.30 - slab_back_y(-0.07), abs=0.003)
    dropped = fit_head_mount(verts, rig(front_to_rear_m=0.30, rear_drop_m=0.08))
    assert dropped.refit_m == 0.0
    np.testing.assert_array_equal(dropped.T_head_from_device, flat.T_head_from_device)
    # The rear cameras sit 8 cm lower (z down), where this head's back is nearer the face.
    assert rig(rear_drop_m=0.08).camera("back_left").position_device_m[2] == pytest.approx(0.08)
    assert rig(rear_drop_m=0.08).camera("front_left").position_device_m[2] == 0.0
    assert dropped.d_rh_m == pytest.approx(-0.14 + 0.30 - slab_back_y(-0.07 + 0.08), abs=0.003)
    assert dropped.d_rh_m > flat.d_rh_m + 0.01


def test_rear_drop_is_refused_for_custom_rigs(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("base: " + str(CONFIGS / "rigs" / "headset_4cam.yaml") + "\nrig: {rear_drop_m: 0.05}\n")
    with pytest.raises(ConfigError, match=r"rig: .*rear_drop_m is for preset 'ego4view'"):
        load_config(cfg)


def shipped_configs():
    """(label, config) for every rig that ships: the configs, the example rigs and the sweep variants."""
    out = []
    for path in [DEFAULT, CONFIGS / "smoke.yaml", CONFIGS / "ego4view.yaml", *sorted((CONFIGS / "rigs").glob("*.yaml"))]:
        out.append((path.stem, load_config(path)))
    for path in sorted((CONFIGS / "sweeps").glob("*.yaml")):
        for name, cfg in load_sweep(path)[1]:
            out.append((f"{path.stem}/{name}", cfg))
    return out


def test_every_shipped_rig_fits_real_heads_without_refits():
    """On real Anny heads every shipped rig clears the head as configured; the sweep's 26 cm rig (rear pair 10 cm
    lower) gives D-RH around the paper's 3-5 cm."""
    from synth.scene.sampler import ClipSampler

    backend = None
    d_rh_26 = []
    for label, cfg in shipped_configs():
        cfg = cfg.model_copy(update={"clips": cfg.clips.model_copy(update={"frames": 2})})
        sampler = ClipSampler(cfg, CONFIGS, backend=backend)
        backend = sampler.backend
        for index in range(16 if label.endswith("/dfr26") else 4):
            spec, _ = sampler.sample(index)
            assert spec.mount.refit_m == 0.0, (label, index)
            assert (spec.mount.camera_clearance_m >= cfg.rig.min_head_clearance_m).all(), (label, index)
            if label.endswith("/dfr26"):
                d_rh_26.append(spec.mount.d_rh_m)
    assert len(d_rh_26) == 16
    assert min(d_rh_26) > 0.01 and 0.03 < float(np.mean(d_rh_26)) < 0.05, d_rh_26
