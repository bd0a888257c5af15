"""Studies over many clips and rigs that produce tables instead of datasets (rig-placement visibility)."""
