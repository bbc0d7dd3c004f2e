"""A short, dense, subtle mastering room: an 8-line feedback delay network.

Structure (J.-M. Jot and A. Chaigne, "Digital delay networks for designing artificial
reverberators", AES 90th Convention, 1991):

* a pre-delay of ``predelay_ms`` on the input;
* 8 delay lines of distinct lengths between 11 and 34 ms, fed by the left channel (even
  lines) and the right channel (odd lines), mixed by the 8x8 Hadamard matrix scaled by 1/sqrt(8) (orthogonal, so lossless, and every line feeds
  every other: a dense echo build-up);
* in each line a gain ``g_i = 10 ** (-3 d_i / (decay_s * sample_rate))`` (``d_i`` the line's
  length in samples) so every path loses 60 dB in ``decay_s``, and a one-pole low-pass at
  ``damping_hz`` (unity gain at DC) so the highs die sooner;
* wet outputs ``L = sum c_L,i x_i``, ``R = sum c_R,i x_i`` with orthogonal sign patterns (the
  two wet channels are decorrelated); ``width`` (0-1) blends them toward their mid so that
  ``width = 0`` gives a mono wet. The mono fold-down of the wet signal can't cancel: with
  uncorrelated wet channels it is 3 dB below the stereo wet energy (tested);
* a 2nd-order Butterworth high-pass at ``highpass_hz`` on the wet signal (no muddy low end);
* output = dry + ``mix`` * wet: the dry signal is untouched, the room is added at ``mix``
  (linear amplitude, 0-0.5; 0 is an exact identity). The wet output is normalised so that white
  noise in gives wet energy about equal to the input energy.

Deterministic (no randomness), no latency (the pre-delay is part of the effect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from numba import njit

from burnish.audio import AudioArray, check_audio
from burnish.dsp.base import Processor, check_range, offline, register_processor
from burnish.dsp.biquad import SosCascade
from burnish.dsp.filters import design_butterworth_sos
from burnish.errors import ParameterError

#: Delay-line lengths in ms (rounded to samples at the processor's rate, then made distinct).
LINE_MS = (11.3, 13.7, 16.1, 19.3, 22.9, 26.3, 29.9, 33.7)
#: Output sign patterns: orthogonal rows (dot product 0) so the wet L/R are decorrelated.
SIGNS_LEFT = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
SIGNS_RIGHT = (1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0)
#: Frequency at which ``decay_s`` is the exact RT60 (the damping filter's loss is compensated).
DECAY_REFERENCE_HZ = 1000.0
#: Largest per-line gain (keeps the loop strictly stable at DC).
MAX_LOOP_GAIN = 0.9999


@dataclass(frozen=True, slots=True)
class ReverbParams:
    """Mastering reverb settings.

    Attributes
    ----------
    predelay_ms: 0-100 ms before the room starts.
    decay_s: RT60 of the room, 0.1-5 s.
    damping_hz: cutoff of the in-loop low-pass, 1000-20000 Hz (lower = darker tail).
    highpass_hz: cutoff of the high-pass on the wet signal, 20-1000 Hz.
    mix: wet level added to the untouched dry signal, 0-0.5 (linear amplitude).
    width: wet stereo width, 0 (mono wet) - 1 (fully decorrelated wet).
    """

    predelay_ms: float = 10.0
    decay_s: float = 0.8
    damping_hz: float = 6000.0
    highpass_hz: float = 200.0
    mix: float = 0.08
    width: float = 1.0

    def __post_init__(self) -> None:
        check_range("predelay_ms", self.predelay_ms, 0.0, 100.0)
        check_range("decay_s", self.decay_s, 0.1, 5.0)
        check_range("damping_hz", self.damping_hz, 1000.0, 20000.0)
        check_range("highpass_hz", self.highpass_hz, 20.0, 1000.0)
        check_range("mix", self.mix, 0.0, 0.5)
        check_range("width", self.width, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class ReverbDesign:
    """Everything the kernel needs, derived from params and the sample rate."""

    predelay_samples: int
    line_samples: npt.NDArray[np.int64]
    line_gains: npt.NDArray[np.float64]
    damping_pole: float
    out_left: npt.NDArray[np.float64]
    out_right: npt.NDArray[np.float64]
    highpass_sos: npt.NDArray[np.float64]


def design_reverb(params: ReverbParams, *, sample_rate: int) -> ReverbDesign:
    """Delay lengths, RT60 gains, damping pole, output taps and wet high-pass."""
    nyquist = sample_rate / 2
    if params.damping_hz >= nyquist:
        raise ParameterError(f"damping_hz={params.damping_hz} must be below {nyquist:g} at {sample_rate} Hz")
    lengths: list[int] = []
    for ms in LINE_MS:
        d = int(round(ms * 1e-3 * sample_rate))
        while d in lengths:
            d += 1
        lengths.append(d)
    line = np.array(lengths, dtype=np.int64)
    pole = float(np.exp(-2.0 * np.pi * params.damping_hz / sample_rate))
    # RT60 gains, corrected for the damping low-pass's loss at the reference frequency so that
    # decay_s holds in the mids (lower frequencies ring slightly longer, higher ones shorter)
    w = 2.0 * np.pi * DECAY_REFERENCE_HZ / sample_rate
    damping_loss = (1.0 - pole) / abs(1.0 - pole * np.exp(-1j * w))
    gains = 10.0 ** (-3.0 * line / (params.decay_s * sample_rate)) / damping_loss
    gains = np.minimum(gains, MAX_LOOP_GAIN)
    # energy normalisation: an impulse into a lossless-mixed network with loop gains g rings
    # with energy ~ 1 / (1 - g^2); scale so the wet energy is about the input's.
    norm = float(np.sqrt(np.mean(1.0 - gains**2)) / np.sqrt(len(lengths) / 2))
    left = np.array(SIGNS_LEFT)
    right = np.array(SIGNS_RIGHT)
    mid = 0.5 * (left + right)
    side = 0.5 * (left - right)
    out_left = norm * (mid + params.width * side)
    out_right = norm * (mid - params.width * side)
    hp = design_butterworth_sos("highpass", params.highpass_hz, 2, sample_rate=sample_rate)
    return ReverbDesign(
        predelay_samples=int(round(params.predelay_ms * 1e-3 * sample_rate)),
        line_samples=line,
        line_gains=gains,
        damping_pole=pole,
        out_left=out_left,
        out_right=out_right,
        highpass_sos=hp,
    )


@njit(cache=True, nogil=True)
def _fdn_kernel(
    inp: npt.NDArray[np.float64],
    predelay: npt.NDArray[np.float64],
    pre_index: npt.NDArray[np.int64],
    lines: npt.NDArray[np.float64],
    line_len: npt.NDArray[np.int64],
    line_index: npt.NDArray[np.int64],
    gains: npt.NDArray[np.float64],
    lp_state: npt.NDArray[np.float64],
    pole: float,
    out_left: npt.NDArray[np.float64],
    out_right: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Run the FDN on a (2, n) input (already a stereo pair); returns the (2, n) wet signal."""
    n = inp.shape[1]
    num_lines = line_len.shape[0]
    wet = np.zeros((2, n))
    taps = np.empty(num_lines)
    scale = 1.0 / np.sqrt(num_lines)
    pre_len = predelay.shape[1]
    for i in range(n):
        # pre-delay (a ring buffer per channel; length 0 means none)
        if pre_len > 0:
            p = pre_index[0]
            in_l = predelay[0, p]
            in_r = predelay[1, p]
            predelay[0, p] = inp[0, i]
            predelay[1, p] = inp[1, i]
            pre_index[0] = (p + 1) % pre_len
        else:
            in_l = inp[0, i]
            in_r = inp[1, i]
        yl = 0.0
        yr = 0.0
        for k in range(num_lines):
            # read the line end, damp (one-pole low-pass, unity DC gain), apply the RT60 gain
            v = lines[k, line_index[k]]
            lp_state[k] = (1.0 - pole) * v + pole * lp_state[k]
            t = gains[k] * lp_state[k]
            taps[k] = t
            yl += out_left[k] * t
            yr += out_right[k] * t
        wet[0, i] = yl
        wet[1, i] = yr
        # Hadamard mixing (fast Walsh-Hadamard butterflies, scaled to be orthonormal)
        span = 1
        while span < num_lines:
            for start in range(0, num_lines, 2 * span):
                for j in range(start, start + span):
                    a = taps[j]
                    b = taps[j + span]
                    taps[j] = a + b
                    taps[j + span] = a - b
            span *= 2
        for k in range(num_lines):
            x = taps[k] * scale
            x += in_l if k % 2 == 0 else in_r
            lines[k, line_index[k]] = x
            line_index[k] += 1
            if line_index[k] >= line_len[k]:
                line_index[k] = 0
    return wet


