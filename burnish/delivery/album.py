"""Albums: several mixes mastered as one coherent record, sequenced into a CD programme.

:func:`master_album` takes an :class:`AlbumProject` (a TOML file, see docs/album.md) and writes
into ``out_dir``:

* ``album.wav`` — the whole disc, 44.1 kHz / 16-bit, from 00:00:00 (pregap of track 1
  included): gaps of digital silence, gapless joins, equal-power crossfades, fades; seeded TPDF
  dither applied once, last, over the music (gaps stay exact digital zero);
* ``album.cue`` — the CUE sheet (:mod:`burnish.delivery.cue`);
* ``ddp/`` — the DDP 2.00 image (:mod:`burnish.delivery.ddp`);
* ``tracks/`` — per-track streaming deliverables with album ReplayGain tags
  (:func:`burnish.delivery.deliver.deliver`);
* ``album.json`` — every decision and measurement.

How: each track is analysed once; one tonal target is shared (the album's average spectrum, or
the target's curve) and reached by the assistant's own EQ logic
(:func:`burnish.assistant.decide.decide`); loudness follows album logic (:func:`album_loudness`);
each track is rendered by :func:`burnish.assistant.render.render_master` at 44.1 kHz float
with its own target loudness, verified, then sequenced. Red Book rules are checked from the
file headers before anything is rendered, and again on the finished layout; everything is
built in a hidden work folder and renamed into place at the end, so after an error the output
folder holds nothing new.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from burnish.delivery.redbook import (
    CD_SAMPLE_RATE,
    MIN_FIRST_PREGAP_S,
    SAMPLES_PER_FRAME,
    DiscLayout,
    TrackLayout,
    check_codes,
    check_layout,
    check_track_count,
)
from burnish.errors import DeliveryError, ParameterError

Array = npt.NDArray[np.float64]
Progress = Callable[[str, float], None]

MODES = ("album", "tracks")
TONAL = ("album", "curve")
#: Headroom below the target's ceiling for each track render: the album's 16-bit requantisation
#: and crossfade sums must not push the disc's true peak over the ceiling.
CEILING_MARGIN_DB = 0.1
DEFAULT_GAP_S = 2.0
DEFAULT_MAX_SPREAD_LU = 8.0
RECORD_FORMAT = "burnish-album"

_ALBUM_KEYS = {
    "title", "performer", "artist", "songwriter", "composer", "arranger", "message", "upc",
    "ean", "year", "genre", "mode", "target", "lufs", "ceiling_dbtp", "max_spread_lu", "tonal",
    "style", "intensity", "dither_seed", "deliver",
}
_TRACK_KEYS = {
    "file", "title", "performer", "songwriter", "composer", "arranger", "message", "isrc",
    "gap_before_s", "crossfade_s", "fade_in_s", "fade_out_s", "loudness_offset_lu",
}


# -------------------------------------------------------------------------------------------
# the project
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlbumTrack:
    """One track of the album as the project file describes it."""

    file: str
    title: str = ""
    performer: str = ""
    songwriter: str = ""
    composer: str = ""
    arranger: str = ""
    message: str = ""
    isrc: str = ""
    gap_before_s: float = DEFAULT_GAP_S
    crossfade_s: float = 0.0  # equal-power crossfade into the NEXT track
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    loudness_offset_lu: float = 0.0


@dataclass(frozen=True)
class AlbumProject:
    """An album: metadata, mastering choices, tracks (and an optional hidden pregap track)."""

    tracks: tuple[AlbumTrack, ...]
    title: str = ""
    performer: str = ""
    songwriter: str = ""
    composer: str = ""
    arranger: str = ""
    message: str = ""
    upc: str = ""
    year: str = ""
    genre: str = ""
    mode: str = "album"
    target: str = "spotify"
    lufs: float | None = None
    ceiling_dbtp: float | None = None
    max_spread_lu: float = DEFAULT_MAX_SPREAD_LU
    tonal: str = "album"
    style: str = "balanced"
    intensity: str = "medium"
    dither_seed: int = 0
    deliver: tuple[str, ...] = ("streaming",)
    hidden: AlbumTrack | None = None  # HTOA: audio in the pregap of track 1
    base_dir: str = "."

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ParameterError(f"mode={self.mode!r} must be one of {', '.join(MODES)}")
        if self.tonal not in TONAL:
            raise ParameterError(f"tonal={self.tonal!r} must be one of {', '.join(TONAL)}")
        if not 0.0 < self.max_spread_lu <= 40.0:
            raise ParameterError(f"max_spread_lu={self.max_spread_lu} must be in (0, 40]")
        if isinstance(self.dither_seed, bool) or self.dither_seed < 0:
            raise ParameterError(f"dither_seed={self.dither_seed!r} must be a whole number >= 0")

    def path_of(self, track: AlbumTrack) -> Path:
        p = Path(track.file)
        return p if p.is_absolute() else Path(self.base_dir) / p


def _num(value: Any, key: str, where: str, *, low: float = 0.0, high: float = 600.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{where}: {key}={value!r} must be a number")
    if not low <= float(value) <= high:
        raise ParameterError(f"{where}: {key}={value} must be in [{low:g}, {high:g}]")
    return float(value)


def _str(value: Any, key: str, where: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key in ("year", "upc", "ean"):
        return str(value)
    if not isinstance(value, str):
        raise ParameterError(f"{where}: {key}={value!r} must be text")
    return value


def _track_from(data: Any, where: str, *, gap_default: float | None) -> tuple[AlbumTrack, bool]:
    if not isinstance(data, dict):
        raise ParameterError(f"{where} must be a table")
    unknown = sorted(set(data) - _TRACK_KEYS)
    if unknown:
        raise ParameterError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TRACK_KEYS))})")
    if "file" not in data:
        raise ParameterError(f"{where}: 'file' is missing")
    kw: dict[str, Any] = {}
    for key in ("file", "title", "performer", "songwriter", "composer", "arranger", "message", "isrc"):
        if key in data:
            kw[key] = _str(data[key], key, where)
    for key in ("crossfade_s", "fade_in_s", "fade_out_s", "gap_before_s"):
        if key in data:
            kw[key] = _num(data[key], key, where)
    if "loudness_offset_lu" in data:
        kw["loudness_offset_lu"] = _num(data["loudness_offset_lu"], "loudness_offset_lu", where,
                                        low=-20.0, high=20.0)
    explicit_gap = "gap_before_s" in data
    if not explicit_gap and gap_default is not None:
        kw["gap_before_s"] = gap_default
    return AlbumTrack(**kw), explicit_gap


def project_from_dict(data: dict[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                      where: str = "project") -> AlbumProject:
    """An :class:`AlbumProject` from parsed TOML (``[album]``, ``[[track]]``, ``[hidden_track]``)."""
    unknown = sorted(set(data) - {"album", "track", "hidden_track"})
    if unknown:
        raise ParameterError(f"{where}: unknown table {unknown[0]!r} (known: album, track, hidden_track)")
    album = data.get("album", {})
    if not isinstance(album, dict):
        raise ParameterError(f"{where}: [album] must be a table")
    bad = sorted(set(album) - _ALBUM_KEYS)
    if bad:
        raise ParameterError(f"{where}: [album] unknown key {bad[0]!r} (known: {', '.join(sorted(_ALBUM_KEYS))})")
    raw_tracks = data.get("track", [])
    if not isinstance(raw_tracks, list) or not raw_tracks:
        raise ParameterError(f"{where}: no [[track]] tables (an album needs at least one track)")
    # the count is a Red Book rule: fail before reading anything else
    check_track_count(len(raw_tracks))
    tracks: list[AlbumTrack] = []
    for i, raw in enumerate(raw_tracks, 1):
        prev_xfade = tracks[-1].crossfade_s if tracks else 0.0
        default = DEFAULT_GAP_S if i == 1 or prev_xfade == 0.0 else 0.0
        track, explicit = _track_from(raw, f"{where}: track {i}", gap_default=default)
        if explicit and i > 1 and prev_xfade > 0 and track.gap_before_s > 0:
            raise ParameterError(
                f"{where}: track {i} has gap_before_s={track.gap_before_s:g} but track {i - 1}"
                f" crossfades into it (crossfade_s={prev_xfade:g}); use one or the other"
            )
        tracks.append(track)
    if tracks[-1].crossfade_s > 0:
        raise ParameterError(f"{where}: the last track has crossfade_s but nothing follows it")
    hidden = None
    if "hidden_track" in data:
        hidden, _ = _track_from(data["hidden_track"], f"{where}: [hidden_track]", gap_default=0.0)
    kw: dict[str, Any] = {}
    for key in ("title", "songwriter", "composer", "arranger", "message", "genre", "mode",
                "target", "tonal", "style", "intensity"):
        if key in album:
            kw[key] = _str(album[key], key, where)
    if "performer" in album or "artist" in album:
        kw["performer"] = _str(album.get("performer", album.get("artist")), "performer", where)
    if "upc" in album or "ean" in album:
        kw["upc"] = _str(album.get("upc", album.get("ean")), "upc", where)
    if "year" in album:
        kw["year"] = _str(album["year"], "year", where)
    if "lufs" in album:
        kw["lufs"] = _num(album["lufs"], "lufs", where, low=-40.0, high=-3.0)
    if "ceiling_dbtp" in album:
        kw["ceiling_dbtp"] = _num(album["ceiling_dbtp"], "ceiling_dbtp", where, low=-12.0, high=0.0)
    if "max_spread_lu" in album:
        kw["max_spread_lu"] = _num(album["max_spread_lu"], "max_spread_lu", where, low=0.1, high=40.0)
    if "dither_seed" in album:
        seed = album["dither_seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ParameterError(f"{where}: dither_seed={seed!r} must be a whole number >= 0")
        kw["dither_seed"] = seed
    if "deliver" in album:
        dl = album["deliver"]
        if isinstance(dl, str):
            dl = [p.strip() for p in dl.split(",") if p.strip()]
        if not isinstance(dl, list) or not all(isinstance(x, str) for x in dl):
            raise ParameterError(f"{where}: deliver={dl!r} must be a list of destination names")
        kw["deliver"] = tuple(dl)
    return AlbumProject(tracks=tuple(tracks), hidden=hidden, base_dir=os.fspath(base_dir), **kw)


def load_project(path: str | os.PathLike[str]) -> AlbumProject:
    """Read an album project file (TOML); track files are relative to its folder."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParameterError(f"{p}: no such project file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{p}: can't read the project file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{p}: not valid TOML ({exc})") from None
    return project_from_dict(data, base_dir=p.resolve().parent, where=str(p))


