"""Plots for reports, drawn with matplotlib (Agg backend, imported only when a plot is made).

Every function takes plain data (arrays and small dataclasses) and returns image bytes; the
``traces`` arguments take several series so a before/after report overlays them on one plot.
:func:`data_uri` turns the bytes into a ``data:`` URI for a self-contained HTML page.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from burnish.errors import ParameterError

if TYPE_CHECKING:
    from burnish.analysis.dynamics import Envelope
    from burnish.analysis.issues import Issue

FloatArray = npt.NDArray[np.float64]

#: Trace colours, in order (colour-blind-safe Okabe-Ito palette).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
SEVERITY_COLORS = {"info": "#999999", "low": "#E69F00", "medium": "#D55E00", "high": "#B00020"}

WIDTH_IN = 10.0
DPI = 100


@dataclass(frozen=True, slots=True)
class LoudnessTrace:
    """One loudness curve: series at ``hop_s`` (dB values, ``-inf`` allowed) and the integrated."""

    label: str
    short_term_lufs: FloatArray
    momentary_lufs: FloatArray | None
    hop_s: float
    integrated_lufs: float


@dataclass(frozen=True, slots=True)
class SpectrumTrace:
    """One spectrum: fine curve and 1/3-octave band levels (dB, band-power view)."""

    label: str
    fine_freqs_hz: FloatArray
    fine_db: FloatArray
    band_centers_hz: FloatArray | None = None
    band_db: FloatArray | None = None
    dashed: bool = False


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        from burnish.errors import BurnishError

        raise BurnishError(
            "plots need matplotlib: pip install 'burnish[report]'"
        ) from None

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _figure(height_in: float) -> tuple[Any, Any]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(WIDTH_IN, height_in), dpi=DPI)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _finish(fig: Any, fmt: str) -> bytes:
    if fmt not in ("png", "svg"):
        raise ParameterError(f"fmt={fmt!r} must be 'png' or 'svg'")
    plt = _pyplot()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format=fmt, metadata={"Software": None} if fmt == "png" else None)
    plt.close(fig)
    return buf.getvalue()


def data_uri(image: bytes, fmt: str = "png") -> str:
    """``data:image/...;base64,...`` for embedding ``image`` in HTML."""
    mime = {"png": "image/png", "svg": "image/svg+xml"}.get(fmt)
    if mime is None:
        raise ParameterError(f"fmt={fmt!r} must be 'png' or 'svg'")
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def _time_axis(ax: Any, duration_s: float) -> None:
    """Ticks at a round number of seconds (1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10 min...)."""
    from matplotlib.ticker import MultipleLocator

    steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)
    step = next((s for s in steps if duration_s / s <= 10), 3600)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(_clock_formatter())


def _clock_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    def fmt(t: float, _pos: int) -> str:
        minutes, seconds = divmod(max(0.0, t), 60.0)
        return f"{int(minutes)}:{int(seconds):02d}"

    return FuncFormatter(fmt)


def waveform_plot(
    envelope: Envelope,
    *,
    issues: Sequence[Issue] = (),
    channel_names: Sequence[str] | None = None,
    fmt: str = "png",
) -> bytes:
    """Min/max envelope per channel (stacked lanes) with markers where issues were found.

    Global issues (spanning the whole file) get no marker.
    """
    fig, ax = _figure(2.6)
    channels = envelope.minimum.shape[0]
    names = list(channel_names or (["L", "R"] if channels == 2 else ["mono"]))
    cols = envelope.minimum.shape[1]
    t = np.arange(cols) * envelope.column_s
    duration = cols * envelope.column_s
    for c in range(channels):
        offset = (channels - 1 - c) * 2.2
        ax.fill_between(
            t, envelope.minimum[c] + offset, envelope.maximum[c] + offset,
            step="post", color=COLORS[0], linewidth=0,
        )
        ax.axhline(offset, color="#888888", linewidth=0.4)
        ax.text(-0.005 * duration, offset, names[c], ha="right", va="center", fontsize=8)
    for issue in issues:
        if issue.start_s <= 0.0 and issue.end_s >= duration - 0.05:
            continue
        color = SEVERITY_COLORS.get(issue.severity, "#999999")
        if issue.end_s - issue.start_s > 3 * envelope.column_s:
            ax.axvspan(issue.start_s, issue.end_s, color=color, alpha=0.15, linewidth=0)
        else:
            ax.axvline(issue.start_s, color=color, linewidth=0.8, alpha=0.8)
    ax.set_xlim(0, max(duration, 1e-3))
    ax.set_ylim(-1.1, (channels - 1) * 2.2 + 1.1)
    ax.set_yticks([])
    _time_axis(ax, duration)
    ax.set_xlabel("time")
    ax.set_title("Waveform (peak envelope); marks: findings", fontsize=10, loc="left")
    return _finish(fig, fmt)


def loudness_plot(
    traces: Sequence[LoudnessTrace],
    *,
    target_lufs: float | None = None,
    fmt: str = "png",
) -> bytes:
    """Short-term (solid) and momentary (thin) loudness over time, integrated as dashed lines."""
    if not traces:
        raise ParameterError("loudness_plot needs at least one trace")
    fig, ax = _figure(3.0)
    lows: list[float] = []
    highs: list[float] = []
    for i, tr in enumerate(traces):
        color = COLORS[i % len(COLORS)]
        st = np.where(np.isfinite(tr.short_term_lufs), tr.short_term_lufs, np.nan)
        t = (np.arange(st.size) + 1) * tr.hop_s
        if tr.momentary_lufs is not None:
            mo = np.where(np.isfinite(tr.momentary_lufs), tr.momentary_lufs, np.nan)
            ax.plot((np.arange(mo.size) + 1) * tr.hop_s, mo, color=color, linewidth=0.5, alpha=0.45)
        ax.plot(t, st, color=color, linewidth=1.5, label=f"{tr.label} short-term")
        if math.isfinite(tr.integrated_lufs):
            ax.axhline(
                tr.integrated_lufs, color=color, linestyle="--", linewidth=1.0,
                label=f"{tr.label} integrated {tr.integrated_lufs:.1f} LUFS",
            )
            lows.append(tr.integrated_lufs - 25.0)
            highs.append(tr.integrated_lufs + 8.0)
        finite = st[np.isfinite(st)]
        if finite.size:
            highs.append(float(finite.max()) + 2.0)
    if target_lufs is not None:
        ax.axhline(target_lufs, color="#444444", linestyle=":", linewidth=1.0, label=f"target {target_lufs:.1f} LUFS")
    ax.set_ylim(min(lows) if lows else -60.0, max(highs) if highs else 0.0)
    ax.set_ylabel("LUFS")
    _time_axis(ax, max(tr.short_term_lufs.size * tr.hop_s for tr in traces))
    ax.set_xlabel("time")
    ax.legend(fontsize=8, loc="lower right", framealpha=0.8)
    ax.set_title("Loudness over time (short-term 3 s; thin: momentary 400 ms)", fontsize=10, loc="left")
    return _finish(fig, fmt)


def spectrum_plot(
    traces: Sequence[SpectrumTrace],
    *,
    target: tuple[FloatArray, FloatArray, str] | None = None,
    fmt: str = "png",
) -> bytes:
    """Long-term spectra on a log-frequency axis, with a target curve ``(freqs, levels, name)``."""
    if not traces:
        raise ParameterError("spectrum_plot needs at least one trace")
    fig, ax = _figure(3.4)
    tops: list[float] = []
    for i, tr in enumerate(traces):
        color = COLORS[i % len(COLORS)]
        style = "--" if tr.dashed else "-"
        fine = np.where(tr.fine_db > -150.0, tr.fine_db, np.nan)
        ax.semilogx(tr.fine_freqs_hz, fine, color=color, linestyle=style, linewidth=1.3, label=tr.label)
        if tr.band_centers_hz is not None and tr.band_db is not None:
            bands = np.where(tr.band_db > -150.0, tr.band_db, np.nan)
            ax.semilogx(tr.band_centers_hz, bands, "o", color=color, markersize=3)
        if np.any(np.isfinite(fine)):
            tops.append(float(np.nanmax(fine)))
    if target is not None:
        f, lv, name = target
        ax.semilogx(f, lv, color="#333333", linewidth=2.2, alpha=0.35, label=f"target: {name}")
        ax.fill_between(f, lv - 3.0, lv + 3.0, color="#333333", alpha=0.07, linewidth=0)
        tops.append(float(np.max(lv)))
    top = max(tops) if tops else 0.0
    ax.set_ylim(top - 60.0, top + 6.0)
    ax.set_xlim(20.0, 20000.0)
    ax.set_xticks([31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000])
    ax.set_xticklabels(["31", "63", "125", "250", "500", "1k", "2k", "4k", "8k", "16k"])
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("dB per 1/3 octave")
    ax.legend(fontsize=8, loc="lower left", framealpha=0.8)
    ax.set_title("Long-term spectrum (1/3-octave band power; band ±3 dB around the target)", fontsize=10, loc="left")
    return _finish(fig, fmt)


def correlation_plot(
    series: Sequence[tuple[str, FloatArray]], *, step_s: float, fmt: str = "png"
) -> bytes:
    """L/R correlation over time, -1..+1, with the out-of-phase zone shaded."""
    fig, ax = _figure(2.2)
    for i, (label, values) in enumerate(series):
        v = np.asarray(values, dtype=np.float64)
        t = (np.arange(v.size) + 0.5) * step_s
        ax.plot(t, v, color=COLORS[i % len(COLORS)], linewidth=1.2, label=label)
    ax.axhspan(-1.0, 0.0, color="#D55E00", alpha=0.08, linewidth=0)
    ax.axhline(0.0, color="#888888", linewidth=0.6)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("correlation")
    _time_axis(ax, max((len(v) * step_s for _, v in series), default=1.0))
    ax.set_xlabel("time")
    if len(series) > 1:
        ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Stereo correlation over time (+1 mono, 0 wide, below 0 out of phase)", fontsize=10, loc="left")
    return _finish(fig, fmt)
