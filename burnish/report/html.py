"""Self-contained HTML reports: inline CSS, plots as ``data:`` URIs, no external assets.

Building blocks (each returns an HTML fragment, text escaped) so other reports, such as a
before/after master report, assemble their own pages: :func:`page`, :func:`section`,
:func:`table`, :func:`key_values`, :func:`figure`, :func:`findings_table`,
:func:`loudness_table` (one column per measurement, e.g. before and after) and
:func:`analysis_sections`. :func:`render_analysis_report` puts together the mix analysis page.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from burnish import __version__

if TYPE_CHECKING:
    from burnish.analysis.analyzer import Analysis
    from burnish.analysis.issues import Issue
    from burnish.analysis.loudness import LoudnessResult

CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#222;
 max-width:1060px;margin:24px auto;padding:0 16px;line-height:1.45;background:#fafafa}
h1{font-size:1.5em;margin:0 0 4px} h2{font-size:1.15em;margin:0 0 10px;color:#333}
.sub{color:#666;margin:0 0 18px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:14px 18px;margin:14px 0}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f3f3f3;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.kv{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:8px 14px}
.kv div{background:#f6f8fa;border-radius:4px;padding:6px 10px}
.kv .k{display:block;color:#666;font-size:.8em} .kv .v{font-size:1.1em;font-weight:600}
.sev{display:inline-block;min-width:56px;text-align:center;border-radius:3px;padding:1px 6px;
 font-size:.8em;font-weight:600;color:#fff}
.sev-high{background:#b00020}.sev-medium{background:#d55e00}.sev-low{background:#c99400}
.sev-info{background:#8a8a8a}
figure{margin:8px 0} figure img{max-width:100%;height:auto;display:block}
figcaption{color:#666;font-size:.85em} .none{color:#2e7d32;font-weight:600}
footer{color:#888;font-size:.8em;margin:20px 0}
"""


def esc(text: object) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(text), quote=True)


