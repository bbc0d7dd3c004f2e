"""Denoise beyond tests/dsp/test_restoration.py: the other corpus files, noise above the music's
bandwidth, residual-noise steadiness (no musical noise), and streaming on noisy music.

Hiss as in test_restoration.py: white Gaussian noise per channel (seed 3) at exactly the stated
SNR relative to the excerpt's mean power; 6 s excerpts from 5 s; ``denoise_pair`` applies the
same gains to the clean music, so the music's loss above 8 kHz is measured without the noise.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, signal

from burnish.dsp.restoration import DenoiseParams, Denoiser, denoise_pair
from tests.corpus import excerpt
from tests.dsp.restoration_probes import snr_db


def _hiss(x: np.ndarray, snr_in_db: float) -> np.ndarray:
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(x.shape)
    return noise * np.sqrt(np.mean(x**2) / np.mean(noise**2)) * 10 ** (-snr_in_db / 20)


def _band_change_db(ref: np.ndarray, out: np.ndarray, sample_rate: int, low_hz: float) -> float:
    """Energy change of ``out`` against ``ref`` above ``low_hz`` (whole-signal spectrum)."""
    sel = np.fft.rfftfreq(ref.shape[1], 1 / sample_rate) > low_hz
    e_ref = np.sum(np.abs(np.fft.rfft(ref)[:, sel]) ** 2)
    e_out = np.sum(np.abs(np.fft.rfft(out)[:, sel]) ** 2)
    return float(10 * np.log10(e_out / e_ref))


#: SNR gain measured on the 6 s excerpts (24 / 30 dB in), asserted 0.1 dB below; before the
#: share rule (DENOISE_KEEP_SHARE): mix02 +1.12 / +0.76, mix03 +1.68 / +1.43, mix04 +1.17 /
#: +0.97, ref02 +1.51 / +1.46, ref03 +1.28 / +0.95, album_03 +0.80 / +0.67.
OTHER_FILES_MEASURED_DB = {
    "mix02_rock_chugga_chugga_cha_ching.flac": (1.66, 1.19),
    "mix03_orchestral_folk_linns_basket.flac": (2.65, 2.41),
    "mix04_latin_jazz_say_what.flac": (1.43, 1.27),
    "ref02_electronic_singularity_through_space_48k.flac": (2.63, 2.61),
    "ref03_world_hyperrogue_desert.flac": (2.22, 1.61),
    "album_03_loud_wesnoth_vengeful.flac": (1.41, 1.27),
}


@pytest.mark.parametrize("name", sorted(OTHER_FILES_MEASURED_DB))
@pytest.mark.parametrize("snr_in_db", [24.0, 30.0])
def test_denoise_hiss_other_corpus_files(name: str, snr_in_db: float) -> None:
    """The six music files test_restoration.py leaves out: treble kept, SNR not regressed
    (worst treble measured here: album_03 -0.57 dB at 24 dB)."""
    x, sr = excerpt(name)
    y, music = denoise_pair(x + _hiss(x, snr_in_db), x, DenoiseParams(), sample_rate=sr)
    hf_db = _band_change_db(x, music, sr, 8000.0)
    assert hf_db > -1.0, f"music above 8 kHz lost {-hf_db:.2f} dB (need <= 1)"
    need = OTHER_FILES_MEASURED_DB[name][0 if snr_in_db == 24.0 else 1] - 0.1
    gain = snr_db(x, y) - snr_in_db
    assert gain >= need, f"SNR improved by {gain:.2f} dB (need >= {need:.2f})"


@pytest.mark.parametrize(
    ("name", "need_db"),
    [("mix01_blues_city_blues.flac", 6.0), ("album_02_medium_wesnoth_main_menu.flac", 3.0)],
)
def test_denoise_removes_noise_above_the_music_bandwidth(name: str, need_db: float) -> None:
    """Music low-passed at 11 kHz plus 24-dB hiss: the bands above hold noise only and must be
    reduced, while the music above 8 kHz stays within 1 dB. Measured: noise above 14 kHz
    -8.5 dB (mix01) / -4.0 dB (album_02), music above 8 kHz -0.37 / -0.31 dB. Before the
    share rule the estimate's error looked like thin music there and was protected: -1.5 dB."""
    x, sr = excerpt(name)
    x = signal.sosfiltfilt(signal.butter(8, 11000.0, fs=sr, output="sos"), x, axis=1)
    noise = _hiss(x, 24.0)
    y, music = denoise_pair(x + noise, x, DenoiseParams(), sample_rate=sr)
    noise_db = _band_change_db(noise, y - music, sr, 14000.0)
    assert noise_db < -need_db, f"noise above 14 kHz reduced by {-noise_db:.2f} dB only"
    hf_db = _band_change_db(x, music, sr, 8000.0)
    assert hf_db > -1.0, f"music above 8 kHz lost {-hf_db:.2f} dB (need <= 1)"


def _local_variability(residual: np.ndarray, sample_rate: int) -> float:
    """Mean square of each STFT power over its 9 x 9 (frames x bins) neighbourhood mean, above
    200 Hz: isolated residual peaks (musical noise) raise it; slow level changes do not."""
    _, _, s = signal.stft(residual, fs=sample_rate, nperseg=2048, noverlap=1536)
    f = np.fft.rfftfreq(2048, 1 / sample_rate)
    p = np.abs(s[:, f > 200, 4:-4]) ** 2
    local = ndimage.uniform_filter(p, size=(1, 9, 9), mode="nearest")
    return float(np.mean((p / np.maximum(local, 1e-300)) ** 2))


@pytest.mark.parametrize("name", ["mix01_blues_city_blues.flac", "ref02_electronic_singularity_through_space_48k.flac"])
def test_denoise_residual_noise_has_no_more_isolated_peaks(name: str) -> None:
    """The residual noise (the noise through the gains) against the input noise: measured
    1.035 / 1.042 (mix01 / ref02) at 24 dB; before the share rule and the wider smoothing of
    the bins left out 1.086 / 1.126, so the residual is steadier than it was."""
    x, sr = excerpt(name)
    noise = _hiss(x, 24.0)
    y, music = denoise_pair(x + noise, x, DenoiseParams(), sample_rate=sr)
    ratio = _local_variability(y - music, sr) / _local_variability(noise, sr)
    assert ratio < 1.08, f"residual noise local variability {ratio:.3f}x the input noise's"


def test_denoise_streaming_equals_offline_on_noisy_music() -> None:
    """The share ranking and the dropped-bin smoothing depend on the state only: any block size
    gives the same output, bit for bit, and reset() reruns identically."""
    x, sr = excerpt("album_01_quiet_wesnoth_underground.flac", duration_s=4.0)
    noisy = x + _hiss(x, 24.0)
    proc = Denoiser(DenoiseParams(), sample_rate=sr, num_channels=2)
    whole = proc.process(noisy)
    for block in (777, 8192, 65536):
        proc.reset()
        parts = [proc.process(noisy[:, i : i + block]) for i in range(0, noisy.shape[1], block)]
        assert np.array_equal(np.concatenate(parts, axis=1), whole), f"block {block} differs"
    proc.reset()
    assert np.array_equal(proc.process(noisy), whole), "reset() did not give an identical rerun"
