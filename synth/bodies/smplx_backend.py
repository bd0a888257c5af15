"""SMPL / SMPL-X body backend: loads the user's licensed model files through `smplx` and poses motion clips.

Model files (licensed, never shipped). Register and download them yourself, then pass their folder as
`model_dir`:

- SMPL-X (https://smpl-x.is.tue.mpg.de/, "SMPL-X v1.1", the `.npz` files)::

      <model_dir>/smplx/SMPLX_NEUTRAL.npz
      <model_dir>/smplx/SMPLX_MALE.npz
      <model_dir>/smplx/SMPLX_FEMALE.npz

- SMPL (https://smpl.is.tue.mpg.de/), files renamed as `smplx` expects::

      <model_dir>/smpl/SMPL_NEUTRAL.npz   (or SMPL_MALE / SMPL_FEMALE)

`model_dir` may also be the `smplx/` (or `smpl/`) folder itself. gender "neutral" needs the NEUTRAL file,
"male"/"female" their own file, and "both" the MALE and FEMALE files.

Pickles: `.pkl` model files are Python pickles, which can run code when opened, so they are read only with
`allow_pickle=True`, or when the file is in `trusted_files` and its sha256, computed when it is opened, equals the
digest recorded in the asset manifest or lock (synth/assets.py). With the default `allow_pickle=False`, `.npz` files are opened with numpy's
`allow_pickle=False`; the pickled metadata entries of the released SMPL-X files (`joint2num`, `part2num`) are
skipped (smplx does not use them), and because `smplx.SMPLX` itself opens `.npz` files with pickles enabled, a
file that holds such entries is handed to `smplx.create` as a temporary copy without them.

Posing: all frames run, in batches, through `smplx.lbs.lbs` on the loaded model's buffers (shape, pose
correctives, joint regressor, skinning weights, the model's mean hand pose). The model's `forward` is not used:
it adds keypoints picked from fixed vertex ids and face landmarks, which the backend does not need.

EGO16 joints are SMPL kinematic joints (rotation centres), identical for SMPL and SMPL-X:

====================  ==========================  =============
EGO16 joint           SMPL / SMPL-X joint          index (L / R)
====================  ==========================  =============
head                  head                         15
neck                  neck                         12
left/right_upperarm   left/right_shoulder          16 / 17
left/right_lowerarm   left/right_elbow             18 / 19
left/right_hand       left/right_wrist             20 / 21
left/right_thigh      left/right_hip               1 / 2
left/right_calf       left/right_knee              4 / 5
left/right_foot       left/right_ankle             7 / 8
left/right_ball       left/right_foot (toe ball)   10 / 11
====================  ==========================  =============

Frames: SMPL's body axes (x = body's left, y = up, z = forward) map to the world by
`p_world = Rx(+90deg) p_smpl`, so the rest body stands Z up and faces -Y. The pelvis sits at its standing rest
position plus `motion.root_transl`, rotated about itself by `motion.root_orient`. The canonical standing body
(zero pose) stands on z = 0; frames flagged `grounded` are shifted vertically so their lowest vertex is at
z = 0, and the shift of other frames is interpolated linearly between the neighbouring grounded frames (held
at the ends; no shift when no frame is grounded).

Body parts (`part_of_face`): each face takes the joint with the largest summed skinning weight over its three
vertices; joints map to synth.constants.BODY_PARTS (pelvis -> hips; spine1-3 and collars -> torso; neck; head
and jaw -> head; eyeballs -> eyes; shoulder -> upperarm; elbow -> forearm; wrist, SMPL hand joints and SMPL-X
fingers -> hand; hip -> thigh; knee -> shin; ankle and toe-ball joints -> foot). Scalp heuristic: a head face
whose centroid (canonical pose) lies above eye level and either more than SCALP_BEHIND_EYES_M behind the eyes
or more than SCALP_ABOVE_EYES_M above them is "scalp". Eye level and depth come from the SMPL-X eye joints;
SMPL has none, so its eyes are placed SMPL_EYE_HEIGHT_FRACTION of the way from the head joint to the top of
the head and SMPL_EYE_DEPTH_M behind the front-most head vertex.

UVs: the model file's `vt` / `ft` arrays when present (the released SMPL-X `.npz` files carry them).
Otherwise a planar fallback: every vertex of the canonical standing body is projected orthographically onto
the world x-z plane (a front view), scaled uniformly so the larger extent spans [0, 1]; `face_uv_idx` then
equals `faces`. Front and back share texture coordinates under this projection.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from synth.bodies.base import BodyIdentity, PosedBody
from synth.bodies.determinism import fixed_torch_threads
from synth.constants import EGO16_JOINTS, PART_INDEX
from synth.errors import AssetError, ConfigError
from synth.motions.clip import SMPL22_INDEX, MotionClip, scaled_root_transl

BACKEND_NAME = "smplx"
MODEL_TYPES: tuple[str, ...] = ("smplx", "smpl")
GENDER_CHOICES: tuple[str, ...] = ("neutral", "male", "female", "both")
REGISTRATION_URLS: dict[str, str] = {"smplx": "https://smpl-x.is.tue.mpg.de/", "smpl": "https://smpl.is.tue.mpg.de/"}
_FILE_PREFIX: dict[str, str] = {"smplx": "SMPLX", "smpl": "SMPL"}

#: Shape coefficients are drawn from N(0, BETA_STD) and clipped to +-BETA_CLIP (the PCA space is unit-variance).
BETA_STD = 1.0
BETA_CLIP = 2.5
#: SMPL shape spaces carry no age; identities report this nominal adult age.
NOMINAL_ADULT_AGE_YEARS = 30.0
#: Frames per skinning batch (bounds the (B, V, 4, 4) skinning transforms in memory).
FRAMES_PER_BATCH = 64

#: Scalp heuristic (module docstring), metres in the canonical standing pose.
SCALP_BEHIND_EYES_M = 0.03
SCALP_ABOVE_EYES_M = 0.06
SMPL_EYE_HEIGHT_FRACTION = 0.4
SMPL_EYE_DEPTH_M = 0.025

#: EGO16 joint -> SMPL / SMPL-X joint index (module docstring table).
EGO16_SMPL_INDEX: dict[str, int] = {
    "head": SMPL22_INDEX["head"],
    "neck": SMPL22_INDEX["neck"],
    "left_upperarm": SMPL22_INDEX["left_shoulder"],
    "right_upperarm": SMPL22_INDEX["right_shoulder"],
    "left_lowerarm": SMPL22_INDEX["left_elbow"],
    "right_lowerarm": SMPL22_INDEX["right_elbow"],
    "left_hand": SMPL22_INDEX["left_wrist"],
    "right_hand": SMPL22_INDEX["right_wrist"],
    "left_thigh": SMPL22_INDEX["left_hip"],
    "right_thigh": SMPL22_INDEX["right_hip"],
    "left_calf": SMPL22_INDEX["left_knee"],
    "right_calf": SMPL22_INDEX["right_knee"],
    "left_foot": SMPL22_INDEX["left_ankle"],
    "right_foot": SMPL22_INDEX["right_ankle"],
    "left_ball": SMPL22_INDEX["left_foot"],
    "right_ball": SMPL22_INDEX["right_foot"],
}
_EGO16_INDEX = np.array([EGO16_SMPL_INDEX[name] for name in EGO16_JOINTS], dtype=np.int64)

#: SMPL-22 body joint -> body part.
_BODY_JOINT_PART: tuple[str, ...] = (
    "hips", "left_thigh", "right_thigh", "torso", "left_shin", "right_shin", "torso", "left_foot", "right_foot",
    "torso", "left_foot", "right_foot", "neck", "torso", "torso", "head", "left_upperarm", "right_upperarm",
    "left_forearm", "right_forearm", "left_hand", "right_hand",
)
#: SMPL-X joints after the body: jaw, eyes, then 15 finger joints per hand.
_SMPLX_JAW, _SMPLX_EYES = 22, (23, 24)
_SMPLX_FINGERS_PER_HAND = 15

#: p_world = _C_WORLD_FROM_SMPL p_smpl: Rx(+90deg), SMPL's (left, up, forward) -> world (X, Z, -Y).
_C_WORLD_FROM_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
#: R_world_from_head of the canonical standing body: x = wearer's right, y = back, z = down.
_R_BODY_FROM_HEADFRAME = np.diag([-1.0, 1.0, -1.0])


def _rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle rad -> (..., 3, 3) float64 rotation matrices."""
    from scipy.spatial.transform import Rotation

    flat = np.asarray(rotvec, dtype=np.float64).reshape(-1, 3)
    return Rotation.from_rotvec(flat).as_matrix().reshape(*np.shape(rotvec)[:-1], 3, 3)


