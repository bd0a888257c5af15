"""SmplxBackend on tiny, self-built SMPL-X / SMPL model files loaded through smplx.create."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synth.bodies.base import BodyIdentity
from synth.bodies.smplx_backend import SmplxBackend
from synth.constants import BODY_PARTS, EGO16_JOINTS
from synth.errors import AssetError
from synth.motions.clip import MotionClip
from tests.tiny_smplx import TRIPPED, Tripwire, write_tiny_smpl, write_tiny_smplx

# SMPL joint index of every EGO16 joint, written out independently of the backend's table.
EXPECTED_SMPL_INDEX = [15, 12, 16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8, 10, 11]
LEFT_SHOULDER, LEFT_WRIST, RIGHT_WRIST = 16, 20, 21
HEAD_DIAG = np.diag([-1.0, 1.0, -1.0])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    smplx_info = write_tiny_smplx(root, with_object_array=True)
    smpl_info = write_tiny_smpl(root)
    return root, smplx_info, smpl_info


@pytest.fixture(scope="module")
def backend(models):
    return SmplxBackend(models[0], gender="neutral")


def _identity(gender: str = "neutral", betas=None) -> BodyIdentity:
    betas = [0.0] * 10 if betas is None else betas
    return BodyIdentity("smplx", "test", gender, 30.0, 1.7, {"gender": gender, "betas": list(betas)})


def _motion(num_frames: int = 2, **overrides) -> MotionClip:
    fields = {
        "root_orient": np.zeros((num_frames, 3)),
        "body_pose": np.zeros((num_frames, 21, 3)),
        "root_transl": np.zeros((num_frames, 3)),
        "grounded": np.ones(num_frames, dtype=bool),
    }
    fields.update(overrides)
    return MotionClip(name="t", family="test", fps=30.0, **fields)


def _template(root: Path, name: str = "smplx/SMPLX_NEUTRAL.npz") -> tuple[np.ndarray, np.ndarray]:
    """Rest joints (J, 3) (betas 0, from the regressor) and vertices (V, 3) of a tiny model file, SMPL axes."""
    with np.load(root / name) as data:
        v = data["v_template"]
        return data["J_regressor"] @ v, v


def test_smplx_create_loads_the_tiny_files(models, backend):
    import smplx

    module = backend._models["neutral"].module
    assert isinstance(module, smplx.SMPLX)
    assert module.J_regressor.shape[0] == 55
    both = SmplxBackend(models[0] / "smplx", gender="both")  # the smplx/ folder itself is accepted too
    assert set(both._models) == {"male", "female"}


def test_pickled_npz_entries_are_never_unpickled(tmp_path):
    write_tiny_smplx(tmp_path, genders=("NEUTRAL",))
    path = tmp_path / "smplx" / "SMPLX_NEUTRAL.npz"
    with np.load(path) as data:
        arrays = dict(data)
    arrays["part2num"] = np.array([Tripwire()], dtype=object)
    np.savez(path, **arrays)
    TRIPPED.clear()
    body = SmplxBackend(tmp_path, gender="neutral")
    assert TRIPPED == []
    posed = body.pose(_identity(), _motion(1))
    assert posed.vertices.shape == (1, len(arrays["v_template"]), 3)
    write_tiny_smplx(tmp_path / "clean", genders=("NEUTRAL",))  # same model without pickled entries
    clean = SmplxBackend(tmp_path / "clean", gender="neutral").pose(_identity(), _motion(1))
    np.testing.assert_array_equal(posed.vertices, clean.vertices)


def test_zero_motion_stands_on_floor_facing_minus_y(models, backend):
    root, info, _ = models
    posed = backend.pose(_identity(), _motion(3))
    assert posed.vertices.dtype == np.float32
    np.testing.assert_allclose(posed.vertices[..., 2].min(axis=1), 0.0, atol=1e-5)
    head = posed.joints_ego16[0, EGO16_JOINTS.index("head")]
    nose = posed.vertices[0, info.nose_vertices].mean(axis=0)
    assert nose[1] < head[1] - 0.05  # the face looks along -Y
    assert abs(nose[0] - head[0]) < 1e-3
    assert posed.joints_ego16[0, EGO16_JOINTS.index("left_hand"), 0] > 0.5  # the body's left is +X
    np.testing.assert_allclose(posed.rest_vertices, posed.vertices[0], atol=1e-5)


def test_ego16_joints_are_the_documented_smpl_joints(models, backend):
    root = models[0]
    joints, verts = _template(root)
    posed = backend.pose(_identity(), _motion(2))
    assert posed.joints_ego16.shape == (2, 16, 3)
    assert posed.joints_ego16.dtype == np.float64
    j = joints[EXPECTED_SMPL_INDEX] - joints[0]
    lowest = verts[:, 1].min() - joints[0, 1]
    expected = np.stack([j[:, 0], -j[:, 2], j[:, 1] - lowest], axis=1)  # Rx(+90deg), feet on z = 0
    np.testing.assert_allclose(posed.joints_ego16[1], expected, atol=1e-4)


def test_raising_the_left_shoulder_lifts_the_left_wrist(models, backend):
    joints, _ = _template(models[0])
    body_pose = np.zeros((1, 21, 3))
    body_pose[0, LEFT_SHOULDER - 1] = (0.0, 0.0, np.pi / 2)
    rest = backend.pose(_identity(), _motion(1))
    up = backend.pose(_identity(), _motion(1, body_pose=body_pose, grounded=np.zeros(1, dtype=bool)))
    li, ri, si = (EGO16_JOINTS.index(n) for n in ("left_hand", "right_hand", "left_upperarm"))
    arm_m = np.linalg.norm(joints[LEFT_WRIST] - joints[LEFT_SHOULDER])
    shoulder, wrist = up.joints_ego16[0, si], up.joints_ego16[0, li]
    np.testing.assert_allclose(wrist - shoulder, [0.0, 0.0, arm_m], atol=2e-3)
    assert wrist[2] > rest.joints_ego16[0, li, 2] + 0.4
    np.testing.assert_allclose(up.joints_ego16[0, ri], rest.joints_ego16[0, ri], atol=1e-5)


def test_head_frame_at_rest_turned_and_looking_up(backend, models):
    info = models[1]
    posed = backend.pose(_identity(), _motion(1))
    T = posed.T_world_from_head[0]
    np.testing.assert_allclose(T[:3, :3], HEAD_DIAG, atol=1e-9)
    np.testing.assert_allclose(T[:3, 3], posed.joints_ego16[0, 0], atol=1e-9)

    turned = backend.pose(_identity(), _motion(1, root_orient=np.array([[0.0, 0.0, np.pi / 2]])))
    Rz = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(turned.T_world_from_head[0, :3, :3], Rz @ HEAD_DIAG, atol=1e-6)
    nose = turned.vertices[0, info.nose_vertices].mean(axis=0)
    assert nose[0] > turned.joints_ego16[0, 0, 0] + 0.05  # facing -Y turned by +90deg about Z faces +X

    body_pose = np.zeros((1, 21, 3))
    body_pose[0, 14] = (-np.deg2rad(40.0), 0.0, 0.0)  # head (joint 15) pitched back: look up 40deg
    looking = backend.pose(_identity(), _motion(1, body_pose=body_pose))
    forward_world = -looking.T_world_from_head[0, :3, 1]  # head frame y points backwards
    np.testing.assert_allclose(forward_world, [0.0, -np.cos(np.deg2rad(40)), np.sin(np.deg2rad(40))], atol=1e-6)


def _transl_scale(backend) -> float:
    """Standing pelvis height of the test identity over the motions' reference pelvis height."""
    from synth.motions.clip import REFERENCE_PELVIS_HEIGHT_M

    scale = backend.standing_pelvis_height_m(_identity()) / REFERENCE_PELVIS_HEIGHT_M
    assert 0.5 < scale < 1.5
    return scale


