"""Long FIR filters applied in fixed frames, so the output never depends on the block size.

FFT convolution of a block gives results that differ in the last bits with the FFT size, so a
streaming convolver that followed the caller's block sizes would break "block size changes the
speed, never the bits". :class:`FrameConvolver` therefore buffers input into frames of a fixed
size and convolves each frame identically (overlap-save); the price is one frame of latency.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import fft as sp_fft

Array = npt.NDArray[np.float64]


class FrameConvolver:
    """Streaming multi-channel FIR convolution in fixed frames.

    ``firs`` is ``(channels, taps)``; the output lags the input by ``frame_samples`` plus the
    filter's own delay (``latency_samples`` counts only the frame: add the FIR's group delay).
    """

    def __init__(self, firs: Array, *, frame_samples: int = 4096) -> None:
        self.firs = np.atleast_2d(np.asarray(firs, dtype=np.float64))
        self.num_channels, self.taps = self.firs.shape
        self.frame = int(frame_samples)
        self.nfft = int(sp_fft.next_fast_len(self.frame + self.taps - 1, real=True))
        self._spectra = sp_fft.rfft(self.firs, n=self.nfft, axis=1)
        self.reset()

    @property
    def latency_samples(self) -> int:
        return self.frame

    def reset(self) -> None:
        self._history = np.zeros((self.num_channels, self.taps - 1))
        self._pending = np.zeros((self.num_channels, 0))
        self._ready = np.zeros((self.num_channels, self.frame))

    def _convolve_frame(self, frame: Array) -> Array:
        x = np.concatenate([self._history, frame], axis=1)
        self._history = x[:, x.shape[1] - (self.taps - 1) :] if self.taps > 1 else self._history
        y = sp_fft.irfft(sp_fft.rfft(x, n=self.nfft, axis=1) * self._spectra, n=self.nfft, axis=1)
        return y[:, self.taps - 1 : self.taps - 1 + self.frame]

    def process(self, block: Array) -> Array:
        n = block.shape[1]
        if n == 0:
            return np.zeros((self.num_channels, 0))
        self._pending = np.concatenate([self._pending, block.astype(np.float64, copy=False)], axis=1)
        outputs = [self._ready]
        while self._pending.shape[1] >= self.frame:
            outputs.append(self._convolve_frame(self._pending[:, : self.frame]))
            self._pending = self._pending[:, self.frame :]
        ready = np.concatenate(outputs, axis=1)
        out, self._ready = ready[:, :n], ready[:, n:]
        return out


def design_linear_phase_fir(
    freqs_hz: npt.ArrayLike,
    gains_db: npt.ArrayLike,
    *,
    sample_rate: int,
    num_taps: int,
) -> Array:
    """A symmetric (linear-phase) FIR whose magnitude follows ``gains_db`` at ``freqs_hz``.

    The curve is interpolated linearly in dB over log-frequency and held constant beyond its
    first and last points; the impulse response is windowed (Blackman) to ``num_taps`` (odd).
    Group delay: ``(num_taps - 1) // 2`` samples.
    """
    if num_taps % 2 == 0:
        num_taps += 1
    f = np.asarray(freqs_hz, dtype=np.float64)
    g = np.asarray(gains_db, dtype=np.float64)
    nfft = int(2 ** np.ceil(np.log2(num_taps * 4)))
    grid = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
    logf = np.log2(np.maximum(grid, 1e-3))
    mag_db = np.interp(logf, np.log2(f), g, left=g[0], right=g[-1])
    h = np.fft.irfft(10.0 ** (mag_db / 20.0), n=nfft)
    half = num_taps // 2
    h = np.concatenate([h[-half:], h[: half + 1]])
    return h * np.blackman(num_taps)
