"""Reference matching's limits, on synthetic band spectra (analytic: gains are differences)."""

from __future__ import annotations

import numpy as np

from burnish.assistant.decide import SIDE_UNDER_MID_ANY_DB, SIDE_UNDER_MID_DB, reference_correction
from burnish.assistant.profile import MixProfile

CENTERS = 1000.0 * 2.0 ** (np.arange(-16, 14) / 3.0)  # 1/3-octave centres, 25 Hz - 20 kHz


def profile(mid_db: np.ndarray, side_db: np.ndarray) -> MixProfile:
    return MixProfile(
        path="x", sample_rate=48000, num_channels=2, duration_s=60.0, bit_depth=24,
        integrated_lufs=-20.0, true_peak_dbtp=-3.0, sample_peak_dbfs=-3.0, lra_lu=6.0,
        max_short_term_lufs=-15.0, band_centers_hz=CENTERS, mid_db=mid_db, side_db=side_db,
        low_band_correlation=0.9,
    )


def test_linear_eq_difference_is_matched_exactly() -> None:
    ref_mid = -30.0 - 3.0 * np.log2(CENTERS / 1000.0)
    tilt = 0.5 * np.log2(CENTERS / 1000.0)  # the mix: the reference tilted by 0.5 dB/octave
    mix = profile(ref_mid + tilt, ref_mid + tilt - 8.0)
    ref = profile(ref_mid, ref_mid - 8.0)
    mid_gains, side_gains, _, _ = reference_correction(mix, ref)
    matched = CENTERS < 20000.0
    level = mid_gains[matched] + tilt[matched]  # the tilt undone, up to a level offset
    np.testing.assert_allclose(level, level[0], atol=1e-9)
    np.testing.assert_allclose(side_gains, mid_gains, atol=1e-9)


def test_a_bad_reference_cannot_boost_the_sub_bass_much() -> None:
    flat = np.full(CENTERS.size, -30.0)
    ref_mid = np.where(CENTERS < 45.0, -6.0, -30.0)  # asks for +24 dB under 45 Hz
    mid_gains, _, _, _ = reference_correction(profile(flat, flat - 10.0), profile(ref_mid, flat - 10.0))
    assert mid_gains[CENTERS < 28.0].max() <= 6.0 + 1e-9
    assert mid_gains[CENTERS < 45.0].max() <= 9.0 + 1e-9


def test_low_side_rises_only_while_it_stays_under_the_mid() -> None:
    mid = np.full(CENTERS.size, -30.0)
    mix_side = np.where(CENTERS < 150.0, -60.0, -40.0)  # a nearly mono low end
    ref_side = np.where(CENTERS < 150.0, -32.0, -40.0)  # a reference with a wide low end
    _, side_gains, _, _ = reference_correction(profile(mid, mix_side), profile(mid, ref_side))
    low = CENTERS < 150.0
    out_side = mix_side[low] + side_gains[low]
    assert np.all(out_side <= mid[low] - SIDE_UNDER_MID_DB + 1e-9)
    assert np.all(side_gains[low] > 12.0)  # further than the mid's own sub-bass caps
    np.testing.assert_allclose(side_gains[~low], 0.0, atol=1e-9)


def test_side_too_faint_to_compare_follows_the_mid() -> None:
    ref_mid = np.full(CENTERS.size, -30.0)
    mix_mid = np.where(CENTERS > 5000.0, -42.0, -30.0)  # dull: needs +12 dB of air
    mix_side = np.where(CENTERS > 5000.0, -200.0, -40.0)  # and its side there is empty
    mid_gains, side_gains, _, _ = reference_correction(
        profile(mix_mid, mix_side), profile(ref_mid, ref_mid - 10.0))
    air = (CENTERS > 5000.0) & (CENTERS < 20000.0)  # bands up to 20 kHz are matched
    np.testing.assert_allclose(side_gains[air], mid_gains[air], atol=1e-9)
    np.testing.assert_allclose(mid_gains[air], 12.0, atol=1e-9)


def test_a_reference_wider_than_its_mid_cannot_push_the_mix_towards_anti_phase() -> None:
    """A reference whose side is 6 dB over its mid from 150 Hz up (correlation about -0.6)
    asks for +16 dB of side on a mix whose side is 10 dB under its mid; the side rises only to
    1 dB under the mid (uncorrelated mid and side: correlation +0.11, never below 0)."""
    mid = np.full(CENTERS.size, -30.0)
    mix_side = np.full(CENTERS.size, -40.0)
    ref_side = np.where(CENTERS >= 150.0, -24.0, -40.0)
    mid_gains, side_gains, _, _ = reference_correction(profile(mid, mix_side), profile(mid, ref_side))
    high = (CENTERS >= 150.0) & (CENTERS < 20000.0)
    out_mid, out_side = mid + mid_gains, mix_side + side_gains
    np.testing.assert_allclose(out_side[high], out_mid[high] - SIDE_UNDER_MID_ANY_DB, atol=1e-9)
    m2, s2 = 10 ** (out_mid[high] / 10), 10 ** (out_side[high] / 10)
    assert np.all((m2 - s2) / (m2 + s2) > 0.1)  # correlation of uncorrelated mid and side


def test_a_mix_wider_than_the_guard_keeps_its_width_under_a_wide_reference() -> None:
    """Side already 0.5 dB under the mid: the guard neither narrows it nor lets it grow."""
    mid = np.full(CENTERS.size, -30.0)
    mix_side = np.full(CENTERS.size, -30.5)
    ref_side = np.full(CENTERS.size, -20.0)
    mid_gains, side_gains, _, _ = reference_correction(profile(mid, mix_side), profile(mid, ref_side))
    matched = (CENTERS >= 20.0) & (CENTERS < 20000.0)
    np.testing.assert_allclose(side_gains[matched], mid_gains[matched], atol=1e-9)