def test_grounding_snaps_grounded_frames_and_interpolates_between(backend):
    authored = np.zeros((5, 3))
    authored[:, 2] = [0.1, 0.4, 0.6, 0.4, 0.2]
    grounded = np.array([True, False, False, False, True])
    posed = backend.pose(_identity(), _motion(5, root_transl=authored, grounded=grounded))
    transl = authored * _transl_scale(backend)  # root_transl is scaled to the body's standing pelvis height
    min_z = posed.vertices[..., 2].min(axis=1)
    correction = np.interp(np.arange(5), [0, 4], [-transl[0, 2], -transl[4, 2]])
    np.testing.assert_allclose(min_z, transl[:, 2] + correction, atol=1e-5)

    airborne = backend.pose(_identity(), _motion(5, root_transl=authored, grounded=np.zeros(5, dtype=bool)))
    np.testing.assert_allclose(airborne.vertices[..., 2].min(axis=1), transl[:, 2], atol=1e-5)
    np.testing.assert_allclose(airborne.T_world_from_head[:, 2, 3] - airborne.T_world_from_head[0, 2, 3],
                               transl[:, 2] - transl[0, 2], atol=1e-6)


def test_head_vertices_parts_and_uvs(models, backend):
    root, info, _ = models
    posed = backend.pose(_identity(), _motion(1))
    owner = info.box_of_vertex
    head_owned = np.isin(owner, [15, 22, 23, 24])
    assert posed.head_vertices_head_m.shape == (head_owned.sum(), 3)
    nose_head = posed.head_vertices_head_m[np.isin(np.flatnonzero(head_owned), info.nose_vertices)]
    assert (nose_head[:, 1] < -0.05).all()  # in front of the head joint (head frame y = back)
    assert posed.head_vertices_head_m[:, 2].min() < -0.15  # the top of the head is up (head frame z = down)

    faces = posed.faces
    assert faces.dtype == np.int32 and posed.part_of_face.dtype == np.uint8
    face_owner = owner[faces[:, 0]]
    labels = np.array(BODY_PARTS)[posed.part_of_face]
    assert set(labels[face_owner == 16]) == {"left_upperarm"}
    assert set(labels[face_owner == 19]) == {"right_forearm"}
    assert set(labels[face_owner == 0]) == {"hips"}
    assert set(labels[np.isin(face_owner, [23, 24])]) == {"eyes"}
    assert set(labels[face_owner >= 40]) == {"right_hand"}
    head_labels = labels[face_owner == 15]
    assert {"head", "scalp"} <= set(head_labels)
    top = posed.rest_vertices[faces, 2].min(axis=1) > posed.rest_vertices[:, 2].max() - 1e-4
    assert set(labels[top]) == {"scalp"}
    with np.load(root / "smplx" / "SMPLX_NEUTRAL.npz") as data:
        np.testing.assert_allclose(posed.uv, data["vt"], atol=1e-7)
        np.testing.assert_array_equal(posed.face_uv_idx, data["ft"])


