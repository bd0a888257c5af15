"""Blender/Cycles rendering of posed bodies, garments and environments (the only package that imports bpy).

Import `synth.blender.scene` explicitly where rendering is needed; importing this package loads nothing heavy.
"""
