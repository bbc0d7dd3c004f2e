"""Tags for delivered files, written the native way for each container.

=========  ==========================================================================
container  how
=========  ==========================================================================
MP3        ID3v2.4 (mutagen): TIT2, TPE1, TALB, TPE2, TRCK, TPOS, TDRC, TCON, TCOM, TPUB,
           TCOP, TSRC (ISRC), TXXX:BARCODE, TXXX:ISWC, COMM, APIC (front cover),
           TXXX:REPLAYGAIN_*
FLAC       Vorbis comments + a PICTURE block (mutagen)
Opus       Vorbis comments (OpusTags) + METADATA_BLOCK_PICTURE; loudness as R128_TRACK_GAIN /
           R128_ALBUM_GAIN, Q7.8 integers relative to -23 LUFS (RFC 7845 says not to use
           REPLAYGAIN_* in Opus: ReplayGain values are converted, R128 = RG - 5 dB)
M4A        MP4 atoms (mutagen): ©nam ©ART ©alb aART trkn disk ©day ©gen ©wrt cprt ©cmt covr and
           ----:com.apple.iTunes:ISRC / BARCODE / ISWC / LABEL / replaygain_*
WAV        RIFF chunks written here with struct: LIST/INFO, Broadcast WAV ``bext`` version 2
           (EBU Tech 3285, with the loudness fields) and ``iXML``
=========  ==========================================================================

:func:`write_tags` replaces the tags a file had (a delivery carries exactly what it was given)
and is atomic: the tagged copy is built beside the file and renamed over it. Validation errors
are :class:`~burnish.errors.DeliveryError` with one-line messages naming the field and the rule.
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
import os
import re
import shutil
import struct
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields
from typing import Any

from burnish.errors import DeliveryError
from burnish.io.files import atomic_temp_path, commit_temp, discard_temp, display_name

#: Largest artwork accepted, in bytes, and its largest side in pixels.
MAX_ARTWORK_BYTES = 10 * 1024 * 1024
MAX_ARTWORK_SIDE_PX = 8192
#: Longest value (UTF-8 bytes) written to one RIFF LIST/INFO item.
MAX_RIFF_INFO_BYTES = 255
#: R128 gains are stored as Q7.8 integers: [-32768, 32767] / 256 dB.
_Q78_MIN_DB, _Q78_MAX_DB = -128.0, 32767 / 256

_TEXT_FIELDS = (
    "title", "artist", "album", "album_artist", "date", "genre", "composer", "publisher",
    "copyright", "comment",
)


@dataclass(slots=True)
class Metadata:
    """Everything burnish can tag. ``None`` means "don't write"."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    album_artist: str | None = None
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    disc_total: int | None = None
    date: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD
    genre: str | None = None
    composer: str | None = None
    publisher: str | None = None  # the label
    copyright: str | None = None
    isrc: str | None = None  # CC-XXX-YY-NNNNN, hyphens optional
    barcode: str | None = None  # UPC-A (12 digits) or EAN-13
    iswc: str | None = None  # T-123.456.789-C
    comment: str | None = None
    artwork_path: str | None = None  # JPEG or PNG
    replaygain_track_gain_db: float | None = None
    replaygain_track_peak: float | None = None  # linear sample peak, 1.0 = full scale
    replaygain_album_gain_db: float | None = None
    replaygain_album_peak: float | None = None
    r128_track_gain_db: float | None = None  # Opus: gain to reach -23 LUFS
    r128_album_gain_db: float | None = None
    # loudness of the delivered file, for the Broadcast WAV bext chunk (EBU Tech 3285 v2)
    integrated_lufs: float | None = None
    loudness_range_lu: float | None = None
    true_peak_dbtp: float | None = None
    max_momentary_lufs: float | None = None
    max_short_term_lufs: float | None = None
    #: Broadcast WAV bext OriginationDate/Time; None: now. A delivery passes its master's
    #: modification time, so reruns from the same master give the same bytes.
    origination: _dt.datetime | None = None


# -------------------------------------------------------------------------------------------
# validation
# -------------------------------------------------------------------------------------------
_ISRC_RE = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}")
_ISWC_RE = re.compile(r"T([0-9]{9})([0-9])")
_DATE_RE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


