"""Tests of the Anny body backend: owned model data, adult identities, retargeting, grounding, head frame, parts."""

from __future__ import annotations

import time

import numpy as np
import pytest

from synth.bodies import anny_data
from synth.constants import BODY_PARTS, JOINT_INDEX, PART_INDEX
from synth.errors import AssetError, ConfigError
from synth.motions.clip import SMPL22_INDEX, MotionClip

DEG = np.pi / 180.0


def make_clip(frames: int = 1, joints: dict[str, tuple[float, float, float]] | None = None, **arrays) -> MotionClip:
    """A tiny motion clip: the same SMPL joint rotvecs (radians) on every frame, other arrays as given."""
    body_pose = np.zeros((frames, 21, 3))
    for name, rotvec in (joints or {}).items():
        body_pose[:, SMPL22_INDEX[name] - 1] = rotvec
    return MotionClip(
        name="test",
        family="test",
        fps=30.0,
        root_orient=arrays.get("root_orient", np.zeros((frames, 3))),
        body_pose=body_pose,
        root_transl=arrays.get("root_transl", np.zeros((frames, 3))),
        grounded=arrays.get("grounded", np.ones(frames, dtype=bool)),
    )


def rotation_angle_deg(R_a: np.ndarray, R_b: np.ndarray) -> float:
    """Angle (deg) of the rotation taking R_b to R_a (both (3, 3))."""
    cos = (np.trace(R_b.T @ R_a) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


@pytest.fixture(scope="module")
def backend():
    anny_data.build()  # idempotent; `make setup` has normally done it already
    from synth.bodies.registry import get_backend

    return get_backend("anny")


@pytest.fixture(scope="module")
def identity(backend):
    return backend.sample_identity(np.random.default_rng(7))


@pytest.fixture(scope="module")
def tpose(backend, identity):
    return backend.pose(identity, make_clip())


# ---------------------------------------------------------------- owned data


def test_model_loads_from_owned_data_quickly(tmp_path):
    anny_data.build()
    import anny.paths
    import torch  # noqa: F401  (imports are not part of the load being timed)

    previous = anny.paths.get_anny_cache_path()
    anny.paths.set_anny_cache_path(tmp_path / "empty_anny_cache")  # anny's own cache must not be needed
    try:
        start = time.perf_counter()
        model = anny_data.load_model()
        seconds = time.perf_counter() - start
    finally:
        anny.paths.set_anny_cache_path(previous)
    assert seconds < 2.0, f"loading the owned model data took {seconds:.2f} s"
    assert model.template_vertices.shape == (13718, 3)
    assert len(model.bone_labels) == 104
    assert model.pose_parameterization == "local-ref" and model.bone_orientation == "cached"
    assert not any((tmp_path / "empty_anny_cache").rglob("*.safetensors"))


def test_missing_model_data_is_an_asset_error(tmp_path, monkeypatch):
    monkeypatch.setenv(anny_data.CACHE_ENV, str(tmp_path))
    with pytest.raises(AssetError, match="make setup"):
        anny_data.load_model()
    with pytest.raises(AssetError, match="anny_data build"):
        anny_data.load_topology()


def test_registry_rejects_unknown_backend():
    from synth.bodies.registry import get_backend

    with pytest.raises(ConfigError, match="body.backend.*'anny', 'smplx'"):
        get_backend("mannequin")
    with pytest.raises(ConfigError, match="body.options"):
        get_backend("anny", no_such_option=1)


# ---------------------------------------------------------------- identities


def test_identities_are_balanced_adults(backend):
    rng = np.random.default_rng(2024)
    identities = [backend.sample_identity(rng) for _ in range(20)]
    for ident in identities:
        assert ident.backend == "anny"
        assert 18.0 <= ident.age_years <= 65.0
        assert 1.45 <= ident.stature_m <= 2.1
        assert set(ident.params) == {"gender", "age", "muscle", "weight", "height", "proportions"}
        assert ident.params["age"] > 0.75  # anny age 0.5 (the default) is a 12-year-old
        assert ident.sex == ("male" if ident.params["gender"] < 0.5 else "female")
        assert min(ident.params["gender"], 1 - ident.params["gender"]) <= 0.1  # crisp sexes
    males = sum(i.sex == "male" for i in identities)
    assert 6 <= males <= 14, f"{males} males of 20"
    assert len({i.identity_id for i in identities}) == 20
    # statures are a population, not a constant; men are taller on average
    heights = {s: np.mean([i.stature_m for i in identities if i.sex == s]) for s in ("male", "female")}
    assert heights["male"] > heights["female"]


def test_same_seed_gives_the_same_identity(backend):
    a = backend.sample_identity(np.random.default_rng(11))
    b = backend.sample_identity(np.random.default_rng(11))
    c = backend.sample_identity(np.random.default_rng(12))
    assert a == b
    assert a.params != c.params
    rebuilt = backend.identity_from_params(a.params, age_years=a.age_years)
    assert rebuilt == a
    # without the age in years it is recovered from anny's calibrated age mapping
    assert abs(backend.identity_from_params(a.params).age_years - a.age_years) < 0.5


# ---------------------------------------------------------------- retargeting and EGO16


def test_zero_motion_is_a_tpose_facing_minus_y(tpose):
    j = tpose.joints_ego16[0]
    for side, sign in (("left", 1.0), ("right", -1.0)):
        shoulder, wrist = j[JOINT_INDEX[f"{side}_upperarm"]], j[JOINT_INDEX[f"{side}_hand"]]
        assert abs(wrist[2] - shoulder[2]) < 0.03
        direction = (wrist - shoulder) / np.linalg.norm(wrist - shoulder)
        assert direction[0] * sign > np.cos(5 * DEG), direction  # along +X (left) / -X (right)
    assert j[JOINT_INDEX["left_hand"], 0] > 0.4 and j[JOINT_INDEX["right_hand"], 0] < -0.4
    # facing -Y: the toe balls are in front of (more negative y than) the ankles
    assert j[JOINT_INDEX["left_ball"], 1] < j[JOINT_INDEX["left_foot"], 1] - 0.05
    # vertical order of a standing body
    z = j[:, 2]
    assert z[JOINT_INDEX["head"]] > z[JOINT_INDEX["neck"]] > z[JOINT_INDEX["left_thigh"]]
    assert z[JOINT_INDEX["left_thigh"]] > z[JOINT_INDEX["left_calf"]] > z[JOINT_INDEX["left_foot"]] > 0


def test_left_shoulder_raise_points_the_arm_up(backend, identity, tpose):
    raised = backend.pose(identity, make_clip(joints={"left_shoulder": (0.0, 0.0, 90 * DEG)}))
    j0, j = tpose.joints_ego16[0], raised.joints_ego16[0]
    shoulder, elbow, wrist = (JOINT_INDEX[f"left_{n}"] for n in ("upperarm", "lowerarm", "hand"))
    arm_length = np.linalg.norm(j0[elbow] - j0[shoulder]) + np.linalg.norm(j0[wrist] - j0[elbow])
    rise = j[wrist] - j[shoulder]
    assert abs(rise[0]) < 0.03 and abs(rise[1]) < 0.03
    assert abs(rise[2] - arm_length) < 0.03
    right = [JOINT_INDEX["right_hand"], JOINT_INDEX["right_lowerarm"]]
    assert np.allclose(j[right], j0[right], atol=1e-4)


def test_right_knee_bend_moves_the_ankle_backward(backend, identity, tpose):
    bent = backend.pose(identity, make_clip(joints={"right_knee": (90 * DEG, 0.0, 0.0)}, grounded=np.zeros(1, bool)))
    j0, j = tpose.joints_ego16[0], bent.joints_ego16[0]
    knee, ankle = JOINT_INDEX["right_calf"], JOINT_INDEX["right_foot"]
    shin = np.linalg.norm(j0[ankle] - j0[knee])
    offset = j[ankle] - j[knee]
    assert offset[1] > 0.9 * shin  # backward is +Y
    assert abs(offset[2]) < 0.05  # the rest shin itself leans about 5 deg, as SMPL's does
    assert np.allclose(j[JOINT_INDEX["left_foot"]], j0[JOINT_INDEX["left_foot"]], atol=1e-4)


def test_root_orientation_and_translation_are_world(backend, identity, tpose):
    quarter = backend.pose(
        identity,
        make_clip(root_orient=np.array([[0.0, 0.0, 90 * DEG]]), root_transl=np.array([[1.0, 2.0, 0.0]])),
    )
    j0, j = tpose.joints_ego16[0], quarter.joints_ego16[0]
    left_hand = j[JOINT_INDEX["left_hand"]] - j[JOINT_INDEX["neck"]]
    assert left_hand[1] > 0.4  # Rz(+90 deg) turns the body's left (+X) to +Y
    pelvis = (j[JOINT_INDEX["left_thigh"]] + j[JOINT_INDEX["right_thigh"]]) / 2
    pelvis0 = (j0[JOINT_INDEX["left_thigh"]] + j0[JOINT_INDEX["right_thigh"]]) / 2
    # root_transl is authored for the reference pelvis height and scaled to this body's size.
    from synth.motions.clip import REFERENCE_PELVIS_HEIGHT_M

    scale = backend._prepare(identity).pelvis_height_m / REFERENCE_PELVIS_HEIGHT_M
    assert 0.8 < scale < 1.15
    assert np.allclose(pelvis[:2] - pelvis0[:2], [1.0 * scale, 2.0 * scale], atol=0.02)


# ---------------------------------------------------------------- grounding


def test_standing_body_stands_on_the_floor(tpose):
    assert abs(tpose.rest_vertices[:, 2].min()) < 1e-3
    assert abs(tpose.vertices[0, :, 2].min()) < 1e-3
    assert tpose.vertices.dtype == np.float32 and tpose.vertices.shape == (1, 13718, 3)
    assert np.allclose(tpose.vertices[0], tpose.rest_vertices, atol=1e-5)


def test_grounded_frames_touch_the_floor_and_flight_is_kept(backend, identity):
    height = np.array([0.0, -0.05, 0.0, 0.15, 0.30, 0.15, 0.0, 0.0, 0.0])  # a squat-ish dip, then a jump
    grounded = np.array([True, True, True, False, False, False, True, True, True])
    transl = np.zeros((len(height), 3))
    transl[:, 2] = height
    knees = {"left_knee": (30 * DEG, 0.0, 0.0), "right_knee": (30 * DEG, 0.0, 0.0)}
    posed = backend.pose(identity, make_clip(len(height), joints=knees, root_transl=transl, grounded=grounded))
    min_z = posed.vertices[:, :, 2].min(axis=1)
    assert np.all(np.abs(min_z[grounded]) < 1e-4)
    from synth.motions.clip import REFERENCE_PELVIS_HEIGHT_M

    scale = backend._prepare(identity).pelvis_height_m / REFERENCE_PELVIS_HEIGHT_M  # root_transl fits the body
    assert np.allclose(min_z[~grounded], scale * np.array([0.15, 0.30, 0.15]), atol=0.01)
    # joints and head frame move with the vertices
    feet = posed.joints_ego16[:, JOINT_INDEX["left_foot"], 2]
    assert np.allclose(feet - min_z, feet[0] - min_z[0], atol=1e-4)


def test_grounding_offsets_interpolate_between_grounded_frames():
    from synth.bodies.anny_backend import grounding_offsets_m

    min_z = np.array([9.0, 0.1, 5.0, 5.0, 0.3, 7.0])
    grounded = np.array([False, True, False, False, True, False])
    # grounded: -0.1 at frame 1 and -0.3 at frame 4; held at the ends, linear in between
    expected = np.array([-0.1, -0.1, -0.1 - 0.2 / 3, -0.1 - 0.4 / 3, -0.3, -0.3])
    assert np.allclose(grounding_offsets_m(min_z, grounded), expected)
    assert np.allclose(grounding_offsets_m(min_z, np.zeros(6, bool)), 0.0)


# ---------------------------------------------------------------- head frame


def test_head_frame_at_rest(tpose):
    # The head frame is defined to equal diag(-1, 1, -1) in the canonical pose; 5 deg is the contract's
    # tolerance, and we additionally require it to hold to round-off (0.01 deg).
    T = tpose.T_world_from_head[0]
    angle = rotation_angle_deg(T[:3, :3], np.diag([-1.0, 1.0, -1.0]))
    assert angle < 5.0 and angle < 0.01
    assert np.allclose(T[:3, 3], tpose.joints_ego16[0, JOINT_INDEX["head"]], atol=1e-6)
    assert np.allclose(T[3], [0, 0, 0, 1])
    # head vertices in the head frame: face in front (-y), top of the head above (-z), centred in x
    head = tpose.head_vertices_head_m
    assert head[:, 1].min() < -0.08 and head[:, 2].min() < -0.1
    assert abs(head[:, 0].mean()) < 0.01


def test_head_turn_rotates_the_head_frame(backend, identity):
    turned = backend.pose(identity, make_clip(joints={"neck": (0.0, 45 * DEG, 0.0)}))
    R = turned.T_world_from_head[0, :3, :3]
    # turning to the body's left (towards +X) by 45 deg: the backward axis (y) goes from +Y towards -X
    expected_back = np.array([-np.sin(45 * DEG), np.cos(45 * DEG), 0.0])
    assert np.degrees(np.arccos(np.clip(R[:, 1] @ expected_back, -1, 1))) < 3.0
    assert R[2, 2] < -0.99  # still upright: z (down) is -Z
    up = backend.pose(identity, make_clip(joints={"head": (-40 * DEG, 0.0, 0.0)}))
    R = up.T_world_from_head[0, :3, :3]
    # looking up 40 deg: the forward axis (-y) rises 40 deg above the horizon
    forward = -R[:, 1]
    assert abs(np.degrees(np.arctan2(forward[2], -forward[1])) - 40.0) < 3.0


# ---------------------------------------------------------------- parts and UVs


def test_part_labels_cover_the_body(tpose):
    labels = tpose.part_of_face
    assert labels.shape == (27420,) and labels.dtype == np.uint8
    assert labels.max() < len(BODY_PARTS)
    counts = np.bincount(labels, minlength=len(BODY_PARTS))
    assert np.all(counts > 100), dict(zip(BODY_PARTS, counts))
    for part in ("upperarm", "forearm", "hand", "thigh", "shin", "foot"):
        left, right = counts[PART_INDEX[f"left_{part}"]], counts[PART_INDEX[f"right_{part}"]]
        assert abs(left - right) <= 0.05 * left, part
    assert counts[PART_INDEX["torso"]] > counts[PART_INDEX["neck"]]

    V, F, j = tpose.rest_vertices, tpose.faces, tpose.joints_ego16[0]
    centroid = {p: V[F[labels == PART_INDEX[p]]].reshape(-1, 3).mean(axis=0) for p in BODY_PARTS}
    for side in ("left", "right"):
        wrist, ankle = j[JOINT_INDEX[f"{side}_hand"]], j[JOINT_INDEX[f"{side}_foot"]]
        assert np.linalg.norm(centroid[f"{side}_hand"] - wrist) < 0.12
        assert np.linalg.norm(centroid[f"{side}_foot"] - ankle) < 0.16  # mid-foot, ~half a foot length
        assert abs(centroid[f"{side}_hand"][0]) > abs(wrist[0])  # beyond the wrist
        assert centroid[f"{side}_foot"][2] < ankle[2] and centroid[f"{side}_foot"][1] < ankle[1]  # below, in front
    assert centroid["scalp"][2] > centroid["eyes"][2]
    assert centroid["head"][2] > centroid["neck"][2] > centroid["torso"][2] > centroid["hips"][2]
    assert centroid["left_thigh"][2] > centroid["left_shin"][2]


def test_uvs_are_per_corner_and_in_range(tpose):
    assert tpose.uv.dtype == np.float32 and tpose.uv.ndim == 2 and tpose.uv.shape[1] == 2
    assert tpose.uv.min() >= 0.0 and tpose.uv.max() <= 1.0
    assert tpose.face_uv_idx.shape == tpose.faces.shape
    assert tpose.face_uv_idx.min() >= 0 and tpose.face_uv_idx.max() < len(tpose.uv)
    assert tpose.faces.max() < tpose.vertices.shape[1]