# -------------------------------------------------------------------------------------------
# album loudness
# -------------------------------------------------------------------------------------------
def album_loudness(
    track_lufs: Sequence[float], *, target_lufs: float, mode: str = "album",
    max_spread_lu: float = DEFAULT_MAX_SPREAD_LU, offsets_lu: Sequence[float] | None = None,
) -> tuple[list[float], list[str]]:
    """Target loudness of every track, and the reasons.

    ``"tracks"``: every track at ``target_lufs``. ``"album"``: the loudest track reaches the
    target and the others keep their loudness differences to it (a ballad stays quieter than
    the single); if the spread between loudest and quietest exceeds ``max_spread_lu`` the
    differences are scaled down proportionally so the spread equals it (order kept). Each
    track's ``loudness_offset_lu`` is added last. Silent tracks (-inf) get the target.
    """
    if mode not in MODES:
        raise ParameterError(f"mode={mode!r} must be one of {', '.join(MODES)}")
    offsets = list(offsets_lu) if offsets_lu is not None else [0.0] * len(track_lufs)
    finite = [x for x in track_lufs if math.isfinite(x)]
    notes: list[str] = []
    if mode == "tracks" or not finite:
        notes.append(f"tracks mode: every track mastered to {target_lufs:.1f} LUFS")
        return [target_lufs + o for o in offsets], notes
    loudest = max(finite)
    spread = loudest - min(finite)
    scale = 1.0
    if spread > max_spread_lu:
        scale = max_spread_lu / spread
        notes.append(
            f"the tracks' loudness spread is {spread:.1f} LU, over the bound of"
            f" {max_spread_lu:.1f} LU: differences scaled by {scale:.2f} (order kept)"
        )
    else:
        notes.append(f"loudness spread {spread:.1f} LU kept (bound {max_spread_lu:.1f} LU)")
    notes.append(f"the loudest track ({loudest:.1f} LUFS in the mix) is mastered to {target_lufs:.1f} LUFS")
    out = []
    for lufs, off in zip(track_lufs, offsets):
        rel = (lufs - loudest) * scale if math.isfinite(lufs) else 0.0
        out.append(target_lufs + rel + off)
    return out, notes


