"""One Cycles scene per process, updated per clip (body, garments, environment, cameras) and per frame."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import bpy
import numpy as np

from synth.appearance import camera_effects as FX
from synth.appearance.bodymap import body_landmarks, paint_fields
from synth.appearance.hair import Hair
from synth.appearance.model import Appearance, Environment
from synth.blender import cameras as C
from synth.blender import display as D
from synth.blender import hair as HAIR
from synth.blender import materials as M
from synth.blender import meshes as ME
from synth.blender import motion as MO
from synth.blender import passes as P
from synth.blender import world as W
from synth.blender.capture import captured_output
from synth.blender.cycles import apply_integrator, apply_world_sampling, select_device
from synth.blender.osl_camera import apply_osl_camera
from synth.render_settings import RenderSettings
from synth.constants import OCC_BODY, OCC_GARMENT
from synth.errors import ConfigError
from synth.geometry import rolling_shutter as RS
from synth.geometry.shutter import neighbour_poses, neighbours, shutter_frames
from synth.geometry.transforms import opencv_camera_to_blender
from synth.io import atomic_path
from synth.scene.spec import EnvironmentSpec, SceneMesh, ground_mesh

#: Cycles devices that run OSL cameras.
OSL_DEVICES = ("CPU", "OPTIX")
#: Passes render_views can write.
PASSES = ("depth", "parts", "objects")
#: Rows rendered beyond each edge of a rolling shutter's band (and then dropped), so that the denoiser sees the
#: neighbourhood of the band's edge rows. Measured on a default 256 px frame (16 bands, readout 0 against the
#: global-shutter frame, same seed): 1 row 45 dB, 4 rows 50 dB, 8 rows 52 dB, where two seeds differ by 39-40 dB.
BAND_MARGIN_PX = 4
#: Layer of the object pass index in Cycles' multilayer EXR.
OBJECT_INDEX_LAYER = "Object Index"
_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


def _shm_tmpdir() -> Path:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="egorig_blender_", dir=base))


def build_body_mesh(posed_body, appearance: Appearance) -> "bpy.types.Mesh":
    """The body mesh at frame 0 with UVs, rest-pose and paint-field attributes and per-part materials.

    posed_body: synth.bodies.base.PosedBody (vertices (F, V, 3) world m, faces, part_of_face, uv, rest_vertices).
    """
    rest = np.asarray(posed_body.rest_vertices, dtype=np.float32)
    faces = np.asarray(posed_body.faces)
    parts = np.asarray(posed_body.part_of_face)
    me = ME.build_mesh("body", posed_body.vertices[0], faces, posed_body.uv, posed_body.face_uv_idx, parts)
    ME.set_point_attribute(me, M.REST_POSITION_ATTR, rest)
    fields = paint_fields(rest, body_landmarks(rest, faces, parts))
    for name in M.FIELD_ATTRS:
        ME.set_point_attribute(me, name, fields[name])
    for mat in M.body_materials(appearance):
        me.materials.append(mat)
    return me


class BlenderScene:
    """The render scene: build once per process, then per clip `load(spec)` (a synth.scene.spec.ClipSpec; it calls
    `set_cameras`, `set_body`, `set_garments`, `set_environment`, `set_seed`), and per frame `set_frame` +
    `render_views`.

    Objects: one body mesh (pass index OCC_BODY; one material per BODY_PARTS entry whose pass index is the
    parts-mask value), one mesh per loose garment (OCC_GARMENT), one mesh per environment mesh of the spec (the
    ground and every other occluder, pass index = its occluder code), a sun and a world: exactly the occluders the
    labels ray-cast. Blender's C-level output goes to `log_path` (discarded when None).
    """

    def __init__(self, settings: RenderSettings | None = None, log_path: Path | str | None = None):
        self.settings = settings or RenderSettings()
        self.log_path = Path(log_path) if log_path else None
        self._tmp = _shm_tmpdir()
        with captured_output(self.log_path):
            bpy.ops.wm.read_factory_settings(use_empty=True)
            self.scene = bpy.context.scene
            self.device = self._apply_settings()
        self.view_layer = self.scene.view_layers[0]
        self._cams: dict[str, bpy.types.Object] = {}
        self._resolution: dict[str, tuple[int, int]] = {}
        self._T_device_from_camera: dict[str, np.ndarray] = {}
        self._body_obj: bpy.types.Object | None = None
        self._body_vertices: np.ndarray | None = None
        self._garments: list[tuple[bpy.types.Object, np.ndarray]] = []
        self._hair_obj: bpy.types.Object | None = None
        self._hair: "Hair | None" = None
        self._T_world_from_head: np.ndarray | None = None
        self._occluders: list[bpy.types.Object] = []
        self._rig = None
        self._seed = 0
        self._frame = 0
        self._effects: FX.CameraEffects | None = None
        self._T_world_from_device_clip: np.ndarray | None = None  # (F, 4, 4) of a clip with motion keys, else None
        self._rolling: tuple[float, int] | None = None  # (readout frames, bands) of a rolling shutter, else None
        self._field_angle: dict[str, tuple[np.ndarray, float]] = {}
        self._lenses: dict[str, object] = {}
        self._passes_enabled: tuple[str, ...] = ()
        self.timings: dict[str, float] = {}
        self._build_static()

    # ------------------------------------------------------------------------------------------------------------
    def _apply_settings(self) -> str:
        s, sc = self.settings, self.scene
        sc.render.engine = "CYCLES"
        device = select_device(sc, s.device)
        apply_integrator(sc, s, device)
        sc.render.use_persistent_data = True
        sc.render.resolution_percentage = 100
        sc.render.film_transparent = False
        sc.view_settings.view_transform = s.view_transform
        sc.view_settings.look = "None"
        return device

    def apply_settings(self, settings: RenderSettings) -> None:
        """Switch a live scene to other render settings on the same device (the device, view transform and passes
        stay). A change of world sampling reaches Cycles with the next fresh render session: set
        `scene.render.use_persistent_data` False for one render to force one."""
        if settings.device != self.settings.device or settings.view_transform != self.settings.view_transform:
            raise ValueError("apply_settings keeps the device and view transform; build a new BlenderScene for those")
        self.settings = settings
        apply_integrator(self.scene, settings, self.device)
        if self._world is not None:
            apply_world_sampling(self._world, settings, self._world_image_based)

    def _build_static(self) -> None:
        sc = self.scene
        ground = ground_mesh()
        self._ground = bpy.data.objects.new("ground", ME.build_mesh("ground", ground.vertices, ground.faces))
        self._ground.pass_index = ground.code
        self._ground_vertices = ground.vertices
        sc.collection.objects.link(self._ground)
        sun = bpy.data.lights.new("sun", "SUN")
        self._sun = bpy.data.objects.new("sun", sun)
        sc.collection.objects.link(self._sun)
        self._world: bpy.types.World | None = None
        self._world_image_based = False

    # ------------------------------------------------------------------------------------------------------------
    def set_cameras(self, rig) -> None:
        """One camera per rig view (rig: synth.geometry.rig.Rig or anything with `.cameras` items having name,
        T_device_from_camera (4, 4), lens and optionally render): the OSL camera of `lens` when render is "osl",
        else Cycles' fisheye from `lens.cycles_settings()`."""
        for obj in self._cams.values():
            data = obj.data
            bpy.data.objects.remove(obj)
            bpy.data.cameras.remove(data)
        self._cams, self._resolution, self._T_device_from_camera = {}, {}, {}
        self._field_angle = {}
        self._lenses = {cam.name: cam.lens for cam in rig.cameras}
        for cam in rig.cameras:
            obj = C.new_camera(self.scene, f"cam_{cam.name}")
            if getattr(cam, "render", "native") == "osl":
                if self.device not in OSL_DEVICES:
                    raise ConfigError("render", "camera", f"camera {cam.name} is an OSL camera, which Cycles runs on "
                                      f"{' and '.join(OSL_DEVICES)} only (this is {self.device}): set render.device "
                                      f"to cpu or optix, or render.camera to native")
                apply_osl_camera(obj.data, cam.lens, self.settings.clip_start_m)
                self._resolution[cam.name] = (cam.lens.width, cam.lens.height)
            else:
                cc = cam.lens.cycles_settings()
                C.apply_cycles_camera(obj.data, cc, self.settings.clip_start_m)
                self._resolution[cam.name] = (cc.resolution_x, cc.resolution_y)
            self._cams[cam.name] = obj
            self._T_device_from_camera[cam.name] = np.asarray(cam.T_device_from_camera, dtype=np.float64)
        self.scene.camera = next(iter(self._cams.values()), None)

    def set_body(self, posed_body, appearance: Appearance) -> None:
        """Body mesh (frame 0) with UVs, rest-pose attributes and per-part materials for `appearance`.

        posed_body: synth.bodies.base.PosedBody (vertices (F, V, 3) world m, faces, part_of_face, uv, rest_vertices).
        """
        me = build_body_mesh(posed_body, appearance)
        if self._body_obj is None:
            self._body_obj = bpy.data.objects.new("body", me)
            self._body_obj.pass_index = OCC_BODY
            self.scene.collection.objects.link(self._body_obj)
        else:
            ME.replace_mesh(self._body_obj, me)
        self._body_vertices = np.asarray(posed_body.vertices)

    def set_garments(self, garments: Sequence) -> None:
        """Replace the loose garments (synth.appearance.garments.GarmentMesh list; vertices (F, Vg, 3) world m)."""
        for obj, _ in self._garments:
            me = obj.data
            bpy.data.objects.remove(obj)
            mats = [m for m in me.materials if m is not None]
            bpy.data.meshes.remove(me)
            for m in mats:
                if m.users == 0:
                    bpy.data.materials.remove(m)
        self._garments = []
        for g in garments:
            me = ME.build_mesh(f"garment_{g.name}", g.vertices[0], g.faces, g.uv, g.face_uv_idx)
            ME.set_point_attribute(me, M.REST_POSITION_ATTR, g.rest_vertices)
            me.materials.append(M.garment_material(g.name, g.kind, g.cloth))
            obj = bpy.data.objects.new(f"garment_{g.name}", me)
            obj.pass_index = OCC_GARMENT
            self.scene.collection.objects.link(obj)
            self._garments.append((obj, np.asarray(g.vertices)))

    def set_hair(self, hair: "Hair | None", T_world_from_head: np.ndarray) -> None:
        """Replace the strand hair (synth.appearance.hair.Hair, head frame; None: none) that follows
        T_world_from_head (F, 4, 4) float64."""
        if self._hair_obj is not None:
            HAIR.remove_hair_object(self._hair_obj)
            self._hair_obj = None
        self._T_world_from_head = np.asarray(T_world_from_head, dtype=np.float64)
        self._hair = hair
        if hair is not None:
            self._hair_obj = HAIR.build_hair_object(hair, self.scene.collection)

    def load(self, spec) -> None:
        """Everything of one clip (synth.scene.spec.ClipSpec): cameras (rebuilt only when the rig changed), body,
        garments, environment and the noise seed. Then `set_frame(f, spec.T_world_from_device[f])` per frame."""
        if spec.rig is not self._rig:
            self.set_cameras(spec.rig)
            self._rig = spec.rig
        self.set_body(spec.posed, spec.appearance)
        self.set_garments(spec.garments)
        self.set_hair(spec.hair, spec.posed.T_world_from_head)
        self.set_environment(spec.environment)
        self.set_seed(spec.index)
        self.set_camera_effects(spec.camera_effects)
        self.set_motion_blur(spec)

    def set_motion_blur(self, spec) -> None:
        """Motion blur from the clip's per-frame motion when its camera effects have an exposure time, and a rolling
        shutter when they have a readout time (synth/blender/motion.py; both need the motion keyed around the
        frame); otherwise sharp frames from a global shutter. Call after the body, garments and hair."""
        fx = spec.camera_effects
        exposure = fx.exposure_time_s if fx is not None else None
        self._rolling = spec.rolling_shutter()
        movers = [obj for obj in (*self._cams.values(), self._hair_obj) if obj is not None]
        if exposure is None and self._rolling is None:
            MO.disable(self.scene)
            for obj in movers:
                MO.clear_object_motion(obj)
            self._T_world_from_device_clip = None
            return
        shutter = shutter_frames(exposure, spec.motion.fps) if exposure is not None else 0.0
        if self._rolling is not None:
            RS.check_readout(self._rolling[0], shutter)
        if exposure is not None:
            MO.enable(self.scene, shutter)
        else:
            MO.disable(self.scene)
            self.scene.frame_set(MO.MOTION_FRAME)
        for obj in [self._body_obj] + [g for g, _ in self._garments]:
            if obj is not None:
                MO.attach_mesh_motion(obj)
        self._T_world_from_device_clip = np.asarray(spec.T_world_from_device, dtype=np.float64)

    def set_camera_effects(self, effects: "FX.CameraEffects | None") -> None:
        """The clip's camera effects (synth.appearance.camera_effects), applied to every image render_views writes
        from now on; None: the images as Cycles renders them."""
        if effects is not None:
            missing = [v for v in self._cams if v not in {name for name, _ in effects.views}]
            if missing:
                raise ValueError(f"camera effects name no effects for views {missing}")
        self._effects = effects

    def _field_angles(self, view: str) -> tuple[np.ndarray, float]:
        """(H, W) float32 field angle (rad) per pixel of a view's image and the lens' max field angle (cached)."""
        if view not in self._field_angle:
            lens = self._lenses[view]
            angles = FX.field_angle_map(lens)
            if angles.shape != self._resolution[view][::-1]:
                raise RuntimeError(f"{view}: lens image {angles.shape[::-1]} differs from the render "
                                   f"{self._resolution[view]}")
            self._field_angle[view] = (angles, float(lens.max_field_angle_rad))
        return self._field_angle[view]

    def _linear(self, result, view: str) -> np.ndarray:
        """(H, W, 3) float32 scene-linear RGB of the render result (row 0 = top)."""
        return self._read_exr(result, self._tmp / f"{view}_linear.exr", P.read_exr_rgb, "IMAGE", "OPEN_EXR")

    def _layers(self, result, view: str) -> dict[str, np.ndarray]:
        """{pass name: (H, W, C) float32} of the render result's passes (synth.blender.passes.read_multilayer_exr)."""
        return self._read_exr(result, self._tmp / f"{view}.exr", P.read_multilayer_exr, "MULTI_LAYER_IMAGE",
                              "OPEN_EXR_MULTILAYER")

    def _read_exr(self, result, path: Path, read, media_type: str, file_format: str):
        """Save the render result as a 32-bit float EXR at `path` (scratch), read it back with `read`, delete it."""
        img = self.scene.render.image_settings
        img.media_type = media_type
        img.file_format = file_format
        if media_type == "IMAGE":
            img.color_mode = "RGB"
        img.color_depth = "32"
        result.save_render(str(path), scene=self.scene)
        data = read(path)
        path.unlink()
        return data

    def _write_with_effects(self, linear: np.ndarray, view: str, path: Path) -> None:
        """Apply the camera effects to a view's scene-linear render (H, W, 3) float32, then the scene's display
        transform and the encoder (synth.blender.display), and write `path` atomically."""
        effects = self._effects
        angles, max_angle = self._field_angles(view)
        fx = effects.view(view)
        signal = FX.apply_sensor(linear, fx, effects, FX.relative_illumination(angles, max_angle, fx.vignetting),
                                 effects.noise_rng(self._frame, view))
        display = D.display_transform(signal, self.settings.view_transform)
        if effects.monochrome:  # one channel, as a monochrome camera writes (the transform keeps greys to rounding)
            display = display.mean(axis=-1)
        rgb8 = D.to_8bit(display)
        D.write_image(path, rgb8, effects.jpeg_quality or self.settings.jpeg_quality)

    def set_environment(self, environment: EnvironmentSpec) -> None:
        """The environment's meshes (the ground and every other occluder, each with its occluder code as pass
        index), the ground material, sky (gradient or HDRI; a missing HDRI raises AssetError) and sun."""
        look = environment.look
        if not np.array_equal(environment.ground.vertices, self._ground_vertices):
            ME.replace_mesh(self._ground, ME.build_mesh("ground", environment.ground.vertices,
                                                        environment.ground.faces))
            self._ground_vertices = environment.ground.vertices
        self._ground.pass_index = environment.ground.code
        old_mats = [m for m in self._ground.data.materials if m is not None]
        self._ground.data.materials.clear()
        for m in old_mats:
            if m.users == 0:
                bpy.data.materials.remove(m)
        self._ground.data.materials.append(M.ground_material(look.ground))
        self._set_occluders(environment.occluders, look)
        self._world = W.build_world(look, self._world)
        self._world_image_based = bool(look.hdri_path) and W.world_lights(look)
        apply_world_sampling(self._world, self.settings, self._world_image_based)
        self.scene.world = self._world
        W.place_sun(self._sun, look)

    def _set_occluders(self, occluders: Sequence[SceneMesh], look: Environment) -> None:
        """Replace the environment's static occluders other than the ground (and the area lights of its lamps)."""
        for obj in self._occluders:
            data = obj.data
            bpy.data.objects.remove(obj)
            (bpy.data.lights if isinstance(data, bpy.types.Light) else bpy.data.meshes).remove(data)
        self._occluders = []
        for mesh in occluders:
            me = ME.build_mesh(f"occluder_{mesh.name}", mesh.vertices, mesh.faces)
            if mesh.material == "lamp":
                me.materials.append(M.lamp_material(mesh.surface.color_a, mesh.emission_strength))
                self._occluders.append(W.add_lamp_light(self.scene.collection, mesh))
            else:
                me.materials.append(M.ground_material(mesh.surface if mesh.surface is not None else look.ground))
            obj = bpy.data.objects.new(f"occluder_{mesh.name}", me)
            obj.pass_index = mesh.code
            self.scene.collection.objects.link(obj)
            self._occluders.append(obj)

    def set_seed(self, seed: int) -> None:
        """Base of the per-frame Cycles seed (use the clip seed so reruns reproduce the noise)."""
        self._seed = int(seed)

    def set_frame(self, f: int, T_world_from_device: np.ndarray) -> None:
        """Move the body and garments to frame f and the cameras to T_world_from_device (4, 4) float64 @
        T_device_from_camera of each view."""
        t0 = time.perf_counter()
        T = np.asarray(T_world_from_device, dtype=np.float64)
        if self._T_world_from_device_clip is not None:
            self._set_frame_in_motion(f, T)
        else:
            if self._body_obj is not None and self._body_vertices is not None:
                ME.set_positions(self._body_obj.data, self._body_vertices[f])
            for obj, verts in self._garments:
                ME.set_positions(obj.data, verts[f])
            if self._hair_obj is not None:
                HAIR.set_hair_pose(self._hair_obj, self._T_world_from_head[f])
            self._set_hair_shape(f)
            for view, obj in self._cams.items():
                C.set_camera_pose(obj, T @ self._T_device_from_camera[view])
        self.scene.cycles.seed = (self._seed * 1_000_003 + int(f)) % (2**31)
        self._frame = int(f)
        self.timings["set_frame_s"] = time.perf_counter() - t0

    def _set_hair_shape(self, f: int) -> None:
        """Hair that moves takes frame f's shape in the head frame (with motion blur that shape is carried through
        the shutter by the head's motion; its change of shape between frames is not blurred)."""
        if self._hair_obj is not None and self._hair.moves:
            HAIR.set_hair_points(self._hair_obj, self._hair.points_at(f))

    def _set_frame_in_motion(self, f: int, T_world_from_device: np.ndarray) -> None:
        """set_frame of a clip with motion blur or a rolling shutter: every moving thing gets frame f and its
        neighbours."""
        clip = self._T_world_from_device_clip
        if not np.allclose(clip[f], T_world_from_device, atol=1e-9):
            raise ValueError(f"frame {f}: with motion blur or a rolling shutter the device pose must be the loaded "
                             f"clip's T_world_from_device[{f}]")
        if self._body_obj is not None and self._body_vertices is not None:
            MO.set_mesh_motion(self._body_obj, *neighbours(self._body_vertices, f))
        for obj, verts in self._garments:
            MO.set_mesh_motion(obj, *neighbours(verts, f))
        if self._hair_obj is not None:
            MO.set_object_motion(self._hair_obj, neighbour_poses(self._T_world_from_head, f))
        self._set_hair_shape(f)
        devices = neighbour_poses(clip, f)
        for view, obj in self._cams.items():
            MO.set_object_motion(obj, opencv_camera_to_blender(devices @ self._T_device_from_camera[view]))

    # ------------------------------------------------------------------------------------------------------------
    def _enable_passes(self, passes: tuple[str, ...]) -> None:
        if passes == self._passes_enabled:
            return
        self.view_layer.use_pass_z = "depth" in passes
        self.view_layer.use_pass_material_index = "parts" in passes
        self.view_layer.use_pass_object_index = "parts" in passes or "objects" in passes
        self._passes_enabled = passes

    def render_views(self, out_paths: Mapping[str, Path | str],
                     passes: Mapping[str, Mapping[str, Path | str]] | None = None) -> dict[str, float]:
        """Render each view in `out_paths` ({view: image path, .jpg/.jpeg or .png}) at the current frame.

        passes: optional {"depth": {view: .exr path}, "parts": {view: .png path}}. depth: (H, W) float32 EXR,
        channel "Z", EUCLIDEAN distance in metres from the camera centre to the surface seen through each pixel
        centre (Cycles' panoramic Depth pass; 0 = no surface). objects: (H, W) uint8 PNG of the object pass index
        at the pixel centre, i.e. the occluder code of what the pixel sees (0 background, synth.constants.OCC_*).
        parts: (H, W) uint8 PNG of the material index at the
        pixel centre: 0 background/scene, 1 + BODY_PARTS index for the body, GARMENT_MASK_BASE + LOOSE_KINDS index
        for loose garments (synth.appearance.model). With camera effects (set_camera_effects) the image is Cycles'
        scene-linear render through the effects and the display transform, encoded at the clip's JPEG quality;
        the passes are unaffected. With a rolling shutter (the camera effects' readout time) every image and pass
        is put together from bands of rows, each rendered with the scene where it is at the band's time
        (synth/geometry/rolling_shutter.py). All files are written atomically. Returns {view: seconds};
        `self.timings` gets this call's totals over the views: "render_s" (Cycles, denoising included),
        "image_write_s" (image encoding and the atomic rename) and "passes_s" (EXR write, read and pass files).
        """
        passes = {k: dict(v) for k, v in (passes or {}).items() if v}
        unknown = set(passes) - set(PASSES)
        if unknown:
            raise ValueError(f"unknown passes {sorted(unknown)}; available: {PASSES}")
        self._enable_passes(tuple(p for p in PASSES if p in passes))
        paths = {}
        for view, path in out_paths.items():
            if view not in self._cams:
                raise KeyError(f"no camera {view!r}; set_cameras gave {tuple(self._cams)}")
            path = Path(path)
            if path.suffix.lower() not in _FORMATS:
                raise ValueError(f"{path}: image extension must be one of {sorted(_FORMATS)}")
            paths[view] = path
        if self._rolling is not None:
            return self._render_views_rolling(paths, passes)
        seconds: dict[str, float] = {}
        totals = {"render_s": 0.0, "image_write_s": 0.0, "passes_s": 0.0}
        for view, path in paths.items():
            t0 = time.perf_counter()
            self._select_view(view)
            wanted = [p for p in passes if view in passes[p]]
            with captured_output(self.log_path):
                t1 = time.perf_counter()
                bpy.ops.render.render(write_still=False)
                t2 = time.perf_counter()
                totals["render_s"] += t2 - t1
                result = bpy.data.images["Render Result"]
                if self._effects is not None:
                    self._write_with_effects(self._linear(result, view), view, path)
                else:
                    self._write_plain(result, path)
                t3 = time.perf_counter()
                totals["image_write_s"] += t3 - t2
                layers = self._layers(result, view) if wanted else {}
            self._write_passes(view, layers, passes)
            seconds[view] = time.perf_counter() - t0
            totals["passes_s"] += time.perf_counter() - t3
        self.timings.update(totals)
        return seconds

    def _select_view(self, view: str) -> None:
        self.scene.camera = self._cams[view]
        self.scene.render.resolution_x, self.scene.render.resolution_y = self._resolution[view]

    def _write_plain(self, result, path: Path) -> None:
        """Write the render result as Blender encodes it (display transform, 8 bit), atomically."""
        img = self.scene.render.image_settings
        fmt = _FORMATS[path.suffix.lower()]
        img.media_type = "IMAGE"
        img.file_format = fmt
        img.color_mode = "RGB"
        if fmt == "JPEG":
            img.quality = self.settings.jpeg_quality
        else:
            img.color_depth = "8"
            img.compression = 15
        with atomic_path(path) as tmp:
            result.save_render(str(tmp), scene=self.scene)

    def _write_passes(self, view: str, layers: Mapping[str, np.ndarray],
                      passes: Mapping[str, Mapping[str, Path | str]]) -> None:
        """Write a view's requested pass files from its render layers (read_multilayer_exr's names)."""
        wanted = [p for p in passes if view in passes[p]]
        if "depth" in wanted:
            P.write_depth_exr(Path(passes["depth"][view]), P.depth_from_pass(layers["Depth"][..., 0]))
        if "parts" in wanted:
            mask = np.rint(layers["Material Index"][..., 0]).astype(np.uint8)
            P.write_mask_png(Path(passes["parts"][view]), mask)
        if "objects" in wanted:
            codes = np.rint(layers[OBJECT_INDEX_LAYER][..., 0]).astype(np.uint8)
            P.write_mask_png(Path(passes["objects"][view]), codes)

    def _render_views_rolling(self, paths: Mapping[str, Path],
                              passes: Mapping[str, Mapping[str, Path | str]]) -> dict[str, float]:
        """render_views with a rolling shutter: band after band, the scene is set to the band's time (a sub-frame of
        the motion keyed around the frame) and every view renders that band's rows, plus BAND_MARGIN_PX rows either
        side so the denoiser sees across the band's edges (the margins are dropped)."""
        if self._effects is None:
            raise RuntimeError("a rolling shutter is one of the camera effects: set_camera_effects first")
        readout_frames, bands = self._rolling
        rows = {view: RS.band_rows(self._resolution[view][1], bands) for view in paths}
        num_bands = min(len(r) for r in rows.values())
        if any(len(r) != num_bands for r in rows.values()):  # an image with fewer rows than bands: one row a band
            rows = {view: RS.band_rows(self._resolution[view][1], num_bands) for view in paths}
        times = RS.band_times_frames(num_bands, readout_frames)
        linear = {v: np.zeros((*self._resolution[v][::-1], 3), np.float32) for v in paths}
        layers: dict[str, dict[str, np.ndarray]] = {v: {} for v in paths}
        seconds = {v: 0.0 for v in paths}
        totals = {"render_s": 0.0, "image_write_s": 0.0, "passes_s": 0.0}
        render = self.scene.render
        render.use_border, render.use_crop_to_border = True, False
        render.border_min_x, render.border_max_x = 0.0, 1.0
        try:
            for b, t in enumerate(times):
                at = MO.MOTION_FRAME + float(t)
                self.scene.frame_set(int(np.floor(at)), subframe=float(at - np.floor(at)))
                for view in paths:
                    t0 = time.perf_counter()
                    self._select_view(view)
                    height = self._resolution[view][1]
                    start, stop = (int(x) for x in rows[view][b])
                    render.border_min_y, render.border_max_y = RS.band_border(start, stop, height, BAND_MARGIN_PX)
                    with captured_output(self.log_path):
                        t1 = time.perf_counter()
                        bpy.ops.render.render(write_still=False)
                        totals["render_s"] += time.perf_counter() - t1
                        result = bpy.data.images["Render Result"]
                        linear[view][start:stop] = self._linear(result, view)[start:stop]
                        if any(view in passes[p] for p in passes):
                            t2 = time.perf_counter()
                            for name, arr in self._layers(result, view).items():
                                layers[view].setdefault(name, np.zeros_like(arr))[start:stop] = arr[start:stop]
                            totals["passes_s"] += time.perf_counter() - t2
                    seconds[view] += time.perf_counter() - t0
        finally:
            render.use_border = False
            self.scene.frame_set(MO.MOTION_FRAME)
        for view, path in paths.items():
            t0 = time.perf_counter()
            self._write_with_effects(linear[view], view, path)
            t1 = time.perf_counter()
            self._write_passes(view, layers[view], passes)
            totals["image_write_s"] += t1 - t0
            totals["passes_s"] += time.perf_counter() - t1
            seconds[view] += time.perf_counter() - t0
        self.timings.update(totals)
        return seconds

    def save_blend(self, path: Path | str) -> None:
        """Save the assembled scene (current frame) as a .blend for inspection in the Blender GUI, atomically."""
        with atomic_path(Path(path).resolve()) as tmp, captured_output(self.log_path):
            bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, compress=True)

    def close(self) -> None:
        """Remove the scratch directory (the Blender session itself lives until the process exits)."""
        shutil.rmtree(self._tmp, ignore_errors=True)


def blender_version() -> str:
    """The running Blender's version string (recorded in dataset.json)."""
    return bpy.app.version_string
