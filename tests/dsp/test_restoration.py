"""Restoration against known ground truth: defects made from clean corpus music, repairs measured
against the clean original. The processors' generic invariants run in test_invariants.py."""

from __future__ import annotations

import numpy as np
import pytest

from burnish.dsp.restoration import (
    DeclickParams,
    DeclipParams,
    DehumParams,
    DenoiseParams,
    apply_declick,
    apply_dehum,
    apply_denoise,
    denoise_pair,
)
from burnish.errors import ParameterError
from tests.corpus import excerpt
from tests.dsp.restoration_probes import (
    click_scores,
    declip_gain,
    inject_clicks,
    snr_db,
)

DURATION_S = 6.0




def test_declick_repairs_injected_clicks_and_leaves_music() -> None:
    x, sr = excerpt("ref01_orchestral_wesnoth_breaking_the_chains.flac")
    d, pos = inject_clicks(x, count=24)
    y = apply_declick(d, DeclickParams(), sample_rate=sr)
    repaired, improvement = click_scores(x, d, y, pos)
    assert repaired >= 0.95, f"only {repaired:.0%} of clicks repaired (need >= 95 %)"
    assert improvement >= 20.0, f"SNR around clicks improved {improvement:.1f} dB (need >= 20)"
    clean = apply_declick(x, DeclickParams(), sample_rate=sr)
    change_db = 10 * np.log10(np.sum((clean - x) ** 2) / np.sum(x**2) + 1e-300)
    assert change_db < -60.0, f"clean music changed by {change_db:.1f} dB (need < -60)"


@pytest.mark.parametrize("name", ["ref01_orchestral_wesnoth_breaking_the_chains.flac",
                                  "album_03_loud_wesnoth_vengeful.flac",
                                  "mix03_orchestral_folk_linns_basket.flac",
                                  "ref02_electronic_singularity_through_space_48k.flac"])
def test_declip_beyond_clip_level_without_flat_runs(name: str) -> None:
    """Music peak-normalised, raised 6 dB and clipped at +-1 (2-4 % of samples clipped).
    Measured: ref01 +7.97, album_03 +8.06, mix03 +10.98, ref02 +8.52 dB (joint stereo support)."""
    x, sr = excerpt(name)
    improvement, _ = declip_gain(x / np.max(np.abs(x)) * 2.0, sr)  # +6 dB over the peak
    assert improvement >= 6.0, f"declipping improved SNR by {improvement:.2f} dB (need >= 6)"


def test_declip_streaming_equals_offline_on_clipped_music() -> None:
    from burnish.dsp.restoration import Declipper

    x, sr = excerpt("ref01_orchestral_wesnoth_breaking_the_chains.flac")
    clipped = np.clip(x[:, : 3 * sr] * 2.0, -1.0, 1.0)
    proc = Declipper(DeclipParams(), sample_rate=sr, num_channels=2)
    whole = proc.process(clipped)
    assert proc.frames_repaired > 0
    for block in (777, 8192):
        proc.reset()
        parts = [proc.process(clipped[:, i : i + block]) for i in range(0, clipped.shape[1], block)]
        assert np.array_equal(np.concatenate(parts, axis=1), whole), f"block {block} differs"


#: SNR gain measured on the 6 s excerpts (24 / 30 dB in); asserted 0.1 dB below. Before the
#: share rule (denoise.DENOISE_KEEP_SHARE): mix01 1.14 / 1.03, ref01 0.93 / 0.84, album_01
#: 1.10 / 0.90, album_02 0.93 / 0.86, dull01 0.48 / 0.36.
DENOISE_MEASURED_DB = {
    "mix01_blues_city_blues.flac": (1.56, 1.43),
    "ref01_orchestral_wesnoth_breaking_the_chains.flac": (1.43, 1.91),
    "album_01_quiet_wesnoth_underground.flac": (1.45, 1.65),
    "album_02_medium_wesnoth_main_menu.flac": (1.54, 1.64),
    "dull01_metal_muldjord_chaos_god.flac": (1.01, 0.63),
}


