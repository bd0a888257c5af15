"""Alembic geometry caches through Blender's importer/exporter: per-frame mesh vertices to and from numpy.

Export and import work in a scratch scene that is deleted afterwards, so a warm render scene is left untouched.
Alembic files are Y-up; Blender's importer and exporter convert to and from its Z-up world, so the arrays here
are in Blender's (= egorig's) world axes.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from synth.appearance.clothing_cache import CacheMesh, CacheSamples, cache_mesh, clamp_frames
from synth.blender.capture import captured_output
from synth.errors import AssetError
from synth.io import atomic_path

#: Blender frame of the first cache sample written by export_alembic_cache.
FIRST_FRAME = 1


def _scratch_scene(name: str, fps: float) -> "bpy.types.Scene":
    scene = bpy.data.scenes.new(name)
    scene.render.fps = max(1, int(round(fps)))
    scene.render.fps_base = scene.render.fps / float(fps)
    return scene


def _remove_scene(scene: "bpy.types.Scene") -> None:
    """Delete a scratch scene with its objects, meshes and cache files."""
    objects = list(scene.collection.all_objects)
    meshes = [o.data for o in objects if o.type == "MESH"]
    caches = [m.cache_file for o in objects for m in o.modifiers if m.type == "MESH_SEQUENCE_CACHE" and m.cache_file]
    for o in objects:
        bpy.data.objects.remove(o)
    for me in meshes:
        if me.users == 0:
            bpy.data.meshes.remove(me)
    unused = [c for c in set(caches) if c.users == 0]
    if unused:
        bpy.data.batch_remove(unused)
    bpy.data.scenes.remove(scene)


def export_alembic_cache(path: str | Path, vertices: np.ndarray, faces: np.ndarray, fps: float,
                         uv: np.ndarray | None = None, face_uv_idx: np.ndarray | None = None,
                         name: str = "cloth") -> Path:
    """Write an animated mesh as an Alembic cache (one sample per frame, at `fps`), atomically.

    vertices: (F, V, 3) world frame (Z up), in the unit the file should hold; faces: (T, 3) int.
    uv / face_uv_idx: optional (L, 2) texture coordinates and (T, 3) per-corner indices.
    """
    from synth.blender import meshes as ME

    vertices = np.asarray(vertices, dtype=np.float32)
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    scene = _scratch_scene("egorig_abc_export", fps)
    try:
        me = ME.build_mesh(name, vertices[0], faces, uv, face_uv_idx)
        obj = bpy.data.objects.new(name, me)
        scene.collection.objects.link(obj)
        obj.shape_key_add(name="basis", from_mix=False)
        keys = []
        for f in range(1, len(vertices)):
            key = obj.shape_key_add(name=f"frame_{f}", from_mix=False)
            key.data.foreach_set("co", vertices[f].ravel())
            keys.append(key)
        for f in range(len(vertices)):
            for k, key in enumerate(keys, start=1):
                key.value = 1.0 if k == f else 0.0
                key.keyframe_insert("value", frame=FIRST_FRAME + f)
        scene.frame_start, scene.frame_end = FIRST_FRAME, FIRST_FRAME + len(vertices) - 1
        with atomic_path(path) as tmp:
            with captured_output(None), bpy.context.temp_override(scene=scene):
                result = bpy.ops.wm.alembic_export(filepath=str(tmp), start=scene.frame_start, end=scene.frame_end,
                                                   selected=False, uvs=uv is not None, packuv=False,
                                                   init_scene_frame_range=False, evaluation_mode="RENDER",
                                                   as_background_job=False)
            if "FINISHED" not in result or not tmp.is_file():
                raise AssetError(f"{path}: Blender's Alembic export failed")
    finally:
        _remove_scene(scene)
    return path


def read_alembic_cache(path: str | Path, fps: float, scale_to_m: float = 1.0,
                       frames: "list[int] | None" = None) -> list[CacheMesh]:
    """Every mesh of an Alembic cache, sampled at the frames of the file's time range at `fps`.

    fps: the rate the cache was written at (its samples map onto Blender frames at this rate). scale_to_m: file
    unit in metres. frames: 0-based cache frames to read (default all; indices past the end read the last frame),
    in the order given. Raises AssetError if the file cannot be read, holds no mesh, or a mesh changes topology.
    Label-only runs read the same arrays without Blender: synth.appearance.clothing_cache.load_clothing_cache.
    """
    return [cache_mesh(s, scale_to_m) for s in read_alembic_samples(path, fps, frames)]


def read_alembic_samples(path: str | Path, fps: float, frames: "list[int] | None" = None) -> list[CacheSamples]:
    """Every mesh of an Alembic cache as Blender evaluates it: local vertices (file unit) and world matrix per frame.

    fps, frames: as read_alembic_cache (frames must not be empty). What `synth assets convert` stores; cache_mesh
    turns it into what read_alembic_cache returns.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise AssetError(f"{path}: Alembic clothing cache not found")
    scene = _scratch_scene("egorig_abc_import", fps)
    out: list[CacheSamples] = []
    try:
        with captured_output(None), bpy.context.temp_override(scene=scene):
            result = bpy.ops.wm.alembic_import(filepath=str(path), set_frame_range=True, as_background_job=False,
                                               always_add_cache_reader=True)
        if "FINISHED" not in result:
            raise AssetError(f"{path}: Blender could not import this Alembic file; re-download it")
        objects = [o for o in scene.collection.all_objects if o.type == "MESH"]
        if not objects:
            raise AssetError(f"{path}: the Alembic file holds no mesh")
        first, last = scene.frame_start, scene.frame_end
        wanted = range(last - first + 1) if frames is None else frames
        blender_frames = [first + k for k in clamp_frames(wanted, last - first + 1)]
        if not blender_frames:
            raise AssetError(f"{path}: no frames requested")
        local: dict[str, list[np.ndarray]] = {o.name: [] for o in objects}
        matrices: dict[str, list[np.ndarray]] = {o.name: [] for o in objects}
        topology: dict[str, tuple] = {}
        for f in blender_frames:
            scene.frame_set(f)
            depsgraph = scene.view_layers[0].depsgraph
            for o in objects:
                ev = o.evaluated_get(depsgraph)
                me = ev.to_mesh()
                try:
                    co = np.empty(len(me.vertices) * 3, dtype=np.float32)
                    me.vertices.foreach_get("co", co)
                    if o.name not in topology:
                        topology[o.name] = _triangles(me)
                    elif len(co) // 3 != len(local[o.name][0]):
                        raise AssetError(f"{path}: mesh {o.name!r} changes its vertex count at frame {f}; "
                                         f"only fixed-topology caches are supported")
                    local[o.name].append(co.reshape(-1, 3))
                    matrices[o.name].append(np.array(ev.matrix_world, dtype=np.float64))
                finally:
                    ev.to_mesh_clear()
        for name, frames_v in local.items():
            faces, uv, fuv = topology[name]
            out.append(CacheSamples(name, np.stack(frames_v), np.stack(matrices[name]), faces, uv, fuv))
    finally:
        _remove_scene(scene)
    return out


def _triangles(me: "bpy.types.Mesh") -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """faces (T, 3) int32 from the mesh's loop triangles, and per-corner UVs ((L, 2), (T, 3)) when present."""
    me.calc_loop_triangles()
    n = len(me.loop_triangles)
    verts = np.empty(n * 3, dtype=np.int32)
    me.loop_triangles.foreach_get("vertices", verts)
    loops = np.empty(n * 3, dtype=np.int32)
    me.loop_triangles.foreach_get("loops", loops)
    if not me.uv_layers:
        return verts.reshape(n, 3), None, None
    layer = me.uv_layers.active or me.uv_layers[0]
    uv = np.empty(len(me.loops) * 2, dtype=np.float32)
    layer.data.foreach_get("uv", uv)
    return verts.reshape(n, 3), uv.reshape(-1, 2), loops.reshape(n, 3)
