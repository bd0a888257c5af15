"""Human-readable previews of generated data (contact sheets of views with projected labels)."""
