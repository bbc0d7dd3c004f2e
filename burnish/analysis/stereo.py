"""Stereo image of a mix: L/R correlation (overall, over time, per band), width, mono fold-down.

Everything streams. The per-band correlation and the mono fold-down loss come from the cross
spectrum that :class:`~burnish.analysis.spectrum.SpectrumAccumulator` already accumulates (the
zero-lag correlation of a band-limited pair equals the band's share of ``Re(L R*)`` over the
geometric mean of the band powers, by Parseval), so no band filters run over the audio. The
correlation over time is computed in the time domain in windows of :data:`WINDOW_S`.

Definitions
-----------
* correlation: ``sum(L R) / sqrt(sum(L^2) sum(R^2))`` (Pearson without removing the mean),
  +1 for mono, 0 for unrelated channels, -1 for one channel polarity-inverted.
* width: side energy over mid energy, ``10 log10(E_side / E_mid)`` in dB, and as a percentage
  ``100 E_side / (E_mid + E_side)`` (0 % mono, 50 % unrelated channels, 100 % out of phase),
  with mid ``(L+R)/2`` and side ``(L-R)/2``.
* mono fold-down loss: how much quieter the fold-down ``(L+R)/2`` played on both speakers is than
  the stereo mix, from K-weighted (BS.1770) long-term energies, ungated:
  ``10 log10(2 E_K(mid) / (E_K(L) + E_K(R)))`` dB; 0 dB for mono, about -3 dB for unrelated
  channels, very negative when the channels cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from burnish.analysis.spectrum import FloatArray, SpectrumAccumulator
from burnish.audio import check_audio, check_sample_rate
from burnish.errors import ParameterError
from burnish.units import SILENCE_DB, power_to_db

#: Window of the correlation-over-time series.
WINDOW_S = 0.5

#: Bands of the per-band correlation: name -> (low Hz, high Hz).
CORRELATION_BANDS_HZ: dict[str, tuple[float, float]] = {
    "low": (20.0, 150.0),
    "low_mid": (150.0, 500.0),
    "mid": (500.0, 4000.0),
    "high": (4000.0, 20000.0),
}

#: Windows quieter than this (mean square of L and R, dBFS) have no correlation (NaN).
QUIET_WINDOW_DB = -70.0


def k_weighting_power_response(freqs_hz: FloatArray, sample_rate: int) -> FloatArray:
    """Power response ``|H(f)|^2`` of the BS.1770 K-weighting at ``freqs_hz``.

    The filter is :func:`burnish.analysis.loudness.design_k_weighting_sos`, the same one the
    loudness meter applies.
    """
    from burnish.analysis.loudness import design_k_weighting_sos

    sos = design_k_weighting_sos(sample_rate=sample_rate)
    z = np.exp(-2j * np.pi * np.asarray(freqs_hz, dtype=np.float64) / sample_rate)  # z^-1
    h = np.ones_like(z)
    for b0, b1, b2, a0, a1, a2 in sos:
        h *= (b0 + b1 * z + b2 * z * z) / (a0 + a1 * z + a2 * z * z)
    return np.asarray(np.abs(h) ** 2, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class StereoResult:
    """Stereo measurements. For a mono file every field but ``num_channels`` is ``None``."""

    num_channels: int
    correlation: float | None
    correlation_by_band: dict[str, float | None] | None
    correlation_series: FloatArray | None  # one value per window, NaN for quiet windows
    window_s: float
    side_to_mid_db: float | None
    width_pct: float | None
    mono_fold_down_loss_db: float | None
    balance_db: float | None  # left minus right level, dB
    min_window_correlation: float | None

    def to_dict(self, *, include_series: bool = True) -> dict[str, Any]:
        """JSON-ready dictionary; NaN windows become ``null``."""

        def r(v: float | None, nd: int = 3) -> float | None:
            return None if v is None or not np.isfinite(v) else round(float(v), nd)

        out: dict[str, Any] = {
            "num_channels": self.num_channels,
            "correlation": r(self.correlation),
            "correlation_by_band": None
            if self.correlation_by_band is None
            else {k: r(v) for k, v in self.correlation_by_band.items()},
            "bands_hz": {k: list(v) for k, v in CORRELATION_BANDS_HZ.items()},
            "side_to_mid_db": r(self.side_to_mid_db, 2),
            "width_pct": r(self.width_pct, 1),
            "mono_fold_down_loss_db": r(self.mono_fold_down_loss_db, 2),
            "balance_db": r(self.balance_db, 2),
            "min_window_correlation": r(self.min_window_correlation),
            "window_s": self.window_s,
        }
        if include_series:
            out["correlation_series"] = (
                None
                if self.correlation_series is None
                else [r(float(v)) for v in self.correlation_series]
            )
        return out


class StereoAccumulator:
    """Streaming stereo measurements.

    ``spectrum``: a :class:`SpectrumAccumulator` over the same audio that the caller updates
    itself; the per-band correlation and fold-down loss are read from it. Without one, the
    stereo accumulator keeps (and updates) its own.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        num_channels: int,
        spectrum: SpectrumAccumulator | None = None,
        window_s: float = WINDOW_S,
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if num_channels not in (1, 2):
            raise ParameterError(f"num_channels={num_channels} must be 1 or 2")
        if not 0.05 <= window_s <= 10.0:
            raise ParameterError(f"window_s={window_s} must be in [0.05, 10] s")
        self.num_channels = num_channels
        self.window_s = float(window_s)
        self._window = max(1, int(round(window_s * self.sample_rate)))
        self._own_spectrum = spectrum is None
        self.spectrum = (
            SpectrumAccumulator(sample_rate=sample_rate, num_channels=num_channels)
            if spectrum is None
            else spectrum
        )
        if self.spectrum.num_channels != num_channels:
            raise ParameterError("spectrum accumulator has a different number of channels")
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far (also the owned spectrum accumulator)."""
        self._sums = np.zeros(3)  # sum L^2, sum R^2, sum L R
        self._series: list[FloatArray] = []  # rows: (sum L^2, sum R^2, sum LR) per window
        self._carry = np.zeros((self.num_channels, 0))
        if self._own_spectrum:
            self.spectrum.reset()

    def update(self, block: npt.ArrayLike) -> None:
        """Add a ``(channels, samples)`` block."""
        x = check_audio(block, num_channels=self.num_channels, name="block")
        if self._own_spectrum:
            self.spectrum.update(x)
        if self.num_channels == 1 or x.shape[1] == 0:
            return
        buf = np.concatenate([self._carry, x], axis=1) if self._carry.shape[1] else x
        w = self._window
        full = (buf.shape[1] // w) * w
        if full:
            left = buf[0, :full].reshape(-1, w)  # contiguous rows: views, no copies
            right = buf[1, :full].reshape(-1, w)
            rows = np.stack(
                [
                    np.einsum("ij,ij->i", left, left),
                    np.einsum("ij,ij->i", right, right),
                    np.einsum("ij,ij->i", left, right),
                ],
                axis=1,
            )
            self._series.append(rows.astype(np.float64))
            self._sums += rows.sum(axis=0)
        tail = buf[:, full:]
        self._carry = np.array(tail, dtype=np.float64, copy=True)

    def result(self) -> StereoResult:
        """The measurements so far (the last partial window counts in the totals)."""
        if self.num_channels == 1:
            return StereoResult(1, None, None, None, self.window_s, None, None, None, None, None)
        sums = self._sums.copy()
        rows = np.concatenate(self._series) if self._series else np.zeros((0, 3))
        if self._carry.shape[1]:
            left, right = self._carry[0], self._carry[1]
            last = np.array([left @ left, right @ right, left @ right])
            sums += last
            rows = np.vstack([rows, last[None, :]])
        ll, rr, lr = sums
        correlation = float(lr / np.sqrt(ll * rr)) if ll > 0 and rr > 0 else None
        mid_e = (ll + rr + 2.0 * lr) / 4.0
        side_e = max(0.0, (ll + rr - 2.0 * lr) / 4.0)
        if mid_e + side_e > 0:
            side_to_mid_db: float | None = power_to_db(side_e) - power_to_db(mid_e)
            width_pct: float | None = 100.0 * side_e / (mid_e + side_e)
            balance_db: float | None = power_to_db(ll) - power_to_db(rr)
        else:
            side_to_mid_db = width_pct = balance_db = None
        series = _window_correlation(rows, self._window)
        finite = series[np.isfinite(series)]
        min_corr = float(finite.min()) if finite.size else None
        by_band, loss_db = self._from_spectrum()
        return StereoResult(
            num_channels=2,
            correlation=correlation,
            correlation_by_band=by_band,
            correlation_series=series,
            window_s=self.window_s,
            side_to_mid_db=side_to_mid_db,
            width_pct=width_pct,
            mono_fold_down_loss_db=loss_db,
            balance_db=balance_db,
            min_window_correlation=min_corr,
        )

    def _from_spectrum(self) -> tuple[dict[str, float | None], float | None]:
        freqs, pll, prr, plr = self.spectrum.power_spectra()
        if prr is None or plr is None:  # mono: nothing to correlate
            return {}, None
        by_band: dict[str, float | None] = {}
        for name, (lo, hi) in CORRELATION_BANDS_HZ.items():
            sel = (freqs >= lo) & (freqs < min(hi, self.sample_rate / 2.0))
            el, er, elr = pll[sel].sum(), prr[sel].sum(), plr[sel].sum()
            floor = 10.0 ** (QUIET_WINDOW_DB / 10.0) * 1e-2
            by_band[name] = float(elr / np.sqrt(el * er)) if el > floor and er > floor else None
        weight = k_weighting_power_response(freqs, self.sample_rate)
        stereo_k = float(np.sum(weight * (pll + prr)))
        mid_k = float(np.sum(weight * (pll + prr + 2.0 * plr) / 4.0))
        if stereo_k <= 0.0:
            return by_band, None
        loss = power_to_db(2.0 * mid_k) - power_to_db(stereo_k)
        return by_band, max(loss, SILENCE_DB)


def _window_correlation(rows: FloatArray, window: int) -> FloatArray:
    if rows.shape[0] == 0:
        return np.zeros(0)
    ll, rr, lr = rows[:, 0], rows[:, 1], rows[:, 2]
    quiet = 10.0 ** (QUIET_WINDOW_DB / 10.0) * window
    ok = (ll > quiet) & (rr > quiet)
    out = np.full(rows.shape[0], np.nan)
    out[ok] = lr[ok] / np.sqrt(ll[ok] * rr[ok])
    return out


def measure_stereo(audio: npt.ArrayLike, *, sample_rate: int) -> StereoResult:
    """Stereo measurements of a whole buffer (wrapper around :class:`StereoAccumulator`)."""
    x = check_audio(audio)
    acc = StereoAccumulator(sample_rate=sample_rate, num_channels=x.shape[0])
    acc.update(x)
    return acc.result()
