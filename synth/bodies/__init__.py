"""Body backends: identities, posed meshes, per-face part labels and EGO16 joints."""