@pytest.mark.parametrize("name", sorted(DENOISE_MEASURED_DB))
@pytest.mark.parametrize("snr_in_db", [24.0, 30.0])
def test_denoise_hiss(name: str, snr_in_db: float) -> None:
    x, sr = excerpt(name)
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(x.shape)
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2)) * 10 ** (-snr_in_db / 20)
    y, music = denoise_pair(x + noise, x, DenoiseParams(), sample_rate=sr)
    if name.startswith("mix01"):
        assert np.allclose(y, apply_denoise(x + noise, DenoiseParams(), sample_rate=sr), atol=1e-12)
    snr_gain = snr_db(x, y) - snr_in_db
    spec_x = np.fft.rfft(x)
    spec_m = np.fft.rfft(music)
    hf = np.fft.rfftfreq(x.shape[1], 1 / sr) > 8000
    hf_db = 10 * np.log10(np.sum(np.abs(spec_m[:, hf]) ** 2) / np.sum(np.abs(spec_x[:, hf]) ** 2))
    # Do no harm: the music above 8 kHz (the clean signal through the same gains) within 1 dB
    # on every corpus music file (worst measured: album_02 -0.59 / -0.54 and album_01 -0.55 /
    # -0.53 on these excerpts; before the share rule album_01 -0.85 / -0.77).
    assert hf_db > -1.0, f"music above 8 kHz lost {-hf_db:.2f} dB (need <= 1)"
    # Target: SNR +8 dB. Not met, and not reachable by any per-bin gain on this music: the oracle
    # gains (true clean and noise STFTs, frames 1024-16384) give at most +6.0 / +4.7 dB on mix01,
    # +4.7 / +3.4 dB with the music above 8 kHz kept within 1 dB (test_denoise_oracle_bound).
    # Keeping the treble costs SNR: white hiss has 64 % of its power above 8 kHz.
    need = DENOISE_MEASURED_DB[name][0 if snr_in_db == 24.0 else 1] - 0.1
    assert snr_gain >= need, f"SNR improved by {snr_gain:.2f} dB (need >= {need:.2f})"


