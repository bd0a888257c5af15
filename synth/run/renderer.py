"""What the run layer needs from a renderer, and the renderer of label-only datasets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from synth.scene.spec import ClipSpec


@runtime_checkable
class Renderer(Protocol):
    """Renders a clip's images into its staging directory.

    image_format: the dataset.json "image.format" (None: the dataset holds no images).
    """

    image_format: str | None

    def blender_version(self) -> str | None:
        """The renderer's Blender version recorded in dataset.json (None without Blender)."""

    def render_clip(self, spec: ClipSpec, tmp_dir: Path, advance: Callable[[int], None]) -> dict[str, float]:
        """Write every frame and view of `spec` under tmp_dir (rgb/<view>/<frame>.<ext>, passes), calling
        advance(n) after n frames; returns seconds per stage."""


class LabelOnlyRenderer:
    """Renders nothing: a label-only dataset (labels, heatmaps and clip.json, no images)."""

    image_format: str | None = None

    def blender_version(self) -> str | None:
        return None

    def render_clip(self, spec: ClipSpec, tmp_dir: Path, advance: Callable[[int], None]) -> dict[str, float]:
        advance(spec.num_frames)
        return {}


def label_only_renderer(*args: object, **kwargs: object) -> LabelOnlyRenderer:
    """A renderer factory (the farm worker's signature) for label-only runs."""
    return LabelOnlyRenderer()


def factory_image_format(factory: object, configured: str | None) -> str | None:
    """The dataset image format a renderer factory produces: none for label_only_renderer, else `configured`."""
    return None if factory is label_only_renderer else configured
