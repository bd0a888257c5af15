"""Draw a rig on a typical head (top and side views, cameras, field-of-view wedges, distances annotated)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from synth.geometry.rig import Rig

#: A typical adult head used only for the drawing (metres): front-to-back depth, width, height.
TYPICAL_HEAD_DEPTH_M = 0.20
TYPICAL_HEAD_WIDTH_M = 0.155
TYPICAL_HEAD_HEIGHT_M = 0.23
#: Head centre below the device plane (z down), metres, for the drawing.
TYPICAL_HEAD_CENTRE_BELOW_DEVICE_M = 0.03
#: Radius of the drawn field-of-view wedges, metres.
FOV_WEDGE_RADIUS_M = 0.12
VIEW_COLOURS = {"front_left": "#1f77b4", "front_right": "#17becf", "back_left": "#d62728", "back_right": "#ff7f0e"}
CM_PER_M = 100.0


def _wedge(ax, centre_xy, axis_xy, half_angle_rad, colour):
    from matplotlib.patches import Wedge

    axis_angle = math.degrees(math.atan2(axis_xy[1], axis_xy[0]))
    half = math.degrees(min(half_angle_rad, math.pi))
    ax.add_patch(
        Wedge(centre_xy, FOV_WEDGE_RADIUS_M, axis_angle - half, axis_angle + half, color=colour, alpha=0.12, lw=0)
    )


def plot_rig(rig: Rig, out_png: Path, title: str | None = None) -> Path:
    """Write a two-panel PNG (top view, side view) of `rig` on a typical head; returns the path written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse, FancyBboxPatch

    clearance = rig.front_clearance_m
    head_cy = clearance + TYPICAL_HEAD_DEPTH_M / 2  # head centre along device +y (backwards)
    fig, (ax_top, ax_side) = plt.subplots(1, 2, figsize=(12, 6.2))

    # Top view: x to the right, forward (device -y) up.
    ax_top.add_patch(Ellipse((0, -head_cy), TYPICAL_HEAD_WIDTH_M, TYPICAL_HEAD_DEPTH_M, fc="#f2d7c4", ec="#8c6d5a"))
    ax_top.plot([0], [-clearance], marker="^", color="#8c6d5a", ms=6)  # nose direction marker
    # Side view (seen from the wearer's right): forward (device -y) to the right, up (device -z) up.
    ax_side.add_patch(
        Ellipse((-head_cy, -TYPICAL_HEAD_CENTRE_BELOW_DEVICE_M), TYPICAL_HEAD_DEPTH_M, TYPICAL_HEAD_HEIGHT_M,
                fc="#f2d7c4", ec="#8c6d5a")
    )
    neck_top = -TYPICAL_HEAD_CENTRE_BELOW_DEVICE_M - TYPICAL_HEAD_HEIGHT_M * 0.42
    ax_side.add_patch(
        FancyBboxPatch((-head_cy - 0.05, neck_top - 0.12), 0.08, 0.12, boxstyle="round,pad=0.005",
                       fc="#f2d7c4", ec="#8c6d5a")
    )

    for cam in rig.cameras:
        p = cam.position_device_m
        a = cam.optical_axis_device
        colour = VIEW_COLOURS.get(cam.name, "#444444")
        half = cam.lens.max_field_angle_rad
        top_xy, top_axis = (p[0], -p[1]), (a[0], -a[1])
        side_xy, side_axis = (-p[1], -p[2]), (-a[1], -a[2])
        # A down-looking fisheye's cone projects onto the top view as a disc; show the axis tilt as an arrow.
        if np.hypot(*top_axis) > 1e-6:
            ax_top.annotate("", xy=(top_xy[0] + 0.05 * top_axis[0], top_xy[1] + 0.05 * top_axis[1]), xytext=top_xy,
                            arrowprops=dict(arrowstyle="->", color=colour))
        ax_top.plot(*top_xy, "o", color=colour, ms=8, label=cam.name)
        _wedge(ax_side, side_xy, side_axis, half, colour)
        ax_side.plot(*side_xy, "o", color=colour, ms=8, label=cam.name)
        ax_side.annotate("", xy=(side_xy[0] + 0.06 * side_axis[0], side_xy[1] + 0.06 * side_axis[1]),
                         xytext=side_xy, arrowprops=dict(arrowstyle="->", color=colour))

    front = [c for c in rig.cameras if c.name.startswith("front")]
    rear = list(rig.rear_cameras())
    if front and rear:
        fy = float(np.mean([c.position_device_m[1] for c in front]))
        ry = float(np.mean([c.position_device_m[1] for c in rear]))
        d_rh = ry - (clearance + TYPICAL_HEAD_DEPTH_M)
        y_text = 0.045
        ax_side.annotate("", xy=(-ry, y_text), xytext=(-fy, y_text), arrowprops=dict(arrowstyle="<->"))
        ax_side.text(-(fy + ry) / 2, y_text + 0.008, f"D-FR {abs(ry - fy) * CM_PER_M:.1f} cm", ha="center")
        ax_side.annotate("", xy=(-fy, -0.035), xytext=(-clearance, -0.035), arrowprops=dict(arrowstyle="<->"))
        ax_side.text(-clearance / 2 - fy / 2, -0.05, f"D-FH {clearance * CM_PER_M:.1f} cm", ha="center", fontsize=8)
        ax_side.text(-ry, -0.075, f"D-RH ~{d_rh * CM_PER_M:.1f} cm\n(20 cm deep head)", ha="center", fontsize=8)
        xs = sorted(c.position_device_m[0] for c in front)
        ax_top.annotate("", xy=(xs[0], 0.03), xytext=(xs[-1], 0.03), arrowprops=dict(arrowstyle="<->"))
        ax_top.text(0, 0.038, f"baseline {(xs[-1] - xs[0]) * CM_PER_M:.1f} cm", ha="center")

    extent = max(0.3, rig.front_to_rear_m + 0.15)
    ax_top.set_title("top view (forward is up)")
    ax_top.set_xlabel("device x, wearer's right (m)")
    ax_top.set_ylabel("forward = -device y (m)")
    ax_top.set_xlim(-extent / 2, extent / 2)
    ax_top.set_ylim(-extent + 0.05, 0.1)
    ax_side.set_title("side view from the wearer's right (forward is right)")
    ax_side.set_xlabel("forward = -device y (m)")
    ax_side.set_ylabel("up = -device z (m)")
    ax_side.set_xlim(-extent + 0.05, 0.1)
    ax_side.set_ylim(-0.3, 0.12)
    for ax in (ax_top, ax_side):
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    handles, labels = ax_side.get_legend_handles_labels()
    ax_side.legend(handles, labels, loc="lower left", fontsize=8)
    lens_types = sorted({c.lens.type for c in rig.cameras})
    fig.suptitle(title or f"rig {rig.label}: {len(rig.cameras)} cameras, lens {', '.join(lens_types)}, "
                          f"FOV {math.degrees(2 * rig.cameras[0].lens.max_field_angle_rad):.0f} deg")
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_png.with_name(out_png.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(out_png)
    return out_png
