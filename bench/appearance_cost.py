"""What the appearance features cost to render: seconds per 4-view frame with and without each, side by side.

One process renders the same clips (default config, 256 px, the `default` preset, CPU) with each variant of the
environment, clip after clip in alternating order (each variant loaded once per clip and rendered for all its
frames, as `synth render` does), so machine load drifts hit all variants alike:
  sky    the procedural gradient sky and sun (the look without an HDRI);
  hdri   the same clip lit by one of the bpy wheel's CC0 world HDRIs (`builtin:hdri/*.exr`, 1024 x 512; the clip
         index picks it);
  effects the sky look with the clip's camera effects (exposure, white balance, vignetting, sensor noise, JPEG
         quality: `appearance.camera_effects`), which replace Blender's image write by our own;
  hair   the sky look with long strand hair (`appearance.hair`: the default's costliest style, 3000 strands at the
         top of its strand range, Principled Hair BSDF), rigid with the head;
  moving_hair the same hair moving with the head and gravity (`appearance.hair.dynamics`): its points change every
         frame, so Cycles rebuilds its BVH per frame where the rigid hair only moves;
  blur   the sky look with the clip's camera effects and motion blur over a 20 ms exposure (the top of the default
         range), from the clip's own motion (`appearance.camera_effects.motion_blur_probability`);
  rolling the sky look with the clip's camera effects and a rolling shutter reading the rows over 30 ms (the top of
         the default range) in 16 bands, each rendered at its own time
         (`appearance.camera_effects.rolling_shutter_probability`);
  detail the sky look with the clip's skin detail (flush, lips, eyelids, nails through Anny's region masks, no
         subsurface scattering) and its cloth folds (bump-mapped wrinkles), which every other variant but sampled
         and subsurface leaves out;
  subsurface the detail variant with subsurface scattering of the bare skin (Anny's subsurface map, gain and scale
         at the middle of the default ranges);
  room   the sky look inside a room (`appearance.surroundings` with indoor_probability 1: walls, shelves where they
         fit, clutter, an indoor floor, and in 70 % of rooms a ceiling whose lamps replace the sun and sky), drawn
         for the clip from a stream of its own.
  sampled the clip exactly as the default config draws it (its own lighting, hair and camera effects): over many
         clips, sampled/sky is what the default's appearance features cost together.
Only effects, blur, rolling and sampled apply camera effects, only hair, moving_hair and sampled have strands, only
room and sampled have surroundings (every variant keeps the chair and table a seated motion needs). The sampled/sky
ratio is the ratio of the mean seconds per frame (the features' cost varies from clip to clip).
Only the render of the four views is timed (scene loading is not; the first frame of a clip includes the world's
set-up in Cycles). Usage:
    python bench/appearance_cost.py [--clips 2] [--frames 2] [--resolution 256] [--variants sky,hdri,...]
    python bench/appearance_cost.py --clips 8 --frames 1 --variants sky,sampled   # the default mix's cost
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_result  # noqa: E402

CONFIG = REPO / "render_configs" / "default.yaml"


VARIANTS = ("sky", "hdri", "effects", "hair", "room", "blur", "detail", "sampled", "moving_hair", "subsurface",
            "rolling")
DEFAULT_VARIANTS = VARIANTS[:7]
#: Exposure time of the blur variant, s.
BLUR_EXPOSURE_S = 0.02
#: Readout time (s) and bands of the rolling variant.
ROLLING_READOUT_S, ROLLING_BANDS = 0.03, 16
#: The motion's own furniture, kept in every variant.
MOTION_PROPS = ("chair", "table")


def long_hair(spec, moving: bool = False):
    """Long strand hair at the top of the default's strand range, grown on the clip's body (moving with it)."""
    from synth.appearance.hair import HairStyle
    from synth.appearance.hair_dynamics import hair_on_body
    from synth.scene.spec import camera_centres_head

    style = HairStyle(style="long", length_m=0.4, num_strands=3000, root_radius_m=0.0004, tip_radius_m=0.00016,
                      volume_m=0.015, clumps=120, clumping=0.3, curl_radius_m=0.0, curl_period_m=0.04,
                      frizz_m=0.002, melanin=0.5, melanin_redness=0.3, roughness=0.3, seed=int(spec.index))
    hair = hair_on_body(style, spec.posed, moves=moving)
    return hair.worn_with_cameras(camera_centres_head(spec.mount, spec.rig))


def _room(spec, look, props):
    """The clip's environment inside a room: default surroundings, always indoors, seeded by the clip index."""
    import numpy as np

    from synth.config import SurroundingsConfig
    from synth.scene.spec import camera_centres_world
    from synth.scene.surroundings import body_points, sample_surroundings

    cameras = camera_centres_world(spec.T_world_from_device, spec.rig)
    around = sample_surroundings(np.random.default_rng([11, spec.index]), SurroundingsConfig(indoor_probability=1.0),
                                 body_points(spec.posed.vertices, cameras), props)
    return around.environment(look, props)


def _plain(appearance):
    """The appearance without skin detail and with smooth cloth."""
    def smooth(garment):
        return None if garment is None else dataclasses.replace(
            garment, cloth=dataclasses.replace(garment.cloth, wrinkles=0.0))

    return dataclasses.replace(appearance, skin_detail=None, top=smooth(appearance.top),
                               bottom=smooth(appearance.bottom), shoes=smooth(appearance.shoes),
                               loose=tuple(smooth(g) for g in appearance.loose))


