"""Match EQ: a linear-phase curve EQ for mid and side, the assistant's tonal correction.

Where a parametric EQ describes a few bands, a match EQ follows a whole smoothed curve (gains at
1/3-octave centres), which is what matching a target curve or a reference track needs. Mid and
side get their own curves, so the same processor also matches stereo width per band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from burnish.audio import AudioArray
from burnish.dsp.base import Processor, check_range, register_processor
from burnish.dsp.fir import FrameConvolver, design_linear_phase_fir
from burnish.errors import ParameterError

MAX_GAIN_DB = 24.0


@dataclass(frozen=True, slots=True)
class MatchEqParams:
    """Gains in dB at ``frequencies_hz`` for the mid (L+R)/2 and side (L-R)/2 signals.

    Empty ``side_gains_db`` means the side follows the mid curve (a plain stereo EQ).
    """

    frequencies_hz: tuple[float, ...] = ()
    mid_gains_db: tuple[float, ...] = ()
    side_gains_db: tuple[float, ...] = ()
    length_ms: float = 93.0

    def __post_init__(self) -> None:
        if len(self.mid_gains_db) != len(self.frequencies_hz):
            raise ParameterError(
                f"mid_gains_db has {len(self.mid_gains_db)} values but frequencies_hz has"
                f" {len(self.frequencies_hz)}: they must match"
            )
        if self.side_gains_db and len(self.side_gains_db) != len(self.frequencies_hz):
            raise ParameterError(
                f"side_gains_db has {len(self.side_gains_db)} values but frequencies_hz has"
                f" {len(self.frequencies_hz)}: they must match (or be empty)"
            )
        prev = 0.0
        for i, f in enumerate(self.frequencies_hz):
            check_range(f"frequencies_hz[{i}]", f, 1.0, 96000.0)
            if f <= prev:
                raise ParameterError(f"frequencies_hz[{i}]={f} must be above the previous {prev}")
            prev = f
        for name in ("mid_gains_db", "side_gains_db"):
            for i, g in enumerate(getattr(self, name)):
                check_range(f"{name}[{i}]", g, -MAX_GAIN_DB, MAX_GAIN_DB)
        check_range("length_ms", self.length_ms, 5.0, 500.0)


@register_processor
class MatchEq(Processor):
    """Linear-phase mid/side curve EQ. Latency: one frame (about 3 FIR lengths) plus half the FIR."""

    kind = "match_eq"
    params_type = MatchEqParams

    def __init__(self, params: MatchEqParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self._identity = not params.frequencies_hz or (
            not any(params.mid_gains_db) and not any(params.side_gains_db)
        )
        taps = int(round(params.length_ms * 1e-3 * sample_rate)) | 1
        self._taps = taps
        if self._identity:
            self._conv = None
            return
        mid = design_linear_phase_fir(
            params.frequencies_hz, params.mid_gains_db, sample_rate=sample_rate, num_taps=taps
        )
        side_gains = params.side_gains_db or params.mid_gains_db
        side = design_linear_phase_fir(
            params.frequencies_hz, side_gains, sample_rate=sample_rate, num_taps=taps
        )
        firs = np.stack([mid, side]) if num_channels == 2 else mid[np.newaxis, :]
        # frames of about 3x the FIR's length: the FFT work per output sample is near its
        # minimum there (4096-sample frames cost 1.6x as much for a 93 ms FIR)
        frame = max(4096, 1 << int(math.ceil(math.log2(3 * taps))))
        self._conv = FrameConvolver(firs, frame_samples=frame)

    @property
    def latency_samples(self) -> int:
        if self._conv is None:
            return 0
        return self._conv.latency_samples + (self._taps - 1) // 2

    def reset(self) -> None:
        if self._conv is not None:
            self._conv.reset()

    def process(self, block: AudioArray) -> AudioArray:
        if self._conv is None:
            return block.copy()
        x = block.astype(np.float64, copy=False)
        if self.num_channels == 2:
            ms = np.stack([(x[0] + x[1]) * 0.5, (x[0] - x[1]) * 0.5])
            y = self._conv.process(ms)
            out = np.stack([y[0] + y[1], y[0] - y[1]])
        else:
            out = self._conv.process(x)
        return out.astype(block.dtype, copy=False)

    def frequency_response_db(self, freqs_hz: np.ndarray, *, component: str = "mid") -> np.ndarray:
        """The designed magnitude response (dB) of the mid or side filter at ``freqs_hz``."""
        if self._conv is None:
            return np.zeros(len(freqs_hz))
        fir = self._conv.firs[0 if component == "mid" or self.num_channels == 1 else 1]
        w = np.exp(-2j * np.pi * np.outer(freqs_hz, np.arange(fir.size)) / self.sample_rate)
        return 20 * np.log10(np.abs(w @ fir) + 1e-300)
