"""A bare Cycles loop over the same scene objects as BlenderScene, used as the baseline for render overhead."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import bpy
import numpy as np

from synth.blender import cameras as C
from synth.blender import materials as M
from synth.blender import meshes as ME
from synth.blender import world as W
from synth.blender.cycles import apply_integrator, apply_world_sampling, select_device
from synth.blender.osl_camera import apply_osl_camera
from synth.blender.scene import build_body_mesh
from synth.constants import GROUND_HALF_SIZE_M


class BareLoop:
    """Builds body, garments, ground, sun, world and fisheye cameras with plain bpy calls, then per frame moves the
    meshes and cameras and calls `render(write_still=True)` once per view. No log capture, no atomic writes, no
    timing or pass bookkeeping: the least work that produces the same images.

    settings: synth.render_settings.RenderSettings (CPU only here). posed_body: PosedBody (vertices (F, V, 3)
    world m); garments: GarmentMesh list (vertices (F, Vg, 3) world m); rig: synth.geometry.rig.Rig.
    """

    def __init__(self, settings, rig, posed_body, appearance, environment, garments: Sequence):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        sc = self.scene = bpy.context.scene
        sc.render.engine = "CYCLES"
        apply_integrator(sc, settings, select_device(sc, "cpu"))
        sc.render.use_persistent_data = True
        sc.view_settings.view_transform = settings.view_transform
        img = sc.render.image_settings
        img.file_format = "JPEG"
        img.color_mode = "RGB"
        img.quality = settings.jpeg_quality

        h = GROUND_HALF_SIZE_M
        ground = bpy.data.objects.new("ground", ME.build_mesh(
            "ground", np.array([[-h, -h, 0], [h, -h, 0], [h, h, 0], [-h, h, 0]]), np.array([[0, 1, 2], [0, 2, 3]])))
        ground.data.materials.append(M.ground_material(environment.ground))
        sc.collection.objects.link(ground)
        sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
        sc.collection.objects.link(sun)
        W.place_sun(sun, environment)
        sc.world = W.build_world(environment)
        apply_world_sampling(sc.world, settings, bool(environment.hdri_path))

        me = build_body_mesh(posed_body, appearance)
        body = bpy.data.objects.new("body", me)
        sc.collection.objects.link(body)
        self._meshes = [(me, np.asarray(posed_body.vertices))]
        for g in garments:
            gm = ME.build_mesh(f"garment_{g.name}", g.vertices[0], g.faces, g.uv, g.face_uv_idx)
            ME.set_point_attribute(gm, M.REST_POSITION_ATTR, g.rest_vertices)
            gm.materials.append(M.garment_material(g.name, g.kind, g.cloth))
            sc.collection.objects.link(bpy.data.objects.new(f"garment_{g.name}", gm))
            self._meshes.append((gm, np.asarray(g.vertices)))

        self._cams = []
        for cam in rig.cameras:
            obj = C.new_camera(sc, f"cam_{cam.name}")
            if getattr(cam, "render", "native") == "osl":
                apply_osl_camera(obj.data, cam.lens, settings.clip_start_m)
            else:
                C.apply_cycles_camera(obj.data, cam.lens.cycles_settings(), settings.clip_start_m)
            self._cams.append((cam.name, obj, np.asarray(cam.T_device_from_camera, dtype=np.float64)))
            sc.render.resolution_x, sc.render.resolution_y = cam.lens.width, cam.lens.height
        sc.render.resolution_percentage = 100

    def render_frame(self, f: int, T_world_from_device: np.ndarray, out_dir: Path,
                     views: Sequence[str] | None = None) -> float:
        """Pose frame f (T_world_from_device (4, 4) float64), render each view to `out_dir/<view>_<f>.jpg`;
        returns the wall seconds of the whole frame."""
        t0 = time.perf_counter()
        for me, verts in self._meshes:
            ME.set_positions(me, verts[f])
        for name, obj, T_device_from_camera in self._cams:
            if views is not None and name not in views:
                continue
            C.set_camera_pose(obj, T_world_from_device @ T_device_from_camera)
            self.scene.camera = obj
            self.scene.render.filepath = str(Path(out_dir) / f"{name}_{f:06d}.jpg")
            bpy.ops.render.render(write_still=True)
        return time.perf_counter() - t0
