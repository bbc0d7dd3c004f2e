"""Deliverables per destination, as data.

A :class:`Destination` says which file a destination wants: codec and container, sample rate,
bit depth (PCM) or bit rate (lossy), whether it is dithered, and optionally its own true-peak
ceiling. The built-in ones:

=============  =====  ===========================================  =====================
name           file   audio                                        ceiling (default)
=============  =====  ===========================================  =====================
hires          .flac  24-bit, the master's rate (48 kHz at least)  the master's
hires_wav      .wav   same as hires, Broadcast WAV                 the master's
streaming      .flac  24-bit 44.1 kHz (soxr VHQ)                   the master's
streaming_wav  .wav   24-bit 44.1 kHz, Broadcast WAV               the master's
cd             .wav   16-bit 44.1 kHz, TPDF dither (seeded), last  the master's
mp3            .mp3   MP3 320 kbps CBR (LAME)                      the version's target
mp3v0          .mp3   MP3 VBR V0 (LAME)                            the version's target
aac            .m4a   AAC-LC 256 kbps in MP4                       the version's target
opus           .opus  Opus 160 kbps VBR, 48 kHz                    the version's target
=============  =====  ===========================================  =====================

A destination with ``ceiling_dbtp`` set keeps that
ceiling whatever the master's is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from burnish.errors import ParameterError

#: Codecs a destination can use (those :func:`burnish.io.codecs.encode_file` writes).
DESTINATION_CODECS = ("wav", "flac", "mp3", "aac", "opus")
LOSSY_CODECS = ("mp3", "aac", "opus")
#: File extension per codec.
EXTENSIONS = {"wav": "wav", "flac": "flac", "mp3": "mp3", "aac": "m4a", "opus": "opus"}
#: Container label per codec (as the deliverables table prints it).
CONTAINERS = {"wav": "WAV", "flac": "FLAC", "mp3": "MP3", "aac": "M4A", "opus": "Ogg Opus"}


@dataclass(frozen=True, slots=True)
class Destination:
    """What one destination expects as a file.

    Attributes
    ----------
    name:
        Short name used on the command line (``--deliver streaming,cd``).
    title:
        One line for tables and documentation.
    codec:
        ``"wav"``, ``"flac"``, ``"mp3"``, ``"aac"`` (in .m4a) or ``"opus"`` (in .opus).
    sample_rate:
        Output rate in Hz; ``0`` keeps the master's rate (for lossy codecs: the master's rate
        when the codec can carry it, otherwise 44.1 or 48 kHz; Opus is always 48 kHz).
    min_sample_rate:
        With ``sample_rate=0``, a master below this rate is resampled up to it (hires: 48 kHz).
    bit_depth:
        16 or 24 for PCM; ``None`` for lossy codecs.
    bitrate_kbps / vbr_quality:
        Lossy encoder settings (CBR/ABR/target rate, or LAME VBR quality 0-9).
    ceiling_dbtp:
        The deliverable's true-peak ceiling; ``None`` takes the default (lossless: the master's
        ceiling; lossy: the ceiling of the version's target).
    """

    name: str
    title: str
    codec: str
    sample_rate: int = 0
    min_sample_rate: int = 0
    bit_depth: int | None = 24
    bitrate_kbps: int | None = None
    vbr_quality: int | None = None
    ceiling_dbtp: float | None = None

    def __post_init__(self) -> None:
        if self.codec not in DESTINATION_CODECS:
            raise ParameterError(
                f"codec={self.codec!r} must be one of {', '.join(DESTINATION_CODECS)}"
            )
        if self.lossy:
            if self.bit_depth is not None:
                raise ParameterError(f"bit_depth={self.bit_depth} doesn't apply to {self.codec} (lossy)")
        elif self.bit_depth not in (16, 24):
            raise ParameterError(f"bit_depth={self.bit_depth!r} must be 16 or 24 for {self.codec}")
        if self.ceiling_dbtp is not None and not -12.0 <= self.ceiling_dbtp <= 0.0:
            raise ParameterError(f"ceiling_dbtp={self.ceiling_dbtp} must be in [-12, 0]")
        for label, rate in (("sample_rate", self.sample_rate), ("min_sample_rate", self.min_sample_rate)):
            if rate and not 8000 <= rate <= 192000:
                raise ParameterError(f"{label}={rate} must be 0 or in [8000, 192000] Hz")

    @property
    def lossy(self) -> bool:
        """True for MP3, AAC and Opus."""
        return self.codec in LOSSY_CODECS

    @property
    def extension(self) -> str:
        """File extension without the dot."""
        return EXTENSIONS[self.codec]

    @property
    def container(self) -> str:
        """Container label: WAV, FLAC, MP3, M4A, Ogg Opus."""
        return CONTAINERS[self.codec]

    @property
    def dithered(self) -> bool:
        """True when the deliverable is requantised to 16 bits (TPDF dither, applied last)."""
        return self.bit_depth == 16

    def output_sample_rate(self, master_sample_rate: int) -> int:
        """The deliverable's sample rate for a master at ``master_sample_rate``."""
        if self.codec == "opus":
            return 48000
        if self.sample_rate:
            return self.sample_rate
        rate = max(master_sample_rate, self.min_sample_rate)
        if self.codec in ("mp3", "aac") and rate > 48000:
            return 44100 if rate % 44100 == 0 else 48000
        return rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "codec": self.codec,
            "container": self.container, "sample_rate": self.sample_rate,
            "min_sample_rate": self.min_sample_rate, "bit_depth": self.bit_depth,
            "bitrate_kbps": self.bitrate_kbps, "vbr_quality": self.vbr_quality,
            "ceiling_dbtp": self.ceiling_dbtp,
        }


