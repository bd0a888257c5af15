"""Builds a tiny asset root in the real formats and the layout of assets_manifest/ (nothing licensed inside).

SMPL-X models come from tests/tiny_smplx.py; the motion is an SMPL-X `.npz` as BEDLAM stores it; the texture a
PNG; the HDRI a Radiance `.hdr` written here byte by byte; the clothing an Alembic cache exported by Blender
through synth/blender/alembic.py (only when asked: it needs bpy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.tiny_smplx import write_tiny_smplx

SUBJECT = "subj_a"
SEQUENCE = "seq_000"
MOTION_FPS = 30.0
MOTION_FRAMES = 20
#: Where the motion file puts the subject: native trans at frame 0 (m) and its walk along +x per frame (m).
NATIVE_START_M = (1.0, 2.0, 0.97)
WALK_M_PER_FRAME = 0.05
#: The clothing cache: a flat disc around the native pelvis, this far below it (m), of this radius (m).
DISC_DROP_M = 0.6
DISC_RADIUS_M = 0.45
DISC_SEGMENTS = 24
#: Texture colour (sRGB 8 bit): saturated magenta, far from any procedural skin or sky colour.
TEXTURE_RGB8 = (230, 20, 230)


@dataclass(frozen=True)
class AssetTree:
    root: Path
    smplx_files: tuple[Path, ...]
    motion: Path
    texture: Path
    hdri: Path
    clothing: Path | None


def native_trans() -> np.ndarray:
    """(F, 3) float64 the motion's `trans` (Z-up native world, m): a walk along +x."""
    t = np.tile(np.asarray(NATIVE_START_M, dtype=np.float64), (MOTION_FRAMES, 1))
    t[:, 0] += WALK_M_PER_FRAME * np.arange(MOTION_FRAMES)
    return t


def write_motion(path: Path) -> Path:
    """A BEDLAM-style SMPL-X motion: poses (F, 165) upright (global orient Rx(+90 deg)), trans, fps, subject."""
    poses = np.zeros((MOTION_FRAMES, 165))
    poses[:, 0] = math.pi / 2
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, poses=poses, trans=native_trans(), mocap_frame_rate=np.array(MOTION_FPS),
             gender=np.array("neutral"), betas=np.zeros(16))
    return path


def write_texture(path: Path, size: int = 32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), TEXTURE_RGB8).save(path)
    return path


def write_radiance_hdr(path: Path, rgb: tuple[float, float, float] = (1.0, 0.95, 0.9), width: int = 16,
                       height: int = 8) -> Path:
    """A uniform equirectangular Radiance HDR (flat RGBE scanlines)."""
    m = max(rgb)
    exponent = math.frexp(m)[1]
    scale = 256.0 / 2.0**exponent
    pixel = bytes([int(c * scale) for c in rgb] + [exponent + 128])
    header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + pixel * (width * height))
    return path


def disc_cache() -> tuple[np.ndarray, np.ndarray]:
    """vertices (F, V, 3) float64 native m (a disc following the native pelvis) and faces (T, 3) int32."""
    ang = np.arange(DISC_SEGMENTS) * 2 * math.pi / DISC_SEGMENTS
    ring = np.stack([DISC_RADIUS_M * np.cos(ang), DISC_RADIUS_M * np.sin(ang), np.zeros_like(ang)], 1)
    local = np.concatenate([np.zeros((1, 3)), ring])
    centre = native_trans() - np.array([0.0, 0.0, DISC_DROP_M])  # the tiny model's rest pelvis is its origin
    verts = centre[:, None, :] + local[None]
    k = np.arange(DISC_SEGMENTS)
    faces = np.stack([np.zeros_like(k), 1 + k, 1 + (k + 1) % DISC_SEGMENTS], 1).astype(np.int32)
    return verts, faces


def build_asset_tree(root: Path, clothing: bool = False, with_object_array: bool = False) -> AssetTree:
    """Write the tiny asset root; `clothing` exports the Alembic cache with Blender."""
    info = write_tiny_smplx(root, with_object_array=with_object_array)
    motion = write_motion(root / "bedlam" / "motions" / SUBJECT / f"{SEQUENCE}.npz")
    texture = write_texture(root / "bedlam" / "body_textures" / SUBJECT / "skin.png")
    hdri = write_radiance_hdr(root / "hdri" / "sky.hdr")
    cache = None
    if clothing:
        from synth.blender.alembic import export_alembic_cache

        verts, faces = disc_cache()
        cache = export_alembic_cache(root / "bedlam" / "clothing_abc" / SUBJECT / f"{SEQUENCE}.abc", verts, faces,
                                     fps=MOTION_FPS)
    return AssetTree(root, info.paths, motion, texture, hdri, cache)
