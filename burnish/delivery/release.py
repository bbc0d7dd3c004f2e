"""Release metadata: a small TOML file and command-line flags, checked before rendering.

A release file (see ``examples/release.toml``) holds flat keys::

    title = "City Blues"
    artist = "The Example Band"
    track_number = 3
    isrc = "GB-AAA-26-00001"
    upc = "036000291452"
    artwork = "cover.jpg"          # relative to the release file

Keys are the fields of :class:`burnish.io.metadata.Metadata` (without the loudness fields,
which burnish computes from each deliverable), plus the aliases ``track`` (track_number),
``disc`` (disc_number), ``label`` (publisher), ``upc``/``ean`` (barcode) and ``artwork``
(artwork_path). A TOML date (``date = 2026-03-01``) is accepted as well as text.

:func:`check_release` validates a :class:`~burnish.io.metadata.Metadata` for the containers
about to be written (identifiers and their check digits, artwork type and size, text a
container can't hold) and raises :class:`~burnish.errors.DeliveryError` with a one-line
message before anything is rendered.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from burnish.errors import DeliveryError
from burnish.io.files import display_name
from burnish.io.metadata import Metadata, validate, write_tags

#: Fields a release file or the flags may set (the loudness fields are computed, not given).
RELEASE_FIELDS = (
    "title", "artist", "album", "album_artist", "track_number", "track_total", "disc_number",
    "disc_total", "date", "genre", "composer", "publisher", "copyright", "isrc", "barcode",
    "iswc", "comment", "artwork_path",
)
#: Other names accepted in a release file.
ALIASES = {
    "track": "track_number", "disc": "disc_number", "label": "publisher", "upc": "barcode",
    "ean": "barcode", "artwork": "artwork_path", "albumartist": "album_artist",
}
_INT_FIELDS = ("track_number", "track_total", "disc_number", "disc_total")
#: Tag system per container, as the messages of burnish.io.metadata name it.
_TAG_LABELS = {"wav": "RIFF", "flac": "Vorbis comment", "mp3": "ID3", "aac": "MP4",
               "opus": "Vorbis comment"}


def load_release(path: str | os.PathLike[str]) -> Metadata:
    """Read a release file (TOML) into :class:`Metadata`; relative artwork paths are taken
    from the file's folder. Raises DeliveryError naming the file and the bad key."""
    p = Path(path)
    name = display_name(p)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeliveryError(f"{name}: no such release file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeliveryError(f"{name}: can't read the release file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DeliveryError(f"{name}: not valid TOML ({exc})") from None
    values: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = ALIASES.get(raw_key, raw_key)
        if key not in RELEASE_FIELDS:
            known = sorted(set(RELEASE_FIELDS) - {"artwork_path"} | set(ALIASES))
            raise DeliveryError(f"{name}: unknown key {raw_key!r} (known: {', '.join(known)})")
        if key in values:
            raise DeliveryError(f"{name}: {key} is given twice ({raw_key!r} is another name for it)")
        values[key] = _coerce(name, raw_key, key, value)
    artwork = values.get("artwork_path")
    if artwork is not None and not os.path.isabs(artwork):
        values["artwork_path"] = os.fspath(p.parent / artwork)
    return Metadata(**values)


def _coerce(name: str, raw_key: str, key: str, value: Any) -> Any:
    if key in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DeliveryError(f"{name}: {raw_key} = {value!r} must be a whole number")
        return value
    if key == "date" and isinstance(value, _dt.date):
        return value.isoformat()[:10]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key in (
        "barcode", "isrc", "iswc"
    ):
        raise DeliveryError(f"{name}: {raw_key} = {value!r} must be quoted text"
                            " (leading zeros of a number are lost)")
    if not isinstance(value, str):
        raise DeliveryError(f"{name}: {raw_key} = {value!r} must be text")
    return value


def merge_metadata(base: Metadata | None, overrides: Mapping[str, Any]) -> Metadata:
    """``base`` with every non-None value of ``overrides`` (field names or aliases) set."""
    md = base if base is not None else Metadata()
    changes: dict[str, Any] = {}
    for raw_key, value in overrides.items():
        if value is None:
            continue
        key = ALIASES.get(raw_key, raw_key)
        if key not in RELEASE_FIELDS:
            raise DeliveryError(f"unknown metadata field {raw_key!r}")
        changes[key] = value
    return replace(md, **changes)


def release_metadata(md: Metadata) -> Metadata:
    """Only the release fields of ``md`` (loudness fields cleared: burnish computes them)."""
    return Metadata(**{f: getattr(md, f) for f in RELEASE_FIELDS})


def check_release(md: Metadata, codecs: Iterable[str]) -> None:
    """Validate ``md`` for every codec in ``codecs`` (``wav``, ``flac``, ``mp3``, ``aac``,
    ``opus``) before anything is rendered; DeliveryError with a one-line message otherwise.

    Every container gets :func:`burnish.io.metadata.validate` (ISRC, UPC/EAN and ISWC check
    digits, artwork type and size, dates, numbers, characters). WAV also gets a dry run of
    the RIFF writer on a tiny file outside the output folder, so its limits (255 bytes per
    LIST/INFO item, 256 characters of bext description) fail here, not after rendering.
    """
    seen: list[str] = []
    for codec in codecs:
        if codec not in seen:
            seen.append(codec)
    for codec in seen:
        validate(md, container=_TAG_LABELS[codec])
    if "wav" in seen:
        _dry_run_wav(md)


def _dry_run_wav(md: Metadata) -> None:
    import numpy as np
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="burnish-tagcheck-") as folder:
        probe = os.path.join(folder, "probe.wav")
        sf.write(probe, np.zeros((64, 2)), 44100, subtype="PCM_24")
        try:
            write_tags(probe, replace(md, artwork_path=None))
        except DeliveryError as exc:
            text = str(exc)
            prefix = display_name(probe) + ": "
            if text.startswith(prefix):
                text = text[len(prefix):]
            raise DeliveryError(f"WAV deliverables: {text}") from None


def metadata_fields() -> tuple[str, ...]:
    """Every field name of :class:`Metadata` (for documentation and the CLI)."""
    return tuple(f.name for f in fields(Metadata))


__all__ = [
    "ALIASES",
    "RELEASE_FIELDS",
    "check_release",
    "load_release",
    "merge_metadata",
    "release_metadata",
]
