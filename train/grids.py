"""The trainer's input and heatmap grids: `input_size` / `heatmap_size` (an int for the longer side, or an explicit
[width, height]) resolved against a dataset's image size."""

from __future__ import annotations

import math
from typing import Any

#: Total stride of the ResNet-18 encoder (layer4): an input side that is a multiple of it tiles every stage exactly.
ENCODER_STRIDE = 32
#: Stride of the FPN features and heatmaps with respect to the network input.
HEATMAP_STRIDE = 4

#: A size as configured: an int (the longer side; the shorter follows the images' aspect ratio) or (width, height).
Size = int | tuple[int, int]


def as_size(value: Any, minimum: int) -> Size:
    """Normalise a configured size: an int >= minimum, or a 2-element [width, height] of ints >= minimum -> tuple.

    ValueError with the problem in one sentence otherwise (booleans and floats are refused: `true` is not 1).
    """
    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if is_int(value):
        if value < minimum:
            raise ValueError(f"must be >= {minimum}")
        return int(value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(is_int(v) for v in value):
        if min(value) < minimum:
            raise ValueError(f"each side must be >= {minimum}")
        return int(value[0]), int(value[1])
    raise ValueError("expected an int (cells or pixels on the image's longer side) or [width, height] of ints")


def is_square(size: Size) -> bool:
    """True for an int and for a [width, height] with width == height."""
    return isinstance(size, int) or size[0] == size[1]


def longer_side(size: Size) -> int:
    return size if isinstance(size, int) else max(size)


def nearest_multiple(value: float, multiple: int) -> int:
    """The positive multiple of `multiple` closest to `value` in ratio (|log(m / value)| smallest), so the aspect
    ratio changes least; ties go to the larger one."""
    if value <= multiple:
        return multiple
    low = int(math.floor(value / multiple)) * multiple
    high = int(math.ceil(value / multiple)) * multiple
    return low if abs(math.log(low / value)) < abs(math.log(high / value)) else high


def input_grid(input_size: Size, image_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) px of the network input for images of image_size = (width, height) px.

    An explicit (width, height) is used as given. An int S is the longer side; a square image gives (S, S) (as
    before non-square datasets existed); otherwise the shorter side is S x short / long rounded to the nearest
    multiple of ENCODER_STRIDE (at least one), so every encoder stage tiles it and the heatmaps (a quarter of it per
    axis) are a whole number of cells divisible by 8 (the 3D stage's conv proposal). E.g. 640 x 480 images at
    S = 256 -> (256, 192); 752 x 480 at 256 -> (256, 160) (163.4 rounded).
    """
    if not isinstance(input_size, int):
        return int(input_size[0]), int(input_size[1])
    width, height = (int(s) for s in image_size)
    if width == height:
        return input_size, input_size
    short = nearest_multiple(input_size * min(width, height) / max(width, height), ENCODER_STRIDE)
    return (input_size, short) if width > height else (short, input_size)


def heatmap_grid(heatmap_size: Size, image_size: tuple[int, int], input_wh: tuple[int, int]) -> tuple[int, int]:
    """(width, height) cells of the heatmap targets.

    An explicit (width, height) is used as given. An int S is the longer side: when the input grid's longer side is
    HEATMAP_STRIDE x S (every trainer config) the grid is the input grid / HEATMAP_STRIDE per axis, exactly what the
    network outputs; otherwise (a dataset opened with unrelated sizes) the images' aspect ratio at S cells on the
    longer side, rounded as synth rounds it (synth.labels.heatmaps.heatmap_shape_for). Square images give (S, S).
    """
    from synth.labels.heatmaps import heatmap_shape_for

    if not isinstance(heatmap_size, int):
        return int(heatmap_size[0]), int(heatmap_size[1])
    w_in, h_in = input_wh
    if max(w_in, h_in) == HEATMAP_STRIDE * heatmap_size and w_in % HEATMAP_STRIDE == 0 \
            and h_in % HEATMAP_STRIDE == 0:
        return w_in // HEATMAP_STRIDE, h_in // HEATMAP_STRIDE
    return heatmap_shape_for(image_size, heatmap_size)


def explicit_input_problem(size: tuple[int, int]) -> str | None:
    """Why an explicit [width, height] input grid does not suit the encoder (None when it does)."""
    bad = [s for s in size if s % ENCODER_STRIDE]
    if not bad:
        return None
    down = [max(ENCODER_STRIDE, s // ENCODER_STRIDE * ENCODER_STRIDE) for s in size]
    up = [-(-s // ENCODER_STRIDE) * ENCODER_STRIDE for s in size]
    return (f"[{size[0]}, {size[1]}]: each side of an explicit [width, height] must be a multiple of "
            f"{ENCODER_STRIDE} (the encoder's stride); use {down} or {up}, or an int for the longer side (the "
            f"shorter side then follows the images' aspect ratio)")


def describe(size: Size) -> str:
    """A size as written in a config: 64 or [64, 48]."""
    return str(size) if isinstance(size, int) else f"[{size[0]}, {size[1]}]"
