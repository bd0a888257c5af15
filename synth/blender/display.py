"""The display transform Blender applies to a render, applied to our own linear images, and the image encoders.

Camera effects (synth/appearance/camera_effects.py) act on Cycles' scene-linear output; the result then goes
through exactly the transform Blender would have applied when saving the render: the scene's view transform
(AgX, Standard, Filmic) for the sRGB display, from Blender's own OCIO config with the OpenColorIO module bundled
in the bpy wheel. Without camera effects this reproduces Blender's 8-bit output to its dither (within one level,
tests/test_camera_effects.py).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import bpy
import numpy as np

from synth.io import atomic_path

#: Blender's display device for saved renders.
DISPLAY = "sRGB"
#: Largest 8-bit code value.
MAX_CODE = 255


@lru_cache(maxsize=None)
def _processor(view_transform: str):
    bpy.utils.expose_bundled_modules()
    import PyOpenColorIO as OCIO  # noqa: PLC0415  (importable only after expose_bundled_modules)

    config = OCIO.Config.CreateFromFile(str(Path(bpy.utils.system_resource("DATAFILES")) / "colormanagement"
                                            / "config.ocio"))
    transform = OCIO.DisplayViewTransform(src=OCIO.ROLE_SCENE_LINEAR, display=DISPLAY, view=view_transform)
    return config.getProcessor(transform).getDefaultCPUProcessor()


def display_transform(linear_rgb: np.ndarray, view_transform: str) -> np.ndarray:
    """(H, W, 3) float32 display values in [0, 1] of a scene-linear (Linear Rec.709) image, through Blender's
    `view_transform` for the sRGB display (look None, exposure 0, gamma 1)."""
    rgb = np.array(linear_rgb[..., :3], dtype=np.float32, order="C", copy=True)
    _processor(view_transform).applyRGB(rgb)
    return np.clip(rgb, 0.0, 1.0)


def to_8bit(display_rgb: np.ndarray) -> np.ndarray:
    """uint8 of display values in [0, 1], same shape ((H, W, 3) or (H, W)); rounded, no dither."""
    return np.rint(np.clip(display_rgb, 0.0, 1.0) * MAX_CODE).astype(np.uint8)


def write_image(path: Path, rgb8: np.ndarray, jpeg_quality: int) -> None:
    """Write (H, W, 3) uint8 RGB or (H, W) uint8 grey (a monochrome camera) as JPEG (.jpg/.jpeg, at jpeg_quality)
    or PNG, atomically."""
    from PIL import Image

    path = Path(path)
    rgb8 = np.ascontiguousarray(rgb8, dtype=np.uint8)
    image = Image.fromarray(rgb8, mode="L" if rgb8.ndim == 2 else "RGB")
    with atomic_path(path) as tmp:
        if path.suffix.lower() in (".jpg", ".jpeg"):
            image.save(tmp, format="JPEG", quality=int(jpeg_quality))
        else:
            image.save(tmp, format="PNG", compress_level=6)
