"""From measurements to a mastering chain: what a mastering engineer decides, with reasons.

The order is the one a mastering engineer uses: corrective steps (DC and subsonic, polarity,
restoration), tonal EQ toward the target curve or the reference, compression chosen from the
mix's dynamics and the loudness asked for, stereo imaging, optional saturation, then the
loudness gain and the true-peak limiter (and, at delivery, rate conversion and dither).

Every step appends a :class:`Decision` saying what was done and why, so the record
(``<name>.master.json``) and the report can show it, and a revision can change it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from burnish.assistant.profile import MixProfile
from burnish.assistant.targets import Target
from burnish.errors import ParameterError

Style = Literal["balanced", "warm", "bright", "open"]
Intensity = Literal["low", "medium", "high"]
STYLES: tuple[str, ...] = ("balanced", "warm", "bright", "open")
INTENSITIES: tuple[str, ...] = ("low", "medium", "high")

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Adjustments:
    """A musician's revision requests, in engineering units (0 = as decided)."""

    brightness_db: float = 0.0  # shelf above ~4 kHz
    bass_db: float = 0.0  # shelf below ~120 Hz
    compression: float = 0.0  # -1 much less ... +1 much more
    loudness_lu: float = 0.0  # louder/quieter than the target
    width: float = 0.0  # -1 narrower ... +1 wider
    warmth_db: float = 0.0  # low-mid body around 200-400 Hz

    def is_zero(self) -> bool:
        return not any(asdict(self).values())

    def plus(self, other: Adjustments) -> Adjustments:
        a, b = asdict(self), asdict(other)
        return Adjustments(**{k: a[k] + b[k] for k in a})


@dataclass(frozen=True, slots=True)
class MasterSettings:
    """Everything the user chose for a master."""

    target: Target
    style: str = "balanced"
    intensity: str = "medium"
    force_loudness: bool = False
    adjustments: Adjustments = field(default_factory=Adjustments)
    sample_rate: int | None = None  # overrides the target's
    bit_depth: int | None = None  # overrides the target's

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ParameterError(f"style={self.style!r} must be one of {', '.join(STYLES)}")
        if self.intensity not in INTENSITIES:
            raise ParameterError(
                f"intensity={self.intensity!r} must be one of {', '.join(INTENSITIES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.to_dict(),
            "style": self.style,
            "intensity": self.intensity,
            "force_loudness": self.force_loudness,
            "adjustments": asdict(self.adjustments),
            "sample_rate": self.sample_rate,
            "bit_depth": self.bit_depth,
        }


@dataclass
class Decision:
    step: str
    action: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"step": self.step, "action": self.action, "reason": self.reason}


@dataclass
class Plan:
    """A decided master: the chain before the limiter, and the limiter's job."""

    pre_limiter: list[dict[str, Any]]  # processor dicts (type, params)
    target_lufs: float
    ceiling_dbtp: float
    max_limiting_db: float | None  # None: no cap (forced)
    limiter_params: dict[str, Any]
    output_sample_rate: int
    bit_depth: int
    decisions: list[Decision]
    compression_gr_db: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "pre_limiter": self.pre_limiter,
            "target_lufs": self.target_lufs,
            "ceiling_dbtp": self.ceiling_dbtp,
            "max_limiting_db": self.max_limiting_db,
            "limiter_params": self.limiter_params,
            "output_sample_rate": self.output_sample_rate,
            "bit_depth": self.bit_depth,
            "decisions": [d.to_dict() for d in self.decisions],
        }


@dataclass(frozen=True)
class _Intensity:
    eq_strength: float  # share of the deviation (beyond the dead band) corrected
    eq_max_db: float
    eq_deadband_db: float
    comp_ratio: float
    comp_max_gr_db: float  # average gain reduction the glue compressor may do
    max_limiting_db: float  # peak reduction the limiter may do before we call it harm


INTENSITY = {
    "low": _Intensity(0.5, 2.0, 1.5, 1.4, 1.5, 5.0),
    "medium": _Intensity(0.7, 3.5, 1.0, 1.8, 3.0, 8.0),
    "high": _Intensity(0.9, 5.0, 0.75, 2.5, 4.5, 12.0),
}