def normalize_isrc(value: str) -> str:
    """``"GB-AAA-26-00001"`` -> ``"GBAAA2600001"``; DeliveryError if it isn't an ISRC."""
    code = value.strip().replace("-", "").upper()
    if not _ISRC_RE.fullmatch(code):
        raise DeliveryError(
            f"isrc={value!r} is not a valid ISRC (CC-XXX-YY-NNNNN: 2 letters, 3 letters or"
            " digits, 2-digit year, 5 digits)"
        )
    return code


def gs1_check_digit(digits: str) -> int:
    """GS1 check digit for the digits before it (UPC-A, EAN-13): weights 3,1,3,... from the
    right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def normalize_barcode(value: str) -> str:
    """A UPC-A (12 digits) or EAN-13 barcode with a correct check digit, spaces removed."""
    code = re.sub(r"[\s-]", "", value)
    if not code.isdigit() or len(code) not in (12, 13):
        raise DeliveryError(
            f"barcode={value!r} must be a UPC-A (12 digits) or EAN-13 (13 digits) barcode"
        )
    expected = gs1_check_digit(code[:-1])
    if int(code[-1]) != expected:
        kind = "UPC-A" if len(code) == 12 else "EAN-13"
        raise DeliveryError(
            f"barcode={value!r}: the {kind} check digit is {code[-1]} but should be {expected}"
        )
    return code


def normalize_iswc(value: str) -> str:
    """``"T1234567894"`` or ``"T-123.456.789-4"`` -> ``"T-123.456.789-4"`` (check digit
    verified)."""
    code = re.sub(r"[\s.\-]", "", value).upper()
    m = _ISWC_RE.fullmatch(code)
    if m is None:
        raise DeliveryError(f"iswc={value!r} is not a valid ISWC (T-123.456.789-C)")
    body = m.group(1)
    expected = (10 - (1 + sum(i * int(d) for i, d in enumerate(body, start=1))) % 10) % 10
    if int(m.group(2)) != expected:
        raise DeliveryError(
            f"iswc={value!r}: the check digit is {m.group(2)} but should be {expected}"
        )
    return f"T-{body[:3]}.{body[3:6]}.{body[6:]}-{expected}"


def artwork_info(path: str | os.PathLike[str]) -> tuple[str, int, int, bytes]:
    """``(mime, width_px, height_px, data)`` of a JPEG/PNG cover; DeliveryError otherwise."""
    name = display_name(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_ARTWORK_BYTES:
            raise DeliveryError(
                f"{name}: artwork is {size / 1e6:.1f} MB; the limit is"
                f" {MAX_ARTWORK_BYTES / 1024 / 1024:.0f} MB"
            )
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DeliveryError(f"{name}: artwork file not found") from None
    except IsADirectoryError:
        raise DeliveryError(f"{name}: artwork path is a folder") from None
    except OSError as exc:
        raise DeliveryError(f"{name}: can't read the artwork ({exc.strerror or exc})") from None
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        mime = "image/png"
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise DeliveryError(f"{name}: damaged PNG artwork (no IHDR header)")
        width, height = struct.unpack(">II", data[16:24])
    elif data[:3] == b"\xff\xd8\xff":
        mime = "image/jpeg"
        dims = _jpeg_size(data)
        if dims is None:
            raise DeliveryError(f"{name}: damaged JPEG artwork (no frame header)")
        width, height = dims
    else:
        raise DeliveryError(f"{name}: artwork must be a JPEG or PNG image")
    if not (1 <= width <= MAX_ARTWORK_SIDE_PX and 1 <= height <= MAX_ARTWORK_SIDE_PX):
        raise DeliveryError(
            f"{name}: artwork is {width}x{height} px; each side must be 1-{MAX_ARTWORK_SIDE_PX}"
        )
    return mime, width, height, data


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG's SOFn marker, or None."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def _check_text(field: str, value: str, container: str) -> None:
    if "\x00" in value:
        raise DeliveryError(f"{field}: contains a NUL character, which {container} tags can't hold")
    # only C0/C1 controls (category Cc) are refused: format characters (Cf) such as the
    # zero-width joiner of emoji sequences (U+200D), bidi marks (U+200E/U+200F) or a
    # zero-width space are ordinary text in every container, though str.isprintable() says no
    bad = [c for c in value if unicodedata.category(c) == "Cc" and c not in "\n\t"]
    if bad:
        raise DeliveryError(f"{field}: contains the control character {bad[0]!r}")
    lone = [c for c in value if unicodedata.category(c) == "Cs"]
    if lone:
        raise DeliveryError(
            f"{field}: contains the lone surrogate {lone[0]!r}, which UTF-8 can't encode"
        )


@dataclass(frozen=True, slots=True)
class _Clean:
    """Validated, normalised values ready to write."""

    md: Metadata
    isrc: str | None
    barcode: str | None
    iswc: str | None
    artwork: tuple[str, int, int, bytes] | None


def validate(metadata: Metadata, *, container: str = "any") -> _Clean:
    """Check every field; DeliveryError naming the first bad one."""
    md = metadata
    for f in _TEXT_FIELDS:
        value = getattr(md, f)
        if value is not None:
            if not isinstance(value, str):
                raise DeliveryError(f"{f}={value!r} must be text")
            _check_text(f, value, container)
    if md.date is not None and not _DATE_RE.fullmatch(md.date):
        raise DeliveryError(f"date={md.date!r} must be YYYY, YYYY-MM or YYYY-MM-DD")
    for number, total in (("track_number", "track_total"), ("disc_number", "disc_total")):
        n, t = getattr(md, number), getattr(md, total)
        for label, v in ((number, n), (total, t)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 999):
                raise DeliveryError(f"{label}={v!r} must be a whole number in [1, 999]")
        if n is not None and t is not None and n > t:
            raise DeliveryError(f"{number}={n} is greater than {total}={t}")
        if n is None and t is not None:
            raise DeliveryError(f"{total}={t} is given without {number}")
    for f in (
        "replaygain_track_gain_db", "replaygain_album_gain_db", "r128_track_gain_db",
        "r128_album_gain_db", "integrated_lufs", "loudness_range_lu", "true_peak_dbtp",
        "max_momentary_lufs", "max_short_term_lufs",
    ):
        v = getattr(md, f)
        if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and -100 < v < 100):
            raise DeliveryError(f"{f}={v!r} must be a finite number in (-100, 100)")
    for f in ("replaygain_track_peak", "replaygain_album_peak"):
        v = getattr(md, f)
        if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v < 100):
            raise DeliveryError(f"{f}={v!r} must be a linear peak >= 0 (1.0 = full scale)")
    for f in ("r128_track_gain_db", "r128_album_gain_db"):
        v = getattr(md, f)
        if v is not None and not _Q78_MIN_DB <= v <= _Q78_MAX_DB:
            raise DeliveryError(f"{f}={v} must be in [{_Q78_MIN_DB}, {_Q78_MAX_DB:.3f}] dB (Q7.8)")
    return _Clean(
        md=md,
        isrc=normalize_isrc(md.isrc) if md.isrc is not None else None,
        barcode=normalize_barcode(md.barcode) if md.barcode is not None else None,
        iswc=normalize_iswc(md.iswc) if md.iswc is not None else None,
        artwork=artwork_info(md.artwork_path) if md.artwork_path is not None else None,
    )


# -------------------------------------------------------------------------------------------
# writing
# -------------------------------------------------------------------------------------------
def _gain_text(db: float) -> str:
    return f"{db:+.2f} dB"


def _peak_text(peak: float) -> str:
    return f"{peak:.6f}"


def _container_of(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "opus" if b"OpusHead" in head else "ogg"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:3] == b"ID3" or (head[:1] == b"\xff" and len(head) > 1 and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[:4] in (b"RF64", b"BW64"):
        return "rf64"
    return "unknown"


def write_tags(path: str | os.PathLike[str], metadata: Metadata) -> None:
    """Replace the tags of an MP3, FLAC, Opus, M4A or WAV file with ``metadata``, atomically."""
    target = os.fspath(path)
    name = display_name(target)
    if not os.path.isfile(target):
        raise DeliveryError(f"{name}: no such file to tag")
    container = _container_of(target)
    labels = {"mp3": "ID3", "flac": "Vorbis comment", "opus": "Vorbis comment", "m4a": "MP4",
              "wav": "RIFF"}
    if container not in labels:
        what = "RF64 (over 4 GB) WAV" if container == "rf64" else "this kind of"
        raise DeliveryError(f"{name}: can't tag {what} file (MP3, FLAC, Opus, M4A and WAV can be)")
    try:
        clean = validate(metadata, container=labels[container])
    except DeliveryError as exc:
        raise DeliveryError(f"{name}: {exc}") from None
    tmp = atomic_temp_path(target)
    try:
        if container == "wav":
            _write_wav(target, tmp, clean, name)
        else:
            shutil.copyfile(target, tmp)
            {"mp3": _write_id3, "flac": _write_flac, "opus": _write_opus, "m4a": _write_mp4}[
                container
            ](tmp, clean)
    except DeliveryError:
        discard_temp(tmp)
        raise
    except Exception as exc:
        discard_temp(tmp)
        raise DeliveryError(f"{name}: writing tags failed ({type(exc).__name__}: {exc})") from None
    commit_temp(tmp, target)


def _write_id3(path: str, c: _Clean) -> None:
    from mutagen import id3

    md = c.md
    try:
        id3.ID3(path).delete(path)
    except id3.ID3NoHeaderError:
        pass
    tags = id3.ID3()
    text = {
        id3.TIT2: md.title, id3.TPE1: md.artist, id3.TALB: md.album, id3.TPE2: md.album_artist,
        id3.TDRC: md.date, id3.TCON: md.genre, id3.TCOM: md.composer, id3.TPUB: md.publisher,
        id3.TCOP: md.copyright, id3.TSRC: c.isrc,
    }
    for frame, value in text.items():
        if value is not None:
            tags.add(frame(encoding=id3.Encoding.UTF8, text=[value]))
    if md.track_number is not None:
        trck = f"{md.track_number}/{md.track_total}" if md.track_total else str(md.track_number)
        tags.add(id3.TRCK(encoding=id3.Encoding.UTF8, text=[trck]))
    if md.disc_number is not None:
        tpos = f"{md.disc_number}/{md.disc_total}" if md.disc_total else str(md.disc_number)
        tags.add(id3.TPOS(encoding=id3.Encoding.UTF8, text=[tpos]))
    if md.comment is not None:
        tags.add(id3.COMM(encoding=id3.Encoding.UTF8, lang="eng", desc="", text=[md.comment]))
    for desc, value in _txxx(c).items():
        tags.add(id3.TXXX(encoding=id3.Encoding.UTF8, desc=desc, text=[value]))
    if c.artwork is not None:
        mime, _w, _h, data = c.artwork
        tags.add(id3.APIC(encoding=id3.Encoding.UTF8, mime=mime, type=id3.PictureType.COVER_FRONT,
                          desc="Cover", data=data))
    tags.save(path, v2_version=4)


def _txxx(c: _Clean) -> dict[str, str]:
    """User-defined text items shared by ID3 (TXXX) and MP4 (freeform)."""
    md = c.md
    out: dict[str, str] = {}
    if c.barcode is not None:
        out["BARCODE"] = c.barcode
    if c.iswc is not None:
        out["ISWC"] = c.iswc
    if md.replaygain_track_gain_db is not None:
        out["REPLAYGAIN_TRACK_GAIN"] = _gain_text(md.replaygain_track_gain_db)
    if md.replaygain_track_peak is not None:
        out["REPLAYGAIN_TRACK_PEAK"] = _peak_text(md.replaygain_track_peak)
    if md.replaygain_album_gain_db is not None:
        out["REPLAYGAIN_ALBUM_GAIN"] = _gain_text(md.replaygain_album_gain_db)
    if md.replaygain_album_peak is not None:
        out["REPLAYGAIN_ALBUM_PEAK"] = _peak_text(md.replaygain_album_peak)
    return out


def _vorbis_items(c: _Clean, *, opus: bool) -> dict[str, str]:
    md = c.md
    items: dict[str, str | None] = {
        "TITLE": md.title, "ARTIST": md.artist, "ALBUM": md.album, "ALBUMARTIST": md.album_artist,
        "DATE": md.date, "GENRE": md.genre, "COMPOSER": md.composer, "ORGANIZATION": md.publisher,
        "COPYRIGHT": md.copyright, "ISRC": c.isrc, "BARCODE": c.barcode, "ISWC": c.iswc,
        "COMMENT": md.comment,
        "TRACKNUMBER": None if md.track_number is None else str(md.track_number),
        "TRACKTOTAL": None if md.track_total is None else str(md.track_total),
        "DISCNUMBER": None if md.disc_number is None else str(md.disc_number),
        "DISCTOTAL": None if md.disc_total is None else str(md.disc_total),
    }
    if opus:
        # RFC 7845 5.2.1: R128 gains, Q7.8, relative to -23 LUFS; ReplayGain (-18 LUFS) - 5 dB
        track = md.r128_track_gain_db
        if track is None and md.replaygain_track_gain_db is not None:
            track = md.replaygain_track_gain_db - 5.0
        album = md.r128_album_gain_db
        if album is None and md.replaygain_album_gain_db is not None:
            album = md.replaygain_album_gain_db - 5.0
        for key, db in (("R128_TRACK_GAIN", track), ("R128_ALBUM_GAIN", album)):
            if db is not None:
                q78 = int(round(db * 256))
                if not -32768 <= q78 <= 32767:
                    raise DeliveryError(f"{key.lower()}={db} dB doesn't fit Q7.8")
                items[key] = str(q78)
    else:
        items.update({k.upper(): v for k, v in _txxx(c).items() if k.startswith("REPLAYGAIN")})
    return {k: v for k, v in items.items() if v is not None}


def _flac_picture(artwork: tuple[str, int, int, bytes]) -> Any:
    from mutagen.flac import Picture

    mime, width, height, data = artwork
    pic = Picture()
    pic.type = 3  # front cover
    pic.mime = mime
    pic.desc = "Cover"
    pic.width, pic.height = width, height
    pic.depth = 24
    pic.data = data
    return pic


def _write_flac(path: str, c: _Clean) -> None:
    from mutagen.flac import FLAC

    audio = FLAC(path)
    audio.delete()
    audio.clear_pictures()
    for key, value in _vorbis_items(c, opus=False).items():
        audio[key] = value
    if c.artwork is not None:
        audio.add_picture(_flac_picture(c.artwork))
    audio.save()


def _write_opus(path: str, c: _Clean) -> None:
    from mutagen.oggopus import OggOpus

    audio = OggOpus(path)
    if audio.tags is None:
        audio.add_tags()
    tags: Any = audio.tags
    tags.clear()
    for key, value in _vorbis_items(c, opus=True).items():
        audio[key] = value
    if c.artwork is not None:
        audio["METADATA_BLOCK_PICTURE"] = base64.b64encode(_flac_picture(c.artwork).write()).decode("ascii")
    audio.save()


def _write_mp4(path: str, c: _Clean) -> None:
    from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

    md = c.md
    audio = MP4(path)
    if audio.tags is not None:
        audio.tags.clear()
    else:
        audio.add_tags()
    atoms: dict[str, str | None] = {
        "\xa9nam": md.title, "\xa9ART": md.artist, "\xa9alb": md.album, "aART": md.album_artist,
        "\xa9day": md.date, "\xa9gen": md.genre, "\xa9wrt": md.composer, "cprt": md.copyright,
        "\xa9cmt": md.comment,
    }
    for key, value in atoms.items():
        if value is not None:
            audio[key] = [value]
    if md.track_number is not None:
        audio["trkn"] = [(md.track_number, md.track_total or 0)]
    if md.disc_number is not None:
        audio["disk"] = [(md.disc_number, md.disc_total or 0)]
    free: dict[str, str] = {}
    if c.isrc is not None:
        free["ISRC"] = c.isrc
    if md.publisher is not None:
        free["LABEL"] = md.publisher
    for k, v in _txxx(c).items():
        free[k.lower() if k.startswith("REPLAYGAIN") else k] = v
    for k, v in free.items():
        audio[f"----:com.apple.iTunes:{k}"] = [MP4FreeForm(v.encode("utf-8"))]
    if c.artwork is not None:
        mime, _w, _h, data = c.artwork
        fmt = MP4Cover.FORMAT_PNG if mime == "image/png" else MP4Cover.FORMAT_JPEG
        audio["covr"] = [MP4Cover(data, imageformat=fmt)]
    audio.save()


# -------------------------------------------------------------------------------------------
# WAV: LIST/INFO, bext, iXML written by hand
# -------------------------------------------------------------------------------------------
_INFO_IDS = {
    "title": b"INAM", "artist": b"IART", "album": b"IPRD", "genre": b"IGNR", "date": b"ICRD",
    "comment": b"ICMT", "copyright": b"ICOP", "composer": b"IMUS", "publisher": b"IPUB",
}
_INFO_NAMES = {v: k for k, v in _INFO_IDS.items()} | {b"IPRT": "track_number",
                                                     b"ITRK": "track_number", b"ISRC": "isrc",
                                                     b"ISFT": "software"}
_REPLACED_CHUNKS = (b"bext", b"iXML")
_BEXT_FIXED = struct.Struct("<256s32s32s10s8sIIH64s5h180s")
#: EBU Tech 3285: loudness fields that aren't set hold 0x7FFF.
_BEXT_UNSET = 0x7FFF


def _riff_chunks(path: str, name: str) -> list[tuple[bytes, int, int]]:
    """``(id, data_offset, size)`` of every top-level chunk of a RIFF/WAVE file."""
    chunks: list[tuple[bytes, int, int]] = []
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise DeliveryError(f"{name}: not a RIFF/WAVE file")
        pos = 12
        while pos + 8 <= file_size:
            f.seek(pos)
            header = f.read(8)
            cid, size = header[:4], struct.unpack("<I", header[4:])[0]
            if pos + 8 + size > file_size:
                if cid == b"data":  # a data size past the end: keep what is there
                    size = file_size - pos - 8
                else:
                    raise DeliveryError(f"{name}: the WAV file is truncated in chunk {cid!r}")
            chunks.append((cid, pos + 8, size))
            pos += 8 + size + (size & 1)
    return chunks


def _chunk(cid: bytes, data: bytes) -> bytes:
    return cid + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")


def _info_chunk(c: _Clean, name: str) -> bytes:
    md = c.md
    items: list[tuple[bytes, str]] = []
    for field, cid in _INFO_IDS.items():
        value = getattr(md, field)
        if value is not None:
            items.append((cid, value))
    if md.track_number is not None:
        items.append((b"IPRT", str(md.track_number)))
    if c.isrc is not None:
        items.append((b"ISRC", c.isrc))
    items.append((b"ISFT", "burnish"))
    body = b"INFO"
    for cid, value in items:
        data = value.encode("utf-8")
        if len(data) > MAX_RIFF_INFO_BYTES:
            field = _INFO_NAMES.get(cid, cid.decode())
            raise DeliveryError(
                f"{name}: {field} is {len(data)} bytes; a RIFF INFO item holds at most"
                f" {MAX_RIFF_INFO_BYTES}"
            )
        body += _chunk(cid, data + b"\x00")
    return _chunk(b"LIST", body)


def _fixed(text: str, size: int, field: str, name: str) -> bytes:
    data = text.encode("ascii", errors="replace")
    if len(data) > size:
        raise DeliveryError(f"{name}: {field} is {len(data)} characters; bext holds {size}")
    return data.ljust(size, b"\x00")


def _loudness(value: float | None) -> int:
    return _BEXT_UNSET if value is None else int(round(value * 100))


def _bext_chunk(c: _Clean, name: str, fmt: bytes) -> bytes:
    md = c.md
    now = md.origination if md.origination is not None else _dt.datetime.now()
    description = md.comment or md.title or ""
    originator = md.publisher or md.artist or "burnish"
    _tag, channels, sample_rate, _br, _align, bits = struct.unpack("<HHIIHH", fmt[:16])
    mode = "mono" if channels == 1 else "stereo"
    history = f"A=PCM,F={sample_rate},W={bits},M={mode},T=burnish\r\n"
    fixed = _BEXT_FIXED.pack(
        _fixed(description, 256, "the description (comment or title)", name),
        _fixed(originator[:32], 32, "originator", name),
        _fixed((c.isrc or "")[:32], 32, "originator reference", name),
        now.strftime("%Y-%m-%d").encode(),
        now.strftime("%H:%M:%S").encode(),
        0,
        0,
        2,
        b"\x00" * 64,
        _loudness(md.integrated_lufs),
        _loudness(md.loudness_range_lu),
        _loudness(md.true_peak_dbtp),
        _loudness(md.max_momentary_lufs),
        _loudness(md.max_short_term_lufs),
        b"\x00" * 180,
    )
    return _chunk(b"bext", fixed + history.encode("ascii"))


def _ixml_chunk(c: _Clean) -> bytes:
    md = c.md
    root = ET.Element("BWFXML")
    ET.SubElement(root, "IXML_VERSION").text = "1.61"
    if md.album is not None:
        ET.SubElement(root, "PROJECT").text = md.album
    if md.title is not None:
        ET.SubElement(root, "SCENE").text = md.title
    if md.comment is not None:
        ET.SubElement(root, "NOTE").text = md.comment
    user_lines = [
        f"{f.name.upper()}={getattr(md, f.name)}"
        for f in fields(md)
        if getattr(md, f.name) is not None
        and f.name not in ("artwork_path", "isrc", "barcode", "iswc", "comment", "origination")
    ]
    for key, value in (("ISRC", c.isrc), ("BARCODE", c.barcode), ("ISWC", c.iswc)):
        if value is not None:
            user_lines.append(f"{key}={value}")
    ET.SubElement(root, "USER").text = "\n".join(user_lines)
    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
    return _chunk(b"iXML", xml)


def _copy_range(src: Any, dst: Any, offset: int, size: int) -> None:
    src.seek(offset)
    left = size
    while left > 0:
        buf = src.read(min(left, 1 << 20))
        if not buf:
            raise DeliveryError(f"{display_name(src.name)}: the file ended while copying")
        dst.write(buf)
        left -= len(buf)


def _write_wav(path: str, tmp: str, c: _Clean, name: str) -> None:
    chunks = _riff_chunks(path, name)
    fmt = next((ch for ch in chunks if ch[0] == b"fmt "), None)
    data = next((ch for ch in chunks if ch[0] == b"data"), None)
    if fmt is None or data is None:
        raise DeliveryError(f"{name}: the WAV file has no 'fmt ' or 'data' chunk")
    if c.artwork is not None:
        raise DeliveryError(f"{name}: WAV files can't carry artwork here; leave artwork_path unset")
    with open(path, "rb") as src:
        src.seek(fmt[1])
        fmt_bytes = src.read(fmt[2])
        info = _info_chunk(c, name)  # first: its 255-byte limit is the tighter one
        new_chunks = [_bext_chunk(c, name, fmt_bytes)]
        ixml = _ixml_chunk(c)
        keep = [
            ch for ch in chunks
            if ch[0] not in _REPLACED_CHUNKS and not _is_info_list(src, ch)
        ]
        at = keep.index(data)
        before_data, after_data = keep[:at], keep[at + 1 :]
        total = 4 + len(new_chunks[0]) + len(info) + len(ixml)
        total += sum(8 + size + (size & 1) for _cid, _off, size in keep)
        if total + 8 > 0xFFFFFFFF:
            raise DeliveryError(f"{name}: the tagged WAV would pass 4 GB (RIFF's limit)")
        with open(tmp, "wb") as dst:
            dst.write(b"RIFF" + struct.pack("<I", total) + b"WAVE")
            # bext first (EBU Tech 3285 recommends it before fmt), then the file's own chunks,
            # then LIST/INFO and iXML, then the samples and whatever followed them
            dst.write(new_chunks[0])
            for cid, off, size in before_data:
                dst.write(cid + struct.pack("<I", size))
                _copy_range(src, dst, off, size)
                if size & 1:
                    dst.write(b"\x00")
            dst.write(info)
            dst.write(ixml)
            for cid, off, size in [data, *after_data]:
                dst.write(cid + struct.pack("<I", size))
                _copy_range(src, dst, off, size)
                if size & 1:
                    dst.write(b"\x00")
            if dst.tell() != total + 8:
                raise DeliveryError(f"{name}: internal error writing RIFF sizes")


def _is_info_list(src: Any, chunk: tuple[bytes, int, int]) -> bool:
    cid, off, size = chunk
    if cid != b"LIST" or size < 4:
        return False
    src.seek(off)
    return bool(src.read(4) == b"INFO")


# -------------------------------------------------------------------------------------------
# reading back (for tests and `burnish info`)
# -------------------------------------------------------------------------------------------
def read_tags(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The tags of a file as a flat dict of native keys -> values (str, or bytes for pictures).

    Keys are the container's own: ``TIT2``/``TXXX:BARCODE`` for ID3, ``TITLE``/``ISRC`` for
    Vorbis comments, ``\\xa9nam``/``----:com.apple.iTunes:ISRC`` for MP4, and for WAV
    ``INFO:INAM``, ``bext:...`` and ``iXML``.
    """
    target = os.fspath(path)
    name = display_name(target)
    if not os.path.isfile(target):
        raise DeliveryError(f"{name}: no such file")
    container = _container_of(target)
    if container == "wav":
        return _read_wav_tags(target, name)
    import mutagen

    try:
        audio = mutagen.File(target)
    except mutagen.MutagenError as exc:
        raise DeliveryError(f"{name}: can't read tags ({exc})") from None
    if audio is None or audio.tags is None:
        return {}
    out: dict[str, Any] = {}
    if container == "mp3":
        for key, frame in audio.tags.items():
            if key.startswith("APIC"):
                out["APIC"] = bytes(frame.data)
            elif key.startswith("COMM"):
                out["COMM"] = str(frame.text[0])
            elif hasattr(frame, "text"):
                out[key] = str(frame.text[0])
    elif container == "m4a":
        for key, values in audio.tags.items():
            v = values[0]
            if key == "covr":
                out[key] = bytes(v)
            elif isinstance(v, tuple):
                out[key] = f"{v[0]}/{v[1]}"
            elif isinstance(v, bytes):
                out[key] = v.decode("utf-8")
            else:
                out[key] = str(v)
    else:
        for key, value in audio.tags.items():
            out[key.upper()] = value
        if container == "flac" and audio.pictures:
            out["PICTURE"] = bytes(audio.pictures[0].data)
    return out


