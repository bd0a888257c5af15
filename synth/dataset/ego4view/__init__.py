"""Ego4View export: a native dataset in the Ego4View-Syn or -RW layout, checked against what the authors' released
trainer assumes (layout: names and units; calib: lenses as Ego4View calibrations; syn_model: the fixed Syn rig;
records: per-frame JSON, heatmaps and RW metadata; export: the command; readme: the export's README)."""

from synth.dataset.ego4view.export import ExportResult, export_ego4view, plan_export
from synth.dataset.ego4view.layout import LAYOUTS, README_NAME

__all__ = ["ExportResult", "LAYOUTS", "README_NAME", "export_ego4view", "plan_export"]
