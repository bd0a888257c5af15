"""Fisheye camera datablocks from CyclesCamera settings, and camera poses from OpenCV extrinsics."""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from synth.geometry.transforms import opencv_camera_to_blender


def new_camera(scene: "bpy.types.Scene", name: str) -> "bpy.types.Object":
    """Create a camera object linked to `scene` (settings come from `apply_cycles_camera`)."""
    data = bpy.data.cameras.new(name)
    obj = bpy.data.objects.new(name, data)
    scene.collection.objects.link(obj)
    return obj


def apply_cycles_camera(cam: "bpy.types.Camera", cc, clip_start_m: float, clip_end_m: float = 1000.0) -> None:
    """Write one lens' CyclesCamera (synth.geometry.lenses.CyclesCamera) into a Camera datablock.

    Fisheye settings live on the Camera in Blender 5 (research/blender.md section 1); the render resolution is
    scene-wide and set by the caller from cc.resolution_x/y.
    """
    cam.type = "PANO"
    cam.panorama_type = cc.panorama_type
    cam.fisheye_fov = float(cc.fisheye_fov_rad)
    cam.fisheye_lens = float(cc.fisheye_lens_mm)
    for i, k in enumerate(cc.polynomial_k):
        setattr(cam, f"fisheye_polynomial_k{i}", float(k))
    cam.sensor_width = float(cc.sensor_width_mm)
    cam.sensor_height = float(cc.sensor_height_mm)
    cam.sensor_fit = cc.sensor_fit
    cam.shift_x = float(cc.shift_x)
    cam.shift_y = float(cc.shift_y)
    cam.clip_start = float(clip_start_m)
    cam.clip_end = float(clip_end_m)


def set_camera_pose(obj: "bpy.types.Object", T_world_from_camera: np.ndarray) -> None:
    """Place a Blender camera from an OpenCV camera pose T_world_from_camera (4, 4) float64, metres."""
    T_world_from_blcam = opencv_camera_to_blender(np.asarray(T_world_from_camera, dtype=np.float64))
    obj.matrix_world = Matrix(T_world_from_blcam.tolist())
