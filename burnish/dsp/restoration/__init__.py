"""Restoration: declick, declip, denoise (hiss) and dehum, as streaming processors.

All four work in fixed internal hops (see :class:`_HopProcessor`): input is buffered, and each
hop of ``hop_samples`` is processed with a fixed amount of history before it and look-ahead
after it. Every decision is therefore a function of the hop index only, so the block size of
the caller never changes a bit; the price is a fixed latency of ``hop + look-ahead`` samples,
reported by ``latency_samples`` (the chain compensates).

Methods (docs/restoration.md has the details, citations and measured results):

- ``declick``: forward and backward linear-prediction (AR) residuals against a robust local
  level (median over 256-sample sub-blocks); a sample is a click sample when *both* residuals
  stand out (an impulse excites the forward residual after it and the backward one before it,
  so only the impulse itself is high in both). Runs no longer than ``max_click_ms`` are replaced
  by least-squares AR interpolation (Janssen, Veldhuis & Vries 1986; Vaseghi 2006 ch. 13); longer
  runs are musical transients and are left alone.
- ``declip``: clipped samples are those at or above ``threshold`` times the clip level (given,
  or detected as the level of flat runs of 3+ equal samples); overlapping frames around them
  are restored by consistent A-SPADE (Kitic, Bertin & Gribonval 2015): sparsity in an
  oversampled DFT, reliable samples kept, clipped ones beyond the clip level with their sign.
  The output is scaled by ``-headroom_db``.
- ``denoise``: STFT (sqrt-Hann, 75 % overlap) with the MMSE log-spectral amplitude gain
  (Ephraim & Malah 1985), a-priori SNR from the locally averaged a-posteriori SNR, raised in
  the treble where the band's music is thin (treble protection), gain floored at
  ``-reduction_db``;
  the noise power spectrum comes from minimum statistics (Martin 2001) smoothed across frequency,
  or from a given time range.
- ``dehum``: mains hum is estimated as sinusoids at the harmonics of 50 or 60 Hz (detected
  automatically, or given) by windowed least squares around each hop boundary, with a fine
  frequency search that follows drift, and subtracted (interpolated between hop boundaries).
  Only the hum lines are touched: music a few hertz away is left as it is.
"""

from __future__ import annotations

import numpy as np

from burnish.dsp.base import offline
from burnish.dsp.restoration.common import _HopProcessor, _interpolate_gap
from burnish.dsp.restoration.declick import Declicker, DeclickParams
from burnish.dsp.restoration.declip import DeclipParams, Declipper, declip_frame_samples
from burnish.dsp.restoration.dehum import Dehummer, DehumParams, _demod_channels
from burnish.dsp.restoration.denoise import (
    DenoiseParams,
    Denoiser,
    _DenoiseCore,
    denoise_frame_samples,
    denoise_pair,
)

# --------------------------------------------------------------------------------------------
# offline wrappers and warm-up

apply_declick = offline(Declicker)
apply_declip = offline(Declipper)
apply_denoise = offline(Denoiser)
apply_dehum = offline(Dehummer)


def warmup() -> None:
    """Compile the numba kernels on tiny inputs (numba caches them on disk)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 4096)) * 0.01
    x[0, 2000] = 1.0
    apply_declick(x, DeclickParams(), sample_rate=44100)
    y = np.clip(np.sin(np.arange(8192) * 0.01)[np.newaxis, :] * 2.0, -1.0, 1.0)
    apply_declip(y, DeclipParams(), sample_rate=44100)
    apply_dehum(x, DehumParams(mains_hz=50), sample_rate=44100)
    apply_dehum(np.tile(x, 8), DehumParams(), sample_rate=44100)  # the detection kernels


__all__ = [
    "_DenoiseCore",
    "_HopProcessor",
    "_demod_channels",
    "_interpolate_gap",
    "declip_frame_samples",
    "DeclickParams",
    "Declicker",
    "DeclipParams",
    "Declipper",
    "DehumParams",
    "Dehummer",
    "DenoiseParams",
    "Denoiser",
    "apply_declick",
    "apply_declip",
    "apply_dehum",
    "apply_denoise",
    "denoise_frame_samples",
    "denoise_pair",
    "warmup",
]
