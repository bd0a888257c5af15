"""Cycles CUSTOM (OSL) cameras that trace exactly the lens model the labels use: no fit.

One OSL source per model (synth/blender/osl/<model>.osl, with the shared synth/blender/osl/common.h prepended), the
calibration's parameters as shader inputs (`Camera.cycles_custom`). The shader turns each pixel into a ray with the
model's own inverse (Newton inside a bisection bracket, float32 as Cycles computes), so the pixel a 3D point lands
on in the render is the pixel `lens.project` gives it, to float precision. The CUSTOM camera runs on CPU and OptiX,
without switching the scene's shading system to OSL (research/blender.md section 7).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import bpy

from synth.errors import ConfigError

#: Directory of the shader sources.
OSL_DIR = Path(__file__).with_name("osl")
#: Header prepended to every model's source (Blender compiles a Text datablock, so #include cannot find it).
COMMON_HEADER = "common.h"


@lru_cache(maxsize=None)
def osl_source(model: str) -> str:
    """The complete OSL source of one model's camera shader."""
    path = OSL_DIR / f"{model}.osl"
    if not path.is_file():
        supported = sorted(p.stem for p in OSL_DIR.glob("*.osl"))
        raise ConfigError("render.camera", model, f"no OSL camera for this lens type; OSL cameras exist for "
                          f"{supported}: use render.camera: native for it")
    return (OSL_DIR / COMMON_HEADER).read_text() + "\n" + path.read_text()


def supported_models() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in OSL_DIR.glob("*.osl")))


def shader_inputs(lens) -> tuple[str, dict[str, float | int]]:
    """(model, {shader input: value}) of a lens (synth.geometry.lenses / camera_models object)."""
    if (OSL_DIR / f"{lens.type}.osl").is_file() and hasattr(lens, "osl_parameters"):
        try:
            params = lens.osl_parameters()
        except ValueError as exc:
            raise ConfigError("render.camera", lens.type, f"{exc}; or use render.camera: native") from None
        inputs: dict[str, float | int] = {}
        for name, value in params.items():
            if isinstance(value, tuple):  # k -> k1, k2, ...; p -> p1, p2 (the shaders' scalar inputs)
                inputs.update({f"{name}{i + 1}": float(v) for i, v in enumerate(value)})
            else:
                inputs[name] = value if isinstance(value, int) else float(value)
        return lens.type, inputs
    raise ConfigError("render.camera", lens.type, f"no OSL camera for this lens type; OSL cameras exist for "
                      f"{list(supported_models())}: use render.camera: native for it")


def _report(kind: Any, message: str) -> None:
    if "ERROR" in kind:
        raise RuntimeError(message)


def apply_osl_camera(cam: "bpy.types.Camera", lens, clip_start_m: float, clip_end_m: float = 1000.0) -> None:
    """Make `cam` a CUSTOM camera running the lens' OSL shader with its parameters."""
    model, inputs = shader_inputs(lens)
    bpy.utils.expose_bundled_modules()  # the cycles add-on's OSL helpers need oslquery
    from cycles import osl as cycles_osl  # noqa: PLC0415 - the bundled Cycles add-on

    name = f"egorig_{model}.osl"
    text = bpy.data.texts.get(name) or bpy.data.texts.new(name)
    source = osl_source(model)
    if text.as_string() != source:
        text.from_string(source)
    cam.type = "CUSTOM"
    cam.custom_mode = "INTERNAL"
    if cam.custom_shader != text or not cam.custom_bytecode:
        cam.custom_shader = text
        if not cycles_osl.update_custom_camera_shader(cam, _report):
            raise RuntimeError(f"Cycles could not compile {name}")
    props = cam.cycles_custom
    for key, value in inputs.items():
        if key not in props:
            raise RuntimeError(f"{name} has no input {key!r}")
        props[key] = int(value) if isinstance(value, int) else float(value)
    cam.clip_start = float(clip_start_m)
    cam.clip_end = float(clip_end_m)
