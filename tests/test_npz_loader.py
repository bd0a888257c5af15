"""AMASS / BEDLAM .npz motions load into canonical MotionClips; bad files give one clear AssetError."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from synth.errors import AssetError
from synth.motions.npz_loader import FLIGHT_RISE_M, load_motion_npz
from tests.tiny_smplx import TRIPPED, Tripwire

F = 6
UPRIGHT_FACING_MINUS_Y = np.array([np.pi / 2, 0.0, 0.0])  # AMASS: SMPL's Y-up body turned Z-up by Rx(+90deg)


def _amass(num_frames: int = F, width: int = 156, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    poses = np.zeros((num_frames, width))
    poses[:, :3] = UPRIGHT_FACING_MINUS_Y
    poses[:, 3:66] = rng.uniform(-0.1, 0.1, size=(num_frames, 63))  # small bends: every frame counts as standing
    poses[:, 66:] = rng.uniform(-0.5, 0.5, size=(num_frames, width - 66))
    trans = np.zeros((num_frames, 3))
    trans[:, 0] = 1.0 + 0.05 * np.arange(num_frames)
    trans[:, 1] = -2.0 + 0.01 * np.arange(num_frames)
    trans[:, 2] = 0.93
    return {
        "poses": poses,
        "trans": trans,
        "mocap_framerate": np.array(120.0),
        "betas": rng.normal(size=16),
        "gender": np.array("female"),
    }


def _write(tmp_path, arrays, name="walk.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_amass_round_trip(tmp_path):
    arrays = _amass()
    turn = Rotation.from_euler("z", 30, degrees=True)
    arrays["poses"][3, :3] = (turn * Rotation.from_rotvec(UPRIGHT_FACING_MINUS_Y)).as_rotvec()
    clip = load_motion_npz(_write(tmp_path, arrays))
    assert clip.name == "walk" and clip.fps == 120.0 and clip.num_frames == F
    identity_frames = [0, 1, 2, 4, 5]
    np.testing.assert_allclose(clip.root_orient[identity_frames], 0.0, atol=1e-12)
    np.testing.assert_allclose(clip.root_orient[3], [0.0, 0.0, np.deg2rad(30)], atol=1e-12)
    np.testing.assert_allclose(clip.body_pose, arrays["poses"][:, 3:66].reshape(F, 21, 3))
    expected_transl = arrays["trans"] - arrays["trans"][0] * np.array([1.0, 1.0, 0.0])
    expected_transl[:, 2] = 0.0  # standing at its own standing height
    np.testing.assert_allclose(clip.root_transl, expected_transl, atol=1e-12)
    assert clip.grounded.all()
    assert clip.params["gender"] == "female" and len(clip.params["betas"]) == 16
    assert clip.params["source_layout"] == "smplh" and clip.params["source_fps"] == 120.0


def test_bedlam_layouts(tmp_path):
    arrays = _amass(width=165)
    arrays.pop("mocap_framerate")
    arrays["mocap_frame_rate"] = np.array(30.0)
    clip = load_motion_npz(_write(tmp_path, arrays, "bedlam.npz"), name="b")
    assert clip.name == "b" and clip.fps == 30.0 and clip.params["source_layout"] == "smplx"
    np.testing.assert_allclose(clip.body_pose, arrays["poses"][:, 3:66].reshape(F, 21, 3))

    split = {
        "root_orient": arrays["poses"][:, :3],
        "pose_body": arrays["poses"][:, 3:66],
        "trans": arrays["trans"],
        "fps": np.array(30),
    }
    other = load_motion_npz(_write(tmp_path, split, "split.npz"))
    np.testing.assert_allclose(other.root_orient, clip.root_orient, atol=1e-12)
    np.testing.assert_allclose(other.body_pose, clip.body_pose)
    np.testing.assert_allclose(other.root_transl, clip.root_transl)


def test_standing_height_and_flight(tmp_path):
    arrays = _amass(num_frames=8)
    squat = [1, 2, 3, 4]  # the majority of the clip squats: the median height would be wrong
    arrays["poses"][squat, 3 + 3 * 3] = 1.6  # left knee (joint 4) bent ~90deg about x
    arrays["poses"][squat, 3 + 3 * 4] = 1.6  # right knee (joint 5)
    arrays["trans"][squat, 2] = 0.55
    arrays["trans"][6, 2] = 0.93 + 0.35  # in the air
    clip = load_motion_npz(_write(tmp_path, arrays))
    np.testing.assert_allclose(clip.root_transl[:, 2], [0, -0.38, -0.38, -0.38, -0.38, 0, 0.35, 0], atol=1e-9)
    assert clip.grounded.tolist() == [True] * 6 + [False, True]
    assert clip.params["standing_frames"] == 4
    assert 0.35 > FLIGHT_RISE_M


def test_resampling_to_a_lower_rate(tmp_path):
    arrays = _amass(num_frames=5)
    arrays["poses"][:, 3:66] = 0.0
    arrays["poses"][:, 3 + 3 * 15] = np.linspace(0.0, 0.8, 5)  # left shoulder (joint 16) rotates about x
    clip = load_motion_npz(_write(tmp_path, arrays), fps=40.0)  # 120 -> 40: every third source frame
    assert clip.fps == 40.0 and clip.num_frames == 2
    np.testing.assert_allclose(clip.body_pose[:, 15, 0], [0.0, 0.6], atol=1e-9)
    np.testing.assert_allclose(clip.root_transl[:, 0], [0.0, 0.15], atol=1e-9)
    half = load_motion_npz(_write(tmp_path, arrays), fps=80.0)  # source positions 0, 1.5, 3
    np.testing.assert_allclose(half.body_pose[:, 15, 0], [0.0, 0.3, 0.6], atol=1e-9)


@pytest.mark.parametrize(
    "change, key, found",
    [
        (lambda a: a.pop("trans"), "'trans'", "found"),
        (lambda a: a.__setitem__("trans", np.zeros((F, 2))), "'trans'", f"({F}, 2)"),
        (lambda a: a.__setitem__("poses", np.zeros((F, 100))), "'poses'", f"({F}, 100)"),
        (lambda a: a.pop("poses"), "'poses'", "found keys"),
        (lambda a: a.__setitem__("mocap_framerate", np.array(-1.0)), "'mocap_framerate'", "-1.0"),
        (lambda a: a.__setitem__("trans", np.full((F, 3), np.nan)), "'trans'", "NaN"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path, change, key, found):
    arrays = _amass()
    change(arrays)
    path = _write(tmp_path, arrays)
    with pytest.raises(AssetError) as err:
        load_motion_npz(path)
    message = str(err.value)
    assert str(path) in message and key in message and found in message and "\n" not in message


def test_expected_shape_is_named(tmp_path):
    arrays = _amass()
    arrays["trans"] = np.zeros((F + 1, 3))
    with pytest.raises(AssetError, match=rf"'trans' has shape \({F + 1}, 3\), expected \({F}, 3\)"):
        load_motion_npz(_write(tmp_path, arrays))


def test_missing_frame_rate_needs_fps(tmp_path):
    arrays = _amass()
    arrays.pop("mocap_framerate")
    path = _write(tmp_path, arrays)
    with pytest.raises(AssetError, match="fps"):
        load_motion_npz(path)
    assert load_motion_npz(path, fps=50.0).fps == 50.0


def test_pickled_object_arrays_are_refused(tmp_path):
    arrays = _amass()
    arrays["poses"] = np.array([Tripwire()] * F, dtype=object)
    path = _write(tmp_path, arrays)
    TRIPPED.clear()
    with pytest.raises(AssetError, match="pickled") as err:
        load_motion_npz(path)
    assert "'poses'" in str(err.value) and TRIPPED == []


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(AssetError, match="not found"):
        load_motion_npz(tmp_path / "absent.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(AssetError, match="junk.npz"):
        load_motion_npz(junk)
