"""Red Book (IEC 60908, CD-DA) rules for an album master, checked before anything is written.

A CD holds 44.1 kHz / 16-bit stereo PCM, addressed in *CD frames* (sectors) of 588 stereo
samples: 75 frames a second, times written ``MM:SS:FF``. The rules burnish enforces:

* 1 to 99 tracks;
* every track at least 4 s long (from its INDEX 01 to the next track's first index);
* the whole programme, including the pregap of track 1, under 79:57 (79 min 57 s — the common
  plant limit for 80-minute discs; 74 min discs are not assumed);
* at least 2 s (150 frames) of pregap before track 1 (hidden audio in it is allowed: HTOA);
* every index on a frame boundary (a multiple of 588 samples from the start of the disc);
* ISRCs (``CCXXXYYNNNNN``) and the UPC/EAN catalogue number valid, with the GS1 check digit.

Violations raise :class:`~burnish.errors.DeliveryError` with one clear line; things that are legal
but unusual (a gapless join whose marker had to move, a very long pregap, a track over 20 min)
come back as warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from burnish.errors import DeliveryError
from burnish.io.metadata import normalize_barcode, normalize_isrc

CD_SAMPLE_RATE = 44100
CD_CHANNELS = 2
CD_BIT_DEPTH = 16
#: Stereo samples per CD frame (sector): 2352 bytes / 4 bytes a stereo sample.
SAMPLES_PER_FRAME = 588
FRAMES_PER_S = 75
BYTES_PER_FRAME = SAMPLES_PER_FRAME * 4
MAX_TRACKS = 99
MIN_TRACK_S = 4.0
MAX_PROGRAM_S = 79 * 60 + 57
MIN_FIRST_PREGAP_S = 2.0
MIN_FIRST_PREGAP_FRAMES = int(MIN_FIRST_PREGAP_S * FRAMES_PER_S)


def frames_to_msf(frames: int) -> tuple[int, int, int]:
    """CD frames -> (minutes, seconds, frames) at 75 frames a second."""
    if frames < 0:
        raise DeliveryError(f"frames={frames} must be >= 0")
    minutes, rest = divmod(frames, 60 * FRAMES_PER_S)
    seconds, ff = divmod(rest, FRAMES_PER_S)
    return minutes, seconds, ff


def msf_text(frames: int) -> str:
    """CD frames as ``MM:SS:FF`` (the CUE sheet's notation)."""
    m, s, f = frames_to_msf(frames)
    return f"{m:02d}:{s:02d}:{f:02d}"


def msf_to_frames(text: str) -> int:
    """``MM:SS:FF`` -> CD frames."""
    try:
        m, s, f = (int(p) for p in text.strip().split(":"))
    except ValueError:
        raise DeliveryError(f"time {text!r} is not MM:SS:FF") from None
    if not (0 <= s < 60 and 0 <= f < FRAMES_PER_S and m >= 0):
        raise DeliveryError(f"time {text!r} is out of range (SS < 60, FF < 75)")
    return (m * 60 + s) * FRAMES_PER_S + f


def samples_to_frames(samples: int) -> int:
    """Samples -> whole CD frames; DeliveryError unless on a frame boundary."""
    frames, rest = divmod(samples, SAMPLES_PER_FRAME)
    if rest:
        raise DeliveryError(
            f"sample position {samples} is not on a CD frame boundary (multiple of"
            f" {SAMPLES_PER_FRAME}); {rest} samples past frame {frames}"
        )
    return frames


def normalize_catalog(upc: str) -> str:
    """A UPC-A (12 digits) or EAN-13 as the 13-digit CD catalogue number (MCN)."""
    code = normalize_barcode(upc)
    return code if len(code) == 13 else "0" + code


@dataclass(frozen=True, slots=True)
class TrackLayout:
    """Where one track sits in the album stream, in samples at 44.1 kHz from the disc start.

    ``pregap_start_samples`` is INDEX 00 (None when the track has no pregap), ``start_samples``
    INDEX 01, ``end_samples`` where the next track's first index (or the lead-out) begins.
    """

    number: int
    start_samples: int
    end_samples: int
    pregap_start_samples: int | None = None
    isrc: str = ""
    title: str = ""
    performer: str = ""
    songwriter: str = ""
    composer: str = ""
    arranger: str = ""
    message: str = ""

    @property
    def start_frames(self) -> int:
        return self.start_samples // SAMPLES_PER_FRAME

    @property
    def pregap_start_frames(self) -> int | None:
        if self.pregap_start_samples is None:
            return None
        return self.pregap_start_samples // SAMPLES_PER_FRAME

    @property
    def duration_s(self) -> float:
        """From INDEX 01 to the end of the track (what a player shows)."""
        return (self.end_samples - self.start_samples) / CD_SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class DiscLayout:
    """A whole disc: tracks in order and the total length (the lead-out starts there)."""

    tracks: tuple[TrackLayout, ...]
    total_samples: int
    catalog: str = ""  # 13-digit UPC/EAN or ""
    title: str = ""
    performer: str = ""
    songwriter: str = ""
    composer: str = ""
    arranger: str = ""
    message: str = ""
    genre: str = ""
    date: str = ""
    warnings: tuple[str, ...] = field(default=())

    @property
    def total_frames(self) -> int:
        return self.total_samples // SAMPLES_PER_FRAME

    @property
    def duration_s(self) -> float:
        return self.total_samples / CD_SAMPLE_RATE


def check_track_count(num_tracks: int) -> None:
    """1 to 99 tracks, or DeliveryError."""
    if num_tracks < 1:
        raise DeliveryError("an album needs at least one track")
    if num_tracks > MAX_TRACKS:
        raise DeliveryError(
            f"{num_tracks} tracks: a Red Book CD holds at most {MAX_TRACKS} tracks"
        )


def check_codes(isrcs: Sequence[str], catalog: str) -> tuple[list[str], str]:
    """Validate and normalise every ISRC ("" = none) and the UPC/EAN ("" = none)."""
    out = []
    for i, code in enumerate(isrcs, 1):
        if not code:
            out.append("")
            continue
        try:
            out.append(normalize_isrc(code))
        except DeliveryError as exc:
            raise DeliveryError(f"track {i}: {exc}") from None
    cat = normalize_catalog(catalog) if catalog else ""
    return out, cat


def format_duration(seconds: float) -> str:
    m, s = divmod(seconds, 60.0)
    return f"{int(m)}:{s:05.2f}"


def check_durations(
    track_durations_s: Sequence[float], *, first_pregap_s: float, total_s: float
) -> list[str]:
    """Red Book length rules on planned durations (from file headers, before rendering).

    ``track_durations_s`` are the lengths each track will occupy on the disc (INDEX 01 to the
    next track's first index); ``total_s`` the whole programme including the pregap of track 1.
    Returns warnings; raises DeliveryError on a violation.
    """
    check_track_count(len(track_durations_s))
    for i, d in enumerate(track_durations_s, 1):
        if d < MIN_TRACK_S - 1e-9:
            raise DeliveryError(
                f"track {i} is {d:.2f} s long: Red Book tracks must be at least {MIN_TRACK_S:g} s"
            )
    if first_pregap_s < MIN_FIRST_PREGAP_S - 1e-9:
        raise DeliveryError(
            f"the pregap before track 1 is {first_pregap_s:.2f} s: Red Book needs at least"
            f" {MIN_FIRST_PREGAP_S:g} s"
        )
    if total_s >= MAX_PROGRAM_S:
        raise DeliveryError(
            f"the album is {format_duration(total_s)} long: it must be under 79:57 to fit a CD"
            f" (over by {format_duration(total_s - MAX_PROGRAM_S)})"
        )
    warnings = []
    for i, d in enumerate(track_durations_s, 1):
        if d > 20 * 60:
            warnings.append(f"track {i} is {format_duration(d)} long (legal, but unusual)")
    if total_s > 74 * 60:
        warnings.append(
            f"the album is {format_duration(total_s)} long: it needs an 80-minute disc"
        )
    if first_pregap_s > 10.0:
        warnings.append(f"the pregap before track 1 is {first_pregap_s:.1f} s (legal, but long)")
    return warnings


def check_layout(layout: DiscLayout) -> list[str]:
    """Every Red Book rule on a finished layout; returns warnings, raises DeliveryError."""
    tracks = layout.tracks
    check_track_count(len(tracks))
    check_codes([t.isrc for t in tracks], layout.catalog)
    prev_end = 0
    for t in tracks:
        if t.pregap_start_samples is not None:
            samples_to_frames(t.pregap_start_samples)
            if not prev_end <= t.pregap_start_samples <= t.start_samples:
                raise DeliveryError(
                    f"track {t.number}: INDEX 00 at sample {t.pregap_start_samples} is outside"
                    f" [{prev_end}, {t.start_samples}]"
                )
        try:
            samples_to_frames(t.start_samples)
            samples_to_frames(t.end_samples)
        except DeliveryError as exc:
            raise DeliveryError(f"track {t.number}: {exc}") from None
        if t.start_samples < prev_end:
            raise DeliveryError(f"track {t.number} starts before track {t.number - 1} ends")
        prev_end = t.end_samples
    first = tracks[0]
    first_pregap_s = first.start_samples / CD_SAMPLE_RATE
    samples_to_frames(layout.total_samples)
    if tracks[-1].end_samples != layout.total_samples:
        raise DeliveryError("the last track must end where the lead-out starts")
    return check_durations([t.duration_s for t in tracks], first_pregap_s=first_pregap_s,
                           total_s=layout.duration_s)
