"""README_egorig.md of an Ego4View export: every file and field, the units and the pixel convention."""

from __future__ import annotations

from synth.dataset.ego4view import layout as L
from synth.dataset.ego4view.calib import EGO4VIEW_IMAGE_PX
from synth.dataset.ego4view.records import EGO4VIEW_HEATMAP_CELLS


def _tree(layout: str, images: bool) -> str:
    rgb = f"fisheye_rgb/camera_<view>/<frame>{L.IMAGE_SUFFIX[layout]}" if images else "(no fisheye_rgb/: labels only)"
    if layout == "syn":
        return f"""{{train,validation,test}}.txt       one line each: rp_egorig_<split> (empty file: no clips in that split)
{L.CALIB_DIR}/camera_<view>.json         the rig's calibrations, Ego4View JSON at {EGO4VIEW_IMAGE_PX} px
{L.MANIFEST_NAME}                  layout, source dataset, sequences (clip, identity, split), calibration residuals
rp_egorig_<split>/<clip_id>/
  {rgb}
  json_smplx_gendered/<frame>.json
  fisheye_hm/camera_<view>/<frame>.npy"""
    return f"""{{train,validation,test}}.txt       one sequence directory per line: {L.RW_DATE_DIR}/S_<identity>/seq_<clip_id>-0
{L.CALIB_DIR}/camera_<view>.json         the rig's calibrations, Ego4View JSON at {EGO4VIEW_IMAGE_PX} px
{L.MANIFEST_NAME}                  layout, source dataset, sequences (clip, identity, split), calibration residuals
{L.RW_DATE_DIR}/S_<identity>/
  seq_<clip_id>_metadata.json       device-to-camera transforms and intrinsics of the sequence
  seq_<clip_id>-0/
    {rgb}
    json_smplx/<frame>.json
    fisheye_hm/camera_<view>/<frame>.npy"""