#: The built-in destinations, in the order tables list them.
DESTINATIONS: dict[str, Destination] = {
    d.name: d
    for d in (
        Destination("hires", "High resolution: FLAC 24-bit at the master's rate (48 kHz at least)",
                    "flac", min_sample_rate=48000),
        Destination("hires_wav", "High resolution: Broadcast WAV 24-bit at the master's rate"
                    " (48 kHz at least)", "wav", min_sample_rate=48000),
        Destination("streaming", "Streaming upload: FLAC 24-bit 44.1 kHz", "flac",
                    sample_rate=44100),
        Destination("streaming_wav", "Streaming upload: Broadcast WAV 24-bit 44.1 kHz", "wav",
                    sample_rate=44100),
        Destination("cd", "CD: WAV 16-bit 44.1 kHz, seeded TPDF dither applied once, last", "wav",
                    sample_rate=44100, bit_depth=16),
        Destination("mp3", "MP3 320 kbps CBR (LAME)", "mp3", bit_depth=None, bitrate_kbps=320),
        Destination("mp3v0", "MP3 VBR V0 (LAME)", "mp3", bit_depth=None, vbr_quality=0),
        Destination("aac", "AAC-LC 256 kbps in M4A", "aac", bit_depth=None, bitrate_kbps=256),
        Destination("opus", "Opus 160 kbps VBR in Ogg, 48 kHz", "opus", bit_depth=None,
                    bitrate_kbps=160),
    )
}

#: What ``burnish deliver`` makes when ``--deliver`` isn't given.
DEFAULT_DESTINATIONS = ("hires", "streaming", "cd", "mp3", "aac", "opus")


def get_destination(name: str) -> Destination:
    """A built-in destination by name (case-insensitive; ``-`` and ``_`` are the same)."""
    key = name.strip().lower().replace("-", "_")
    if key not in DESTINATIONS:
        raise ParameterError(
            f"unknown destination {name!r}; known: {', '.join(DESTINATIONS)}"
        )
    return DESTINATIONS[key]


def parse_destinations(spec: str | Iterable[str | Destination]) -> list[Destination]:
    """Destinations from ``"streaming,cd,mp3"`` or a list of names and/or
    :class:`Destination` objects; duplicates are dropped, the order kept."""
    items: Sequence[str | Destination]
    if isinstance(spec, str):
        items = [s for s in (p.strip() for p in spec.split(",")) if s]
    else:
        items = list(spec)
    out: list[Destination] = []
    for item in items:
        dest = item if isinstance(item, Destination) else get_destination(item)
        if any(d.name == dest.name for d in out):
            continue
        out.append(dest)
    if not out:
        raise ParameterError(
            f"destinations={spec!r} is empty; give at least one of {', '.join(DESTINATIONS)}"
        )
    return out


def with_ceiling(dest: Destination, ceiling_dbtp: float) -> Destination:
    """``dest`` with its own true-peak ceiling."""
    return replace(dest, ceiling_dbtp=ceiling_dbtp)


__all__ = [
    "DEFAULT_DESTINATIONS",
    "DESTINATIONS",
    "Destination",
    "get_destination",
    "parse_destinations",
    "with_ceiling",
]
