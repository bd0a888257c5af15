"""Rolling shutter maths without Blender: when each image row is read, and where a moving joint shows in the image.

A rolling-shutter sensor reads its rows one after the other, top (row 0) to bottom, over the readout time; each row
sees the scene at its own instant. egorig renders that in bands (synth/blender/scene.py): the image's rows are cut
into `bands` equal bands, and band b is rendered with everything (body, garments, hair, cameras) where it is at
the band's time, the instant the middle of the band is read. The readout is centred on the frame's time, which the
3D labels describe: band b's time, in frames after the frame's time, is

    t_b = ((b + 0.5) / bands - 0.5) * readout_frames,     readout_frames = readout time (s) x clip fps,

so the top band is read before the frame's time and the bottom band after it (b counts bands from the top; an image
with fewer rows than bands gets one row a band). Between frames everything moves linearly
(synth/geometry/shutter.py), as in Cycles.

A joint shows in the band whose rows it projects into at that band's time. `rolling_projection` projects every
joint at every band's time and keeps, per joint, the band where the two agree (the 2D label is where the image
shows the joint). When no band agrees, or several do (a joint moving up or down in the image about as fast as the
readout sweeps), it keeps the band whose projection lies nearest to the band's rows, the earliest of equals.

Pixel rows follow the OpenCV convention of the 2D labels: row r covers v in [r - 0.5, r + 0.5).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from synth.geometry.shutter import neighbour_poses, neighbours, subframe_points, subframe_pose
from synth.geometry.transforms import apply_T, invert_T

#: Offset from an OpenCV pixel coordinate (0 = the first row's centre) to its top edge.
ROW_CENTRE_TO_EDGE = 0.5


def band_rows(height: int, bands: int) -> np.ndarray:
    """(B, 2) int: [first row, row after the last) of each band of an image `height` px high cut into `bands`
    bands as equal as whole rows allow (more bands than rows: one row each)."""
    height, bands = int(height), int(bands)
    if height < 1 or bands < 1:
        raise ValueError(f"need a positive image height and band count, got {height} px and {bands} bands")
    bands = min(bands, height)
    edges = np.rint(np.linspace(0.0, height, bands + 1)).astype(np.int64)
    return np.stack([edges[:-1], edges[1:]], axis=1)


def band_times_frames(bands: int, readout_frames: float) -> np.ndarray:
    """(B,) float64: each band's time in frames after the frame's time, the instant the middle of the band (in
    fractions of the image height) is read; readout_frames: readout time of the whole image (top edge to bottom
    edge), frames (readout s x fps), centred on the frame's time."""
    bands = int(bands)
    return ((np.arange(bands) + 0.5) / bands - 0.5) * float(readout_frames)


def band_border(start: int, stop: int, height: int, margin_px: int) -> tuple[float, float]:
    """Blender's render border (border_min_y, border_max_y: fractions of the height from the BOTTOM edge) covering
    rows [start - margin_px, stop + margin_px) of an image `height` px high (rows counted from the top), clipped to
    the image. A margin of at least one row keeps the band's own rows inside the border whichever way Blender
    rounds an interior edge."""
    if margin_px < 1:
        raise ValueError(f"a band's margin must be at least one row, got {margin_px}")
    low, high = max(0, int(start) - int(margin_px)), min(int(height), int(stop) + int(margin_px))
    return (height - high) / height, (height - low) / height


def check_readout(readout_frames: float, shutter_frames: float = 0.0) -> None:
    """The rendered motion reaches one frame either side of the frame's time: the readout plus the exposure must
    stay within it."""
    reach = 0.5 * float(readout_frames) + 0.5 * float(shutter_frames)
    if not (readout_frames >= 0.0 and reach <= 1.0):
        raise ValueError(f"a readout of {readout_frames:.3f} frames with a shutter of {shutter_frames:.3f} frames "
                         "reaches beyond the neighbouring frames: readout + exposure time must be at most two frame "
                         "intervals (lower camera_effects.readout_time_s or exposure_time_s)")