def _joint_parts(model_type: str, num_joints: int) -> np.ndarray:
    """(J,) uint8 body-part index of every model joint."""
    names = list(_BODY_JOINT_PART)
    if model_type == "smplx":
        names += ["head", "eyes", "eyes"]
        names += ["left_hand"] * _SMPLX_FINGERS_PER_HAND + ["right_hand"] * _SMPLX_FINGERS_PER_HAND
    else:
        names += ["left_hand", "right_hand"]
    if len(names) != num_joints:
        raise AssetError(
            f"{model_type} model has {num_joints} joints, expected {len(names)}: is it a {model_type} model file?"
        )
    return np.array([PART_INDEX[n] for n in names], dtype=np.uint8)


def _head_joints(model_type: str) -> tuple[int, ...]:
    """Joints whose vertices form the rigid head: SMPL head; SMPL-X head, jaw and eyeballs."""
    head = SMPL22_INDEX["head"]
    return (head, _SMPLX_JAW, *_SMPLX_EYES) if model_type == "smplx" else (head,)


def _chain_below_root(parents: np.ndarray, joint: int) -> list[int]:
    """Joints from the root's child down to `joint` (root excluded), parent first."""
    chain = []
    while joint > 0:
        chain.append(joint)
        joint = int(parents[joint])
    return chain[::-1]


