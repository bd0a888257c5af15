"""Ray render farm: long-lived Blender workers render clips, one driver commits them to the dataset."""
