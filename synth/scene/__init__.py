"""One clip's scene, described once: the typed spec (spec.py), how a spec is sampled (sampler.py) and the asset
files sampling draws from (files.py). The label ray caster and the Blender scene both consume a ClipSpec."""
