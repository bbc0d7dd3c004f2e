"""Shared measurements for the restoration tests: SNR, injected clicks and how well they are
repaired, and dehum probes that record or fix the tracker's frequency track."""

from __future__ import annotations

import numpy as np

from burnish.dsp.restoration import DeclipParams, Dehummer, apply_declip
from burnish.dsp.restoration.dehum import _demod_channels


def snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum((ref - est) ** 2), 1e-300)))


def declip_gain(up: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """Clip ``up`` at +-1 and declip it: (SNR improvement in dB against ``up``, share of samples
    clipped). Asserts no flat pair left at the clip level and every restored sample beyond it."""
    clipped = np.clip(up, -1.0, 1.0)
    params = DeclipParams()
    y = apply_declip(clipped, params, sample_rate=sample_rate) / 10 ** (-params.headroom_db / 20)
    flat = (np.abs(y[:, 1:]) >= 0.999) & (y[:, 1:] == y[:, :-1])
    assert not flat.any(), f"{int(flat.sum())} flat pairs at the clip level remain"
    mask = np.abs(clipped) >= 1.0
    assert np.all(np.abs(y[mask]) >= 1.0), "a restored sample lies inside the clip level"
    return snr_db(up, y) - snr_db(up, clipped), float(mask.mean())


def inject_clicks(
    x: np.ndarray, *, seed: int = 1, count: int = 24, spacing: int = 97
) -> tuple[np.ndarray, np.ndarray]:
    """Clicks as the tests inject them: 1-3 samples ``[a, -a, a/2]``, ``|a|`` in 0.1-0.5, on
    every channel, at ``count`` positions on a grid of ``spacing`` samples (3000 from the ends)."""
    rng = np.random.default_rng(seed)
    pos = np.sort(rng.choice(np.arange(3000, x.shape[1] - 3000, spacing), count, replace=False))
    d = x.copy()
    for p in pos:
        width = int(rng.integers(1, 4))
        a = rng.uniform(0.1, 0.5) * rng.choice([-1.0, 1.0])
        d[:, p : p + width] += np.array([a, -a, a / 2])[:width]
    return d, pos


def click_scores(
    x: np.ndarray, d: np.ndarray, y: np.ndarray, pos: np.ndarray
) -> tuple[float, float]:
    """(share of clicks whose region gained > 6 dB, SNR gain over all click regions in dB):
    ``x`` clean, ``d`` damaged, ``y`` repaired; a region is the click and 5 samples each side."""
    regions = [np.arange(p - 5, p + 3 + 5) for p in pos]
    gains = [snr_db(x[:, r], y[:, r]) - snr_db(x[:, r], d[:, r]) for r in regions]
    idx = np.concatenate(regions)
    return (float(np.mean(np.array(gains) > 6.0)),
            snr_db(x[:, idx], y[:, idx]) - snr_db(x[:, idx], d[:, idx]))


class TrackRecorder(Dehummer):
    """Records the fundamental the tracker chose at each window."""

    def _reset_state(self) -> None:
        super()._reset_state()
        self.track: list[float] = []

    def _estimate(self, x: np.ndarray, centre: int, valid: np.ndarray) -> tuple[np.ndarray, float]:
        c, f = super()._estimate(x, centre, valid)
        self.track.append(f)
        return c, f


class FrozenTrack(Dehummer):
    """The same estimator along a given frequency track (set ``track``): linear in its input."""

    track: list[float]

    def _reset_state(self) -> None:
        super()._reset_state()
        self._i = 0

    def _estimate(self, x: np.ndarray, centre: int, valid: np.ndarray) -> tuple[np.ndarray, float]:
        f = self.track[self._i]
        self._i += 1
        c = _demod_channels(np.ascontiguousarray(x), centre, self._win, self._back,
                            np.array([f]) / self.sample_rate, self.params.harmonics, valid)[0]
        return c, f