# The tonal analysis covers 1/3-octave bands; corrections are confined to where music lives.
#: Peak reduction allowed beyond the cap when the cap leaves a master within the loudness
#: tolerance of its target: it then lands on the target instead of at the tolerance's edge.
CAP_STRETCH_DB = 1.0

EQ_LOW_HZ = 30.0
EQ_HIGH_HZ = 18000.0
LEVEL_REF_BAND = (100.0, 8000.0)


def style_offsets_db(style: str, centers_hz: Array) -> Array:
    """How each style bends the target curve (dB per band)."""
    f = centers_hz
    octaves_from_1k = np.log2(np.maximum(f, 1.0) / 1000.0)
    if style == "warm":
        return np.clip(-0.6 * octaves_from_1k, -2.0, 1.5)
    if style == "bright":
        return np.clip(0.6 * octaves_from_1k, -1.5, 2.0)
    if style == "open":
        return np.where(f > 6000.0, 1.5 * np.clip(np.log2(f / 6000.0), 0, 1), 0.0)
    return np.zeros_like(f)


def adjustment_offsets_db(adj: Adjustments, centers_hz: Array) -> Array:
    """The revision requests as gains per band (smooth shelves)."""
    f = np.maximum(centers_hz, 1.0)
    high = 1.0 / (1.0 + (4000.0 / f) ** 2)  # ~0 below 2 kHz, 1 above 8 kHz
    low = 1.0 / (1.0 + (f / 120.0) ** 2)
    body = np.exp(-0.5 * (np.log2(f / 300.0) / 0.7) ** 2)
    return adj.brightness_db * high + adj.bass_db * low + adj.warmth_db * body


def _level_offset(dev: Array, centers: Array, valid: npt.NDArray[np.bool_]) -> float:
    sel = valid & (centers >= LEVEL_REF_BAND[0]) & (centers <= LEVEL_REF_BAND[1])
    if not sel.any():
        sel = valid
    return float(np.median(dev[sel])) if sel.any() else 0.0


def _smooth(x: Array) -> Array:
    if x.size < 3:
        return x.copy()
    padded = np.concatenate([x[:1], x, x[-1:]])
    return 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]


def looks_mastered(profile: MixProfile) -> bool:
    """A file that already uses its headroom and is dense is treated as a finished master."""
    return profile.true_peak_dbtp >= -1.5 and profile.plr_db <= 16.0


def tonal_correction(
    profile: MixProfile,
    curve_db: Array,
    *,
    style: str,
    intensity: _Intensity,
    mastered: bool,
) -> tuple[Array, Array]:
    """Per-band EQ gains (dB) toward ``curve_db`` and the deviation they answer."""
    centers = profile.band_centers_hz
    target = curve_db + style_offsets_db(style, centers)
    content = profile.mid_db > (np.max(profile.mid_db) - 60.0)
    valid = (centers >= EQ_LOW_HZ) & (centers <= min(EQ_HIGH_HZ, 0.45 * profile.sample_rate))
    valid &= content
    dev = profile.mid_db - target
    dev = dev - _level_offset(dev, centers, valid)
    dev = np.where(valid, _smooth(dev), 0.0)
    if mastered:  # a finished master's tonal balance is the artist's choice: report, don't act
        return np.zeros_like(dev), dev
    deadband = intensity.eq_deadband_db
    strength = intensity.eq_strength
    excess = np.sign(dev) * np.maximum(np.abs(dev) - deadband, 0.0)
    gains = np.clip(-strength * excess, -intensity.eq_max_db, intensity.eq_max_db)
    # Never boost the sub-bass much: it eats headroom and can't be heard on most systems.
    gains = np.where(centers < 45.0, np.minimum(gains, 1.0), gains)
    return np.where(valid, gains, 0.0), dev


SIDE_UNDER_MID_DB = 6.0  # reference matching keeps the low end's side this far under its mid
#: ...and every band's side at least this far under its mid, unless the mix was wider already
#: (then the side follows the mid, the width stays): uncorrelated mid and side 1 dB apart give
#: a correlation of +0.11, so matching never pushes a band towards anti-phase, whatever the
#: reference's own width.
SIDE_UNDER_MID_ANY_DB = 1.0


