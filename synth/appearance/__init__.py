"""Appearance as plain data: skin, hair, painted and loose garments, environments (no rendering here)."""

from synth.appearance.model import Appearance, ClothTexture, Environment, LooseGarment
from synth.appearance.sampling import sample_appearance, sample_environment

__all__ = ["Appearance", "ClothTexture", "Environment", "LooseGarment", "sample_appearance", "sample_environment"]
