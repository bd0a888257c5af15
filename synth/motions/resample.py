"""Frame-rate conversion and frame selection of MotionClips (slerp for rotations, linear for translation)."""

from __future__ import annotations

import numpy as np

from synth.motions.clip import MotionClip
from synth.motions.rotations import (
    axis_angle_to_quaternion,
    quaternion_to_axis_angle,
    slerp,
)

#: Sample times closer than this to a source frame (in source frames) reuse that frame exactly.
_SNAP_FRAMES = 1e-9


def resampled_frame_count(num_frames: int, fps_in: float, fps_out: float) -> int:
    """Frames of a clip resampled from fps_in to fps_out: every output time lies within the source duration.

    A clip of F frames spans (F - 1) / fps_in seconds; the output has floor((F - 1) * fps_out / fps_in) + 1 frames,
    so 61 frames at 30 fps become 21 at 10 fps and 31 at 15 fps, keeping the first and last poses.
    """
    span = (num_frames - 1) * fps_out / fps_in
    return int(np.floor(span + _SNAP_FRAMES)) + 1


def _interp_rotvecs(rotvec: np.ndarray, i0: np.ndarray, i1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Slerp axis-angles (F, ..., 3) between frames i0 and i1 (each (G,)) with weights w (G,) -> (G, ..., 3)."""
    q = axis_angle_to_quaternion(rotvec)
    w = w.reshape((-1,) + (1,) * (q.ndim - 2))
    out = slerp(q[i0], q[i1], np.broadcast_to(w, q[i0].shape[:-1]))
    return quaternion_to_axis_angle(out)


def resample(clip: MotionClip, fps: float) -> MotionClip:
    """The clip at a new frame rate: rotations by slerp, root_transl linearly, grounded from the nearest frame.

    Output frame k is at time k / fps; see resampled_frame_count for the number of frames. Same fps -> the clip.
    """
    if not fps > 0:
        raise ValueError(f"motion clip {clip.name!r}: target fps must be > 0, got {fps}")
    if float(fps) == float(clip.fps):
        return clip
    n_out = resampled_frame_count(clip.num_frames, clip.fps, fps)
    src = np.arange(n_out) * (clip.fps / fps)  # fractional source frame of each output frame
    src = np.minimum(src, clip.num_frames - 1)
    nearest = np.rint(src)
    src = np.where(np.abs(src - nearest) < _SNAP_FRAMES, nearest, src)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, clip.num_frames - 1)
    w = src - i0
    transl = np.asarray(clip.root_transl, np.float64)
    params = dict(clip.params)
    params["resampled_from_fps"] = float(clip.fps)
    return MotionClip(
        name=clip.name,
        family=clip.family,
        fps=float(fps),
        root_orient=_interp_rotvecs(np.asarray(clip.root_orient, np.float64), i0, i1, w),
        body_pose=_interp_rotvecs(np.asarray(clip.body_pose, np.float64), i0, i1, w),
        root_transl=transl[i0] * (1.0 - w)[:, None] + transl[i1] * w[:, None],
        grounded=np.asarray(clip.grounded, bool)[np.floor(src + 0.5).astype(np.int64)],
        params=params,
    )


def take_frames(clip: MotionClip, start: int, count: int) -> MotionClip:
    """`count` consecutive frames from `start`; a clip too short is padded by holding its last frame.

    The number of held frames is recorded in params["padded_frames"] when padding happens.
    """
    if start < 0 or count < 1:
        raise ValueError(f"motion clip {clip.name!r}: invalid frame range start={start} count={count}")
    idx = np.minimum(np.arange(start, start + count), clip.num_frames - 1)
    if start >= clip.num_frames:
        raise ValueError(f"motion clip {clip.name!r}: start frame {start} beyond its {clip.num_frames} frames")
    params = dict(clip.params)
    padded = int(max(0, start + count - clip.num_frames))
    if padded:
        params["padded_frames"] = padded
    return _select(clip, idx, params)


def trim(clip: MotionClip, start: int, stop: int) -> MotionClip:
    """Frames start..stop-1 (Python slice semantics, no padding); raises ValueError on an empty range."""
    idx = np.arange(clip.num_frames)[start:stop]
    if idx.size == 0:
        raise ValueError(f"motion clip {clip.name!r}: trim({start}, {stop}) leaves no frames of {clip.num_frames}")
    return _select(clip, idx, dict(clip.params))


def _select(clip: MotionClip, idx: np.ndarray, params: dict) -> MotionClip:
    return MotionClip(
        name=clip.name,
        family=clip.family,
        fps=clip.fps,
        root_orient=np.asarray(clip.root_orient, np.float64)[idx],
        body_pose=np.asarray(clip.body_pose, np.float64)[idx],
        root_transl=np.asarray(clip.root_transl, np.float64)[idx],
        grounded=np.asarray(clip.grounded, bool)[idx],
        params=params,
    )