def reference_boost_cap_db(centers_hz: Array) -> Array:
    """How much a reference may make burnish boost, per band: little where boosts are risky.

    Sub-bass gets small boosts (a bad reference must not wreck the mix with +24 dB of
    sub-bass) and the top octave moderate ones; the range music lives in may move further, as
    matching asks.
    """
    f = centers_hz
    return np.select([f < 28.0, f < 45.0, f < 150.0, f <= 14000.0], [6.0, 9.0, 12.0, 24.0],
                     default=12.0)


def reference_correction(
    profile: MixProfile, reference: MixProfile, *, max_cut_db: float = 18.0
) -> tuple[Array, Array, Array, Array]:
    """Mid and side gains (dB) that give the mix the reference's tonal balance and width.

    Both spectra are aligned by the median mid difference (level removed); the side is aligned
    with the same offset, so matching the side curve also matches the width band by band.
    Returns (mid_gains, side_gains, mid_dev, side_dev).
    """
    centers = profile.band_centers_hz
    n = min(len(centers), len(reference.band_centers_hz))
    centers = centers[:n]
    mix_mid, mix_side = profile.mid_db[:n], profile.side_db[:n]
    ref_mid, ref_side = reference.mid_db[:n], reference.side_db[:n]
    nyq = 0.45 * min(profile.sample_rate, reference.sample_rate)
    valid = (centers >= 20.0) & (centers <= min(20000.0, nyq))
    valid &= mix_mid > np.max(mix_mid) - 70.0
    valid &= ref_mid > np.max(ref_mid) - 70.0
    mid_dev = mix_mid - ref_mid
    offset = _level_offset(mid_dev, centers, valid)
    mid_dev = np.where(valid, mid_dev - offset, 0.0)
    side_valid = valid & (mix_side > np.max(mix_mid) - 60.0) & (ref_side > np.max(ref_mid) - 60.0)
    side_dev = np.where(side_valid, mix_side - ref_side - offset, 0.0)
    cap = reference_boost_cap_db(centers)
    mid_gains = np.clip(-mid_dev, -max_cut_db, cap)
    # The side may rise further in the low end, as far as the reference asks, while it stays
    # 6 dB under the (corrected) mid there: side gain never touches the mono sum, and a low end
    # that stays mostly mid keeps its punch and its correlation well above 0.
    room = (mix_mid + mid_gains) - mix_side - SIDE_UNDER_MID_DB
    side_cap = np.where(centers < 150.0, np.clip(room, cap, 18.0), cap)
    side_gains = np.clip(-side_dev, -max_cut_db, side_cap)
    # a reference wider than its own mid (or one whose side is louder than the mix's mid could
    # carry) must not turn the mix's bands towards anti-phase: the side rises at most to
    # SIDE_UNDER_MID_ANY_DB under the corrected mid, or as much as the mid where it was wider
    guard = (mix_mid + mid_gains) - mix_side - SIDE_UNDER_MID_ANY_DB
    side_gains = np.minimum(side_gains, np.maximum(guard, mid_gains))
    # where the side is too faint to compare, it follows the mid (the width stays as it was)
    side_gains = np.where(valid & ~side_valid, mid_gains, side_gains)
    return mid_gains, side_gains, mid_dev, side_dev


def _region_summary(centers: Array, gains: Array) -> str:
    regions = (("low end", 20, 150), ("low mids", 150, 600), ("mids", 600, 3000),
               ("presence", 3000, 8000), ("air", 8000, 20000))
    parts = []
    for name, lo, hi in regions:
        sel = (centers >= lo) & (centers < hi)
        if sel.any():
            g = float(np.mean(gains[sel]))
            if abs(g) >= 0.3:
                parts.append(f"{name} {g:+.1f} dB")
    return ", ".join(parts) if parts else "no band moved by 0.3 dB or more"