@register_processor
class Reverb(Processor):
    """Feedback-delay-network room added under the dry signal (see the module doc)."""

    kind: ClassVar[str] = "reverb"
    params_type: ClassVar[type] = ReverbParams
    params: ReverbParams

    def __init__(self, params: ReverbParams | None = None, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params if params is not None else ReverbParams(), sample_rate=sample_rate, num_channels=num_channels)
        self._design = design_reverb(self.params, sample_rate=self.sample_rate)
        self.reset()

    def reset(self) -> None:
        d = self._design
        self._predelay = np.zeros((2, d.predelay_samples))
        self._pre_index = np.zeros(1, dtype=np.int64)
        self._lines = np.zeros((d.line_samples.shape[0], int(d.line_samples.max())))
        self._line_index = np.zeros(d.line_samples.shape[0], dtype=np.int64)
        self._lp_state = np.zeros(d.line_samples.shape[0])
        self._highpass = SosCascade(d.highpass_sos, 2)

    def process(self, block: AudioArray) -> AudioArray:
        x = check_audio(block, num_channels=self.num_channels, name="block")
        if self.params.mix == 0.0 or x.shape[1] == 0:
            return x.copy()
        d = self._design
        x64 = x.astype(np.float64)
        pair = np.ascontiguousarray(x64 if self.num_channels == 2 else np.vstack([x64, x64]))
        wet = _fdn_kernel(
            pair, self._predelay, self._pre_index, self._lines, d.line_samples, self._line_index,
            d.line_gains, self._lp_state, d.damping_pole, d.out_left, d.out_right,
        )
        self._highpass(wet, out=wet)
        if self.num_channels == 1:
            wet = 0.5 * (wet[0:1] + wet[1:2])
        out = x64 + self.params.mix * wet
        return out.astype(x.dtype, copy=False)


apply_reverb = offline(Reverb)


def warmup() -> None:
    """Compile the kernel (numba caches it on disk)."""
    Reverb(sample_rate=44100, num_channels=2).process(np.zeros((2, 8)))
