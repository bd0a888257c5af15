"""Loads AMASS and BEDLAM (SMPL-H / SMPL-X parameter) `.npz` motion files into canonical MotionClips.

Accepted layouts (all Z-up worlds, as AMASS stores them):

- `poses` (F, 156) SMPL-H (AMASS), (F, 165) SMPL-X (AMASS SMPL-X, BEDLAM) or (F, 72) SMPL axis-angles:
  columns 0:3 are the global orientation and 3:66 the 21 body joints in SMPL-22 order (hands, jaw and eyes
  are ignored);
- or `root_orient` (F, 3) plus `pose_body` (F, 63) (used when `poses` is absent);
- `trans` (F, 3) metres;
- a frame rate in `mocap_framerate` (AMASS SMPL-H), `mocap_frame_rate` (AMASS SMPL-X, BEDLAM) or `fps`;
- optional `gender` and `betas` (copied into the clip's params, not used for posing).

Files are always opened with `np.load(..., allow_pickle=False)`: an entry stored as a pickled object array is
refused, never unpickled.

Conversion to the MotionClip conventions (synth/motions/clip.py):

- root_orient: the file's global orientation bakes in the Y-up -> Z-up turn of the SMPL body, so
  `R_root = R_global @ Rx(+90deg)^T` (a body standing upright facing -Y gives the identity). The heading of the
  file is kept.
- root_transl: `trans` is the SMPL translation, i.e. the pelvis position up to a constant offset (the rest
  pelvis of the subject). Horizontal: `trans[:, :2] - trans[0, :2]` (the clip starts above the origin).
  Vertical: `trans[:, 2] - z_stand`, where z_stand is the median `trans` height over the "standing" frames:
  frames whose body is within STANDING_MAX_TILT_RAD of upright and whose hips and knees are all bent less than
  STANDING_MAX_JOINT_RAD. A clip with no such frame uses the median height of all its frames.
- grounded: a frame is grounded unless its pelvis is more than FLIGHT_RISE_M above the standing height
  (root_transl z > FLIGHT_RISE_M): jumps and flight phases float, everything else (including squats, sitting
  and lying, whose pelvis is lower) is snapped onto the floor by the body backend.
- params["native_origin_m"]: the file-frame position of the clip's origin, so that file `trans` = root_transl +
  native_origin_m (before any scaling); body backends use it to place data stored in the file's frame (simulated
  clothing) in our world.
- fps: the clip keeps the file's frame rate unless `fps` is given, in which case it is resampled (rotations by
  spherical interpolation, translation linearly, grounded flags from the nearest source frame). A file without a
  frame-rate entry needs `fps`, which is then taken as its rate.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from synth.errors import AssetError
from synth.motions.clip import SMPL22_INDEX, MotionClip

MOTION_FAMILY = "mocap"
#: Frame-rate keys, in the order they are looked up.
FPS_KEYS: tuple[str, ...] = ("mocap_framerate", "mocap_frame_rate", "fps")
#: Accepted `poses` widths and their layout names.
POSE_LAYOUTS: dict[int, str] = {72: "smpl", 156: "smplh", 165: "smplx"}
NUM_BODY_JOINTS = 21
#: Columns of `poses` holding the global orientation and the 21 body joints.
ROOT_COLUMNS = slice(0, 3)
BODY_COLUMNS = slice(3, 3 + 3 * NUM_BODY_JOINTS)

#: Standing-frame rule for the standing pelvis height (module docstring).
STANDING_MAX_TILT_RAD = np.deg2rad(20.0)
STANDING_MAX_JOINT_RAD = np.deg2rad(20.0)
_STANDING_JOINTS = tuple(SMPL22_INDEX[n] - 1 for n in ("left_hip", "right_hip", "left_knee", "right_knee"))
#: Pelvis rise above the standing height (m) beyond which a frame is airborne (not grounded).
FLIGHT_RISE_M = 0.10

#: p_world = _C_WORLD_FROM_SMPL p_smpl: Rx(+90deg).
_C_WORLD_FROM_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def _read(path: Path, data: Any, key: str) -> np.ndarray:
    """One entry of the open npz; pickled object arrays are refused."""
    try:
        value = data[key]
    except ValueError:
        raise AssetError(
            f"{path}: key '{key}' is a pickled object array, which egorig never unpickles (pickles can run code); "
            f"re-save the file with plain numeric arrays"
        ) from None
    if value.dtype == object:
        raise AssetError(f"{path}: key '{key}' is an object array; expected plain numbers")
    return value


def _float_array(path: Path, key: str, value: np.ndarray, expected: str, shape_ok: bool) -> np.ndarray:
    """Check shape and finiteness of a numeric entry; returns float64."""
    if not shape_ok:
        raise AssetError(f"{path}: key '{key}' has shape {tuple(value.shape)}, expected {expected}")
    if not np.issubdtype(value.dtype, np.number):
        raise AssetError(f"{path}: key '{key}' has dtype {value.dtype}, expected numbers with shape {expected}")
    out = value.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise AssetError(f"{path}: key '{key}' contains NaN or infinite values")
    return out


def _rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle rad -> (..., 3, 3) float64."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(*rotvec.shape[:-1], 3, 3)


def _matrix_to_rotvec(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 3) axis-angle rad, float64."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(matrix.reshape(-1, 3, 3)).as_rotvec().reshape(*matrix.shape[:-2], 3)


def _text(value: np.ndarray) -> str | None:
    """A 0-d / 1-element string or bytes entry as str (None when it is not text)."""
    if value.size != 1 or value.dtype.kind not in "US":
        return None
    item = value.reshape(-1)[0]
    return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)


def standing_frames(root_orient: np.ndarray, body_pose: np.ndarray) -> np.ndarray:
    """(F,) bool: frames with an upright body and straight hips and knees (module docstring).

    root_orient: (F, 3) axis-angle, world frame, identity = upright. body_pose: (F, 21, 3) SMPL axis-angles.
    """
    up = _rotvec_to_matrix(root_orient)[:, :, 2]  # the body's up axis in the world
    tilt = np.arccos(np.clip(up[:, 2], -1.0, 1.0))
    bend = np.linalg.norm(body_pose[:, list(_STANDING_JOINTS)], axis=-1).max(axis=1)
    return (tilt < STANDING_MAX_TILT_RAD) & (bend < STANDING_MAX_JOINT_RAD)


def _resample(
    root_orient: np.ndarray, body_pose: np.ndarray, transl: np.ndarray, grounded: np.ndarray, src_fps: float,
    dst_fps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Resample a clip from src_fps to dst_fps over the same duration (slerp / linear / nearest)."""
    from scipy.spatial.transform import Rotation

    num_src = len(root_orient)
    num_dst = int(np.floor((num_src - 1) * dst_fps / src_fps + 1e-9)) + 1
    s = np.arange(num_dst) * (src_fps / dst_fps)
    i0 = np.minimum(np.floor(s).astype(np.int64), num_src - 1)
    i1 = np.minimum(i0 + 1, num_src - 1)
    a = s - i0
    rot = np.concatenate([root_orient[:, None], body_pose], axis=1)  # (F, 22, 3)
    r0 = Rotation.from_rotvec(rot[i0].reshape(-1, 3))
    r1 = Rotation.from_rotvec(rot[i1].reshape(-1, 3))
    step = (r0.inv() * r1).as_rotvec() * np.repeat(a, rot.shape[1])[:, None]
    out = (r0 * Rotation.from_rotvec(step)).as_rotvec().reshape(num_dst, rot.shape[1], 3)
    trans = transl[i0] * (1.0 - a)[:, None] + transl[i1] * a[:, None]
    nearest = np.where(a < 0.5, i0, i1)
    return out[:, 0], out[:, 1:], trans, grounded[nearest]


