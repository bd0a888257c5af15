"""Realistic calibrations of each camera model (magnitudes of Kalibr / OpenCV / Project Aria results for headset
cameras), shared by the model tests and the OSL render tests."""

from __future__ import annotations

import math

from synth.geometry.camera_models import (DoubleSphereLens, EUCMLens, Fisheye624Lens, OpenCVFisheyeLens,
                                          OpenCVPinholeLens, UnifiedLens)

FISHEYE = OpenCVFisheyeLens(width=640, height=480, fx=190.97, fy=190.98, cx=318.27, cy=242.51,
                            k=(0.0034, 0.0407, -0.0432, 0.0097), fov_rad=math.radians(190.0))
PINHOLE = OpenCVPinholeLens(width=752, height=480, fx=458.65, fy=457.30, cx=367.22, cy=248.38,
                            k=(-0.2834, 0.0740, 0.0), p=(0.000194, 0.0000176))
RATIONAL = OpenCVPinholeLens(width=1280, height=1024, fx=612.3, fy=611.8, cx=641.7, cy=509.2,
                             k=(0.41, -0.05, 0.003, 0.75, 0.01, 0.002), p=(-0.0004, 0.0007))
UNIFIED = UnifiedLens(width=752, height=480, fx=708.2, fy=707.6, cx=371.4, cy=245.9, xi=1.63,
                      k=(-0.213, 0.081), p=(0.0007, -0.0002))
DS = DoubleSphereLens(width=512, height=512, fx=156.9, fy=156.8, cx=254.9, cy=256.9, xi=-0.17, alpha=0.59)
EUCM = EUCMLens(width=752, height=480, fx=461.3, fy=460.8, cx=369.7, cy=241.2, alpha=0.632, beta=1.041)
ARIA = Fisheye624Lens(width=1408, height=1408, fx=610.9, fy=610.9, cx=715.1, cy=716.3,
                      k=(0.3936, -0.3514, 0.0938, 1.0165, -1.5744, 0.6347), p=(0.00014, -0.00028),
                      s=(-0.00050, 0.00012, 0.00041, -0.00002), fov_rad=math.radians(150.0))
ALL = {"opencv_fisheye": FISHEYE, "opencv_pinhole": PINHOLE, "rational": RATIONAL, "unified": UNIFIED,
       "double_sphere": DS, "eucm": EUCM, "fisheye624": ARIA}