def _row_distance(v_px: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """How far (rows) pixel coordinates v (...) lie outside a band's rows (2,): 0 inside."""
    edge = np.asarray(v_px, dtype=np.float64) + ROW_CENTRE_TO_EDGE
    with np.errstate(invalid="ignore"):
        d = np.maximum(rows[0] - edge, edge - rows[1])
    return np.where(np.isfinite(d), np.maximum(d, 0.0), np.inf)


def choose_bands(v_px: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per point, the band the image shows it in: v_px (B, ...) float, the point's row coordinate projected at each
    band's time; rows (B, 2). Returns (...) int, the band whose rows lie nearest its projection at that band's time
    (0 inside them; the earliest of equals)."""
    distance = np.stack([_row_distance(v_px[b], rows[b]) for b in range(len(rows))])
    return np.argmin(distance, axis=0)


def rolling_projection(joints_world, T_world_from_device, T_device_from_camera, lenses: Sequence,
                       readout_frames: float, bands: int):
    """2D joint labels as a rolling-shutter camera records them.

    joints_world: (F, J, 3) float world m, the clip's joints per frame; T_world_from_device: (F, 4, 4) float64;
    T_device_from_camera: (V, 4, 4) float64 (OpenCV cameras); lenses: V render lenses (`.project`, `.in_image`,
    `.height`); readout_frames: readout time x fps; bands: band count per image (as rendered).
    Returns (joints2d_px (F, V, J, 2) float64 OpenCV pixels, in_fov (F, V, J) bool, band_time_frames (F, V, J)
    float64: the time after the frame's time at which each joint is seen), with in_fov defined as in
    synth.labels.projection.project_joints.
    """
    joints = np.asarray(joints_world, dtype=np.float64)
    T_wd = np.asarray(T_world_from_device, dtype=np.float64)
    T_cd = invert_T(np.asarray(T_device_from_camera, dtype=np.float64))
    num_frames, num_joints = joints.shape[:2]
    near = [neighbours(joints, f) for f in range(num_frames)]
    poses = [neighbour_poses(T_wd, f) for f in range(num_frames)]
    uv = np.full((num_frames, len(lenses), num_joints, 2), np.nan)
    in_fov = np.zeros((num_frames, len(lenses), num_joints), dtype=bool)
    seen_at = np.zeros((num_frames, len(lenses), num_joints))
    frame, joint = np.arange(num_frames)[:, None], np.arange(num_joints)[None, :]
    for v, lens in enumerate(lenses):
        rows = band_rows(lens.height, bands)
        times = band_times_frames(len(rows), readout_frames)
        per_band_uv, per_band_ok = [], []
        for t in times:
            T_camera_from_world = np.stack([T_cd[v] @ invert_T(subframe_pose(poses[f], t)) for f in range(num_frames)])
            points = np.stack([subframe_points(*near[f], t) for f in range(num_frames)])
            uv_b, valid_b = lens.project(apply_T(T_camera_from_world[:, None], points))  # (F, J, 2), (F, J)
            uv_b = np.asarray(uv_b, dtype=np.float64)
            finite = np.isfinite(uv_b).all(axis=-1)
            inside = np.asarray(lens.in_image(np.where(finite[..., None], uv_b, 0.0)), dtype=bool)
            per_band_uv.append(uv_b)
            per_band_ok.append(np.asarray(valid_b, dtype=bool) & finite & inside)
        per_band_uv = np.stack(per_band_uv)  # (B, F, J, 2)
        band = choose_bands(per_band_uv[..., 1], rows)  # (F, J)
        uv[:, v] = per_band_uv[band, frame, joint]
        in_fov[:, v] = np.stack(per_band_ok)[band, frame, joint]
        seen_at[:, v] = times[band]
    return uv, in_fov, seen_at
