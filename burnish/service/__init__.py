"""The web studio (not yet built)."""
