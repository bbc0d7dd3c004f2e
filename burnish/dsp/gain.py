"""Gain, DC/subsonic high-pass, polarity and channel balance.

All four are latency-free. They compute in float64 and return the dtype they are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from burnish.audio import AudioArray, check_audio
from burnish.dsp.base import Processor, check_range, offline, register_processor
from burnish.dsp.biquad import SosCascade
from burnish.dsp.eq import run_cascade
from burnish.dsp.filters import (
    PASS_SLOPES_DB_PER_OCTAVE,
    design_butterworth_sos,
    order_for_slope,
)
from burnish.errors import ParameterError
from burnish.units import db_to_gain

#: Range of a plain gain stage (dB).
MAX_GAIN_DB = 48.0
#: Highest cutoff a DC/subsonic high-pass accepts (Hz); use the EQ for anything higher.
MAX_HIGHPASS_CUTOFF_HZ = 500.0
#: Largest balance correction (dB).
MAX_BALANCE_DB = 24.0


# --------------------------------------------------------------------------------------------
# gain


@dataclass(frozen=True, slots=True)
class GainParams:
    """A static gain. ``gain_db`` in [-48, 48] dB."""

    gain_db: float = 0.0

    def __post_init__(self) -> None:
        check_range("gain_db", self.gain_db, -MAX_GAIN_DB, MAX_GAIN_DB)


@register_processor
class Gain(Processor):
    """Multiply every channel by ``10 ** (gain_db / 20)``."""

    kind: ClassVar[str] = "gain"
    params_type: ClassVar[type] = GainParams
    params: GainParams

    def __init__(self, params: GainParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self._gain = db_to_gain(params.gain_db)

    def process(self, block: AudioArray) -> AudioArray:
        """Apply the gain to ``block`` (channels, samples)."""
        x = check_audio(block, num_channels=self.num_channels)
        return (x.astype(np.float64) * self._gain).astype(x.dtype, copy=False)

    def reset(self) -> None:
        """Stateless: nothing to forget."""


# --------------------------------------------------------------------------------------------
# DC / subsonic high-pass


@dataclass(frozen=True, slots=True)
class HighPassParams:
    """Butterworth DC/subsonic high-pass.

    ``cutoff_hz`` in (0, 500] is the -3.01 dB frequency; ``slope_db_per_octave`` is one of
    6, 12, 18, 24, 36, 48 (Butterworth order 1, 2, 3, 4, 6, 8).
    """

    cutoff_hz: float = 20.0
    slope_db_per_octave: int = 12

    def __post_init__(self) -> None:
        check_range("cutoff_hz", self.cutoff_hz, 0.0, MAX_HIGHPASS_CUTOFF_HZ, low_inclusive=False)
        order_for_slope(self.slope_db_per_octave)


@register_processor
class HighPass(Processor):
    """DC and subsonic high-pass: a Butterworth biquad cascade with explicit state."""

    kind: ClassVar[str] = "highpass"
    params_type: ClassVar[type] = HighPassParams
    params: HighPassParams

    def __init__(self, params: HighPassParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self.sos = design_butterworth_sos(
            "highpass",
            params.cutoff_hz,
            order_for_slope(params.slope_db_per_octave),
            sample_rate=self.sample_rate,
        )
        self._cascade = SosCascade(self.sos, self.num_channels)

    def process(self, block: AudioArray) -> AudioArray:
        """Filter ``block`` (channels, samples); state carries over to the next call."""
        return self._process_unchecked(check_audio(block, num_channels=self.num_channels))

    def _process_unchecked(self, x: AudioArray) -> AudioArray:
        """:meth:`process` for a block that already meets the contract (from a chain)."""
        if x.shape[1] == 0:
            return x.copy()
        y = np.array(x, dtype=np.float64, order="C")
        run_cascade(self._cascade, y, out=y)
        return y.astype(x.dtype, copy=False)

    def reset(self) -> None:
        """Zero the filter state."""
        self._cascade.reset()


# --------------------------------------------------------------------------------------------
# polarity


@dataclass(frozen=True, slots=True)
class PolarityParams:
    """Invert the polarity of the left and/or right channel (mono: channel 0 is "left")."""

    invert_left: bool = False
    invert_right: bool = False

    def __post_init__(self) -> None:
        for name in ("invert_left", "invert_right"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ParameterError(f"{name}={value!r} must be true or false")


@register_processor
class Polarity(Processor):
    """Multiply the chosen channels by -1 (exact)."""

    kind: ClassVar[str] = "polarity"
    params_type: ClassVar[type] = PolarityParams
    params: PolarityParams

    def process(self, block: AudioArray) -> AudioArray:
        """Invert the selected channels of ``block``."""
        x = check_audio(block, num_channels=self.num_channels)
        y = x.copy()
        if self.params.invert_left:
            y[0] = -y[0]
        if self.params.invert_right and self.num_channels == 2:
            y[1] = -y[1]
        return y

    def reset(self) -> None:
        """Stateless: nothing to forget."""


# --------------------------------------------------------------------------------------------
# channel balance


@dataclass(frozen=True, slots=True)
class ChannelBalanceParams:
    """Level balance between left and right.

    ``balance_db`` in [-24, 24]: positive moves the image right. It is split symmetrically:
    left gets ``-balance_db / 2`` dB and right ``+balance_db / 2`` dB, so the centre's level
    changes little. Mono input passes unchanged.
    """

    balance_db: float = 0.0

    def __post_init__(self) -> None:
        check_range("balance_db", self.balance_db, -MAX_BALANCE_DB, MAX_BALANCE_DB)


@register_processor
class ChannelBalance(Processor):
    """Static left/right level correction (see :class:`ChannelBalanceParams`)."""

    kind: ClassVar[str] = "balance"
    params_type: ClassVar[type] = ChannelBalanceParams
    params: ChannelBalanceParams

    def __init__(
        self, params: ChannelBalanceParams, *, sample_rate: int, num_channels: int
    ) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        if self.num_channels == 2:
            half = params.balance_db / 2.0
            self._gains = np.array([[db_to_gain(-half)], [db_to_gain(half)]])
        else:
            self._gains = np.ones((1, 1))

    def process(self, block: AudioArray) -> AudioArray:
        """Apply the per-channel gains to ``block``."""
        x = check_audio(block, num_channels=self.num_channels)
        if self.num_channels == 1:
            return x.copy()
        return (x.astype(np.float64) * self._gains).astype(x.dtype, copy=False)

    def reset(self) -> None:
        """Stateless: nothing to forget."""


apply_gain = offline(Gain)
apply_highpass = offline(HighPass)
apply_polarity = offline(Polarity)
apply_balance = offline(ChannelBalance)

__all__ = [
    "PASS_SLOPES_DB_PER_OCTAVE",
    "ChannelBalance",
    "ChannelBalanceParams",
    "Gain",
    "GainParams",
    "HighPass",
    "HighPassParams",
    "Polarity",
    "PolarityParams",
    "apply_balance",
    "apply_gain",
    "apply_highpass",
    "apply_polarity",
]