def _ground_correction_m(min_z_m: np.ndarray, grounded: np.ndarray) -> np.ndarray:
    """(F,) vertical shift (m): grounded frames put their lowest point on z = 0, others interpolate (held at ends)."""
    idx = np.flatnonzero(grounded)
    if idx.size == 0:
        return np.zeros_like(min_z_m, dtype=np.float64)
    return np.interp(np.arange(len(min_z_m)), idx, -np.asarray(min_z_m, dtype=np.float64)[idx])


class _LoadedModel:
    """One loaded model file: the smplx module plus what posing needs from it."""

    def __init__(self, module: Any, model_type: str, path: Path, extras: dict[str, np.ndarray]):
        self.module = module
        self.model_type = model_type
        self.path = path
        self.faces = np.asarray(module.faces, dtype=np.int64).astype(np.int32)
        self.num_joints = int(module.J_regressor.shape[0])
        self.parents = module.parents.detach().cpu().numpy().astype(np.int64)
        self.parents[0] = -1
        self.vt = extras.get("vt")
        self.ft = extras.get("ft")

    @property
    def num_betas(self) -> int:
        return int(self.module.num_betas)

    def skin(self, betas: np.ndarray, full_pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Skin (B, J, 3) axis-angle poses (SMPL axes, root included) -> vertices (B, V, 3), joints (B, J, 3).

        Both float32, SMPL body axes, metres, global_orient and transl as given (root at its rest position when
        the root rotation is zero).
        """
        import torch
        from smplx.lbs import lbs

        m = self.module
        with torch.no_grad(), fixed_torch_threads():
            pose = torch.as_tensor(full_pose, dtype=torch.float32).reshape(len(full_pose), -1)
            if getattr(m, "pose_mean", None) is not None:
                pose = pose + m.pose_mean.reshape(1, -1).to(torch.float32)
            beta = torch.as_tensor(betas, dtype=torch.float32).reshape(1, -1).expand(len(full_pose), -1)
            verts, joints = lbs(
                beta, pose, m.v_template, m.shapedirs, m.posedirs, m.J_regressor, m.parents, m.lbs_weights
            )
        return verts.numpy(), joints.numpy()


def _missing_message(model_type: str, gender: str, candidates: list[Path]) -> str:
    url = REGISTRATION_URLS[model_type]
    looked = ", ".join(str(p) for p in candidates)
    return (
        f"{model_type} model file for gender '{gender}' not found (looked for {looked}); the model is licensed and "
        f"not shipped: register and download it from {url}, then pass the folder that holds "
        f"{model_type}/{candidates[0].name} as model_dir (SmplxBackend(model_dir=...))"
    )


def _find_model_file(model_dir: Path, model_type: str, gender: str,
                     allow_pickle: bool | Callable[[Path], bool]) -> Path:
    """The model file for one gender: `<dir>/<type>/<PREFIX>_<GENDER>.npz` or `<dir>/<PREFIX>_<GENDER>.npz`.

    allow_pickle: whether a `.pkl` file may be used, or a predicate deciding it per file (checksum trust).
    """
    stem = f"{_FILE_PREFIX[model_type]}_{gender.upper()}"
    folders = [model_dir / model_type, model_dir]
    npz = [f / f"{stem}.npz" for f in folders]
    pkl = [f / f"{stem}.pkl" for f in folders]
    for path in npz:
        if path.is_file():
            return path
    for path in pkl:
        if path.is_file():
            if allow_pickle(path) if callable(allow_pickle) else allow_pickle:
                return path
            raise AssetError(
                f"{path}: only a .pkl {model_type} model was found; .pkl files are Python pickles, which can run "
                f"arbitrary code when opened, so egorig does not open them unless allow_pickle=True or their "
                f"sha256 matches the asset manifest or lock: download the .npz files from "
                f"{REGISTRATION_URLS[model_type]} and put {npz[0]} there, pass allow_pickle=True if you trust this "
                f"file, or record its checksum with `synth assets lock` and name it through 'asset:{model_type}'"
            )
    raise AssetError(_missing_message(model_type, gender, npz))


def _read_npz(path: Path, allow_pickle: bool) -> tuple[dict[str, np.ndarray], list[str]]:
    """All arrays of an npz file; without allow_pickle, pickled entries are skipped and their keys returned."""
    arrays: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    try:
        with np.load(path, allow_pickle=allow_pickle) as data:
            for key in data.files:
                try:
                    arrays[key] = data[key]
                except ValueError:
                    skipped.append(key)
    except (OSError, ValueError) as exc:
        raise AssetError(f"{path}: cannot be read as an .npz model file ({exc}); re-download it") from None
    return arrays, skipped


def _as_float32(array: np.ndarray) -> np.ndarray:
    """Floating arrays as float32, others unchanged."""
    return array.astype(np.float32) if np.issubdtype(array.dtype, np.floating) else array


def _load_model(path: Path, model_type: str, gender: str, num_betas: int, allow_pickle: bool) -> _LoadedModel:
    """Build the smplx module for one model file with `smplx.create`."""
    import smplx
    from smplx.utils import Struct

    kwargs: dict[str, Any] = {"gender": gender, "num_betas": num_betas}
    if model_type == "smplx":
        kwargs.update(use_pca=False, flat_hand_mean=False)
    quiet = io.StringIO()  # smplx prints warnings (e.g. about short shape spaces) to stdout
    try:
        with contextlib.redirect_stdout(quiet), contextlib.ExitStack() as stack:
            if path.suffix == ".pkl":
                import pickle

                with open(path, "rb") as fh:
                    extras = dict(pickle.load(fh, encoding="latin1"))
                if model_type == "smpl":
                    module = smplx.create(str(path), model_type="smpl", data_struct=Struct(**extras), **kwargs)
                else:
                    module = smplx.create(str(path), model_type="smplx", ext="pkl", **kwargs)
            else:
                extras, skipped = _read_npz(path, allow_pickle)
                if model_type == "smpl":
                    module = smplx.create(str(path), model_type="smpl", data_struct=Struct(**extras), **kwargs)
                else:
                    load_path = path
                    if skipped:
                        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="egorig_smplx_")))
                        load_path = tmp / path.name
                        # smplx casts every float array to float32 on load, so storing them as float32 is exact
                        # and halves the copy.
                        np.savez(load_path, **{k: _as_float32(v) for k, v in extras.items()})
                    module = smplx.create(str(load_path), model_type="smplx", ext="npz", **kwargs)
    except AssetError:
        raise
    except Exception as exc:  # any failure inside smplx is reported as a bad model file, in one line
        raise AssetError(
            f"{path}: smplx could not build a {model_type} model from this file ({type(exc).__name__}: {exc}); "
            f"re-download it from {REGISTRATION_URLS[model_type]}"
        ) from None
    uv = {k: np.asarray(extras[k]) for k in ("vt", "ft") if k in extras}
    return _LoadedModel(module, model_type, path, uv)


class SmplxBackend:
    """Body backend on the user's SMPL-X (default) or SMPL model files (module docstring for layout and rules).

    model_dir: folder holding `smplx/SMPLX_<GENDER>.npz` (or `smpl/SMPL_<GENDER>.npz`), or that subfolder.
    model_type: "smplx" | "smpl".
    gender: "neutral" | "male" | "female" | "both" (identities alternate male/female at random, 50/50).
    num_betas: shape coefficients used (capped by what the file holds).
    allow_pickle: allow opening `.pkl` model files and pickled `.npz` entries (only for files you trust).
    trusted_files: {absolute path: sha256} of files verified against the asset manifest or lock
        (synth.assets.ResolvedAssets.trusted_checksums); such a file may be unpickled, but only if its content
        still hashes to that digest when it is opened.
    """

    name = BACKEND_NAME

    def __init__(
        self,
        model_dir: str | Path,
        model_type: str = "smplx",
        gender: str = "both",
        num_betas: int = 10,
        allow_pickle: bool = False,
        trusted_files: Mapping[str, str] | None = None,
    ):
        if model_type not in MODEL_TYPES:
            raise ConfigError("SmplxBackend", "model_type", f"got {model_type!r}, expected one of {MODEL_TYPES}")
        if gender not in GENDER_CHOICES:
            raise ConfigError("SmplxBackend", "gender", f"got {gender!r}, expected one of {GENDER_CHOICES}")
        if num_betas < 1:
            raise ConfigError("SmplxBackend", "num_betas", f"got {num_betas}, expected >= 1")
        self.model_dir = Path(model_dir).expanduser()
        self.model_type = model_type
        self.allow_pickle = allow_pickle
        self.trusted_files = dict(trusted_files or {})
        self.num_betas = num_betas
        if not self.model_dir.is_dir():
            prefix = _FILE_PREFIX[model_type]
            raise AssetError(
                f"{self.model_dir}: {model_type} model folder not found; the model is licensed and not shipped: "
                f"register and download it from {REGISTRATION_URLS[model_type]}, then pass the folder that holds "
                f"{model_type}/{prefix}_NEUTRAL.npz (and _MALE/_FEMALE) as model_dir"
            )
        self.genders: tuple[str, ...] = ("male", "female") if gender == "both" else (gender,)
        self._models: dict[str, _LoadedModel] = {}
        for g in self.genders:
            self._load_gender(g)

    def _pickle_allowed(self, path: Path) -> bool:
        """allow_pickle, or the file is trusted and its current sha256 equals the trusted digest."""
        if self.allow_pickle:
            return True
        expected = self.trusted_files.get(str(Path(path).resolve()))
        if expected is None:
            return False
        from synth.io import sha256_file

        return sha256_file(Path(path)) == expected

    def _load_gender(self, gender: str) -> _LoadedModel:
        if gender not in self._models:
            path = _find_model_file(self.model_dir, self.model_type, gender, self._pickle_allowed)
            self._models[gender] = _load_model(path, self.model_type, gender, self.num_betas,
                                               self._pickle_allowed(path))
        return self._models[gender]

    def model_file(self, identity: BodyIdentity) -> Path:
        """The model file an identity is posed with."""
        return self._identity_model(identity)[0].path

    # ------------------------------------------------------------------ identities

    def sample_identity(self, rng: np.random.Generator) -> BodyIdentity:
        """Draw gender (50/50 when "both") and betas ~ N(0, 1) clipped to +-2.5; stature from the rest mesh."""
        gender = self.genders[int(rng.integers(len(self.genders)))]
        model = self._models[gender]
        betas = np.clip(rng.normal(0.0, BETA_STD, size=model.num_betas), -BETA_CLIP, BETA_CLIP)
        return self._make_identity(model, gender, betas)

    def identity_from_motion(self, motion: MotionClip) -> BodyIdentity:
        """The subject a mocap file was recorded/simulated with: its `gender` and `betas` (motion.params).

        Raises AssetError when the motion has no betas, or more non-zero betas than num_betas.
        """
        gender = str(motion.params.get("gender") or "neutral").lower()
        betas = motion.params.get("betas")
        source = motion.params.get("source_file", motion.name)
        if betas is None:
            raise AssetError(f"{source}: motion file has no 'betas'; body.identity 'motion' needs the subject's shape")
        if gender not in ("neutral", "male", "female"):
            raise AssetError(f"{source}: motion gender {gender!r} is not one of neutral, male, female")
        model = self._load_gender(gender)
        betas = np.asarray(betas, dtype=np.float64).reshape(-1)
        if betas.size > model.num_betas and np.any(betas[model.num_betas:] != 0.0):
            raise AssetError(f"{source}: {betas.size} betas but the body model uses {model.num_betas}")
        full = np.zeros(model.num_betas)
        full[: min(betas.size, model.num_betas)] = betas[: model.num_betas]
        return self._make_identity(model, gender, full)

    def _make_identity(self, model: _LoadedModel, gender: str, betas: np.ndarray) -> BodyIdentity:
        params = {"gender": gender, "betas": [float(b) for b in betas]}
        rest_m = self._canonical(model, betas)[0]
        digest = hashlib.sha1(json.dumps([self.model_type, params], sort_keys=True).encode()).hexdigest()[:12]
        return BodyIdentity(
            backend=BACKEND_NAME,
            identity_id=f"{self.model_type}-{gender}-{digest}",
            sex=gender,
            age_years=NOMINAL_ADULT_AGE_YEARS,
            stature_m=float(rest_m[:, 2].max() - rest_m[:, 2].min()),
            params=params,
        )

    def _identity_model(self, identity: BodyIdentity) -> tuple[_LoadedModel, np.ndarray]:
        if identity.backend != BACKEND_NAME:
            raise ConfigError("identity", "backend", f"got {identity.backend!r}, this backend is {BACKEND_NAME!r}")
        gender = identity.params.get("gender")
        if gender not in self._models:
            raise ConfigError(
                "identity", "params.gender", f"got {gender!r}, this backend loaded {sorted(self._models)}"
            )
        model = self._models[gender]
        betas = np.asarray(identity.params.get("betas", []), dtype=np.float64).reshape(-1)
        if betas.size > model.num_betas and np.any(betas[model.num_betas :] != 0.0):
            raise ConfigError(
                "identity",
                "params.betas",
                f"has {betas.size} coefficients but the model uses {model.num_betas}: raise num_betas",
            )
        full = np.zeros(model.num_betas)
        full[: min(betas.size, model.num_betas)] = betas[: model.num_betas]
        return model, full

    # ------------------------------------------------------------------ posing

    def _canonical(self, model: _LoadedModel, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The zero-pose body in the world standing on z = 0.

        Returns rest_world_m (V, 3) float64, joints_world_m (J, 3) float64, and the rest pelvis in SMPL axes
        pelvis_smpl_m (3,) float64.
        """
        verts, joints = model.skin(betas, np.zeros((1, model.num_joints, 3)))
        pelvis = joints[0, 0].astype(np.float64)
        rest = (verts[0].astype(np.float64) - pelvis) @ _C_WORLD_FROM_SMPL.T
        jw = (joints[0].astype(np.float64) - pelvis) @ _C_WORLD_FROM_SMPL.T
        lift = -rest[:, 2].min()
        rest[:, 2] += lift
        jw[:, 2] += lift
        return rest, jw, pelvis

    def standing_pelvis_height_m(self, identity: BodyIdentity) -> float:
        """Height of the pelvis joint above the floor in the canonical standing pose, metres."""
        model, betas = self._identity_model(identity)
        return float(self._canonical(model, betas)[1][0, 2])

    def pose(self, identity: BodyIdentity, motion: MotionClip) -> PosedBody:
        """Pose the identity through every frame of `motion` (module docstring for frames and grounding)."""
        model, betas = self._identity_model(identity)
        rest_m, rest_joints_m, pelvis_smpl = self._canonical(model, betas)
        num_frames = motion.num_frames
        pelvis_stand = rest_joints_m[0]
        R_world_from_smpl = _rotvec_to_matrix(motion.root_orient) @ _C_WORLD_FROM_SMPL  # (F, 3, 3) SMPL axes -> world
        pelvis_world = pelvis_stand[None] + scaled_root_transl(motion, float(pelvis_stand[2]))  # (F, 3)

        full_pose = np.zeros((num_frames, model.num_joints, 3))
        full_pose[:, 1:22] = motion.body_pose
        num_verts = rest_m.shape[0]
        vertices = np.empty((num_frames, num_verts, 3), dtype=np.float32)
        joints = np.empty((num_frames, model.num_joints, 3), dtype=np.float64)
        for start in range(0, num_frames, FRAMES_PER_BATCH):
            sl = slice(start, min(start + FRAMES_PER_BATCH, num_frames))
            v_smpl, j_smpl = model.skin(betas, full_pose[sl])
            R = R_world_from_smpl[sl].astype(np.float32)
            v = np.einsum("fij,fvj->fvi", R, v_smpl - pelvis_smpl.astype(np.float32))
            vertices[sl] = v + pelvis_world[sl, None].astype(np.float32)
            joints[sl] = np.einsum("fij,fvj->fvi", R_world_from_smpl[sl], j_smpl.astype(np.float64) - pelvis_smpl)
            joints[sl] += pelvis_world[sl, None]

        shift = _ground_correction_m(vertices[..., 2].min(axis=1), np.asarray(motion.grounded, dtype=bool))
        vertices[..., 2] += shift[:, None].astype(np.float32)
        joints[..., 2] += shift[:, None]

        # Head frame: the head joint's global rotation below the root (SMPL axes), re-expressed in the world.
        head = SMPL22_INDEX["head"]
        G_head = np.broadcast_to(np.eye(3), (num_frames, 3, 3)).copy()
        for j in _chain_below_root(model.parents, head):
            G_head = G_head @ _rotvec_to_matrix(full_pose[:, j])
        T_world_from_head = np.tile(np.eye(4), (num_frames, 1, 1))
        T_world_from_head[:, :3, :3] = R_world_from_smpl @ G_head @ _C_WORLD_FROM_SMPL.T @ _R_BODY_FROM_HEADFRAME
        T_world_from_head[:, :3, 3] = joints[:, head]

        # A mocap clip carries its file's origin: map the file's world (where simulated clothing lives) onto ours.
        T_world_from_native = None
        if motion.params.get("native_origin_m") is not None:
            native_pelvis = (pelvis_smpl[None] + np.asarray(motion.root_transl, dtype=np.float64)
                             + np.asarray(motion.params["native_origin_m"], dtype=np.float64)[None])
            world_pelvis = pelvis_world + np.outer(shift, [0.0, 0.0, 1.0])
            T_world_from_native = np.tile(np.eye(4), (num_frames, 1, 1))
            T_world_from_native[:, :3, 3] = world_pelvis - native_pelvis

        faces = model.faces.copy()
        uv, face_uv_idx = self._uv(model, rest_m)
        return PosedBody(
            vertices=vertices,
            faces=faces,
            part_of_face=self._part_of_face(model, rest_m, rest_joints_m),
            uv=uv,
            face_uv_idx=face_uv_idx,
            joints_ego16=joints[:, _EGO16_INDEX].copy(),
            T_world_from_head=T_world_from_head,
            head_vertices_head_m=self._head_vertices(model, rest_m, rest_joints_m),
            rest_vertices=rest_m.astype(np.float32),
            fps=float(motion.fps),
            T_world_from_native=T_world_from_native,
        )

    # ------------------------------------------------------------------ static mesh data

    @staticmethod
    def _dominant_joint(model: _LoadedModel) -> np.ndarray:
        """(V,) int64 joint with the largest skinning weight of each vertex."""
        return model.module.lbs_weights.detach().cpu().numpy().argmax(axis=1)

    def _head_vertices(self, model: _LoadedModel, rest_m: np.ndarray, rest_joints_m: np.ndarray) -> np.ndarray:
        """(K, 3) float64 head-frame coordinates (m) of the rigid head's vertices in the canonical pose."""
        mask = np.isin(self._dominant_joint(model), _head_joints(model.model_type))
        origin = rest_joints_m[SMPL22_INDEX["head"]]
        return (rest_m[mask] - origin) @ _R_BODY_FROM_HEADFRAME  # R^T (p - o) with R = diag(-1, 1, -1)

    def _part_of_face(self, model: _LoadedModel, rest_m: np.ndarray, rest_joints_m: np.ndarray) -> np.ndarray:
        """(T,) uint8 body part per face (module docstring: dominant skinning joint plus the scalp heuristic)."""
        weights = model.module.lbs_weights.detach().cpu().numpy()
        face_joint = weights[model.faces].sum(axis=1).argmax(axis=1)
        parts = _joint_parts(model.model_type, model.num_joints)[face_joint]
        head_faces = parts == PART_INDEX["head"]
        if not head_faces.any():
            return parts
        centroid = rest_m[model.faces[head_faces]].mean(axis=1)
        head_verts = rest_m[np.isin(self._dominant_joint(model), _head_joints(model.model_type))]
        if model.model_type == "smplx":
            eye_z = rest_joints_m[list(_SMPLX_EYES), 2].mean()
            eye_y = rest_joints_m[list(_SMPLX_EYES), 1].mean()
        else:
            head_z = rest_joints_m[SMPL22_INDEX["head"], 2]
            eye_z = head_z + SMPL_EYE_HEIGHT_FRACTION * (head_verts[:, 2].max() - head_z)
            eye_y = head_verts[:, 1].min() + SMPL_EYE_DEPTH_M  # the face looks along -Y
        above = centroid[:, 2] > eye_z
        scalp = above & ((centroid[:, 1] > eye_y + SCALP_BEHIND_EYES_M) | (centroid[:, 2] > eye_z + SCALP_ABOVE_EYES_M))
        idx = np.flatnonzero(head_faces)[scalp]
        parts[idx] = PART_INDEX["scalp"]
        return parts

    @staticmethod
    def _uv(model: _LoadedModel, rest_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uv (L, 2) float32 in [0, 1] and face_uv_idx (T, 3) int32: the file's vt/ft, else a front projection."""
        if model.vt is not None and model.ft is not None and len(model.ft) == len(model.faces):
            return np.asarray(model.vt, dtype=np.float32)[:, :2], np.asarray(model.ft, dtype=np.int64).astype(np.int32)
        xz = rest_m[:, [0, 2]]
        lo = xz.min(axis=0)
        extent = float((xz.max(axis=0) - lo).max())
        uv = (xz - lo) / extent
        return uv.astype(np.float32), model.faces.copy()
