"""Findings a musician can act on, in plain words, and the text summary of an analysis.

The defect detector writes its own messages; this module adds the tonal-balance and stereo
findings (as :class:`~burnish.analysis.issues.Issue` objects, so every consumer handles one
kind of finding) and renders an :class:`~burnish.analysis.analyzer.Analysis` as text.

Tonal findings are a matter of taste and genre: they are never more than ``medium``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from burnish.analysis.curves import REGIONS_HZ, CurveComparison, TargetCurve
from burnish.analysis.issues import Issue, Severity
from burnish.analysis.stereo import CORRELATION_BANDS_HZ, StereoResult

if TYPE_CHECKING:
    from burnish.analysis.analyzer import Analysis

#: Region deviation from the target (dB, either way) for a ``low`` and a ``medium`` finding.
TONAL_LOW_DB = 4.0
TONAL_MEDIUM_DB = 8.0

#: Mono fold-down loss (dB, negative) for ``low``, ``medium`` and ``high`` findings.
MONO_LOSS_LOW_DB = -3.5
MONO_LOSS_MEDIUM_DB = -5.0
MONO_LOSS_HIGH_DB = -8.0

#: Left/right level difference (dB) for ``low`` and ``medium`` findings.
BALANCE_LOW_DB = 1.5
BALANCE_MEDIUM_DB = 3.0

_REGION_WORDS: dict[str, tuple[str, str, str, str]] = {
    # region: (subject, more, less, advice when there is more / less)
    "low": ("Low end", "heavier", "lighter", "bass and kick"),
    "low_mid": ("Low-mid range", "fuller (muddy)", "thinner", "low-mids (guitars, keys, vocal body)"),
    "mid": ("Midrange", "stronger (boxy, honky)", "weaker (scooped)", "midrange"),
    "high_mid": ("Upper midrange", "stronger (harsh)", "weaker (distant)", "presence range"),
    "high": ("Top end", "brighter", "duller", "cymbals, air and sibilance"),
}


def _hz(f: float) -> str:
    return f"{f / 1000:g} kHz" if f >= 1000 else f"{f:g} Hz"


def _region_span(name: str) -> str:
    lo, hi = REGIONS_HZ[name]
    if lo <= 20.0:
        return f"below {_hz(hi)}"
    if hi >= 20000.0:
        return f"above {_hz(lo)}"
    return f"between {_hz(lo)} and {_hz(hi)}"


def tonal_issues(
    comparison: CurveComparison, *, curve: TargetCurve, duration_s: float
) -> list[Issue]:
    """One ``tonal_balance`` issue per region deviating by at least :data:`TONAL_LOW_DB`."""
    out: list[Issue] = []
    for region, dev in comparison.regions_db.items():
        if dev is None or abs(dev) < TONAL_LOW_DB:
            continue
        subject, more, less, what = _REGION_WORDS[region]
        severity: Severity = "medium" if abs(dev) >= TONAL_MEDIUM_DB else "low"
        direction = more if dev > 0 else less
        action = (
            f"if that is not intended, turn the {what} down in the mix"
            if dev > 0
            else f"if that is not intended, bring the {what} up in the mix"
        )
        out.append(
            Issue(
                kind="tonal_balance",
                start_s=0.0,
                end_s=float(duration_s),
                channel=None,
                value=float(dev),
                unit="dB",
                severity=severity,
                message=(
                    f"{subject} is {abs(dev):.1f} dB {direction} than the {curve.name} target"
                    f" {_region_span(region)}: {action} (or pick a target curve that suits the"
                    " genre)."
                ),
                details={"region": region, "curve": curve.name},
            )
        )
    return out


def stereo_issues(
    stereo: StereoResult, *, existing: list[Issue], duration_s: float
) -> list[Issue]:
    """Mono compatibility, out-of-phase bass, left/right balance and a near-mono image.

    ``existing`` are the findings so far: an inverted polarity the defect detector reported is
    not reported twice, and the mono finding then points at it.
    """
    if stereo.num_channels != 2 or stereo.correlation is None:
        return []
    out: list[Issue] = []
    polarity_found = any(i.kind == "polarity" for i in existing)
    end = float(duration_s)
    loss = stereo.mono_fold_down_loss_db
    if loss is not None and loss <= MONO_LOSS_LOW_DB:
        severity: Severity = (
            "high" if loss <= MONO_LOSS_HIGH_DB else "medium" if loss <= MONO_LOSS_MEDIUM_DB else "low"
        )
        cause = (
            "most likely because of the inverted polarity reported above"
            if polarity_found
            else "check for polarity or phase problems and very wide stereo effects"
        )
        if polarity_found and severity == "high":
            severity = "medium"
        out.append(
            Issue(
                "mono_compatibility", 0.0, end, None, float(loss), "dB", severity,
                f"The mix loses {-loss:.1f} dB when folded to mono (phones, club and radio"
                f" systems): {cause}.",
                {"correlation": stereo.correlation},
            )
        )
    low = (stereo.correlation_by_band or {}).get("low")
    low_hi = CORRELATION_BANDS_HZ["low"][1]
    if low is not None and not polarity_found:
        if low < 0.0:
            out.append(
                Issue(
                    "stereo_phase", 0.0, end, None, float(low), "correlation",
                    "high" if low < -0.5 else "medium",
                    f"Low frequencies are out of phase (correlation {low:+.2f} below"
                    f" {_hz(low_hi)}): check the polarity of the right channel and of the bass"
                    " and kick tracks.",
                )
            )
        elif low < 0.5:
            out.append(
                Issue(
                    "stereo_phase", 0.0, end, None, float(low), "correlation", "low",
                    f"The bass is wide and partly out of phase (correlation {low:+.2f} below"
                    f" {_hz(low_hi)}): keep bass and kick centred (mono below about 150 Hz).",
                )
            )
    balance = stereo.balance_db
    if balance is not None and abs(balance) >= BALANCE_LOW_DB:
        side, other = ("Left", "right") if balance > 0 else ("Right", "left")
        out.append(
            Issue(
                "stereo_balance", 0.0, end, None, float(balance), "dB",
                "medium" if abs(balance) >= BALANCE_MEDIUM_DB else "low",
                f"{side} channel is {abs(balance):.1f} dB louder than the {other}: check the"
                " panning and the master balance.",
            )
        )
    if stereo.width_pct is not None and stereo.width_pct < 0.5 and stereo.correlation > 0.99:
        out.append(
            Issue(
                "stereo_width", 0.0, end, None, float(stereo.width_pct), "%", "info",
                "The stereo file is practically mono (both channels the same): fine if intended,"
                " otherwise check the export settings.",
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# text summary


def _lvl(v: float | None, unit: str, nd: int = 1) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    return f"{v:.{nd}f} {unit}"


def render_text(analysis: Analysis) -> str:
    """A readable multi-line summary of an analysis for the terminal."""
    a = analysis
    lo = a.loudness
    dy = a.dynamics
    st = a.stereo
    bits = f"{a.bit_depth}-bit" if a.bit_depth else (a.subtype or "")
    channels = {1: "mono", 2: "stereo"}.get(a.num_channels, f"{a.num_channels} ch")
    lines = [
        f"{a.path or 'audio'}",
        f"  {a.sample_rate} Hz, {bits} {channels}, {_clock(a.duration_s)}".rstrip(),
        "",
        "  Loudness",
        f"    integrated      {_lvl(lo.integrated_lufs, 'LUFS')}",
        f"    loudness range  {_lvl(lo.lra_lu, 'LU')}",
        f"    max momentary   {_lvl(lo.max_momentary_lufs, 'LUFS')}",
        f"    max short-term  {_lvl(lo.max_short_term_lufs, 'LUFS')}",
        f"    true peak       {_lvl(lo.true_peak_dbtp, 'dBTP')}",
        f"    sample peak     {_lvl(lo.sample_peak_dbfs, 'dBFS')}",
        "  Dynamics",
        f"    PLR             {_lvl(dy.plr_db, 'dB')}",
        f"    crest factor    {_lvl(dy.crest_db, 'dB')}",
        f"    PSR (min)       {_lvl(dy.psr_min_db, 'dB')}",
    ]
    if st.num_channels == 2:
        bands = st.correlation_by_band or {}
        band_text = ", ".join(
            f"{k.replace('_', '-')} {v:+.2f}" for k, v in bands.items() if v is not None
        )
        lines += [
            "  Stereo",
            f"    correlation     {_lvl(st.correlation, '', 2).strip()}  ({band_text})",
            f"    width           {_lvl(st.width_pct, '%', 0)} (side/mid {_lvl(st.side_to_mid_db, 'dB')})",
            f"    mono fold-down  {_lvl(st.mono_fold_down_loss_db, 'dB')}",
        ]
    else:
        lines += ["  Stereo", "    n/a (mono file)"]
    regions = ", ".join(
        f"{k.replace('_', '-')} {v:+.1f}" for k, v in a.tonal.regions_db.items() if v is not None
    )
    lines += [
        "  Tonal balance",
        f"    tilt            {a.spectrum.tilt_db_per_octave:+.1f} dB/octave (1/3-octave bands,"
        " 100 Hz-10 kHz)",
        f"    vs {a.curve.name:12s} {regions} dB",
        "",
    ]
    if a.issues:
        lines.append(f"  Findings ({len(a.issues)})")
        for issue in a.issues:
            where = (
                ""
                if issue.start_s <= 0.0 and issue.end_s >= a.duration_s - 0.05
                else f" at {_clock(issue.start_s)}"
            )
            lines.append(f"    [{issue.severity:6s}] {issue.kind}{where}: {issue.message}")
    else:
        lines.append("  Findings: none")
    return "\n".join(lines)


def _clock(t_s: float) -> str:
    minutes, seconds = divmod(max(0.0, t_s), 60.0)
    return f"{int(minutes)}:{seconds:06.3f}"
