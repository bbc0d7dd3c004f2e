"""Denoise: STFT MMSE log-spectral amplitude gain with minimum-statistics noise (docs/restoration.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import fft as sp_fft
from scipy import special as sp_special

from burnish.audio import AudioArray, check_audio
from burnish.audio import check_sample_rate as check_audio_rate
from burnish.dsp.base import check_choice, check_range, register_processor
from burnish.dsp.restoration.common import Array, _HopProcessor, frame_46ms_samples
from burnish.errors import ParameterError
from burnish.units import db_to_gain

# --------------------------------------------------------------------------------------------
# denoise


@dataclass(frozen=True, slots=True)
class DenoiseParams:
    """Broadband (hiss) noise reduction.

    ``reduction_db`` in [0, 40]: the most the gain may attenuate. ``noise_profile``: ``"auto"``
    (a low percentile of each bin's power over the last ``window_s`` seconds, corrected to the
    mean; adapts to slow changes) or ``"range"`` (the mean spectrum between ``profile_start_s``
    and ``profile_end_s``, at most 30 s into the stream; the latency grows to
    ``profile_end_s``).
    """

    reduction_db: float = 12.0
    noise_profile: str = "auto"
    profile_start_s: float = -1.0
    profile_end_s: float = -1.0
    window_s: float = 3.0

    def __post_init__(self) -> None:
        check_range("reduction_db", self.reduction_db, 0.0, 40.0)
        check_choice("noise_profile", self.noise_profile, ("auto", "range"))
        check_range("profile_start_s", self.profile_start_s, -1.0, 30.0)
        check_range("profile_end_s", self.profile_end_s, -1.0, 30.0)
        check_range("window_s", self.window_s, 0.5, 20.0)
        if self.noise_profile == "range" and not 0.0 <= self.profile_start_s < self.profile_end_s:
            raise ParameterError(
                f"profile_start_s={self.profile_start_s}, profile_end_s={self.profile_end_s}:"
                " noise_profile='range' needs 0 <= profile_start_s < profile_end_s <= 30"
            )


#: STFT frames per processing hop (one batched FFT per hop).
DENOISE_FRAMES_PER_HOP = 16
#: The noise percentile, taken over time of the power averaged over ``DENOISE_POOL_BINS``
#: neighbouring bins. On noise, neighbouring bins of a sqrt-Hann STFT are correlated (the
#: window's square is a Hann window, whose transform has taps -1/4, 1/2, -1/4: correlation -1/2
#: between adjacent bins, 0 beyond), so the pooled power is a weighted sum of exponentials
#: whose weights are the eigenvalues of that tridiagonal covariance (an effective 12 degrees
#: of freedom, not 18). The order statistic taken is divided by that distribution's quantile at
#: the order statistic's expected probability ``(k + 1) / (count + 1)``, giving the mean.
DENOISE_QUANTILE = 0.02
DENOISE_POOL_BINS = 9
#: Draws of the seeded Monte Carlo table of the pooled statistic's quantiles (computed once).
DENOISE_QUANTILE_DRAWS = 200_000
#: Every this many frames enter the percentile window (cost; the window stays ``window_s``).
DENOISE_QUANTILE_DECIMATION = 2
#: Fewest frames before the percentile is trusted (earlier: the mean of what is there).
DENOISE_MIN_FRAMES = 8
#: Hiss is broadband with a smooth spectrum that does not fall steeply with frequency, while
#: music (held notes, bass) can fill a low bin for the whole window and pass for noise there:
#: the estimate at a bin is therefore capped by the lowest estimate from that bin up to this
#: ratio of its frequency (two octaves). For noise that falls steeply (rumble) this
#: underestimates the low bins: less reduction there, never more.
DENOISE_UPWARD_RATIO = 4
#: ...and at least this far above it (Hz). Dense music (distorted guitars) can fill every bin
#: up to 4 kHz for the whole window: with 4000 Hz the estimate below 4 kHz was 515x the true
#: noise on dull01 and the denoiser lowered the SNR (-1.9 / -5.8 dB at 24 / 30 dB in).
DENOISE_UPWARD_HZ = 10000.0
#: The cap is this multiple of that lowest estimate: a minimum over many noisy estimates lies
#: below their mean (0.81x on white noise with a factor of 1), and the cap is only meant to stop
#: held notes (which raise a bin's estimate many times over).
DENOISE_UPWARD_TOLERANCE = 1.25
#: Width of the median across frequency applied to the noise estimate (Hz).
DENOISE_MEDIAN_HZ = 500.0
#: The a-posteriori SNR is averaged over this many frames (centred) and bins before the
#: a-priori SNR is taken from it (less variance than a single bin: no musical noise, and unlike
#: the decision-directed estimate no lag at onsets).
DENOISE_SMOOTH_FRAMES = 3
DENOISE_SMOOTH_BINS = 5
#: Lowest a-priori SNR (Cappe 1994: limits musical noise).
DENOISE_XI_MIN = 10.0 ** (-25.0 / 10.0)
#: The a-priori SNR is multiplied by a factor before the gain: 1 (the MMSE estimate) in the low
#: and mid range; in the treble (the "air" band, where music is quiet and hiss reduction dulls
#: it audibly) a larger a-priori SNR keeps bins that hold music while noise-only bins (a-priori
#: SNR near ``DENOISE_XI_MIN``) still reach the floor. The factor rises log-linearly from
#: ``DENOISE_XI_SCALE_LOW`` at ``DENOISE_TREBLE_HZ[0]`` to ``DENOISE_XI_SCALE_HIGH`` at
#: ``DENOISE_TREBLE_HZ[1]``.
DENOISE_XI_SCALE_LOW = 1.5
DENOISE_XI_SCALE_HIGH = 3.0
DENOISE_TREBLE_HZ = (5000.0, 8000.0)
#: Treble protection: from ``DENOISE_PROTECT_HZ`` up, the a-priori SNR is further multiplied by
#: ``clip((DENOISE_PROTECT_RATIO / rho) ** DENOISE_PROTECT_POWER, 1, DENOISE_PROTECT_MAX_SCALE)``,
#: where ``rho`` is the band's music-to-noise power ratio: the mean of ``|Y|^2 - N`` over
#: ``DENOISE_PROTECT_BAND_HZ`` around the bin, smoothed over ``DENOISE_PROTECT_TAU_S``
#: (exponentially, one step per hop), over the noise estimate. Quiet treble music (``rho`` well
#: below 1: album_01 is 8 dB under 24-dB hiss at 8-10 kHz) spreads over bins where it is weaker
#: than the noise, and a per-bin gain removes it (album_01 lost 4.2 dB above 8 kHz); the
#: protection raises the gain of those bins in proportion to how thin the music is. Bands with
#: ``rho`` below ``DENOISE_PROTECT_MIN_RATIO`` hold too little music to matter (and noise-only
#: bands above the music's bandwidth must still be reduced): no protection there. With the
#: share rule below (which takes the noise-only and least useful bands out of protection) the
#: ratio was raised from 2.5 to 5 and the largest factor from 100 to 1000: the bands kept are
#: kept more fully (6 s excerpts, 24 / 30 dB: mean SNR gain +1.59 -> +1.66 dB and worst treble
#: loss -0.83 -> -0.59 dB with the share 0.97 -> 0.9).
DENOISE_PROTECT_HZ = 6000.0
DENOISE_PROTECT_BAND_HZ = 1000.0
DENOISE_PROTECT_TAU_S = 1.0
DENOISE_PROTECT_RATIO = 5.0
DENOISE_PROTECT_POWER = 1.5
DENOISE_PROTECT_MIN_RATIO = 0.02
DENOISE_PROTECT_MAX_SCALE = 1000.0
#: Protection by share (per channel, once per hop): from ``DENOISE_KEEP_HZ`` up, the bins are
#: ranked by ``rho`` (highest first: the music there costs the least noise to keep) and only
#: those holding the first ``DENOISE_KEEP_SHARE`` of the estimated music power ``sum(max(rho,
#: 0) N)`` over that range are protected, fading out over the next ``DENOISE_KEEP_RAMP`` of it.
#: The rest of the range holds at most 10 % of the estimated treble music (0.46 dB if all of it
#: were lost; less in fact, as the estimate of thin bands is inflated, see below) but often most
#: of its noise: bands above the music's bandwidth, and bands whose estimated ``rho`` is mostly
#: the noise estimate's own error (it runs 3-8 % low in the treble, so noise-only bands showed
#: ``rho`` 0.03-0.1 and were protected as thin music: album_01 lost only 2 dB of noise at
#: 17-22 kHz, where its music is 50 dB below the noise). Correcting that bias instead (x1.035)
#: took the protection from album_01's real thin treble too (-1.97 dB above 8 kHz).
DENOISE_KEEP_HZ = 8000.0
DENOISE_KEEP_SHARE = 0.9
DENOISE_KEEP_RAMP = 0.05
#: In the bins left out ("dropped", weighted by how far out they are), the a-posteriori SNR is
#: averaged over this many bins instead of ``DENOISE_SMOOTH_BINS`` and the treble factor
#: ``DENOISE_XI_SCALE_*`` is not applied: there is no music worth keeping, so a steadier and
#: lower a-priori SNR removes more noise and leaves fewer isolated residual peaks.
DENOISE_DROP_SMOOTH_BINS = 31
#: Noise power floor (a tiny absolute level: silence stays silence without dividing by zero).
DENOISE_FLOOR = 1e-20


def denoise_frame_samples(sample_rate: int) -> int:
    """STFT frame: the power of two nearest 46 ms (2048 at 44.1/48 kHz)."""
    return frame_46ms_samples(sample_rate)


_QUANTILE_TABLE: list[Array] = []


def _pooled_noise_quantiles() -> Array:
    """Sorted draws (mean 1) of the ``DENOISE_POOL_BINS``-bin mean power of white noise under
    the sqrt-Hann STFT: sum of ``lambda_i E_i / B`` with ``E_i`` unit exponentials and
    ``lambda_i = 1 - cos(pi i / (B + 1))`` the eigenvalues of the tridiagonal covariance
    (1 on the diagonal, -1/2 beside it). Seeded, computed once per process."""
    if not _QUANTILE_TABLE:
        b = DENOISE_POOL_BINS
        lam = 1.0 - np.cos(np.pi * np.arange(1, b + 1) / (b + 1))
        rng = np.random.default_rng(20250101)
        draws = rng.standard_exponential((DENOISE_QUANTILE_DRAWS, b)) @ lam / b
        _QUANTILE_TABLE.append(np.sort(draws))
    return _QUANTILE_TABLE[0]


def _median_across(x: Array, width: int) -> Array:
    from scipy.ndimage import median_filter

    return np.asarray(median_filter(x, size=(1, width), mode="nearest"), dtype=np.float64)


class _DenoiseCore:
    """Noise tracking and MMSE-LSA gains for batches of STFT frames (processor and pair API).

    :meth:`gains` takes the power spectra of ``F + 1`` consecutive frames (the last one is
    look-ahead for the time smoothing, and is passed again as the first of the next batch) and
    returns the gains of the first ``F``.
    """

    def __init__(self, params: DenoiseParams, sample_rate: int, num_channels: int) -> None:
        self.params = params
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self.frame = denoise_frame_samples(sample_rate)
        self.hop = self.frame // 4
        self.bins = self.frame // 2 + 1
        self.win = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.frame) / self.frame))
        frames_per_s = sample_rate / self.hop
        self.window_frames = max(
            DENOISE_MIN_FRAMES,
            int(round(params.window_s * frames_per_s / DENOISE_QUANTILE_DECIMATION)),
        )
        self.quantile_table = _pooled_noise_quantiles()
        # the first frames reach into the silence before the stream: kept out of the window
        self.first_full_frame = (self.frame - self.hop) // self.hop
        self.upward_bins = int(round(DENOISE_UPWARD_HZ * self.frame / sample_rate))
        self.median_bins = max(3, int(round(DENOISE_MEDIAN_HZ * self.frame / sample_rate)) | 1)
        self.floor_gain = db_to_gain(-params.reduction_db)
        freqs = np.arange(self.bins) * sample_rate / self.frame
        lo_hz, hi_hz = DENOISE_TREBLE_HZ
        pos = np.clip((freqs - lo_hz) / (hi_hz - lo_hz), 0.0, 1.0)
        self.xi_scale = DENOISE_XI_SCALE_LOW * (DENOISE_XI_SCALE_HIGH / DENOISE_XI_SCALE_LOW) ** pos
        self.protect = freqs >= DENOISE_PROTECT_HZ
        self.keep_range = freqs >= DENOISE_KEEP_HZ
        self.protect_bins = max(3, int(round(DENOISE_PROTECT_BAND_HZ * self.frame / sample_rate)) | 1)
        self.protect_decay = math.exp(
            -DENOISE_FRAMES_PER_HOP * self.hop / (DENOISE_PROTECT_TAU_S * sample_rate)
        )
        if params.noise_profile == "range":
            self.profile_frames = (
                int(math.floor(params.profile_start_s * sample_rate / self.hop)),
                int(math.ceil(params.profile_end_s * sample_rate / self.hop)),
            )
        else:
            self.profile_frames = (0, 0)
        self.reset()

    def reset(self) -> None:
        c, b = self.num_channels, self.bins
        self.frame_index = 0
        self.ring = np.zeros((c, b, self.window_frames))
        self.ring_count = 0
        self.noise = np.full((c, b), DENOISE_FLOOR)
        self.prev_power: Array | None = None
        self.music_power = np.zeros((self.num_channels, self.bins))

    def _update_auto_noise(self, powers: Array) -> None:
        """Push every ``DENOISE_QUANTILE_DECIMATION``-th frame of ``powers`` (c, F, bins) into
        the window and re-estimate: the ``DENOISE_QUANTILE`` of each bin / -ln(1 - q)."""
        f_n = powers.shape[1]
        first = (-self.frame_index) % DENOISE_QUANTILE_DECIMATION
        # DC and Nyquist are real (chi-square with 1 degree of freedom, not 2): use neighbours
        edges = powers.copy()
        edges[..., 0], edges[..., -1] = edges[..., 1], edges[..., -2]
        pooled = _mean_across(edges, DENOISE_POOL_BINS)
        for j in range(first, f_n, DENOISE_QUANTILE_DECIMATION):
            if self.frame_index + j < self.first_full_frame:
                continue
            self.ring[:, :, self.ring_count % self.window_frames] = pooled[:, j]
            self.ring_count += 1
        count = min(self.ring_count, self.window_frames)
        if count == 0:
            return
        data = self.ring[:, :, :count]
        if count < DENOISE_MIN_FRAMES:
            est = np.mean(data, axis=2)
        else:
            kth = int(DENOISE_QUANTILE * (count - 1))
            p = (kth + 1) / (count + 1)
            factor = float(np.quantile(self.quantile_table, p))
            est = np.partition(data, kth, axis=2)[:, :, kth] / factor
        # the pooled mean near DC and Nyquist repeats edge bins (more variance, a lower
        # quantile: 0.3x the noise at the last bin): take the nearest full pool's estimate
        half = DENOISE_POOL_BINS // 2
        est[..., :half] = est[..., half : half + 1]
        est[..., -half:] = est[..., -half - 1 : -half]
        est = _median_across(est, self.median_bins)
        cap = _min_upwards(est, DENOISE_UPWARD_RATIO, self.upward_bins) * DENOISE_UPWARD_TOLERANCE
        est = np.minimum(est, cap)
        self.noise = np.maximum(est, DENOISE_FLOOR)

    def set_range_profile(self, power_frames: list[Array]) -> None:
        """Noise spectrum = mean power of the frames of the profile range."""
        if power_frames:
            mean = np.mean(np.stack(power_frames), axis=0)
            self.noise = np.maximum(_median_across(mean, self.median_bins), DENOISE_FLOOR)

    def gains(self, powers: Array) -> Array:
        """MMSE log-spectral amplitude gains (Ephraim & Malah 1985) for ``powers`` (c, F+1, bins)
        -> (c, F, bins); the a-priori SNR from the locally averaged a-posteriori SNR."""
        f_n = powers.shape[1] - 1
        if self.params.noise_profile == "auto":
            self._update_auto_noise(powers[:, :f_n])
        prev = powers[:, :1] if self.prev_power is None else self.prev_power[:, np.newaxis]
        self.prev_power = powers[:, f_n - 1].copy()
        padded = np.concatenate([prev, powers], axis=1)
        gamma_all = padded / self.noise[:, np.newaxis, :]
        # centred mean over 3 frames and 5 bins (edges: nearest)
        t = (gamma_all[:, :-2] + gamma_all[:, 1:-1] + gamma_all[:, 2:]) / DENOISE_SMOOTH_FRAMES
        smooth = _mean_across(t, DENOISE_SMOOTH_BINS)
        gamma = gamma_all[:, 1:-1]
        scale, drop = self._protection(powers[:, :f_n])
        if np.any(drop > 0.0):
            # dropped bins: wider smoothing, no treble factor (see DENOISE_DROP_SMOOTH_BINS)
            wide = _mean_across(t, DENOISE_DROP_SMOOTH_BINS)
            smooth += drop[:, np.newaxis, :] * (wide - smooth)
            xi_scale = self.xi_scale + drop * (1.0 - self.xi_scale)
        else:
            xi_scale = np.broadcast_to(self.xi_scale, drop.shape)
        xi = np.maximum(smooth - 1.0, DENOISE_XI_MIN) * (xi_scale * scale)[:, np.newaxis, :]
        ratio = xi / (1.0 + xi)
        v = np.maximum(ratio * gamma, 1e-10)
        g = ratio * np.exp(0.5 * sp_special.exp1(v))
        self.frame_index += f_n
        return np.asarray(np.clip(g, self.floor_gain, 1.0), dtype=np.float64)

    def _protection(self, powers: Array) -> tuple[Array, Array]:
        """Treble a-priori SNR factor (c, bins) from the band's smoothed music-to-noise ratio
        (see ``DENOISE_PROTECT_HZ``), limited to the bins holding the first
        ``DENOISE_KEEP_SHARE`` of the treble music (see ``DENOISE_KEEP_HZ``), and the weight
        (c, bins) of the bins left out; updated once per hop, the hop's own frames included."""
        excess = np.mean(powers, axis=1) - self.noise
        a = self.protect_decay
        self.music_power = a * self.music_power + (1.0 - a) * _mean_across(excess, self.protect_bins)
        rho = self.music_power / self.noise
        scale = (DENOISE_PROTECT_RATIO / np.maximum(rho, DENOISE_PROTECT_MIN_RATIO)) ** DENOISE_PROTECT_POWER
        scale = np.clip(scale, 1.0, DENOISE_PROTECT_MAX_SCALE)
        present = rho >= DENOISE_PROTECT_MIN_RATIO
        scale = np.where(self.protect & present, scale, 1.0)
        # rank the share range's bins by rho; the cumulative music power before each bin, as a
        # fraction of the range's total, decides whether it is kept (stable sort: deterministic)
        music = np.where(self.keep_range & present, np.maximum(self.music_power, 0.0), 0.0)
        order = np.argsort(np.where(music > 0.0, -rho, np.inf), axis=1, kind="stable")
        ranked = np.take_along_axis(music, order, axis=1)
        total = np.maximum(np.sum(ranked, axis=1, keepdims=True), DENOISE_FLOOR)
        before = (np.cumsum(ranked, axis=1) - ranked) / total
        kept_ranked = np.clip((DENOISE_KEEP_SHARE - before) / DENOISE_KEEP_RAMP, 0.0, 1.0)
        kept = np.empty_like(kept_ranked)
        np.put_along_axis(kept, order, kept_ranked, axis=1)
        # bins without music are left out even when the whole range has none (total 0)
        kept = np.where(self.keep_range, np.where(music > 0.0, kept, 0.0), 1.0)
        return scale**kept, 1.0 - kept