def _read_wav_tags(path: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with open(path, "rb") as f:
        for cid, off, size in _riff_chunks(path, name):
            if cid == b"data":
                continue
            f.seek(off)
            body = f.read(size)
            if cid == b"LIST" and body[:4] == b"INFO":
                pos = 4
                while pos + 8 <= len(body):
                    iid = body[pos : pos + 4]
                    (isize,) = struct.unpack("<I", body[pos + 4 : pos + 8])
                    value = body[pos + 8 : pos + 8 + isize].rstrip(b"\x00")
                    out[f"INFO:{iid.decode('latin-1')}"] = value.decode("utf-8", errors="replace")
                    pos += 8 + isize + (isize & 1)
            elif cid == b"bext" and size >= _BEXT_FIXED.size:
                (desc, orig, ref, date, time, _lo, _hi, version, _umid, lv, lr, tp, mm, ms,
                 _res) = _BEXT_FIXED.unpack(body[: _BEXT_FIXED.size])

                def text(b: bytes) -> str:
                    return b.rstrip(b"\x00").decode("ascii", errors="replace")

                out.update({
                    "bext:Description": text(desc), "bext:Originator": text(orig),
                    "bext:OriginatorReference": text(ref), "bext:OriginationDate": text(date),
                    "bext:OriginationTime": text(time), "bext:Version": version,
                    "bext:CodingHistory": text(body[_BEXT_FIXED.size :]),
                })
                for key, v in (("LoudnessValue", lv), ("LoudnessRange", lr),
                               ("MaxTruePeakLevel", tp), ("MaxMomentaryLoudness", mm),
                               ("MaxShortTermLoudness", ms)):
                    out[f"bext:{key}"] = None if v == _BEXT_UNSET else v / 100
            elif cid == b"iXML":
                out["iXML"] = body.rstrip(b"\x00").decode("utf-8", errors="replace")
    return out


__all__ = [
    "MAX_ARTWORK_BYTES",
    "MAX_RIFF_INFO_BYTES",
    "Metadata",
    "artwork_info",
    "gs1_check_digit",
    "normalize_barcode",
    "normalize_isrc",
    "normalize_iswc",
    "read_tags",
    "validate",
    "write_tags",
]