def fmt_level(value: float | None, unit: str = "", digits: int = 1) -> str:
    """A number with its unit, ``-`` for missing or infinite values."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f} {unit}".strip()


def page(title: str, sections: Sequence[str], *, subtitle: str = "") -> str:
    """A complete HTML document around already-rendered ``sections``."""
    sub = f'<p class="sub">{esc(subtitle)}</p>' if subtitle else ""
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1>{sub}\n{body}\n"
        f"<footer>burnish {esc(__version__)}</footer></body></html>\n"
    )


def section(title: str, body_html: str) -> str:
    """A titled box; ``body_html`` is trusted HTML (build it from these helpers)."""
    return f"<section><h2>{esc(title)}</h2>{body_html}</section>"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[bool] | None = None,
    raw: bool = False,
) -> str:
    """A table; cells are escaped unless ``raw``; ``numeric`` right-aligns columns."""
    numeric = list(numeric or [False] * len(headers))
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = ' class="num"' if i < len(numeric) and numeric[i] else ""
            cells.append(f"<td{cls}>{cell if raw else esc(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def key_values(pairs: Sequence[tuple[str, str]]) -> str:
    """A grid of labelled headline numbers."""
    items = "".join(
        f'<div><span class="k">{esc(k)}</span><span class="v">{esc(v)}</span></div>'
        for k, v in pairs
    )
    return f'<div class="kv">{items}</div>'


def figure(uri: str, caption: str = "", *, alt: str = "plot") -> str:
    """An embedded image from a ``data:`` URI (see :func:`burnish.report.plots.data_uri`)."""
    if not uri.startswith("data:"):
        raise ValueError("figure() embeds data: URIs only, so the report stays self-contained")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(alt)}" src="{uri}">{cap}</figure>'


def _clock(t_s: float) -> str:
    minutes, seconds = divmod(max(0.0, t_s), 60.0)
    return f"{int(minutes)}:{seconds:05.2f}"


def findings_table(issues: Sequence[Issue], *, duration_s: float | None = None) -> str:
    """Findings, most serious first, with where and how much."""
    if not issues:
        return '<p class="none">No problems found.</p>'
    ordered = sorted(issues, key=lambda i: (-i.rank, i.start_s))
    rows = []
    for i in ordered:
        whole = duration_s is not None and i.start_s <= 0.0 and i.end_s >= duration_s - 0.05
        if whole:
            where = "whole file"
        elif i.end_s - i.start_s < 0.01:
            where = _clock(i.start_s)
        else:
            where = f"{_clock(i.start_s)}–{_clock(i.end_s)}"
        channel = {None: "", 0: "L", 1: "R"}.get(i.channel, str(i.channel))
        value = fmt_level(i.value, i.unit, 2)
        rows.append(
            [
                f'<span class="sev sev-{esc(i.severity)}">{esc(i.severity)}</span>',
                esc(i.kind.replace("_", " ")),
                esc(where + (f" ({channel})" if channel else "")),
                esc(value),
                esc(i.message),
            ]
        )
    return table(["severity", "what", "where", "value", "what to do"], rows, raw=True)


def loudness_table(columns: Sequence[tuple[str, LoudnessResult]]) -> str:
    """Loudness measurements side by side, one column per ``(label, result)``."""
    spec = [
        ("Integrated loudness", "integrated_lufs", "LUFS"),
        ("Loudness range", "lra_lu", "LU"),
        ("Max momentary", "max_momentary_lufs", "LUFS"),
        ("Max short-term", "max_short_term_lufs", "LUFS"),
        ("True peak", "true_peak_dbtp", "dBTP"),
        ("Sample peak", "sample_peak_dbfs", "dBFS"),
    ]
    rows = [
        [label] + [fmt_level(getattr(res, attr), unit) for _, res in columns]
        for label, attr, unit in spec
    ]
    return table(["", *[c for c, _ in columns]], rows, numeric=[False] + [True] * len(columns))


def analysis_sections(analysis: Analysis, *, plot_format: str = "png") -> list[str]:
    """The sections of a mix analysis report: summary, findings, loudness, plots, stereo, tone."""
    from burnish.analysis.curves import curve_at
    from burnish.report import plots

    a = analysis
    lo, dy, st = a.loudness, a.dynamics, a.stereo
    channels = {1: "mono", 2: "stereo"}.get(a.num_channels, f"{a.num_channels} channels")
    bits = f"{a.bit_depth}-bit" if a.bit_depth else (a.subtype or "")
    summary = key_values(
        [
            ("Integrated", fmt_level(lo.integrated_lufs, "LUFS")),
            ("True peak", fmt_level(lo.true_peak_dbtp, "dBTP")),
            ("Loudness range", fmt_level(lo.lra_lu, "LU")),
            ("PLR", fmt_level(dy.plr_db, "dB")),
            ("Crest factor", fmt_level(dy.crest_db, "dB")),
            ("Stereo correlation", fmt_level(st.correlation, "", 2) if st.num_channels == 2 else "n/a"),
            ("Tilt", fmt_level(a.spectrum.tilt_db_per_octave, "dB/oct")),
            ("Format", f"{a.sample_rate} Hz {bits} {channels}".replace("  ", " ")),
            ("Duration", _clock(a.duration_s)),
        ]
    )
    out = [section("Summary", summary)]
    out.append(section("Findings", findings_table(a.issues, duration_s=a.duration_s)))
    wave = plots.data_uri(
        plots.waveform_plot(a.envelope, issues=a.issues, fmt=plot_format), plot_format
    )
    out.append(section("Waveform", figure(wave, alt="waveform envelope")))
    trace = plots.LoudnessTrace(
        "mix", lo.short_term_lufs, lo.momentary_lufs, lo.hop_s, lo.integrated_lufs
    )
    loud_img = plots.data_uri(plots.loudness_plot([trace], fmt=plot_format), plot_format)
    dyn_rows = [
        ["PLR (true peak − integrated)", fmt_level(dy.plr_db, "dB")],
        ["Crest factor (peak − RMS)", fmt_level(dy.crest_db, "dB")],
        ["PSR min / median (peak − short-term)", f"{fmt_level(dy.psr_min_db, 'dB')} / {fmt_level(dy.psr_median_db, 'dB')}"],
        ["RMS level", fmt_level(dy.rms_dbfs, "dBFS")],
        ["Peak density (loud hops at the peak)", "-" if dy.peak_density is None else f"{100 * dy.peak_density:.0f} %"],
    ]
    out.append(
        section(
            "Loudness and dynamics",
            loudness_table([("mix", lo)])
            + figure(loud_img, alt="loudness over time")
            + table(["dynamics", ""], dyn_rows, numeric=[False, True]),
        )
    )
    sp = a.spectrum
    traces = [plots.SpectrumTrace("mid (L+R)/2", sp.fine_freqs_hz, sp.fine_mid_db, sp.band_centers_hz, sp.mid_db)]
    if sp.fine_side_db is not None:
        traces.append(plots.SpectrumTrace("side (L−R)/2", sp.fine_freqs_hz, sp.fine_side_db, dashed=True))
    target_levels = curve_at(a.curve, sp.fine_freqs_hz) + a.tonal.offset_db
    spec_img = plots.data_uri(
        plots.spectrum_plot(traces, target=(sp.fine_freqs_hz, target_levels, a.curve.name), fmt=plot_format),
        plot_format,
    )
    region_rows = [
        [name.replace("_", "-"), "-" if dev is None else f"{dev:+.1f} dB"]
        for name, dev in a.tonal.regions_db.items()
    ]
    out.append(
        section(
            f"Tonal balance (target: {a.curve.name})",
            figure(spec_img, a.curve.description, alt="spectrum vs target")
            + table(["region", "deviation from target"], region_rows, numeric=[False, True]),
        )
    )
    if st.num_channels == 2 and st.correlation_series is not None:
        from burnish.analysis.analyzer import decimate

        corr, step = decimate(st.correlation_series, st.window_s, how="mean")
        corr_img = plots.data_uri(plots.correlation_plot([("L/R", corr)], step_s=step, fmt=plot_format), plot_format)
        bands = st.correlation_by_band or {}
        stereo_rows = [
            ["Correlation (overall)", fmt_level(st.correlation, "", 2)],
            *[[f"Correlation, {k.replace('_', '-')}", fmt_level(v, "", 2)] for k, v in bands.items()],
            ["Width (side / mid)", f"{fmt_level(st.width_pct, '%', 0)} ({fmt_level(st.side_to_mid_db, 'dB')})"],
            ["Mono fold-down loss", fmt_level(st.mono_fold_down_loss_db, "dB")],
            ["Balance (left − right)", fmt_level(st.balance_db, "dB")],
        ]
        out.append(
            section(
                "Stereo",
                figure(corr_img, alt="correlation over time")
                + table(["stereo", ""], stereo_rows, numeric=[False, True]),
            )
        )
    else:
        out.append(section("Stereo", "<p>Mono file: no stereo measurements.</p>"))
    return out


def render_analysis_report(analysis: Analysis, *, plot_format: str = "png") -> str:
    """The complete HTML page of a mix analysis."""
    name = Path(analysis.path).name if analysis.path else "audio"
    return page(
        f"Mix analysis: {name}",
        analysis_sections(analysis, plot_format=plot_format),
        subtitle=analysis.path or "",
    )


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_analysis_report(
    analysis: Analysis, path: str | os.PathLike[str], *, plot_format: str = "png"
) -> None:
    """Render the analysis report and write it (atomically) to ``path``."""
    write_text_atomic(path, render_analysis_report(analysis, plot_format=plot_format))
