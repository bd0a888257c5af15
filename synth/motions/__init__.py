"""Motion sources (the procedural library, AMASS/BEDLAM npz) in one canonical SMPL-22 form."""