def test_denoise_noise_estimate_is_unbiased_on_white_noise() -> None:
    from burnish.dsp import restoration

    sr = 44100
    noise = np.random.default_rng(5).standard_normal((1, 6 * sr)) * 0.01
    seen: list[np.ndarray] = []
    core_update = restoration._DenoiseCore._update_auto_noise

    def spy(self: restoration._DenoiseCore, powers: np.ndarray) -> None:
        core_update(self, powers)
        seen.append(self.noise.copy())

    restoration._DenoiseCore._update_auto_noise = spy  # type: ignore[method-assign]
    try:
        apply_denoise(noise, DenoiseParams(), sample_rate=sr)
    finally:
        restoration._DenoiseCore._update_auto_noise = core_update  # type: ignore[method-assign]
    true_power = 1e-4 * 2048 / 2  # sigma^2 * sum(sqrt-Hann^2)
    ratio = seen[len(seen) // 2] / true_power
    # the exact quantile correction alone is unbiased (median 0.97); the cap (1.25x the lowest
    # estimate above each bin) keeps it: measured median 0.97x, lowest bin 0.78x (0.81x median
    # with a cap of 1x; 0.27-0.49x before the correction and the edge fix)
    assert 0.7 < float(np.median(ratio)) < 1.15, f"noise estimate {np.median(ratio):.2f}x the truth"
    assert float(np.min(ratio)) > 0.6, f"noise estimate down to {np.min(ratio):.2f}x at some bin"


@pytest.mark.parametrize("snr_in_db", [24.0, 30.0])
def test_denoise_oracle_bound(snr_in_db: float) -> None:
    """Why the +8 dB target is out of reach on full-band music with white hiss at 24/30 dB:
    gains computed from the *true* clean and noise STFTs stay below it at every frame size.

    Three oracles per size (Hann, 75 % overlap, 1024-16384): the ideal ratio mask S/(S+N), the
    ideal binary mask, and the phase-sensitive mask Re(S conj Y)/|Y|^2 (the best real gain a
    bin can have: it minimises the bin's error knowing the clean signal). Measured on mix01:
    ratio +4.4..+4.9 / +2.9..+3.4, binary +4.0..+4.5 / +2.4..+3.0, phase-sensitive
    +5.4..+6.0 / +4.0..+4.7 dB. With the music above 8 kHz kept within 1 dB (the ratio mask
    with the clean power scaled up above 8 kHz until the loss is 1 dB) +4.7 / +3.4."""
    from scipy import signal

    x, sr = excerpt("mix01_blues_city_blues.flac")
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(x.shape)
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2)) * 10 ** (-snr_in_db / 20)
    best = -np.inf
    for size in (1024, 4096, 16384):
        kw = {"fs": sr, "window": "hann", "nperseg": size, "noverlap": 3 * size // 4}
        _, _, s = signal.stft(x, **kw)
        _, _, nn = signal.stft(noise, **kw)
        y_spec = s + nn
        masks = {
            "ratio": np.abs(s) ** 2 / (np.abs(s) ** 2 + np.abs(nn) ** 2 + 1e-30),
            "binary": (np.abs(s) > np.abs(nn)).astype(np.float64),
            "phase": np.clip(np.real(s * np.conj(y_spec)) / (np.abs(y_spec) ** 2 + 1e-30), 0, 1),
        }
        for mask in masks.values():
            _, y = signal.istft(mask * y_spec, **kw)
            best = max(best, snr_db(x, y[:, : x.shape[1]]) - snr_in_db)
    assert best < 8.0, f"oracle {best:.1f} dB: the +8 dB target is reachable here"
    # the phase-sensitive oracle (the best of the three) is not far above the ratio mask
    assert best > {24.0: 5.0, 30.0: 3.8}[snr_in_db], f"oracle {best:.1f} dB: measurement changed"


@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_dehum_removes_hum_keeps_bass(mains_hz: float) -> None:
    x, sr = excerpt("mix01_blues_city_blues.flac")
    n = x.shape[1]
    t = np.arange(n) / sr
    hum = sum(np.sin(2 * np.pi * mains_hz * k * t + 0.3 * k) / k for k in range(1, 6))
    hum = hum * 10 ** (-40 / 20) / np.sqrt(np.mean(hum**2))
    params = DehumParams(mains_hz=mains_hz, max_drift_hz=0.0)  # fixed frequency: linear
    y = apply_dehum(x + hum, params, sample_rate=sr)
    # linear in the input, so the hum's residual is dehum(clean + hum) - dehum(clean)
    residual = y - apply_dehum(x, params, sample_rate=sr)
    inner = slice(int(0.5 * sr), n - int(0.5 * sr))
    reduction = 10 * np.log10(np.sum(hum[inner] ** 2) * 2 / np.sum(residual[:, inner] ** 2))
    assert reduction >= 30.0, f"hum reduced by {reduction:.1f} dB (need >= 30)"
    spec_x = np.fft.rfft(x)
    spec_y = np.fft.rfft(y - hum)
    f = np.fft.rfftfreq(n, 1 / sr)
    band = (f > 20) & (f < 200)
    for k in range(1, 6):
        band &= np.abs(f - k * mains_hz) > 3.0
    change = 10 * np.log10(np.sum(np.abs(spec_y[:, band]) ** 2) / np.sum(np.abs(spec_x[:, band]) ** 2))
    assert abs(change) < 0.5, f"music below 200 Hz changed {change:.2f} dB outside the notches"


HUM_FOUND = [
    "mix02_rock_chugga_chugga_cha_ching.flac",
    "mix03_orchestral_folk_linns_basket.flac",
    "mix04_latin_jazz_say_what.flac",
    "album_02_medium_wesnoth_main_menu.flac",
]


def with_hum(x: np.ndarray, sr: int, mains_hz: float) -> np.ndarray:
    t = np.arange(x.shape[1]) / sr
    hum = sum(np.sin(2 * np.pi * mains_hz * k * t + 0.3 * k) / k for k in range(1, 6))
    return x + hum * 10 ** (-40 / 20) / np.sqrt(np.mean(hum**2))


@pytest.mark.parametrize("name", HUM_FOUND)
def test_dehum_detects_mains_under_music(name: str) -> None:
    """Hum at -40 dBFS (5 harmonics, 1/k) under music is found with the right mains frequency.
    Measured on 12 corpus excerpts x 50/60 Hz: 17 of 24 found, none with the wrong frequency;
    missed: mix01 50 Hz, and ref01, ref03, dull01 at both (loud low-frequency music
    buries the weaker harmonics)."""
    from burnish.dsp.restoration import Dehummer

    x, sr = excerpt(name)
    for mains_hz in (50.0, 60.0):
        proc = Dehummer(DehumParams(), sample_rate=sr, num_channels=2)
        proc.process(with_hum(x, sr, mains_hz))
        assert proc.mains_hz_detected == mains_hz, f"{mains_hz} Hz hum: found {proc.hum_lines}"


@pytest.mark.parametrize("name", ["mix01_blues_city_blues.flac",
                                  "ref01_orchestral_wesnoth_breaking_the_chains.flac",
                                  "album_03_loud_wesnoth_vengeful.flac"])
def test_dehum_clean_music_is_no_hum_and_unchanged(name: str) -> None:
    from burnish.dsp.restoration import Dehummer

    x, sr = excerpt(name)
    proc = Dehummer(DehumParams(), sample_rate=sr, num_channels=2)
    y = proc.process(x)
    assert proc.mains_hz_detected == 0.0, f"clean music taken for hum: {proc.hum_lines}"
    lat = proc.latency_samples
    assert np.array_equal(y[:, lat:], x[:, : x.shape[1] - lat]), "no hum, yet the audio changed"


def test_params_validate() -> None:
    with pytest.raises(ParameterError, match="mains_hz"):
        DehumParams(mains_hz=35)
    with pytest.raises(ParameterError, match="profile_start_s"):
        DenoiseParams(noise_profile="range")
    with pytest.raises(ParameterError, match="noise_profile"):
        DenoiseParams(noise_profile="magic")