def test_sample_identity(models):
    both = SmplxBackend(models[0], gender="both")
    ids = [both.sample_identity(np.random.default_rng([7, i])) for i in range(40)]
    again = both.sample_identity(np.random.default_rng([7, 0]))
    assert again == ids[0]
    sexes = [i.sex for i in ids]
    assert 10 <= sexes.count("male") <= 30 and sexes.count("male") + sexes.count("female") == 40
    for ident in ids[:5]:
        betas = np.array(ident.params["betas"])
        assert betas.shape == (10,) and np.abs(betas).max() <= 2.5
        assert ident.params["gender"] == ident.sex
        posed = both.pose(ident, _motion(1))
        assert ident.stature_m == pytest.approx(float(posed.rest_vertices[:, 2].max()), abs=1e-5)
    assert len({i.identity_id for i in ids}) == 40
    big = both.pose(_identity("male", [2.0] + [0.0] * 9), _motion(1))
    small = both.pose(_identity("male", [-2.0] + [0.0] * 9), _motion(1))
    assert big.rest_vertices[:, 2].max() > small.rest_vertices[:, 2].max() + 0.05


def test_smpl_model_with_planar_uvs(models):
    body = SmplxBackend(models[0], model_type="smpl", gender="neutral")
    posed = body.pose(body.sample_identity(np.random.default_rng(0)), _motion(4))
    assert posed.joints_ego16.shape == (4, 16, 3)
    np.testing.assert_allclose(posed.vertices[..., 2].min(axis=1), 0.0, atol=1e-5)
    assert posed.uv.shape == (posed.vertices.shape[1], 2)
    assert posed.uv.min() >= 0.0 and posed.uv.max() <= 1.0
    np.testing.assert_array_equal(posed.face_uv_idx, posed.faces)
    np.testing.assert_allclose(posed.T_world_from_head[0, :3, :3], HEAD_DIAG, atol=1e-9)


def test_missing_model_dir_names_path_and_registration(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(AssetError) as err:
        SmplxBackend(missing)
    assert str(missing) in str(err.value) and "https://smpl-x.is.tue.mpg.de/" in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssetError) as err:
        SmplxBackend(tmp_path / "empty", gender="female")
    message = str(err.value)
    assert str(tmp_path / "empty" / "smplx" / "SMPLX_FEMALE.npz") in message
    assert "https://smpl-x.is.tue.mpg.de/" in message and "\n" not in message
    with pytest.raises(AssetError, match="https://smpl.is.tue.mpg.de/"):
        SmplxBackend(tmp_path / "empty", model_type="smpl", gender="neutral")


def test_pkl_only_dir_is_refused_without_allow_pickle(tmp_path):
    folder = tmp_path / "smplx"
    folder.mkdir()
    (folder / "SMPLX_NEUTRAL.pkl").write_bytes(b"not opened")
    with pytest.raises(AssetError) as err:
        SmplxBackend(tmp_path, gender="neutral")
    message = str(err.value)
    assert "SMPLX_NEUTRAL.pkl" in message and "allow_pickle=True" in message and ".npz" in message


def test_amass_file_through_loader_and_backend(tmp_path, backend, models):
    from synth.motions.npz_loader import load_motion_npz

    info = models[1]
    num_frames = 4
    poses = np.zeros((num_frames, 165))
    poses[:, 0] = np.pi / 2  # AMASS: upright, facing -Y in its Z-up world
    trans = np.zeros((num_frames, 3))
    trans[:, 0] = 3.0 + 0.1 * np.arange(num_frames)
    trans[:, 2] = 0.9
    path = tmp_path / "walk.npz"
    np.savez(path, poses=poses, trans=trans, mocap_frame_rate=np.array(30.0))
    posed = backend.pose(_identity(), load_motion_npz(path))
    np.testing.assert_allclose(posed.vertices[..., 2].min(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(posed.T_world_from_head[:, :3, :3], np.broadcast_to(HEAD_DIAG, (num_frames, 3, 3)),
                               atol=1e-9)
    np.testing.assert_allclose(posed.joints_ego16[:, 0, 0] - posed.joints_ego16[0, 0, 0],
                               0.1 * np.arange(num_frames) * _transl_scale(backend),
                               atol=1e-5)
    nose = posed.vertices[0, info.nose_vertices].mean(axis=0)
    assert nose[1] < posed.joints_ego16[0, 0, 1] - 0.05
