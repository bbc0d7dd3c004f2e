"""CUE sheets for a single-file album image (``FILE "album.wav" WAVE``).

The sheet follows the CDRWIN syntax that burners (cdrdao, ImgBurn) and cuetools read::

    REM GENRE "Soundtrack"
    REM DATE 2024
    CATALOG 0012345678905
    PERFORMER "The Band"
    TITLE "The Album"
    FILE "album.wav" WAVE
      TRACK 01 AUDIO
        TITLE "Intro"
        PERFORMER "The Band"
        ISRC GBAAA2400001
        INDEX 00 00:00:00
        INDEX 01 00:02:00

Times are ``MM:SS:FF`` (75 frames a second) from the start of the file. burnish's album file
starts at the very start of the disc (the 2 s pregap of track 1 included), so these times are
also the absolute disc times of the DDP image's PQ descriptors. Text is written as UTF-8 without
a byte-order mark; double quotes inside a value become single quotes (the syntax has no escape).
"""

from __future__ import annotations

import os
from pathlib import Path

from burnish.delivery.redbook import DiscLayout, msf_text, samples_to_frames
from burnish.errors import DeliveryError


def _quote(value: str) -> str:
    clean = " ".join(value.replace('"', "'").split())
    return f'"{clean}"'


def cue_text(layout: DiscLayout, *, file_name: str = "album.wav") -> str:
    """The CUE sheet of ``layout`` for the image ``file_name``."""
    if not file_name or "\n" in file_name or '"' in file_name:
        raise DeliveryError(f"file_name={file_name!r} can't be written in a CUE sheet")
    lines: list[str] = []
    if layout.genre:
        lines.append(f"REM GENRE {_quote(layout.genre)}")
    if layout.date:
        lines.append(f"REM DATE {layout.date}")
    lines.append('REM COMMENT "burnish album"')
    if layout.catalog:
        lines.append(f"CATALOG {layout.catalog}")
    for key, value in (("PERFORMER", layout.performer), ("TITLE", layout.title),
                       ("SONGWRITER", layout.songwriter)):
        if value:
            lines.append(f"{key} {_quote(value)}")
    if layout.composer:
        lines.append(f"REM COMPOSER {_quote(layout.composer)}")
    lines.append(f"FILE {_quote(file_name)} WAVE")
    for t in layout.tracks:
        lines.append(f"  TRACK {t.number:02d} AUDIO")
        for key, value in (("TITLE", t.title), ("PERFORMER", t.performer),
                           ("SONGWRITER", t.songwriter)):
            if value:
                lines.append(f"    {key} {_quote(value)}")
        if t.isrc:
            lines.append(f"    ISRC {t.isrc}")
        if t.pregap_start_samples is not None and t.pregap_start_samples < t.start_samples:
            lines.append(f"    INDEX 00 {msf_text(samples_to_frames(t.pregap_start_samples))}")
        lines.append(f"    INDEX 01 {msf_text(samples_to_frames(t.start_samples))}")
    return "\n".join(lines) + "\n"


def write_cue(layout: DiscLayout, path: str | os.PathLike[str], *, file_name: str = "album.wav") -> None:
    """Write the CUE sheet atomically (temporary name, renamed when complete)."""
    from burnish.io.files import atomic_temp_path, commit_temp, discard_temp

    text = cue_text(layout, file_name=file_name)
    tmp = atomic_temp_path(path)
    try:
        Path(tmp).write_text(text, encoding="utf-8")
    except BaseException:
        discard_temp(tmp)
        raise
    commit_temp(tmp, path)


def parse_cue_indexes(text: str) -> dict[int, dict[int, int]]:
    """Track -> {index: CD frame} from a CUE sheet written by :func:`cue_text` (a small reader
    for burnish's own sheets; tests use cuetools as the independent parser)."""
    from burnish.delivery.redbook import msf_to_frames

    out: dict[int, dict[int, int]] = {}
    track = 0
    for raw in text.splitlines():
        words = raw.split()
        if len(words) >= 2 and words[0] == "TRACK":
            track = int(words[1])
            out[track] = {}
        elif len(words) == 3 and words[0] == "INDEX" and track:
            out[track][int(words[1])] = msf_to_frames(words[2])
    return out
