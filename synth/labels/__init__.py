"""Labels computed without a renderer: 2D projections, heatmaps, visibility by ray casting, visibility tables."""