def _with_subsurface(appearance, on: bool):
    """The appearance's skin detail with subsurface scattering at the middle of the default ranges, or none."""
    from synth.appearance.sampling import SUBSURFACE_GAIN, SUBSURFACE_SCALE_M

    detail = appearance.skin_detail
    if detail is None:
        return appearance
    gain, scale = (sum(SUBSURFACE_GAIN) / 2, sum(SUBSURFACE_SCALE_M) / 2) if on else (0.0, 0.0)
    return dataclasses.replace(appearance, skin_detail=dataclasses.replace(
        detail, subsurface=gain, subsurface_scale_m=scale))


def _variant(spec, variant: str, hdri: str):
    """The clip with the sky look, no hair, no camera effects and no surroundings, plus the one feature the variant
    names."""
    look = dataclasses.replace(spec.environment.look, hdri_path=None)
    if variant == "hdri":
        look = dataclasses.replace(look, hdri_path=hdri, hdri_strength=1.0)
    props = tuple(m for m in spec.environment.occluders if m.name in MOTION_PROPS)
    environment = dataclasses.replace(spec.environment, look=look, occluders=props, setting="outdoor")
    if variant == "room":
        environment = _room(spec, look, props)
    effects = None
    if variant in ("effects", "blur", "rolling"):
        effects = dataclasses.replace(spec.camera_effects,
                                      exposure_time_s=BLUR_EXPOSURE_S if variant == "blur" else None,
                                      readout_time_s=ROLLING_READOUT_S if variant == "rolling" else None,
                                      readout_bands=ROLLING_BANDS)
    detailed = variant in ("detail", "subsurface")
    appearance = _with_subsurface(spec.appearance, variant == "subsurface") if detailed else _plain(spec.appearance)
    garments = spec.garments if detailed else tuple(
        dataclasses.replace(g, cloth=dataclasses.replace(g.cloth, wrinkles=0.0)) for g in spec.garments)
    return dataclasses.replace(spec, environment=environment, camera_effects=effects, appearance=appearance,
                               garments=garments,
                               hair=long_hair(spec, variant == "moving_hair") if "hair" in variant else None)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=2)
    p.add_argument("--frames", type=int, default=2)
    p.add_argument("--resolution", type=int, default=256)
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help=f"comma-separated subset of {','.join(VARIANTS)} (sky is always rendered)")
    args = p.parse_args()
    variants = ("sky", *[v for v in args.variants.split(",") if v and v != "sky"])
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")

    from synth.blender.scene import BlenderScene
    from synth.builtin import expand_builtin
    from synth.config import load_config
    from synth.run.blender import load_blender
    from synth.scene.sampler import ClipSampler

    cfg = load_config(CONFIG, overrides={"rig": {"resolution": args.resolution},
                                         "clips": {"frames": args.frames}, "render": {"device": "cpu"}})
    sampler = ClipSampler(cfg, CONFIG.parent)
    # The variants start from the clip without surroundings: a closed room turns the clip's sun and sky to 0.
    plain = ClipSampler(cfg.model_copy(update={"appearance": cfg.appearance.model_copy(update={"surroundings": None})}),
                        CONFIG.parent, backend=sampler.backend)
    hdris = expand_builtin("builtin:hdri/*.exr")
    scene = BlenderScene(load_blender(cfg))
    times: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.clips):
            spec, _ = sampler.sample(index)
            base, _ = plain.sample(index)
            for variant in variants if index % 2 == 0 else variants[::-1]:
                clip = spec if variant == "sampled" else _variant(base, variant, hdris[index % len(hdris)])
                scene.load(clip)  # once per clip, as `synth render` does; its first frame pays the world's set-up
                for f in range(clip.num_frames):
                    scene.set_frame(f, clip.T_world_from_device[f])
                    out = {v: Path(tmp) / variant / f"{index}_{f}_{v}.jpg" for v in clip.rig.views}
                    t0 = time.perf_counter()
                    scene.render_views(out)
                    times[variant].append(time.perf_counter() - t0)
                    print(f"clip {index} frame {f} {variant}: {times[variant][-1]:.2f} s", flush=True)
    scene.close()
    result = {
        "resolution": args.resolution, "preset": cfg.render.preset, "frames": len(times["sky"]),
        "seconds_per_frame": {k: statistics.mean(v) for k, v in times.items()},
        "per_frame_s": times,
    }
    for variant in variants[1:]:
        ratios = [x / s for s, x in zip(times["sky"], times[variant])]
        result[f"{variant}_over_sky"] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
                                         "of_means": statistics.mean(times[variant]) / statistics.mean(times["sky"])}
    name = "appearance_cost" if variants == DEFAULT_VARIANTS else "_".join(("appearance_cost", *variants))
    path = write_result(name, result)
    spf = result["seconds_per_frame"]
    print(", ".join(f"{v} {spf[v]:.2f} s/frame" for v in variants) + ": " + ", ".join(
        f"{v}/sky median {result[v + '_over_sky']['median']:.2f}x (of means {result[v + '_over_sky']['of_means']:.2f}x)"
        for v in variants[1:]) + f" over {len(times['sky'])} frame pairs; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
