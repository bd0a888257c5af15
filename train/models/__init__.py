"""Network modules of the trainer: ResNet-18 + FPN, heatmap heads, deformable attention, refiner, 3D lifter."""
