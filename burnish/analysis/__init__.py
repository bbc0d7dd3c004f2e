"""Measurements: loudness, true peak, spectrum, stereo, dynamics, defects, feedback."""
