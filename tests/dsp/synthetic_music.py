"""Synthetic music for the restoration robustness tests: loud bass and sustained organ chords
with partials near the 50 / 60 Hz harmonics, seeded, stereo, peaking at 0.8."""

from __future__ import annotations

import numpy as np


def bass(sample_rate: int, duration_s: float = 6.0) -> np.ndarray:
    """Bass notes of 41-117 Hz (G1 = 49 Hz among them) with two harmonics, a kick every 0.5 s
    and noise bursts."""
    rng = np.random.default_rng(2)
    n = int(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    y = np.zeros((2, n))
    notes = [41.2, 49.0, 55.0, 58.27, 61.74, 73.42, 82.41, 98.0, 110.0, 116.5]
    seg = duration_s / 8
    for i in range(8):
        f = notes[int(rng.integers(len(notes)))]
        i0, i1 = int(i * seg * sample_rate), int((i + 1) * seg * sample_rate)
        tt = t[i0:i1] - t[i0]
        env = np.minimum(1, tt / 0.01) * np.minimum(1, (tt[-1] - tt) / 0.02)
        y[:, i0:i1] += env * (np.sin(2 * np.pi * f * tt) + 0.3 * np.sin(2 * np.pi * 2 * f * tt + 1)
                              + 0.1 * np.sin(2 * np.pi * 3 * f * tt))
    for on in np.arange(0.0, duration_s, 0.5):
        i0 = int(on * sample_rate)
        tt = t[: n - i0]
        y[:, i0:] += 0.6 * np.exp(-tt / 0.08) * np.sin(2 * np.pi * (45 + 60 * np.exp(-tt / 0.02)) * tt)
    y += 0.02 * rng.standard_normal((2, n)) * np.exp(-np.mod(t, 0.25) / 0.03)
    return y / np.max(np.abs(y)) * 0.8


def organ(sample_rate: int, duration_s: float = 6.0) -> np.ndarray:
    """Sustained chords, 4 partials per note (49, 98, 123.5, 147 Hz... near the mains
    harmonics), slightly decorrelated channels (seeded phases)."""
    rng = np.random.default_rng(3)
    n = int(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    y = np.zeros((2, n))
    chords = [[43.65, 98.0, 146.83, 196.0], [61.74, 123.47, 185.0, 246.94],
              [49.0, 98.0, 123.47, 146.83], [58.27, 116.54, 174.61, 233.08]]
    seg = duration_s / len(chords)
    for i, chord in enumerate(chords):
        i0, i1 = int(i * seg * sample_rate), int((i + 1) * seg * sample_rate)
        tt = t[i0:i1] - t[i0]
        env = np.minimum(1, tt / 0.05) * np.minimum(1, (tt[-1] - tt) / 0.05)
        for f in chord:
            for k, a in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.2)):
                ph = rng.uniform(0, 2 * np.pi)
                y[0, i0:i1] += env * a * np.sin(2 * np.pi * f * k * tt + ph)
                y[1, i0:i1] += env * a * np.sin(2 * np.pi * f * k * tt + ph + 0.2)
    return y / np.max(np.abs(y)) * 0.8
