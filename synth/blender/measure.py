"""Shared set-up of the measurement renders (synth/blender/raycheck.py, synth/blender/markers.py): an empty Cycles
scene on the CPU with a box pixel filter, no denoiser and no adaptive sampling, a camera of one lens (its OSL camera
or Cycles' native fisheye), and one float32 EXR render read back as an array."""

from __future__ import annotations

import tempfile
from pathlib import Path

import bpy
import numpy as np

from synth.blender import cameras as C
from synth.blender.capture import captured_output
from synth.blender.osl_camera import apply_osl_camera
from synth.blender.passes import oiio_module

#: The camera paths a measurement render takes (synth.config.camera_path).
CAMERA_PATHS = ("osl", "native")


def measurement_scene(lens, samples: int, filter_width_px: float) -> "bpy.types.Scene":
    """A factory-empty Cycles scene rendering lens.width x lens.height px linear float32 EXR with a box filter of
    `filter_width_px`, `samples` samples per pixel, no denoiser, no adaptive sampling, the Standard transform."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    cy = scene.cycles
    cy.device = "CPU"
    cy.samples = int(samples)
    cy.use_adaptive_sampling = False
    cy.use_denoising = False
    cy.pixel_filter_type = "BOX"
    cy.filter_width = float(filter_width_px)
    scene.render.resolution_x, scene.render.resolution_y = lens.width, lens.height
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    scene.view_settings.view_transform = "Standard"
    img = scene.render.image_settings
    img.file_format = "OPEN_EXR"
    img.color_depth = "32"
    return scene


def lens_camera(scene: "bpy.types.Scene", lens, camera: str, name: str, clip_start_m: float) -> "bpy.types.Object":
    """The scene's camera for `lens`: its OSL camera (camera "osl") or Cycles' fisheye of lens.cycles_settings()
    ("native"), in the rest pose (looking down world -Z, image up = world +Y)."""
    if camera not in CAMERA_PATHS:
        raise ValueError(f"camera must be one of {CAMERA_PATHS}, got {camera!r}")
    obj = C.new_camera(scene, name)
    scene.camera = obj
    if camera == "osl":
        apply_osl_camera(obj.data, lens, clip_start_m=clip_start_m)
    else:
        C.apply_cycles_camera(obj.data, lens.cycles_settings(), clip_start_m=clip_start_m)
    return obj


def render_exr(scene: "bpy.types.Scene", channels: int, prefix: str) -> np.ndarray:
    """Render the scene once to a temporary EXR and return (H, W, channels) float64 pixels (rows top to bottom)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        scene.render.filepath = str(Path(tmp) / "render.exr")
        with captured_output(None):  # Cycles' "Saved: ..." line is a C-level write to stdout
            bpy.ops.render.render(write_still=True)
        oiio = oiio_module()
        inp = oiio.ImageInput.open(scene.render.filepath)
        if inp is None:
            raise OSError(f"cannot read the render {scene.render.filepath}: {oiio.geterror()}")
        try:
            pixels = np.asarray(inp.read_image(0, 0, 0, channels, "float"), dtype=np.float64)
        finally:
            inp.close()
    return pixels.reshape(scene.render.resolution_y, scene.render.resolution_x, channels)
