"""The master report: before and after, the decisions and their reasons, and the verification.

A self-contained HTML page per master (plots embedded as data URIs), built from the same
blocks as the mix analysis report (:mod:`burnish.report.html`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from burnish.report.html import (
    esc,
    figure,
    findings_table,
    fmt_level,
    key_values,
    loudness_table,
    page,
    section,
    table,
    write_text_atomic,
)

if TYPE_CHECKING:
    from burnish.analysis.analyzer import Analysis
    from burnish.assistant.master import VersionResult
    from burnish.assistant.profile import MixProfile


def gain_reduction_plot(traces: dict[str, np.ndarray], *, hop_s: float, fmt: str = "png") -> bytes:
    """Gain reduction (dB, drawn downward) over time, one line per dynamics processor."""
    from burnish.report import plots

    fig, ax = plots._figure(2.4)
    longest = 1.0
    for i, (label, values) in enumerate(traces.items()):
        v = np.asarray(values, dtype=np.float64)
        t = (np.arange(v.size) + 0.5) * hop_s
        longest = max(longest, v.size * hop_s)
        ax.plot(t, -v, color=plots.COLORS[i % len(plots.COLORS)], linewidth=1.1, label=label)
    bottom = min([-1.0] + [-float(np.max(v)) - 0.5 for v in traces.values() if np.size(v)])
    ax.set_ylim(bottom, 0.3)
    ax.set_ylabel("dB")
    plots._time_axis(ax, longest)
    ax.set_xlabel("time")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Gain reduction over time (max per 100 ms)", fontsize=10, loc="left")
    return plots._finish(fig, fmt)


def platform_rows(integrated_lufs: float, true_peak_dbtp: float) -> list[list[str]]:
    """What each normalising platform will do with a master of this loudness."""
    from burnish.assistant.targets import available_targets

    rows = []
    for t in available_targets().values():
        if not t.playback_lufs or t.kind not in ("streaming", "podcast"):
            continue
        change = t.playback_lufs - integrated_lufs
        if change < -0.05:
            what = f"turned down {abs(change):.1f} dB"
        elif change > 0.05:
            if t.name == "spotify":
                room = -1.0 - true_peak_dbtp
                up = min(change, max(room, 0.0))
                what = (f"{change:.1f} dB quieter than the platform level; Spotify turns it up"
                        f" by up to {up:.1f} dB (its peaks leave that much room)")
            else:
                what = f"plays {change:.1f} dB quieter than other tracks (not turned up)"
        else:
            what = "plays as is"
        rows.append([t.title, f"{t.playback_lufs:.0f} LUFS", f"{change:+.1f} dB", what])
    return rows


def _spectrum_traces(before: Analysis, after: Analysis, component: str) -> list[Any]:
    from burnish.report import plots

    out = []
    for label, a, dashed in (("before", before, True), ("after", after, False)):
        sp = a.spectrum
        fine = sp.fine_mid_db if component == "mid" else sp.fine_side_db
        bands = sp.mid_db if component == "mid" else sp.side_db
        if fine is None:
            continue
        out.append(plots.SpectrumTrace(label, sp.fine_freqs_hz, fine, sp.band_centers_hz,
                                       bands, dashed=dashed))
    return out


def render_master_report(
    *,
    mix_analysis: Analysis,
    master_analysis: Analysis,
    result: VersionResult,
    reference: MixProfile | None = None,
    plot_format: str = "png",
) -> str:
    from burnish.analysis.curves import curve_at
    from burnish.report import plots

    b, a = mix_analysis, master_analysis
    ver = result.verification
    render = result.render
    plan = result.plan
    status = "passed" if ver.passed else "FAILED"
    summary = key_values([
        ("Target", "the reference" if reference is not None else result.settings.target.title),
        ("Loudness", f"{fmt_level(a.loudness.integrated_lufs, 'LUFS')} (target {plan.target_lufs:.1f})"),
        ("True peak", f"{fmt_level(ver.independent_true_peak_dbtp, 'dBTP', 2)} (ceiling {plan.ceiling_dbtp:.1f})"),
        ("Loudness range", f"{fmt_level(b.loudness.lra_lu, 'LU')} → {fmt_level(a.loudness.lra_lu, 'LU')}"),
        ("PLR", f"{fmt_level(b.dynamics.plr_db, 'dB')} → {fmt_level(a.dynamics.plr_db, 'dB')}"),
        ("Limiting", f"{render.limiting_db:.1f} dB on the loudest peaks"),
        ("Verification", status),
        ("Output", f"{render.output.sample_rate} Hz {plan.bit_depth}-bit"),
    ])
    sections = [section("Summary", summary)]
    if not render.reachable:
        sections.append(section("Loudness target out of reach", (
            f"<p>Reaching {plan.target_lufs:.1f} LUFS would take more than"
            f" {plan.max_limiting_db or 0:.0f} dB of limiting and harm the music; the master is"
            f" {render.shortfall_lu:.1f} LU short. Use <code>--force-loudness</code> to insist,"
            " or a higher intensity.</p>")))
    check_rows = [[c.name, "pass" if c.passed else "FAIL",
                   "-" if c.measured is None else (f"{c.measured:.3f}" if isinstance(c.measured, float) else str(c.measured)),
                   c.required, c.note] for c in ver.checks]
    sections.append(section("Verification", table(
        ["requirement", "result", "measured", "required", "note"], check_rows)))
    sections.append(section("Decisions", table(
        ["step", "what", "why"], [[d.step, d.action, d.reason] for d in plan.decisions])))

    # loudness before / after
    traces = [plots.LoudnessTrace(lbl, x.loudness.short_term_lufs, None, x.loudness.hop_s,
                                  x.loudness.integrated_lufs) for lbl, x in (("before", b), ("after", a))]
    loud = plots.data_uri(plots.loudness_plot(traces, target_lufs=plan.target_lufs, fmt=plot_format), plot_format)
    sections.append(section("Loudness over time", loudness_table([("before", b.loudness), ("after", a.loudness)])
                            + figure(loud, alt="loudness before and after")))

    # gain reduction
    gr: dict[str, np.ndarray] = {}
    for key, values in list(render.pre.gain_reduction_db.items()) + list(render.output.gain_reduction_db.items()):
        gr[key.split(":", 1)[1]] = values
    if gr:
        img = plots.data_uri(gain_reduction_plot(gr, hop_s=0.1, fmt=plot_format), plot_format)
        sections.append(section("Gain reduction", figure(img, alt="gain reduction over time")))

    # spectra against the target (or the reference)
    sp = a.spectrum
    if reference is not None:
        ref_levels = np.interp(np.log2(sp.fine_freqs_hz), np.log2(reference.band_centers_hz),
                               reference.mid_db)
        sel = (sp.band_centers_hz >= 100) & (sp.band_centers_hz <= 8000)
        offset = float(np.median(sp.mid_db[sel] - np.interp(sp.band_centers_hz, reference.band_centers_hz, reference.mid_db)[sel]))
        target = (sp.fine_freqs_hz, ref_levels + offset, "reference")
        title = "Tonal balance against the reference"
    else:
        target = (sp.fine_freqs_hz, curve_at(a.curve, sp.fine_freqs_hz) + a.tonal.offset_db, a.curve.name)
        title = f"Tonal balance against the '{a.curve.name}' curve"
    mid_img = plots.data_uri(plots.spectrum_plot(_spectrum_traces(b, a, "mid"), target=target, fmt=plot_format), plot_format)
    body = figure(mid_img, "mid (L+R)/2, before and after", alt="mid spectrum")
    side = _spectrum_traces(b, a, "side")
    if side:
        side_img = plots.data_uri(plots.spectrum_plot(side, fmt=plot_format), plot_format)
        body += figure(side_img, "side (L−R)/2, before and after", alt="side spectrum")
    sections.append(section(title, body))

    # stereo
    if a.num_channels == 2 and a.stereo.correlation_series is not None and b.stereo.correlation_series is not None:
        from burnish.analysis.analyzer import decimate

        cb, step = decimate(b.stereo.correlation_series, b.stereo.window_s, how="mean")
        ca, _ = decimate(a.stereo.correlation_series, a.stereo.window_s, how="mean")
        img = plots.data_uri(plots.correlation_plot([("before", cb), ("after", ca)], step_s=step, fmt=plot_format), plot_format)
        rows = [["correlation", fmt_level(b.stereo.correlation, "", 2), fmt_level(a.stereo.correlation, "", 2)],
                ["width (side/mid)", fmt_level(b.stereo.side_to_mid_db, "dB"), fmt_level(a.stereo.side_to_mid_db, "dB")],
                ["mono fold-down loss", fmt_level(b.stereo.mono_fold_down_loss_db, "dB"), fmt_level(a.stereo.mono_fold_down_loss_db, "dB")]]
        sections.append(section("Stereo", figure(img, alt="correlation before and after")
                                + table(["", "before", "after"], rows, numeric=[False, True, True])))

    sections.append(section("On streaming platforms", table(
        ["platform", "plays at", "change", "what happens"],
        platform_rows(a.loudness.integrated_lufs, a.loudness.true_peak_dbtp))))
    sections.append(section("What the analysis found in the mix", findings_table(b.issues, duration_s=b.duration_s)))
    sections.append(section("Files", "<p>" + esc(result.output_path) + "<br>" + esc(result.chain_path) + "</p>"))
    name = Path(result.output_path).name
    return page(f"Master: {name}", sections, subtitle=f"from {b.path} — {result.settings.target.title}")


def write_master_report(
    path: str | os.PathLike[str],
    *,
    mix_analysis: Analysis,
    result: VersionResult,
    reference: MixProfile | None = None,
) -> None:
    """Analyse the master and write its report (atomically) to ``path``."""
    from burnish.analysis.analyzer import analyze_file

    curve = mix_analysis.curve
    master_analysis = analyze_file(result.output_path, target_curve=curve)
    html = render_master_report(mix_analysis=mix_analysis, master_analysis=master_analysis,
                                result=result, reference=reference)
    write_text_atomic(path, html)


def _finite(x: float) -> bool:
    return math.isfinite(x)
