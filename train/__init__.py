"""egorig's trainer: heatmap estimation, multi-view heatmap refinement and 3D lifting for front + rear fisheye rigs."""
