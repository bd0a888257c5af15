"""Motion blur and rolling shutters from the clip's real per-frame motion.

Cycles gives every camera ray a time within the shutter and sees each moving thing where it is at that time; for
that Blender evaluates the scene at the shutter's open and close sub-frames. egorig sets positions directly per
frame, so the motion is handed to Blender as animation around the fixed scene frame MOTION_FRAME:

- meshes (body, garments) carry shape keys "prev" and "next" (the neighbouring frames' vertices, relative to the
  basis: this frame's) whose values are keyed linearly from 1 at MOTION_FRAME -/+ 1 to 0 at MOTION_FRAME, so at
  sub-frame MOTION_FRAME + t the mesh is cur + |t| (neighbour - cur);
- objects (cameras, hair) carry location and rotation-quaternion keys at the three frames, interpolated linearly
  (the quaternion component-wise, normalised by Blender).

Between two frames everything moves linearly, as synth/geometry/shutter.py computes without Blender (tests render
the sharp sub-frames with it and compare their mean with the blurred render). The shutter is global and centred
on the frame; its length in frames is exposure time x clip fps. A rolling shutter renders bands of rows at
sub-frames of the same keys (synth/blender/scene.py; Cycles' own rolling shutter does not act on these fisheye
cameras: with it on, every row of a render shows the same instant).
"""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from synth.geometry.shutter import pose_keys

#: Scene frame every frame is rendered at; the neighbouring frames' poses are keyed at MOTION_FRAME -/+ 1.
MOTION_FRAME = 1
#: Shape key names of the neighbouring frames' vertices.
SHAPE_KEYS = ("prev", "next")
#: Keyed object channels.
OBJECT_PATHS = ("location", "rotation_quaternion")


def enable(scene: "bpy.types.Scene", shutter_frames: float) -> None:
    """Motion blur on, centred on the frame, `shutter_frames` long."""
    scene.frame_set(MOTION_FRAME)
    scene.render.use_motion_blur = True
    scene.render.motion_blur_shutter = float(shutter_frames)
    scene.render.motion_blur_position = "CENTER"


def disable(scene: "bpy.types.Scene") -> None:
    scene.render.use_motion_blur = False


def _linear_keys(id_data) -> None:
    """Make every key of id_data's action linear (keyframe_insert uses the user preference, Bezier)."""
    action = id_data.animation_data.action if id_data.animation_data else None
    if action is None:
        return
    for layer in action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                for fc in bag.fcurves:
                    for kp in fc.keyframe_points:
                        kp.interpolation = "LINEAR"


def attach_mesh_motion(obj: "bpy.types.Object") -> None:
    """Give a mesh object the basis, prev and next shape keys and their keyed values (see the module docstring)."""
    if obj.data.shape_keys is not None:
        return
    obj.shape_key_add(name="Basis", from_mix=False)
    for name in SHAPE_KEYS:
        obj.shape_key_add(name=name, from_mix=False)
    key = obj.data.shape_keys
    for name, side in zip(SHAPE_KEYS, (-1, 1)):
        block = key.key_blocks[name]
        for frame, value in ((MOTION_FRAME + side, 1.0), (MOTION_FRAME, 0.0)):
            block.value = value
            block.keyframe_insert("value", frame=frame)
    _linear_keys(key)


def set_mesh_motion(obj: "bpy.types.Object", prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray) -> None:
    """The mesh at this frame (cur) and its neighbours (prev, nxt): (V, 3) world m each."""
    key = obj.data.shape_keys
    for name, verts in (("Basis", cur), ("prev", prev), ("next", nxt)):
        key.key_blocks[name].data.foreach_set("co", np.ascontiguousarray(verts, dtype=np.float32).ravel())
    key.update_tag()
    obj.data.update()


def set_object_motion(obj: "bpy.types.Object", matrices: np.ndarray) -> None:
    """Key an object's world matrix at MOTION_FRAME - 1, MOTION_FRAME, MOTION_FRAME + 1: matrices (3, 4, 4)
    float64 (prev, this frame, next), rigid, metres. The object has no parent."""
    obj.rotation_mode = "QUATERNION"
    new = obj.animation_data is None or obj.animation_data.action is None
    locs, quats = pose_keys(matrices)
    for side, loc, q in zip((-1, 0, 1), locs, quats):
        obj.location = loc.tolist()
        obj.rotation_quaternion = q.tolist()
        for path in OBJECT_PATHS:
            obj.keyframe_insert(path, frame=MOTION_FRAME + side)
    if new:
        _linear_keys(obj)
    # The object's own transform is this frame's (what frame MOTION_FRAME evaluates to).
    obj.matrix_world = Matrix(np.asarray(matrices[1], dtype=np.float64).tolist())


def clear_object_motion(obj: "bpy.types.Object") -> None:
    obj.animation_data_clear()


