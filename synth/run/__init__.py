"""Running a generation job: one clip from spec to staged files (clip.py), the resume/commit loop over a dataset
(dataset.py), and the renderers it drives (renderer.py: the protocol and the label-only one; blender.py: Cycles).
`synth labels`, `synth render` and the farm all go through here, so their outputs are the same."""