# -------------------------------------------------------------------------------------------
# sequencing plan (positions only; no audio)
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """Where one track's audio goes in the album stream (samples at 44.1 kHz)."""

    audio_start: int
    num_samples: int
    index00: int | None
    index01: int
    fade_in: int
    fade_out: int
    crossfade_in: int  # samples overlapped with the previous track
    crossfade_out: int  # samples overlapped with the next track

    @property
    def audio_end(self) -> int:
        return self.audio_start + self.num_samples


def _ceil_frame(samples: int) -> int:
    return -(-samples // SAMPLES_PER_FRAME) * SAMPLES_PER_FRAME


def _round_frame(samples: int) -> int:
    return int(round(samples / SAMPLES_PER_FRAME)) * SAMPLES_PER_FRAME


def plan_sequence(
    tracks: Sequence[AlbumTrack], num_samples: Sequence[int], *, hidden_samples: int = 0,
) -> tuple[list[Placement], int, list[str]]:
    """Place every track on the disc; returns placements, the total length and warnings.

    Track 1's pregap is ``max(2 s, gap_before_s)`` (plus the hidden track, which starts at
    00:00:00); a gap pads the previous track's end with silence to a frame boundary and then
    adds whole frames, so INDEX 00 and INDEX 01 both fall on frame boundaries. A crossfade
    overlaps the tracks (INDEX 01 on the first frame boundary at or after the overlap starts);
    a gapless join keeps the audio untouched and puts INDEX 01 on the nearest frame boundary.
    """
    rate = CD_SAMPLE_RATE
    out: list[Placement] = []
    warnings: list[str] = []
    prev_end = 0
    for i, (t, n) in enumerate(zip(tracks, num_samples)):
        fade_in = int(round(t.fade_in_s * rate))
        fade_out = int(round(t.fade_out_s * rate))
        xf_out = int(round(t.crossfade_s * rate)) if i + 1 < len(tracks) else 0
        xf_in = out[-1].crossfade_out if out else 0
        if xf_in + xf_out > n:
            raise ParameterError(
                f"track {i + 1}: its crossfades ({xf_in / rate:.2f} s in, {xf_out / rate:.2f} s out)"
                f" are longer than the track ({n / rate:.2f} s)"
            )
        if fade_in > n or fade_out > n:
            raise ParameterError(f"track {i + 1}: a fade is longer than the track ({n / rate:.2f} s)")
        if i == 0:
            if t.gap_before_s < MIN_FIRST_PREGAP_S - 1e-9:
                raise DeliveryError(
                    f"track 1: gap_before_s={t.gap_before_s:g}: Red Book needs at least"
                    f" {MIN_FIRST_PREGAP_S:g} s of pregap before track 1"
                )
            pregap = max(_ceil_frame(hidden_samples + int(round(t.gap_before_s * rate))) if hidden_samples
                         else 0, _ceil_frame(int(round(t.gap_before_s * rate))))
            out.append(Placement(pregap, n, 0, pregap, fade_in, fade_out, 0, xf_out))
        elif xf_in:
            start = prev_end - xf_in
            idx = _ceil_frame(start)
            out.append(Placement(start, n, None, idx, fade_in, fade_out, xf_in, xf_out))
        elif t.gap_before_s > 0:
            idx00 = _ceil_frame(prev_end)
            frames = max(1, int(round(t.gap_before_s * 75)))
            start = idx00 + frames * SAMPLES_PER_FRAME
            out.append(Placement(start, n, idx00, start, fade_in, fade_out, 0, xf_out))
        else:
            idx = _round_frame(prev_end)
            if idx != prev_end:
                warnings.append(
                    f"track {i + 1}: gapless join at sample {prev_end}; its INDEX 01 sits on the"
                    f" nearest CD frame, {(idx - prev_end) / rate * 1000:+.1f} ms from the join"
                )
            out.append(Placement(prev_end, n, None, idx, fade_in, fade_out, 0, xf_out))
        prev_end = out[-1].audio_end
    return out, _ceil_frame(prev_end), warnings


def disc_layout(project: AlbumProject, placements: Sequence[Placement], total_samples: int,
                *, warnings: Sequence[str] = ()) -> DiscLayout:
    """The :class:`DiscLayout` (indexes, codes, CD-TEXT) of a sequencing plan."""
    isrcs, catalog = check_codes([t.isrc for t in project.tracks], project.upc)
    tracks = []
    for i, (t, p) in enumerate(zip(project.tracks, placements)):
        if i + 1 < len(placements):
            nxt = placements[i + 1]
            end = nxt.index00 if nxt.index00 is not None else nxt.index01
        else:
            end = total_samples
        tracks.append(TrackLayout(
            number=i + 1, start_samples=p.index01, end_samples=end,
            pregap_start_samples=p.index00, isrc=isrcs[i], title=t.title,
            performer=t.performer or project.performer, songwriter=t.songwriter,
            composer=t.composer, arranger=t.arranger, message=t.message,
        ))
    return DiscLayout(
        tracks=tuple(tracks), total_samples=total_samples, catalog=catalog, title=project.title,
        performer=project.performer, songwriter=project.songwriter, composer=project.composer,
        arranger=project.arranger, message=project.message, genre=project.genre,
        date=project.year, warnings=tuple(warnings),
    )


def _cd_length(num_frames: int, sample_rate: int) -> int:
    """Samples at 44.1 kHz that a render of ``num_frames`` at ``sample_rate`` will hold."""
    if sample_rate == CD_SAMPLE_RATE:
        return num_frames
    return int(math.ceil(num_frames * CD_SAMPLE_RATE / sample_rate))


def preflight(project: AlbumProject) -> tuple[DiscLayout, list[Placement]]:
    """Every Red Book check possible from the file headers, before any audio is decoded:
    track count, codes, track lengths, the first pregap and the total running time."""
    from burnish.io.files import audio_info

    check_track_count(len(project.tracks))
    check_codes([t.isrc for t in project.tracks], project.upc)
    lengths = []
    for t in project.tracks:
        info = audio_info(project.path_of(t))
        lengths.append(_cd_length(info.num_frames, info.sample_rate))
    hidden = 0
    if project.hidden is not None:
        info = audio_info(project.path_of(project.hidden))
        hidden = _cd_length(info.num_frames, info.sample_rate)
    placements, total, warnings = plan_sequence(project.tracks, lengths, hidden_samples=hidden)
    layout = disc_layout(project, placements, total, warnings=warnings)
    extra = check_layout(layout)
    return replace(layout, warnings=layout.warnings + tuple(extra)), placements


# -------------------------------------------------------------------------------------------
# sequencing the audio
# -------------------------------------------------------------------------------------------
def _fade_gain(positions: npt.NDArray[np.int64], n: int, fade_in: int, fade_out: int) -> Array:
    """Raised-cosine fade-in/out gains for sample ``positions`` of a track of ``n`` samples."""
    g = np.ones(positions.shape[0])
    if fade_in:
        sel = positions < fade_in
        g[sel] *= 0.5 - 0.5 * np.cos(np.pi * (positions[sel] + 0.5) / fade_in)
    if fade_out:
        k = positions - (n - fade_out)
        sel = k >= 0
        g[sel] *= 0.5 + 0.5 * np.cos(np.pi * (k[sel] + 0.5) / fade_out)
    return g


def _track_blocks(path: Path, block: int = 1 << 16) -> Iterator[Array]:
    from burnish.io.files import AudioReader

    with AudioReader(path) as reader:
        for b in reader.blocks(block):
            out = np.repeat(b, 2, axis=0) if b.shape[0] == 1 else b
            yield np.asarray(out, dtype=np.float64)


def limit_region(audio: Array, *, ceiling_dbtp: float) -> tuple[Array, float]:
    """Bring a crossfade region's true peak under ``ceiling_dbtp`` with a smooth gain dip
    (a 10 ms look-around envelope); returns the audio and the deepest dip in dB."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

    from burnish.analysis.true_peak import true_peak_dbtp_per_channel

    if audio.shape[1] == 0:
        return audio, 0.0
    out = audio
    dip_db = 0.0
    target_db = ceiling_dbtp - 0.05
    width = max(3, int(0.01 * CD_SAMPLE_RATE))
    for _ in range(6):
        tp = max(true_peak_dbtp_per_channel(out, sample_rate=CD_SAMPLE_RATE))
        if tp <= target_db:
            break
        level = 10 ** ((target_db - max(tp - float(20 * np.log10(np.max(np.abs(out)) + 1e-30)), 0.0)) / 20)
        env = maximum_filter1d(np.max(np.abs(out), axis=0), size=width)
        need = np.minimum(1.0, level / np.maximum(env, 1e-12))
        gain = uniform_filter1d(minimum_filter1d(need, size=width), size=width)
        gain = np.minimum(gain, need.max())
        out = out * gain
        dip_db = min(dip_db, float(20 * np.log10(max(float(gain.min()), 1e-12))))
    return out, dip_db


@dataclass
class SequenceResult:
    total_samples: int
    integrated_lufs: float
    true_peak_dbtp: float
    crossfade_dips_db: list[float] = field(default_factory=list)


def sequence_album(
    track_paths: Sequence[Path], placements: Sequence[Placement], total_samples: int,
    out_path: str | os.PathLike[str], *, ceiling_dbtp: float, dither_seed: int = 0,
    hidden_path: Path | None = None,
) -> SequenceResult:
    """Write the album stream (44.1 kHz / 16-bit WAV) from 44.1 kHz float track renders.

    Silence is written as exact zeros; music (including fades and crossfades) goes through one
    seeded TPDF :class:`~burnish.dsp.dither.Dither`, in order, applied last. The stream is
    measured as written (BS.1770 integrated loudness and true peak of the whole album).
    """
    from burnish.analysis.loudness import LoudnessMeter
    from burnish.dsp.dither import Dither, DitherParams
    from burnish.io.files import AudioWriter

    dither = Dither(DitherParams(bit_depth=16, shape="tpdf", seed=dither_seed),
                    sample_rate=CD_SAMPLE_RATE, num_channels=2)
    meter = LoudnessMeter(sample_rate=CD_SAMPLE_RATE, num_channels=2)
    dips: list[float] = []
    cursor = 0
    with AudioWriter(out_path, sample_rate=CD_SAMPLE_RATE, num_channels=2, bit_depth=16) as writer:

        def silence(n: int) -> None:
            nonlocal cursor
            if n < 0:
                raise DeliveryError(f"internal error: the sequence overlaps at sample {cursor}")
            step = 1 << 16
            while n > 0:
                k = min(n, step)
                z = np.zeros((2, k))
                writer.write(z)
                meter.update(z)
                cursor += k
                n -= k

        def music(block: Array) -> None:
            nonlocal cursor
            if block.shape[1] == 0:
                return
            q = dither.process(np.ascontiguousarray(block))
            writer.write(q)
            meter.update(q)
            cursor += block.shape[1]

        if hidden_path is not None:
            for b in _track_blocks(hidden_path):
                music(b)
        carry = np.zeros((2, 0))
        for path, p in zip(track_paths, placements):
            if p.crossfade_in == 0:
                silence(p.audio_start - cursor)
            head = np.zeros((2, 0))
            tail_parts: list[Array] = []
            pos = 0
            for b in _track_blocks(path):
                n = b.shape[1]
                idx = np.arange(pos, pos + n)
                b = b * _fade_gain(idx, p.num_samples, p.fade_in, p.fade_out)
                cut_head = int(np.clip(p.crossfade_in - pos, 0, n))
                cut_tail = int(np.clip(p.num_samples - p.crossfade_out - pos, cut_head, n))
                if cut_head:
                    head = np.concatenate([head, b[:, :cut_head]], axis=1)
                    if head.shape[1] == p.crossfade_in:
                        k = np.arange(p.crossfade_in)
                        theta = 0.5 * np.pi * (k + 0.5) / p.crossfade_in
                        mixed = carry * np.cos(theta) + head * np.sin(theta)
                        mixed, dip = limit_region(mixed, ceiling_dbtp=ceiling_dbtp)
                        dips.append(round(dip, 2))
                        music(mixed)
                music(b[:, cut_head:cut_tail])
                if cut_tail < n:
                    tail_parts.append(b[:, cut_tail:])
                pos += n
            if pos != p.num_samples:
                raise DeliveryError(f"{path}: rendered {pos} samples, expected {p.num_samples}")
            carry = np.concatenate(tail_parts, axis=1) if tail_parts else np.zeros((2, 0))
        silence(total_samples - cursor)
    res = meter.result()
    return SequenceResult(cursor, float(res.integrated_lufs), float(res.true_peak_dbtp), dips)


# -------------------------------------------------------------------------------------------
# the whole job
# -------------------------------------------------------------------------------------------
def _shared_curve(project: AlbumProject, profiles: list[Any], target: Any) -> list[Array]:
    """Per-track tonal target (dB per band): the album's average spectrum or the target curve."""
    from burnish.assistant.master import curve_levels
    from burnish.assistant.profile import average_profiles

    if project.tonal == "curve":
        return [np.asarray(curve_levels(target.curve, p), dtype=np.float64) for p in profiles]
    avg = average_profiles(profiles) if len(profiles) > 1 else profiles[0]
    x = np.log2(np.maximum(avg.band_centers_hz, 1.0))
    out = []
    for p in profiles:
        xp = np.log2(np.maximum(p.band_centers_hz, 1.0))
        out.append(np.interp(xp, x, avg.mid_db))
    return out


def _safe(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_ " else "_" for c in text).strip().replace(" ", "_")
    return cleaned[:60] or "track"


def _r(x: float) -> float | None:
    return round(float(x), 3) if math.isfinite(x) else None


def master_album(project: AlbumProject, out_dir: str | os.PathLike[str], *,
                 progress: Progress | None = None, ddp: bool = True) -> dict[str, Any]:
    """Master, sequence and deliver ``project`` into ``out_dir``; returns the album record."""
    from burnish.assistant.decide import MasterSettings, decide
    from burnish.assistant.master import analyze_for_master
    from burnish.assistant.render import render_master
    from burnish.assistant.targets import custom_target, load_target
    from burnish.assistant.verify import verify_master
    from burnish.delivery.cue import write_cue
    from burnish.delivery.ddp import write_ddp

    say: Progress = progress or (lambda stage, frac: None)
    t0 = time.perf_counter()
    target = custom_target(lufs=project.lufs, ceiling_dbtp=project.ceiling_dbtp,
                           base=load_target(project.target))
    settings = MasterSettings(target=target, style=project.style, intensity=project.intensity)
    layout, placements = preflight(project)  # Red Book from headers: nothing written yet
    out = Path(out_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".burnish-album-", dir=out))
    moved: list[Path] = []
    try:
        # 1. one analysis per track
        all_tracks = list(project.tracks) + ([project.hidden] if project.hidden else [])
        profiles = []
        for i, t in enumerate(all_tracks):
            say("analysing", i / len(all_tracks))
            _, prof = analyze_for_master(project.path_of(t), target.curve)
            profiles.append(prof)
        # 2. shared tonal target, album loudness
        curves = _shared_curve(project, profiles, target)
        lufs_targets, loud_notes = album_loudness(
            [p.integrated_lufs for p in profiles], target_lufs=target.loudness_for(2),
            mode=project.mode, max_spread_lu=project.max_spread_lu,
            offsets_lu=[t.loudness_offset_lu for t in all_tracks])
        ceiling = target.ceiling_dbtp - CEILING_MARGIN_DB
        # 3. render and verify each track (44.1 kHz float: dither comes once, at the end)
        renders: list[Path] = []
        track_records = []
        for i, (t, prof, curve, lufs) in enumerate(zip(all_tracks, profiles, curves, lufs_targets)):
            say(f"mastering track {i + 1}", i / len(all_tracks))
            plan = decide(prof, settings, curve_db=curve)
            plan.target_lufs = lufs
            plan.ceiling_dbtp = ceiling
            plan.output_sample_rate = CD_SAMPLE_RATE
            plan.bit_depth = 32
            path = work / f"track{i + 1:02d}.wav"
            res = render_master(project.path_of(t), plan, path, work_dir=work / f"w{i + 1:02d}")
            ver = verify_master(
                path, target_lufs=lufs, ceiling_dbtp=ceiling,
                own_integrated_lufs=res.output.integrated_lufs,
                reachable=res.reachable,
                shortfall_lu=res.shortfall_lu, sample_rate=CD_SAMPLE_RATE, bit_depth=32,
                tolerance_lu=target.tolerance_lu)
            renders.append(path)
            track_records.append({
                "file": os.fspath(project.path_of(t)),
                "title": t.title,
                "hidden": t is project.hidden,
                "mix_lufs": _r(prof.integrated_lufs),
                "mix_true_peak_dbtp": _r(prof.true_peak_dbtp),
                "target_lufs": _r(lufs),
                "mastered_lufs": _r(res.output.integrated_lufs),
                "mastered_true_peak_dbtp": _r(ver.true_peak_dbtp),
                "reachable": res.reachable,
                "shortfall_lu": _r(res.shortfall_lu),
                "limiting_db": _r(res.limiting_db),
                "decisions": [d.to_dict() for d in plan.decisions],
                "verification": ver.to_dict(),
            })
        hidden_render = renders.pop() if project.hidden else None
        # 4. sequence with the real lengths, check the final layout
        from burnish.io.files import audio_info

        lengths = [audio_info(p).num_frames for p in renders]
        hidden_n = audio_info(hidden_render).num_frames if hidden_render else 0
        placements, total, seq_warn = plan_sequence(project.tracks, lengths, hidden_samples=hidden_n)
        layout = disc_layout(project, placements, total, warnings=seq_warn)
        warnings = list(layout.warnings) + check_layout(layout)
        say("sequencing", 0.0)
        seq = sequence_album(renders, placements, total, work / "album.wav",
                             ceiling_dbtp=target.ceiling_dbtp - 0.02,
                             dither_seed=project.dither_seed, hidden_path=hidden_render)
        from burnish.io.ffmeter import ffmpeg_ebur128

        ind = ffmpeg_ebur128(work / "album.wav")
        write_cue(layout, work / "album.cue", file_name="album.wav")
        if ddp:
            say("DDP image", 0.0)
            write_ddp(layout, work / "album.wav", work / "ddp", master_id=project.title[:48])
        # 5. per-track streaming deliverables with album ReplayGain
        deliverables = _deliver_tracks(project, renders, seq.integrated_lufs, work / "tracks") \
            if project.deliver else []
        record = {
            "format": RECORD_FORMAT,
            "version": 1,
            "project": {"title": project.title, "performer": project.performer,
                        "mode": project.mode, "tonal": project.tonal, "target": target.to_dict(),
                        "max_spread_lu": project.max_spread_lu, "upc": layout.catalog,
                        "year": project.year, "genre": project.genre},
            "loudness": {"notes": loud_notes, "ceiling_dbtp": target.ceiling_dbtp,
                         "track_render_ceiling_dbtp": _r(ceiling)},
            "tracks": [],
            "album": {
                "file": "album.wav", "cue": "album.cue", "ddp": "ddp" if ddp else None,
                "sample_rate": CD_SAMPLE_RATE, "bit_depth": 16, "dither": "tpdf",
                "dither_seed": project.dither_seed,
                "total_samples": total, "duration_s": round(total / CD_SAMPLE_RATE, 3),
                "integrated_lufs": _r(seq.integrated_lufs),
                "true_peak_dbtp": _r(seq.true_peak_dbtp),
                "independent_integrated_lufs": _r(ind.integrated_lufs),
                "independent_true_peak_dbtp": _r(ind.true_peak_dbtp),
                "true_peak_passed": max(seq.true_peak_dbtp, ind.true_peak_dbtp) <= target.ceiling_dbtp,
                "crossfade_dips_db": seq.crossfade_dips_db,
            },
            "warnings": warnings,
            "elapsed_s": 0.0,
        }
        for rec, tl in zip(track_records, layout.tracks):
            rec.update({"number": tl.number, "isrc": tl.isrc,
                        "index00_samples": tl.pregap_start_samples,
                        "index01_samples": tl.start_samples, "end_samples": tl.end_samples,
                        "duration_s": round(tl.duration_s, 3)})
        record["tracks"] = track_records[: len(layout.tracks)]
        record["hidden_track"] = track_records[len(layout.tracks)] if project.hidden else None
        record["deliverables"] = deliverables
        record["elapsed_s"] = round(time.perf_counter() - t0, 2)
        (work / "album.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        # 6. into place
        for name in ("album.wav", "album.cue", "ddp", "tracks", "album.json"):
            src = work / name
            if src.exists():
                dst = out / name
                if dst.is_dir():
                    shutil.rmtree(dst)
                os.replace(src, dst)
                moved.append(dst)
        return record
    except BaseException:
        for m in moved:
            shutil.rmtree(m, ignore_errors=True) if m.is_dir() else m.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _deliver_tracks(project: AlbumProject, renders: Sequence[Path], album_lufs: float,
                    out: Path) -> list[dict[str, Any]]:
    """Streaming deliverables per track (burnish.delivery.deliver) with album ReplayGain 2.0:
    album gain = -18 LUFS - the album's integrated loudness, album peak = the highest track
    peak. Files land in ``out``."""
    from burnish.delivery.deliver import deliver
    from burnish.io.metadata import Metadata, write_tags

    out.mkdir(parents=True, exist_ok=True)
    made = []
    n = len(project.tracks)
    for i, (t, path) in enumerate(zip(project.tracks, renders), 1):
        md = Metadata(title=t.title or None, artist=(t.performer or project.performer) or None,
                      album=project.title or None, album_artist=project.performer or None,
                      track_number=i, track_total=n, date=project.year or None,
                      genre=project.genre or None, isrc=t.isrc or None,
                      barcode=project.upc or None)
        results = deliver(path, list(project.deliver), out_dir=out, metadata=md,
                          stem=f"{i:02d}-{_safe(t.title or f'track{i}')}",
                          dither_seed=project.dither_seed)
        made.append((md, results))
    album_gain = -18.0 - album_lufs if math.isfinite(album_lufs) else None
    records = []
    for md, results in made:
        album_peak = max((r.replaygain_track_peak or 0.0) for _, rs in made for r in rs)
        for r in results:
            tagged = replace(md, replaygain_track_gain_db=r.replaygain_track_gain_db,
                             replaygain_track_peak=r.replaygain_track_peak,
                             replaygain_album_gain_db=None if album_gain is None else round(album_gain, 2),
                             replaygain_album_peak=round(album_peak, 6))
            write_tags(r.path, tagged)
            d = r.to_dict()
            d["path"] = os.path.relpath(r.path, out.parent)
            d["replaygain_album_gain_db"] = tagged.replaygain_album_gain_db
            d["replaygain_album_peak"] = tagged.replaygain_album_peak
            records.append(d)
    return records