def _min_upwards(x: Array, ratio: int, reach: int) -> Array:
    """``out[..., b] = min(x[..., b : max(ratio * b, b + reach) + 1])`` (sparse-table minima)."""
    b_n = x.shape[-1]
    tables = [x]
    while (1 << len(tables)) <= b_n:
        prev, w = tables[-1], 1 << (len(tables) - 1)
        nxt = prev.copy()
        nxt[..., : b_n - w] = np.minimum(prev[..., : b_n - w], prev[..., w:])
        tables.append(nxt)
    lo = np.arange(b_n)
    hi = np.minimum(np.maximum(lo * ratio, lo + reach), b_n - 1)
    level = np.floor(np.log2(hi - lo + 1)).astype(np.int64)
    stack = np.stack(tables)  # (levels, ..., bins)
    out = np.empty_like(x)
    for k in np.unique(level):
        sel = level == k
        w = 1 << int(k)
        first = stack[k][..., lo[sel]]
        second = stack[k][..., hi[sel] - w + 1]
        out[..., sel] = np.minimum(first, second)
    return out


def _mean_across(x: Array, width: int) -> Array:
    """Centred moving mean over the last axis (odd ``width``; edges repeat the end values)."""
    half = width // 2
    xp = np.concatenate([np.repeat(x[..., :1], half, axis=-1), x,
                         np.repeat(x[..., -1:], half, axis=-1)], axis=-1)
    cs = np.cumsum(xp, axis=-1)
    cs = np.concatenate([np.zeros_like(cs[..., :1]), cs], axis=-1)
    return np.asarray((cs[..., width:] - cs[..., :-width]) / width, dtype=np.float64)