def decide(
    profile: MixProfile,
    settings: MasterSettings,
    *,
    curve_db: Array | None,
    reference: MixProfile | None = None,
) -> Plan:
    """Decide the chain for ``profile`` under ``settings`` (and a reference, if any)."""
    target = settings.target
    intensity = INTENSITY[settings.intensity]
    adj = settings.adjustments
    decisions: list[Decision] = []
    chain: list[dict[str, Any]] = []
    centers = profile.band_centers_hz
    mastered = reference is None and looks_mastered(profile)
    stereo = profile.num_channels == 2

    if mastered:
        decisions.append(Decision(
            "assessment", "treat as a finished master",
            f"true peak {profile.true_peak_dbtp:.1f} dBTP and PLR {profile.plr_db:.1f} dB show the"
            " file already uses its headroom: its tonal balance and dynamics are kept, only"
            " the loudness and the ceiling are adjusted",
        ))

    # 1. corrective -----------------------------------------------------------------------
    dc = profile.issues_of("dc_offset")
    if dc or not mastered:
        chain.append({"type": "highpass", "params": {"cutoff_hz": 10.0 if not dc else 15.0,
                                                     "slope_db_per_octave": 12}})
        decisions.append(Decision(
            "corrective", f"high-pass at {chain[-1]['params']['cutoff_hz']:.0f} Hz, 12 dB/octave",
            "removes the DC offset found: " + "; ".join(i.message for i in dc) if dc else
            "keeps DC and inaudible subsonic energy out of the limiter (under 0.3 dB at 20 Hz)",
        ))
    if stereo:
        pol = [i for i in profile.issues_of("polarity") if i.severity in ("medium", "high")]
        corr = profile.low_band_correlation
        if pol and corr is not None and corr < -0.5:
            chain.append({"type": "polarity", "params": {"invert_left": False, "invert_right": True}})
            decisions.append(Decision(
                "corrective", "invert the right channel's polarity",
                f"the low band is out of phase (correlation {corr:+.2f}): the bass would cancel"
                " in mono; inverting one channel restores it",
            ))
        elif pol:
            decisions.append(Decision(
                "corrective", "polarity left as is (warning)",
                "; ".join(i.message for i in pol) + " — not strong enough to invert automatically",
            ))
    for d in restoration_steps(profile):
        chain.append(d[0])
        decisions.append(d[1])

    # 2. tonal EQ ---------------------------------------------------------------------------
    side_gains: Array | None = None
    if reference is not None:
        mid_gains, side_gains, mid_dev, _ = reference_correction(profile, reference)
        n = len(mid_gains)
        centers = centers[:n]
        reason = ("matches the reference's tonal balance (mid) and its width band by band (side),"
                  " level removed; boosts limited to +6 dB below 28 Hz, +9 dB to 45 Hz, +12 dB to 150 Hz, +24 dB to 14 kHz and +12 dB above (the side may rise further below 150 Hz while it stays 6 dB under the mid), cuts to -18 dB")
    elif curve_db is not None:
        mid_gains, mid_dev = tonal_correction(profile, curve_db, style=settings.style,
                                              intensity=intensity, mastered=mastered)
        if mastered:
            reason = ("a finished master keeps its tonal balance (largest deviation from the"
                      f" '{target.curve}' curve: {float(np.max(np.abs(mid_dev))):.1f} dB)")
        else:
            reason = (f"moves the mix toward the '{target.curve}' target curve"
                      f" (style {settings.style}); deviations under"
                      f" {intensity.eq_deadband_db:.1f} dB are left alone")
    else:
        mid_gains = np.zeros_like(centers)
        reason = "no target curve"
    extra = adjustment_offsets_db(adj, centers)
    mid_gains = mid_gains + extra
    if side_gains is not None:
        side_gains = side_gains + extra
    width_db = 0.0
    if stereo and settings.style == "open":
        width_db += 1.0
    if stereo and adj.width:
        width_db += 3.0 * adj.width
    if width_db and stereo:
        base_side = side_gains if side_gains is not None else mid_gains
        side_gains = base_side + width_db * (centers >= 200.0)
    if np.max(np.abs(mid_gains)) >= 0.05 or (side_gains is not None and np.max(np.abs(side_gains)) >= 0.05):
        params: dict[str, Any] = {
            "frequencies_hz": [round(float(f), 2) for f in centers],
            "mid_gains_db": [round(float(g), 2) for g in mid_gains],
            "side_gains_db": [] if side_gains is None else [round(float(g), 2) for g in side_gains],
        }
        chain.append({"type": "match_eq", "params": params})
        what = _region_summary(centers, mid_gains)
        if side_gains is not None:
            what += f"; side: {_region_summary(centers, side_gains)}"
        if not adj.is_zero():
            reason += f"; revision requests applied ({_adjustments_text(adj)})"
        decisions.append(Decision("tonal EQ", f"linear-phase match EQ: {what}", reason))
    else:
        decisions.append(Decision("tonal EQ", "none", reason + "; nothing needed correcting"))

    # 3. dynamics -----------------------------------------------------------------------------
    target_lufs = target.loudness_for(profile.num_channels) + adj.loudness_lu
    ceiling = target.ceiling_dbtp
    gain_needed = target_lufs - profile.integrated_lufs
    peak_over = profile.true_peak_dbtp + gain_needed - ceiling  # what the peaks would overshoot
    comp_gr = 0.0
    # loud destinations (CD, club) ask for density: the compressor may do a little more
    loud = target.kind == "loud"
    if not mastered and peak_over > 2.0:
        comp_gr = min(intensity.comp_max_gr_db, 0.35 * peak_over)
        comp_gr *= max(0.0, 1.0 + 0.6 * adj.compression)
    elif not mastered and adj.compression > 0:
        comp_gr = 1.0 * adj.compression
    if target.max_limiting_db is not None:
        comp_gr = min(comp_gr, 1.0)
    comp_gr = round(comp_gr, 2)
    if comp_gr >= 0.3:
        ratio = intensity.comp_ratio
        # gain reduction at the loud passages: (L - T)(1 - 1/ratio) = comp_gr
        loud_level = profile.max_short_term_lufs + 2.0
        threshold = loud_level - comp_gr / (1.0 - 1.0 / ratio)
        threshold = float(np.clip(threshold, -50.0, -1.0))
        chain.append({"type": "compressor", "params": {
            "threshold_db": round(threshold, 2), "ratio": ratio, "knee_db": 6.0,
            "attack_ms": 30.0, "release_ms": 200.0, "auto_release": True, "detector": "rms",
            "rms_window_ms": 30.0, "sidechain_highpass_hz": 60.0, "stereo_mode": "linked",
            "makeup_gain_db": 0.0, "mix": 1.0,
        }})
        decisions.append(Decision(
            "compression",
            f"glue compressor {ratio:g}:1 at {threshold:.1f} dB, 30 ms attack, auto release"
            f" (about {comp_gr:.1f} dB on the loudest passages)",
            f"reaching {target_lufs:.1f} LUFS from {profile.integrated_lufs:.1f} LUFS would push"
            f" peaks {peak_over:.1f} dB over the {ceiling:.1f} dBTP ceiling; gentle compression"
            " takes part of that off the limiter so it stays transparent",
        ))
    else:
        why = ("the file is already a finished master" if mastered else
               f"peaks need only {max(peak_over, 0):.1f} dB of limiting to reach the target")
        if adj.compression < 0:
            why += "; less compression was asked for"
        decisions.append(Decision("compression", "none", why))

    # 4. stereo -----------------------------------------------------------------------------
    if stereo and reference is not None:
        decisions.append(Decision("stereo", "width matched by the side EQ",
                                  "the side curve follows the reference band by band"))
    elif stereo and not mastered:
        corr = profile.low_band_correlation
        low = centers < 120.0
        side_low = float(np.max(profile.side_db[: len(centers)][low])) if low.any() else -200.0
        mid_low = float(np.max(profile.mid_db[: len(centers)][low])) if low.any() else -200.0
        if (corr is not None and corr < 0.9) or side_low > mid_low - 12.0:
            chain.append({"type": "imager", "params": {"width": 1.0, "mono_below_hz": 100.0}})
            decisions.append(Decision(
                "stereo", "mono below 100 Hz",
                f"the low end is not centred (correlation {corr if corr is not None else float('nan'):+.2f},"
                f" side {side_low - mid_low:+.1f} dB against mid below 120 Hz): mono bass keeps"
                " the low end solid on club systems and vinyl-style playback",
            ))
        else:
            decisions.append(Decision("stereo", "none", "the low end is already centred"))

    # 5. saturation -------------------------------------------------------------------------
    if not mastered and (settings.style == "warm" or settings.intensity == "high"):
        drive = 2.0 if settings.intensity == "high" else 1.0
        chain.append({"type": "saturation", "params": {"curve": "tape", "drive_db": drive,
                                                       "mix": 0.35}})
        decisions.append(Decision(
            "saturation", f"tape saturation, {drive:.0f} dB drive, 35 % mix",
            "adds density and harmonic warmth " + ("(warm style)" if settings.style == "warm"
                                                   else "(high intensity)"),
        ))

    # 6. loudness and limiter ---------------------------------------------------------------
    # loud destinations (CD, club) are asked of music that expects dense peaks: allow more
    max_limiting = None if settings.force_loudness else (
        target.max_limiting_db if target.max_limiting_db is not None
        else intensity.max_limiting_db + (3.0 if loud else 0.0))
    limiter = {"ceiling_dbtp": ceiling, "input_gain_db": 0.0, "lookahead_ms": 5.0,
               "release_ms": 80.0, "adaptive_release": True, "oversample": 4,
               # a finished master's peaks are trimmed per channel: linked gain would duck the
               # whole mix (and mostly its bass) for peaks that live in one channel
               "stereo_link": not mastered}
    out_rate = settings.sample_rate or target.sample_rate or profile.sample_rate
    bits = settings.bit_depth or target.bit_depth
    decisions.append(Decision(
        "loudness", f"gain into a true-peak limiter, ceiling {ceiling:.1f} dBTP, aiming at"
        f" {target_lufs:.1f} LUFS",
        f"{target.title}: {target.source}" + (
            "" if max_limiting is None else
            f"; the limiter may take at most {max_limiting:.0f} dB off the peaks (intensity"
            f" {settings.intensity}; {CAP_STRETCH_DB:g} dB more where that lands a master"
            " within 0.2 LU of the target on it), beyond that the target is reported as out"
            " of reach"),
    ))
    if out_rate != profile.sample_rate:
        decisions.append(Decision(
            "delivery", f"convert {profile.sample_rate} -> {out_rate} Hz (soxr, very high quality)",
            f"{target.title} asks for {out_rate} Hz"))
    if bits == 16:
        decisions.append(Decision(
            "delivery", "16-bit with seeded TPDF dither, applied once, last",
            "dither turns the truncation error into benign noise (deterministic seed)"))
    return Plan(
        pre_limiter=chain,
        target_lufs=target_lufs,
        ceiling_dbtp=ceiling,
        max_limiting_db=max_limiting,
        limiter_params=limiter,
        output_sample_rate=out_rate,
        bit_depth=bits,
        decisions=decisions,
        compression_gr_db=comp_gr,
    )


