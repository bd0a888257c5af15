"""OCamCalib calib_results.txt (rows / columns converted to OpenCV pixels) or Ego4View JSON -> one camera."""

from __future__ import annotations

import math
from pathlib import Path

from synth.rig_import.common import (ImportedCamera, ImportOptions, _fail, _read_text, _relative_or_absolute,
                                     _sanitise, _whole, _with_fov)

#: The sections of OCamCalib's calib_results.txt, in file order: (name in messages, numbers or None = counted list).
OCAMCALIB_SECTIONS = (("ss (direct polynomial)", None), ("invpol (inverse polynomial)", None),
                      ("center (row column)", 2), ("affine (c d e)", 3), ("image size (height width)", 2))


def read_ocamcalib(path: Path, opts: ImportOptions) -> list[ImportedCamera]:
    """One camera from OCamCalib's calib_results.txt (inline, affine applied) or an Ego4View JSON (`file:`)."""
    import numpy as np

    name = _sanitise(path.stem)
    if path.suffix.lower() == ".json":
        _read_text(path)  # readable now; its fields are checked when the rig is built from the written config
        lens = {"type": "ocamcalib", "file": _relative_or_absolute(path, opts.out_dir)}
        return [ImportedCamera(name=name, lens=_with_fov(lens, opts), T_first_from_camera=np.eye(4), source=path)]
    lines = [(i + 1, line.strip()) for i, line in enumerate(_read_text(path).splitlines())]
    rows = [(no, line) for no, line in lines if line and not line.startswith("#")]
    if len(rows) < len(OCAMCALIB_SECTIONS):
        raise _fail(path, "-", f"expected {len(OCAMCALIB_SECTIONS)} lines of numbers (ss, invpol, center, affine, "
                    f"image size) as OCamCalib's export_data writes calib_results.txt, found {len(rows)}")
    values = []
    for (section, count), (no, line) in zip(OCAMCALIB_SECTIONS, rows):
        where = f"line {no} ({section})"
        try:
            numbers = [float(v) for v in line.split()]
        except ValueError:
            raise _fail(path, where, f"expected numbers, got {line!r}") from None
        if not all(math.isfinite(v) for v in numbers):
            raise _fail(path, where, f"every number must be finite, got {line!r}")
        if count is None:
            if not numbers or not float(numbers[0]).is_integer() or int(numbers[0]) != len(numbers) - 1:
                raise _fail(path, where, f"expected the number of coefficients followed by that many, got {line!r}")
            numbers = numbers[1:]
        elif len(numbers) != count:
            raise _fail(path, where, f"expected {count} numbers, got {line!r}")
        values.append(numbers)
    ss, invpol, (row, col), affine, (height, width) = values
    size_where = f"line {rows[4][0]} (image size)"
    width, height = _whole(path, size_where, width), _whole(path, size_where, height)
    if len(invpol) < 2:
        raise _fail(path, f"line {rows[1][0]} (invpol)", "needs at least 2 coefficients")
    circle = opts.image_circle_px if opts.image_circle_px is not None else 0.5 * math.hypot(width, height)
    lens = {
        "type": "ocamcalib", "width": width, "height": height,
        # OCamCalib's centre is (row, column) = our (v, u); its polynomials are ascending already.
        "image_center": [col, row], "poly_w2c": invpol, "poly_c2w": ss, "affine": affine, "apply_affine": True,
        "image_circle_radius_px": float(circle),
    }
    return [ImportedCamera(name=name, lens=_with_fov(lens, opts), T_first_from_camera=np.eye(4), source=path)]