def _frame_matrix(x: Array, start: int, count: int, frame: int, hop: int) -> Array:
    """``count`` frames of ``x`` (c, n) starting at ``start + j * hop``: (c, count, frame)."""
    idx = start + np.arange(count)[:, np.newaxis] * hop + np.arange(frame)
    return x[:, idx]


@register_processor
class Denoiser(_HopProcessor):
    """STFT noise reduction with the MMSE-LSA gain (see :class:`DenoiseParams`).

    Frames are processed 16 at a time (one batched FFT). Latency: 16 STFT hops + one hop of
    look-ahead + 3/4 frame (10240 samples at 44.1/48 kHz); with ``noise_profile="range"`` the
    look-ahead also covers the profile range, so the profile is known before the first frame.
    """

    kind: ClassVar[str] = "denoise"
    params_type: ClassVar[type] = DenoiseParams
    params: DenoiseParams

    def __init__(self, params: DenoiseParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self._core = _DenoiseCore(params, self.sample_rate, self.num_channels)
        frame, hop = self._core.frame, self._core.hop
        lookahead = hop
        if params.noise_profile == "range":
            lookahead = max(lookahead, int(math.ceil(params.profile_end_s * self.sample_rate)) + frame)
        # the frames of a hop end inside it (history: frame - hop before it); the overlap-add
        # completes the samples one frame minus one hop earlier, hence the output delay
        self._setup_framing(
            history=frame - hop, hop=DENOISE_FRAMES_PER_HOP * hop, lookahead=lookahead,
            output_delay=frame - hop,
        )

    def _reset_state(self) -> None:
        core = getattr(self, "_core", None)
        if core is None:
            return
        core.reset()
        self._acc = np.zeros((self.num_channels, core.frame - core.hop))

    def _process_hop(self, x_in: Array, x_out: Array) -> Array:
        core = self._core
        frame, hop = core.frame, core.hop
        if self._hop_index == 0 and self.params.noise_profile == "range":
            core.set_range_profile(_range_powers(core, x_in, offset=frame - hop))
        f_n = DENOISE_FRAMES_PER_HOP
        spec = sp_fft.rfft(_frame_matrix(x_in, 0, f_n + 1, frame, hop) * core.win, axis=2)
        g = core.gains(spec.real**2 + spec.imag**2)
        frames = sp_fft.irfft(spec[:, :f_n] * g, n=frame, axis=2) * (core.win * 0.5)
        return self._overlap_add(frames)

    def _overlap_add(self, frames: Array) -> Array:
        frame, hop = self._core.frame, self._core.hop
        f_n = frames.shape[1]
        span = (f_n - 1) * hop + frame
        acc = np.zeros((self.num_channels, span))
        acc[:, : frame - hop] = self._acc
        for j in range(f_n):
            acc[:, j * hop : j * hop + frame] += frames[:, j]
        self._acc = acc[:, f_n * hop :].copy()
        return acc[:, : f_n * hop]


def _range_powers(core: _DenoiseCore, x: Array, *, offset: int) -> list[Array]:
    """Power spectra of the frames of the profile range; stream sample 0 is ``x[:, offset]``."""
    f0, f1 = core.profile_frames
    powers = []
    for k in range(f0, f1):
        seg = x[:, offset + k * core.hop : offset + k * core.hop + core.frame]
        if seg.shape[1] == core.frame:
            powers.append(np.abs(sp_fft.rfft(seg * core.win, axis=1)) ** 2)
    return powers


def denoise_pair(
    audio: AudioArray, other: AudioArray, params: DenoiseParams, *, sample_rate: int
) -> tuple[Array, Array]:
    """Denoise ``audio`` offline and apply the *same* time-frequency gains to ``other``.

    For measurement: with ``audio`` = music + noise and ``other`` = the clean music, the second
    result shows exactly what the gains did to the music (no residual noise mixed in). The first
    result equals :func:`apply_denoise` (latency removed).
    """
    x = check_audio(audio).astype(np.float64)
    o = check_audio(other, num_channels=x.shape[0], name="other").astype(np.float64)
    if o.shape != x.shape:
        raise ParameterError(f"other has shape {o.shape}; audio has {x.shape}")
    rate = check_audio_rate(sample_rate)
    c = x.shape[0]
    procs = [Denoiser(params, sample_rate=rate, num_channels=c) for _ in range(2)]
    main, twin = procs
    latency = main.latency_samples
    n = x.shape[1]
    outs: list[list[AudioArray]] = [[], []]
    gains: list[Array] = []

    def capture(powers: Array, core: _DenoiseCore = main._core) -> Array:
        g = _DenoiseCore.gains(core, powers)
        gains.append(g)
        return g

    main._core.gains = capture  # type: ignore[method-assign]
    twin._core.gains = lambda powers: gains.pop(0)  # type: ignore[method-assign]
    xp = np.concatenate([x, np.zeros((c, latency))], axis=1)
    op = np.concatenate([o, np.zeros((c, latency))], axis=1)
    block = 1 << 16
    for i in range(0, xp.shape[1], block):
        outs[0].append(main.process(xp[:, i : i + block]))
        outs[1].append(twin.process(op[:, i : i + block]))
    y = np.concatenate(outs[0], axis=1)[:, latency : latency + n]
    m = np.concatenate(outs[1], axis=1)[:, latency : latency + n]
    return np.asarray(y, dtype=np.float64), np.asarray(m, dtype=np.float64)