def restoration_steps(profile: MixProfile) -> list[tuple[dict[str, Any], Decision]]:
    """Repairs for defects the analysis found, where burnish has a repair that helps.

    The declicker runs when clicks are found (clean material passes bit-identical) and the
    declipper when the clipping is severe (A-SPADE, about +6.6 dB SNR on music clipped by
    6 dB). Denoise is available in ``burnish repair`` but does not yet reach its target on
    music (docs/restoration.md), so hiss stays a warning here.
    """
    from burnish.dsp.base import registered_processors

    kinds = registered_processors()
    steps: list[tuple[dict[str, Any], Decision]] = []
    clicks = profile.issues_of("click")
    if clicks and "declick" in kinds:
        steps.append(({"type": "declick", "params": {}}, Decision(
            "restoration", "declick",
            f"{len(clicks)} click(s) found (first at {clicks[0].start_s:.2f} s); damaged"
            " samples are rebuilt from the surrounding music")))
    clipping = [i for i in profile.issues_of("clipping") if i.severity == "high"]
    if clipping and "declip" in kinds:
        steps.insert(0, ({"type": "declip", "params": {}}, Decision(
            "restoration", "declip (lost peaks rebuilt, 6 dB of headroom made for them)",
            "; ".join(i.message for i in clipping))))
    return steps


def _adjustments_text(adj: Adjustments) -> str:
    parts = []
    for name, value in asdict(adj).items():
        if value:
            parts.append(f"{name} {value:+g}")
    return ", ".join(parts)


def with_adjustments(settings: MasterSettings, adj: Adjustments) -> MasterSettings:
    return replace(settings, adjustments=settings.adjustments.plus(adj))


def finite(x: float, default: float = -200.0) -> float:
    return x if math.isfinite(x) else default
