"""Stand-in RGB images for label-only datasets: the 2D skeleton drawn with one colour per joint (SYNTHETIC, for
tests and pipeline checks only; a model trained on them learns nothing about real pixels)."""

from __future__ import annotations

import colorsys

import numpy as np

from synth.constants import NUM_JOINTS, SKELETON_EDGES

#: Joint disc radius and bone width as fractions of the image's longer side.
JOINT_RADIUS_FRAC = 1.0 / 32.0
BONE_WIDTH_FRAC = 1.0 / 128.0
BONE_GREY = (96, 96, 96)


def joint_colours(num_joints: int = NUM_JOINTS) -> list[tuple[int, int, int]]:
    """One saturated RGB colour (0..255) per joint, hues evenly spaced, so each joint is identifiable."""
    return [tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(j / num_joints, 1.0, 1.0))
            for j in range(num_joints)]


def draw_skeleton_image(joints2d_px: np.ndarray, in_image: np.ndarray, image_size: tuple[int, int],
                        out_size: int | tuple[int, int]) -> np.ndarray:
    """Draw one view's skeleton.

    joints2d_px: (16, 2) float OpenCV px of an image of image_size = (width, height); in_image: (16,) bool, joints
    to draw (the datasets pass the visible ones; a bone is drawn when both its joints are); out_size: (W_out, H_out)
    px of the drawing (an int S: S x S), positions scaled per axis. Returns (H_out, W_out, 3) uint8 RGB: black
    background, grey bones, coloured joint discs.
    """
    from PIL import Image, ImageDraw

    out_w, out_h = (out_size, out_size) if isinstance(out_size, int) else (int(out_size[0]), int(out_size[1]))
    img = Image.new("RGB", (out_w, out_h))
    draw = ImageDraw.Draw(img)
    scale = np.array([out_w / image_size[0], out_h / image_size[1]])
    # Scale in the corner convention (edge = 0) so that the drawing lines up with the labels at any size.
    pts = (np.asarray(joints2d_px, dtype=np.float64) + 0.5) * scale - 0.5
    ok = np.asarray(in_image, dtype=bool) & np.isfinite(pts).all(axis=1)
    side = max(out_w, out_h)
    width = max(1, int(round(side * BONE_WIDTH_FRAC)))
    for a, b in SKELETON_EDGES:
        if ok[a] and ok[b]:
            draw.line([tuple(pts[a]), tuple(pts[b])], fill=BONE_GREY, width=width)
    r = max(1.0, side * JOINT_RADIUS_FRAC)
    for j, colour in enumerate(joint_colours(len(pts))):
        if ok[j]:
            x, y = pts[j]
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    return np.asarray(img)