def load_motion_npz(path: str | Path, fps: float | None = None, name: str | None = None) -> MotionClip:
    """Load an AMASS / BEDLAM `.npz` motion as a MotionClip (module docstring for layouts and conversions).

    path: the `.npz` file. fps: output frame rate (None keeps the file's). name: clip name (default: file stem).
    Raises AssetError naming the file, the key, the shape found and the shape expected.
    """
    path = Path(path)
    if not path.is_file():
        raise AssetError(f"{path}: motion file not found; pass the path of an AMASS/BEDLAM .npz file")
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise AssetError(f"{path}: requested fps must be a positive number, got {fps}")
    if not zipfile.is_zipfile(path):
        raise AssetError(f"{path}: not an .npz file (an .npz is a zip archive of arrays); pass an AMASS/BEDLAM motion "
                         f"saved with numpy.savez")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise AssetError(f"{path}: cannot be read as an .npz motion file ({exc})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise AssetError(f"{path}: holds a single array, expected an .npz archive with poses/trans entries")
    with data:
        keys = set(data.files)
        if "poses" in keys:
            poses = _read(path, data, "poses")
            ok = poses.ndim == 2 and poses.shape[1] in POSE_LAYOUTS and poses.shape[0] > 0
            poses = _float_array(path, "poses", poses, "(F, 72 | 156 | 165) with F > 0", ok)
            layout = POSE_LAYOUTS[poses.shape[1]]
            root_global, body = poses[:, ROOT_COLUMNS], poses[:, BODY_COLUMNS]
        elif {"root_orient", "pose_body"} <= keys:
            root_global = _read(path, data, "root_orient")
            ok = root_global.ndim == 2 and root_global.shape[1] == 3 and root_global.shape[0] > 0
            root_global = _float_array(path, "root_orient", root_global, "(F, 3) with F > 0", ok)
            body = _read(path, data, "pose_body")
            f = len(root_global)
            ok = body.shape == (f, 3 * NUM_BODY_JOINTS)
            body = _float_array(path, "pose_body", body, f"({f}, {3 * NUM_BODY_JOINTS})", ok)
            layout = "root_orient+pose_body"
        else:
            raise AssetError(
                f"{path}: missing key 'poses' (or 'root_orient' + 'pose_body'); found keys {sorted(keys)}; "
                f"expected an AMASS/BEDLAM motion with poses (F, 156 | 165) and trans (F, 3)"
            )
        num_frames = len(root_global)
        if "trans" not in keys:
            raise AssetError(f"{path}: missing key 'trans' (expected shape ({num_frames}, 3)); found {sorted(keys)}")
        trans = _read(path, data, "trans")
        trans = _float_array(path, "trans", trans, f"({num_frames}, 3)", trans.shape == (num_frames, 3))

        src_fps = None
        for key in FPS_KEYS:
            if key in keys:
                value = _read(path, data, key)
                ok = value.size == 1 and np.issubdtype(value.dtype, np.number)
                value = _float_array(path, key, value, "() a positive frame rate", ok)
                src_fps = float(value.reshape(-1)[0])
                if not src_fps > 0:
                    raise AssetError(f"{path}: key '{key}' is {src_fps}, expected a positive frame rate")
                break
        if src_fps is None:
            if fps is None:
                raise AssetError(
                    f"{path}: no frame rate (none of {list(FPS_KEYS)}); pass fps= to load_motion_npz"
                )
            src_fps = float(fps)
        gender = _text(_read(path, data, "gender")) if "gender" in keys else None
        betas = None
        if "betas" in keys:
            b = _read(path, data, "betas")
            betas = _float_array(path, "betas", b, "(B,)", b.ndim == 1).tolist()

    R_global = _rotvec_to_matrix(root_global)
    root_orient = _matrix_to_rotvec(R_global @ _C_WORLD_FROM_SMPL.T)
    body_pose = body.reshape(num_frames, NUM_BODY_JOINTS, 3)
    standing = standing_frames(root_orient, body_pose)
    z_stand = float(np.median(trans[standing, 2] if standing.any() else trans[:, 2]))
    root_transl = np.empty_like(trans)
    root_transl[:, :2] = trans[:, :2] - trans[0, :2]
    root_transl[:, 2] = trans[:, 2] - z_stand
    grounded = root_transl[:, 2] <= FLIGHT_RISE_M

    out_fps = src_fps
    if fps is not None and not np.isclose(fps, src_fps):
        root_orient, body_pose, root_transl, grounded = _resample(
            root_orient, body_pose, root_transl, grounded, src_fps, float(fps)
        )
        out_fps = float(fps)
    params = {
        "source_file": path.name,
        "source_layout": layout,
        "source_fps": src_fps,
        "source_frames": int(num_frames),
        "standing_frames": int(standing.sum()),
        "gender": gender,
        "betas": betas,
        # The file's world position of the clip origin: file trans = root_transl + native_origin_m (unscaled).
        "native_origin_m": [float(trans[0, 0]), float(trans[0, 1]), z_stand],
    }
    return MotionClip(
        name=name or path.stem,
        family=MOTION_FAMILY,
        fps=out_fps,
        root_orient=root_orient,
        body_pose=body_pose,
        root_transl=root_transl,
        grounded=np.asarray(grounded, dtype=bool),
        params=params,
    )
