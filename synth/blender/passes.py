"""Read Cycles' multilayer EXR (bundled OpenImageIO) and write the depth and parts passes atomically."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from synth.io import atomic_path

#: Cycles writes this depth where no surface was hit; it is stored as 0 (no surface) in our depth files.
CYCLES_BACKGROUND_DEPTH = 1e9
_oiio = None


def oiio_module():
    global _oiio
    if _oiio is None:
        bpy.utils.expose_bundled_modules()
        import OpenImageIO  # noqa: PLC0415  (importable only after expose_bundled_modules)

        _oiio = OpenImageIO
    return _oiio


def read_multilayer_exr(path: Path) -> dict[str, np.ndarray]:
    """{pass name: (H, W, C) float32} of a Blender 5 multi-part EXR; row 0 = top. Names like "Depth",
    "Material Index", "Object Index", "Combined" (the "ViewLayer." prefix and channel suffix removed)."""
    oiio = oiio_module()
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise OSError(f"cannot open {path}: {oiio.geterror()}")
    out: dict[str, np.ndarray] = {}
    k = 0
    try:
        while inp.seek_subimage(k, 0):
            spec = inp.spec()
            arr = np.asarray(inp.read_image(k, 0, 0, spec.nchannels, "float"), dtype=np.float32)
            arr = arr.reshape(spec.height, spec.width, spec.nchannels)
            names = [str(n) for n in spec.channelnames]
            layer = names[0].rsplit(".", 1)[0]
            layer = layer.split(".", 1)[1] if "." in layer else layer
            out[layer] = arr
            k += 1
    finally:
        inp.close()
    return out


def read_exr_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) float32 RGB of a single-layer EXR (row 0 = top)."""
    oiio = oiio_module()
    buf = oiio.ImageBuf(str(path))
    if buf.has_error:
        raise OSError(f"cannot read {path}: {buf.geterror()}")
    return np.asarray(buf.get_pixels(oiio.FLOAT), dtype=np.float32)[..., :3]


def write_depth_exr(path: Path, depth_m: np.ndarray) -> None:
    """Write (H, W) float32 metres as a single-channel ("Z") EXR, atomically."""
    oiio = oiio_module()
    spec = oiio.ImageSpec(depth_m.shape[1], depth_m.shape[0], 1, "float")
    spec.channelnames = ("Z",)
    spec.attribute("compression", "zip")
    with atomic_path(path) as tmp:
        out = oiio.ImageOutput.create(str(tmp))
        if out is None or not out.open(str(tmp), spec):
            raise OSError(f"cannot write {tmp}: {oiio.geterror()}")
        out.write_image(np.ascontiguousarray(depth_m[..., None], dtype=np.float32))
        out.close()


def write_mask_png(path: Path, mask: np.ndarray) -> None:
    """Write (H, W) uint8 labels as a grey PNG, atomically."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="L").save(tmp, format="PNG")


def depth_from_pass(z: np.ndarray) -> np.ndarray:
    """(H, W) float32 metres from Cycles' Depth pass: for panoramic cameras it is the EUCLIDEAN distance from the
    camera centre to the surface (not planar z); background (>= CYCLES_BACKGROUND_DEPTH) becomes 0."""
    d = np.asarray(z, dtype=np.float32).copy()
    d[~(d < CYCLES_BACKGROUND_DEPTH)] = 0.0
    return d