def readme_text(reader, plan, source_views: list[str]) -> str:
    """Field-by-field description of the exported files (plan: export._Plan; source_views: the dataset view of
    each exported camera)."""
    layout, images, forced = plan.layout, plan.images, plan.forced
    cameras = ", ".join(L.camera_key(v) + ("" if v == src else f" (rig view {src})")
                        for v, src in zip(plan.views, source_views))
    width, height = reader.image_size
    trans = (
        "`trans_blender`: [x, y, z] metres, world frame (Blender world, Z up) = native `joints3d_world`."
        if layout == "syn"
        else "`trans`: [x, y, z] centimetres, world frame (Blender world, Z up) = native `joints3d_world` x 100."
    )
    poses = (
        """- `global_trans_blender`: {"device": [x, y, z], "camera_<view>": [x, y, z]} metres, world frame: the device
  origin and each camera centre.
- `global_rot_blender`: same keys, Blender 'XYZ' Euler angles in radians (R = Rz Ry Rx) of the object's world
  rotation: for "device" the device axes above; for cameras the Blender camera (looking down -Z, +Y up)."""
        if layout == "syn"
        else """- `camera_pose`: 4x4 T_world_from_device, metres (device axes above, Blender world).
- `global_rot_blender`: the device's world rotation as Blender 'XYZ' Euler angles, radians.
- Not written: `calib_board_pose`, `smplx_params_*` (bodies are not SMPL-X; the identity is in the native clip.json)."""
    )
    images_line = (
        f"Images are the renders ({width}x{height} px; the loaders resize to 256 x 256 px themselves): "
        + ("JPEG renders hard-linked (or copied), PNG renders converted to JPEG quality "
           f"{L.JPEG_QUALITY}." if layout == "syn" else "PNG renders hard-linked (or copied), JPEG renders decoded "
           "and stored as PNG (the same pixels).")
        if images
        else "No images: exported with --labels-only (or the source dataset is label-only); the authors' image "
             "loaders will not work on this export."
    )
    metadata = (
        ""
        if layout == "syn"
        else f"""
## seq_<clip_id>_metadata.json

- `coord_transformation_matrix.device_to_camera_<view>`: 4x4, metres: T_camera_from_device, i.e. a device-frame
  point p (m) is `M @ [p, 1]` in the OpenCV camera frame (x right, y down, z optical axis). The RW loaders find
  this file by cutting the frame path at its first '-': keep the export under a path without '-'.
- `intrinsics.camera_<view>`: the camera's Ego4View calibration (as in `{L.CALIB_DIR}/`).
- `egorig`: `clip_id`, `identity_id`.
"""
    )
    forced_text = (
        "\n## Exported with --force\n\n" + "".join(f"- {reason}\n" for reason in forced) if forced else ""
    )
    return f"""# Ego4View-{layout.upper() if layout == 'rw' else 'Syn'} layout exported by egorig

Source: `{reader.root}` (config_hash `{reader.meta['config_hash']}`, schema {reader.meta['schema_version']}).
Layout `{layout}`: read by the authors' `ego4view_{layout}_*` datasets and `generate_heatmap.py --dataset_type {layout}`.

## Tree

```
{_tree(layout, images)}
```

- `<frame>` = the native frame number as a plain integer (`0.json`, ..., `10.json`); sort naturally, not lexically.
- Cameras: {cameras}.
- {images_line}

## Units of the 2D points: {EGO4VIEW_IMAGE_PX} x {EGO4VIEW_IMAGE_PX} px, whatever the render size

Every `camera_<view>_pts2d` is in pixels of the {EGO4VIEW_IMAGE_PX} x {EGO4VIEW_IMAGE_PX} image that the Ego4View
calibrations and the authors' heatmap generator assume, OpenCV pixel-centre convention (the convention of the
calibrations' `image_center`): u_{EGO4VIEW_IMAGE_PX} = (u + 0.5) * {EGO4VIEW_IMAGE_PX} / {width} - 0.5 for the
{width} px renders. The render-pixel points are kept under `egorig.pts2d_render_px`. A point with no finite image
is written as [{L.MISSING_PX:g}, {L.MISSING_PX:g}]. Joints outside the image keep their projected coordinates;
`egorig.visibility` says which are in the image.

## Calibrations: `{L.CALIB_DIR}/camera_<view>.json`

The rig's lenses in the Ego4View JSON format at {EGO4VIEW_IMAGE_PX} px (`size`, `image_center`, `polynomialW2C`,
`polynomialC2W`, `affine`, `imageCircleRadius`): the authors' camera model projects `camera_<view>_pts3d` onto
`camera_<view>_pts2d` with them. `egorig.max_fit_residual_px` is how far (px at {EGO4VIEW_IMAGE_PX}) that model is from
the rig's own lens (0 for an OCamCalib lens; a fit otherwise). Point the trainer's `camera_calib_file_dir_path` here.

## {L.JSON_DIR[layout]}/<frame>.json

- `joints.<name>` for the 16 joints (Head, Neck, LeftArm, RightArm, LeftForeArm, RightForeArm, LeftHand,
  RightHand, LeftUpLeg, RightUpLeg, LeftLeg, RightLeg, LeftFoot, RightFoot, LeftToeBase, RightToeBase):
  - {trans}
  - `device_pts3d`: [x, y, z] centimetres, device frame (origin between the front cameras, x = wearer's right,
    y = backward, z = down; OpenCV-style axes) = native `joints3d_device` x 100.
  - `camera_<view>_pts3d`: centimetres, OpenCV camera frame (x right, y down, z optical axis) = native
    `joints3d_camera` x 100.
  - `camera_<view>_pts2d`: [u, v] px at {EGO4VIEW_IMAGE_PX} x {EGO4VIEW_IMAGE_PX} (above).
{poses}
- `egorig`: `clip_id`, `identity_id`, `split`, `frame_index`, `render_image_size_px`, `visibility` per camera
  (16 codes: 0 outside the image, 1 occluded, 2 visible) and `pts2d_render_px` per camera (16 x [u, v]).
{metadata}
## fisheye_hm/camera_<view>/<frame>.npy

(16, {EGO4VIEW_HEATMAP_CELLS}, {EGO4VIEW_HEATMAP_CELLS}) float32, Head first (the loaders drop channel 0): the authors'
`generate_heatmap.py` recipe applied to the exported `camera_<view>_pts2d` (stride {EGO4VIEW_IMAGE_PX} / 64, peak 1.0
on the cell int(p / stride + 0.5), sigma 1 cell, 7 x 7 window, no visibility mask), so rerunning that script rewrites
the same files. They can differ from the native heatmaps (our recipe, with the joint's visibility) by one cell for a
joint within half a pixel of a cell boundary, and here a joint just outside the image keeps its partial window.
{forced_text}"""
