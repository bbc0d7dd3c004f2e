"""DDP 2.00 images: the folder a CD plant cuts the glass master from.

A burnish DDP folder holds::

    DDPID         128 bytes: level "DDP 2.00", UPC/EAN, disc type "CD"
    DDPMS         128-byte map packets ("VVVM"), one per stream: IMAGE.DAT, PQDESCR, CDTEXT.BIN
    IMAGE.DAT     the programme: 16-bit little-endian interleaved stereo PCM at 44.1 kHz, from
                  the very start of the disc (the 2 s pregap of track 1 included), a whole
                  number of 2352-byte CD frames
    PQDESCR       64-byte PQ descriptor packets ("VVVS"): track, index, absolute time
                  (HH MM SS FF, the disc's time: track 1 INDEX 01 is at 00:02:00), control
                  bytes, ISRC and, in the first packet, the UPC/EAN; the lead-out is track "AA"
    CDTEXT.BIN    CD-TEXT lead-in packs of 18 bytes (type, track, sequence, block/character
                  position, 12 text bytes, CRC-16/CCITT inverted, big-endian)
    checksum.md5  ``md5  NAME`` for every other file (md5sum's format)

Byte layouts (offsets from 0). What was verified against public material and what is
approximate is listed in docs/album.md ("DDP layouts"): the DDPID, DDPMS and PQDESCR field
positions match two independent open-source DDP readers/writers (a browser DDP player that
cross-checks against ddpLib, and a DDP writer's interop test against ddpinfo and cue2ddp); the
CD-TEXT packs are checked byte for byte against cue2ddp's output in the tests.

DDPID: 0-7 level, 8-20 UPC/EAN, 21-28 map stream start (spaces), 29-37 reserved, 38-85 master
id, 86 reserved, 87-88 "CD", 89-92 sides/layers ("1010": one side, side 0, one layer, layer 0),
93-94 user text length, 95-127 user text.

DDPMS: 0-3 "VVVM", 4-5 data stream type ("D0" main data, "S0" subcode), 6-13 data stream
pointer, 14-21 data stream length (CD frames for D0, bytes otherwise), 22-29 data stream start,
30-37 subcode descriptor ("PQ DESCR", "CDTEXT"), 38-39 CD mode ("DA"), 40 source storage mode,
41 scrambled, 42-45 PRE1, 46-49 PRE2 (pregap of the stream in frames: 0150), 50-53 post-gap,
54 media number, 55-56 track, 57-58 index, 59-70 ISRC, 71-73 "017", 74-90 file name,
91-127 reserved.

PQDESCR: 0-3 "VVVS", 4-5 track ("01".."99", "AA" lead-out), 6-7 index, 8-9 hours, 10-11
minutes, 12-13 seconds, 14-15 frames, 16-17 control byte 1, 18-19 control byte 2, 20-31 ISRC,
32-44 UPC/EAN, 45-63 reserved (spaces).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from burnish.delivery.redbook import (
    BYTES_PER_FRAME,
    CD_SAMPLE_RATE,
    FRAMES_PER_S,
    MIN_FIRST_PREGAP_FRAMES,
    SAMPLES_PER_FRAME,
    DiscLayout,
    samples_to_frames,
)
from burnish.errors import DeliveryError
from burnish.io.metadata import gs1_check_digit, normalize_isrc

DDP_LEVEL = "DDP 2.00"
IMAGE_NAME = "IMAGE.DAT"
PQ_NAME = "PQDESCR"
CDTEXT_NAME = "CDTEXT.BIN"
CHECKSUM_NAME = "checksum.md5"
ID_NAME = "DDPID"
MS_NAME = "DDPMS"
LEAD_OUT = "AA"

CDTEXT_TYPES = {
    "title": 0x80,
    "performer": 0x81,
    "songwriter": 0x82,
    "composer": 0x83,
    "arranger": 0x84,
    "message": 0x85,
}
CDTEXT_CODE = 0x8E  # UPC/EAN (track 0) and ISRC (tracks)
CDTEXT_SIZE = 0x8F
MAX_PACKS_PER_BLOCK = 253  # 256 sequence numbers minus the 3 size-information packs
LANGUAGE_ENGLISH = 0x09


# -------------------------------------------------------------------------------------------
# fixed-width ASCII fields
# -------------------------------------------------------------------------------------------
def _field(value: str | int, width: int, *, numeric: bool = False) -> bytes:
    text = f"{value:0{width}d}" if numeric and isinstance(value, int) else str(value)
    raw = text.encode("ascii")
    if len(raw) > width:
        raise DeliveryError(f"DDP field value {text!r} is longer than {width} characters")
    return raw.ljust(width, b" ")


def _record(fields: list[tuple[int, bytes]], size: int) -> bytes:
    buf = bytearray(b" " * size)
    for offset, raw in fields:
        buf[offset:offset + len(raw)] = raw
    if len(buf) != size:
        raise DeliveryError("internal error: a DDP record overflowed")
    return bytes(buf)


def _text(raw: bytes, start: int, width: int) -> str:
    return raw[start:start + width].decode("ascii", "replace").strip(" \x00")


def _int_field(raw: bytes, start: int, width: int, what: str) -> int:
    text = _text(raw, start, width)
    if not text.isdigit():
        raise DeliveryError(f"{what}: {text!r} is not a number")
    return int(text)


def ddpid_record(*, catalog: str, master_id: str = "") -> bytes:
    """The 128-byte DDPID record."""
    return _record([
        (0, _field(DDP_LEVEL, 8)),
        (8, _field(catalog, 13)),
        (38, _field(master_id[:48], 48)),
        (87, b"CD"),
        (89, b"1010"),
    ], 128)


def ddpms_record(*, stream_type: str, length: int, file_name: str, subcode: str = "",
                 cd_mode: str = "", storage_mode: str = "", pregap2_frames: int | None = None) -> bytes:
    """One 128-byte DDPMS map packet."""
    fields = [
        (0, b"VVVM"),
        (4, _field(stream_type, 2)),
        (6, _field(0, 8, numeric=True)),
        (14, _field(length, 8, numeric=True)),
        (22, _field(0, 8, numeric=True)),
        (30, _field(subcode, 8)),
        (38, _field(cd_mode, 2)),
        (40, _field(storage_mode, 1)),
        (41, b"0"),
        (71, b"017"),
        (74, _field(file_name, 17)),
    ]
    if pregap2_frames is not None:
        fields += [(42, _field(0, 4, numeric=True)), (46, _field(pregap2_frames, 4, numeric=True))]
    return _record(fields, 128)


def _hmsf(frames: int) -> tuple[int, int, int, int]:
    seconds, ff = divmod(frames, FRAMES_PER_S)
    minutes, ss = divmod(seconds, 60)
    hours, mm = divmod(minutes, 60)
    return hours, mm, ss, ff


def pq_record(*, track: str, index: int, frames: int, isrc: str = "", catalog: str = "") -> bytes:
    """One 64-byte PQ descriptor packet at absolute disc time ``frames``."""
    h, m, s, f = _hmsf(frames)
    return _record([
        (0, b"VVVS"),
        (4, _field(track, 2)),
        (6, _field(index, 2, numeric=True)),
        (8, _field(h, 2, numeric=True)),
        (10, _field(m, 2, numeric=True)),
        (12, _field(s, 2, numeric=True)),
        (14, _field(f, 2, numeric=True)),
        (16, b"00"),
        (18, b"00"),
        (20, _field(isrc, 12)),
        (32, _field(catalog, 13)),
    ], 64)


# -------------------------------------------------------------------------------------------
# CD-TEXT
# -------------------------------------------------------------------------------------------
def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT (polynomial 0x1021, initial 0), as used by CD-TEXT before inversion."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _pack(kind: int, track: int, seq: int, char_pos: int, payload: bytes) -> bytes:
    head = bytes([kind, track, seq & 0xFF, min(char_pos, 15)]) + payload
    crc = crc16_ccitt(head) ^ 0xFFFF
    return head + crc.to_bytes(2, "big")


def _encode_latin1(value: str, where: str) -> bytes:
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise DeliveryError(
            f"{where}: {value!r} has characters CD-TEXT can't hold (ISO 8859-1 only)"
        ) from None
    if b"\x00" in raw:
        raise DeliveryError(f"{where}: contains a NUL character")
    return raw


def cdtext_packs(
    disc: dict[str, str], tracks: list[dict[str, str]], *, catalog: str = "",
    isrcs: list[str] | None = None,
) -> bytes:
    """CD-TEXT block 0 (English, ISO 8859-1) for a disc: its packs, size information last.

    ``disc`` and each of ``tracks`` map ``title``/``performer``/``songwriter``/``composer``/
    ``arranger``/``message`` to text. A pack type is written when any entry has that field.
    Raises DeliveryError (before anything is written) if the text does not fit in one block.
    """
    entries = [disc] + tracks
    packs: list[bytes] = []
    counts = [0] * 16
    jobs: list[tuple[int, list[bytes]]] = []
    for name, kind in CDTEXT_TYPES.items():
        if any(e.get(name) for e in entries):
            jobs.append((kind, [_encode_latin1(e.get(name, ""), f"CD-TEXT {name}")
                                for e in entries]))
    codes = [catalog] + list(isrcs or [""] * len(tracks))
    if any(codes):
        jobs.append((CDTEXT_CODE, [c.encode("ascii") for c in codes]))
    for kind, strings in jobs:
        buf = bytearray()
        owner: list[tuple[int, int]] = []  # (track, char index within its string) per byte
        for t, s in enumerate(strings):
            for i in range(len(s) + 1):
                owner.append((t, i))
            buf += s + b"\x00"
        for start in range(0, len(buf), 12):
            chunk = bytes(buf[start:start + 12]).ljust(12, b"\x00")
            t, i = owner[start]
            packs.append(_pack(kind, t, len(packs), i, chunk))
            counts[kind - 0x80] += 1
    if len(packs) > MAX_PACKS_PER_BLOCK:
        raise DeliveryError(
            f"CD-TEXT needs {len(packs)} packs; one block holds at most {MAX_PACKS_PER_BLOCK}"
            " (shorten titles or messages)"
        )
    counts[CDTEXT_SIZE - 0x80] = 3
    last_seq = len(packs) + 2
    info = bytes([0x00, 1, len(tracks), 0x00]) + bytes(counts)
    info += bytes([last_seq, 0, 0, 0, 0, 0, 0, 0]) + bytes([LANGUAGE_ENGLISH, 0, 0, 0, 0, 0, 0, 0])
    for k in range(3):
        packs.append(_pack(CDTEXT_SIZE, k, len(packs), 0, info[12 * k:12 * k + 12]))
    return b"".join(packs)


def parse_cdtext(data: bytes) -> dict[str, dict[int, str]]:
    """Field name -> {track (0 = disc): text} from CD-TEXT packs; DeliveryError on a bad CRC."""
    if len(data) % 18 == 4:
        data = data[4:]
    if len(data) % 18:
        raise DeliveryError(f"CD-TEXT: {len(data)} bytes is not a whole number of 18-byte packs")
    names = {v: k for k, v in CDTEXT_TYPES.items()} | {CDTEXT_CODE: "code"}
    streams: dict[str, tuple[int, bytearray]] = {}
    for pos in range(0, len(data), 18):
        pack = data[pos:pos + 18]
        if crc16_ccitt(pack[:16]) ^ 0xFFFF != int.from_bytes(pack[16:], "big"):
            raise DeliveryError(f"CD-TEXT: pack {pos // 18} has a bad CRC")
        kind = pack[0]
        if (pack[3] >> 4) & 0x07 or kind not in names:
            continue
        name = names[kind]
        if name not in streams:
            streams[name] = (pack[1] & 0x7F, bytearray())
        streams[name][1].extend(pack[4:16])
    out: dict[str, dict[int, str]] = {}
    for name, (first, buf) in streams.items():
        parts = bytes(buf).split(b"\x00")
        values: dict[int, str] = {}
        for i, part in enumerate(parts):
            if i == len(parts) - 1 and not part:
                break
            text = part.decode("latin-1")
            values[first + i] = values.get(first + i - 1, "") if text == "\t" else text
        # trailing padding produces empty strings beyond the last track: drop them
        out[name] = {k: v for k, v in values.items() if v or k == first}
    return out


# -------------------------------------------------------------------------------------------
# writing
# -------------------------------------------------------------------------------------------
def pq_entries(layout: DiscLayout) -> list[tuple[str, int, int, str]]:
    """(track, index, absolute frame, ISRC) of every PQ point, lead-out last."""
    out = []
    for t in layout.tracks:
        num = f"{t.number:02d}"
        if t.pregap_start_samples is not None and t.pregap_start_samples < t.start_samples:
            out.append((num, 0, samples_to_frames(t.pregap_start_samples), t.isrc))
        out.append((num, 1, samples_to_frames(t.start_samples), t.isrc))
    out.append((LEAD_OUT, 1, samples_to_frames(layout.total_samples), ""))
    return out


def _md5(path: Path) -> str:
    h = hashlib.md5()  # noqa: S324 - the plants' checksum format, not security
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _image_blocks(wav_path: str | os.PathLike[str], block_frames: int = 1 << 18) -> Iterator[np.ndarray]:
    """int16 (n, 2) blocks of a 44.1 kHz 16-bit stereo WAV, exactly as stored."""
    import soundfile as sf

    with sf.SoundFile(os.fspath(wav_path)) as f:
        if f.samplerate != CD_SAMPLE_RATE or f.channels != 2 or f.subtype != "PCM_16":
            raise DeliveryError(
                f"{wav_path}: a DDP image needs 44.1 kHz 16-bit stereo PCM, not"
                f" {f.samplerate} Hz {f.subtype} {f.channels} channels"
            )
        while True:
            block = f.read(block_frames, dtype="int16", always_2d=True)
            if block.shape[0] == 0:
                return
            yield block


def write_ddp(layout: DiscLayout, album_wav: str | os.PathLike[str],
              out_dir: str | os.PathLike[str], *, master_id: str = "") -> list[str]:
    """Write the DDP 2.00 folder ``out_dir`` for ``layout`` from the album WAV; returns the file
    names. The folder is built under a temporary name and renamed into place when complete."""
    from burnish.delivery.redbook import check_layout

    check_layout(layout)
    disc = {k: getattr(layout, k) for k in CDTEXT_TYPES}
    tracks = [{k: getattr(t, k) for k in CDTEXT_TYPES} for t in layout.tracks]
    text = cdtext_packs(disc, tracks, catalog=layout.catalog, isrcs=[t.isrc for t in layout.tracks])
    target = Path(out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        image = work / IMAGE_NAME
        samples = 0
        with open(image, "wb") as f:
            for block in _image_blocks(album_wav):
                f.write(np.ascontiguousarray(block, dtype="<i2").tobytes())
                samples += block.shape[0]
        if samples != layout.total_samples:
            raise DeliveryError(
                f"{album_wav}: holds {samples} samples but the layout says {layout.total_samples}"
            )
        image_frames = samples_to_frames(samples)
        pq = b""
        for i, (trk, idx, frames, isrc) in enumerate(pq_entries(layout)):
            pq += pq_record(track=trk, index=idx, frames=frames, isrc=isrc,
                            catalog=layout.catalog if i == 0 else "")
        (work / PQ_NAME).write_bytes(pq)
        (work / CDTEXT_NAME).write_bytes(text)
        ms = ddpms_record(stream_type="D0", length=image_frames, file_name=IMAGE_NAME,
                          cd_mode="DA", storage_mode="7", pregap2_frames=MIN_FIRST_PREGAP_FRAMES)
        ms += ddpms_record(stream_type="S0", length=len(pq), file_name=PQ_NAME, subcode="PQ DESCR")
        ms += ddpms_record(stream_type="S0", length=len(text), file_name=CDTEXT_NAME,
                           subcode="CDTEXT")
        (work / MS_NAME).write_bytes(ms)
        (work / ID_NAME).write_bytes(ddpid_record(catalog=layout.catalog, master_id=master_id))
        names = [ID_NAME, MS_NAME, IMAGE_NAME, PQ_NAME, CDTEXT_NAME]
        lines = "".join(f"{_md5(work / n)}  {n}\n" for n in names)
        (work / CHECKSUM_NAME).write_text(lines, encoding="ascii")
        for n in names + [CHECKSUM_NAME]:
            with open(work / n, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(work, 0o755)
        _swap_in(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return names + [CHECKSUM_NAME]


def _swap_in(work: Path, target: Path) -> None:
    old: Path | None = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
    try:
        os.replace(work, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# -------------------------------------------------------------------------------------------
# reading
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapEntry:
    stream_type: str
    length: int
    subcode: str
    cd_mode: str
    file_name: str
    pregap2_frames: int | None


@dataclass(frozen=True)
class PqEntry:
    track: str
    index: int
    frames: int
    isrc: str
    catalog: str

    @property
    def time(self) -> str:
        h, m, s, f = _hmsf(self.frames)
        return f"{h * 60 + m:02d}:{s:02d}:{f:02d}"


@dataclass
class DdpImage:
    """A DDP folder as read back: identification, map, PQ points and CD-TEXT."""

    folder: Path
    level: str
    catalog: str
    map: list[MapEntry]
    pq: list[PqEntry]
    cdtext: dict[str, dict[int, str]] = field(default_factory=dict)

    def stream(self, kind: str) -> MapEntry | None:
        for m in self.map:
            if kind == "image" and m.stream_type.startswith("D"):
                return m
            if kind == "pq" and m.subcode.startswith("PQ"):
                return m
            if kind == "cdtext" and m.subcode.startswith("CDTEXT"):
                return m
        return None

    @property
    def image_path(self) -> Path:
        m = self.stream("image")
        return self.folder / (m.file_name if m else IMAGE_NAME)

    def tracks(self) -> list[dict[str, Any]]:
        """Per track: number, INDEX 00/01 frames, end frame, ISRC and CD-TEXT."""
        points = [p for p in self.pq if p.track != LEAD_OUT]
        lead_out = next((p.frames for p in self.pq if p.track == LEAD_OUT), None)
        numbers = sorted({int(p.track) for p in points})
        out = []
        for n in numbers:
            idx = {p.index: p for p in points if int(p.track) == n}
            nxt = [p.frames for p in points if int(p.track) == n + 1]
            end = min(nxt) if nxt else lead_out
            first = idx.get(1) or min(idx.values(), key=lambda p: p.index)
            out.append({
                "number": n,
                "index00_frames": idx[0].frames if 0 in idx else None,
                "index01_frames": first.frames,
                "end_frames": end,
                "isrc": first.isrc,
                **{k: v.get(n, "") for k, v in self.cdtext.items() if k != "code"},
            })
        return out


def read_ddp(folder: str | os.PathLike[str]) -> DdpImage:
    """Read a DDP folder's descriptors (not the audio); DeliveryError if they are malformed."""
    root = Path(folder)
    if not root.is_dir():
        raise DeliveryError(f"{root}: not a folder")
    try:
        ident = (root / ID_NAME).read_bytes()
        ms_raw = (root / MS_NAME).read_bytes()
    except FileNotFoundError as exc:
        raise DeliveryError(f"{root}: not a DDP image ({Path(exc.filename).name} is missing)") from None
    if len(ident) != 128 or not ident.startswith(b"DDP "):
        raise DeliveryError(f"{root / ID_NAME}: not a 128-byte DDPID record")
    if len(ms_raw) == 0 or len(ms_raw) % 128:
        raise DeliveryError(f"{root / MS_NAME}: {len(ms_raw)} bytes is not a whole number of 128-byte packets")
    entries = []
    for pos in range(0, len(ms_raw), 128):
        rec = ms_raw[pos:pos + 128]
        if rec[:4] != b"VVVM":
            raise DeliveryError(f"{root / MS_NAME}: packet {pos // 128} does not start with VVVM")
        pre2 = _text(rec, 46, 4)
        entries.append(MapEntry(
            stream_type=_text(rec, 4, 2),
            length=_int_field(rec, 14, 8, f"{MS_NAME} packet {pos // 128} length"),
            subcode=_text(rec, 30, 8),
            cd_mode=_text(rec, 38, 2),
            file_name=_text(rec, 74, 17),
            pregap2_frames=int(pre2) if pre2.isdigit() else None,
        ))
    image = DdpImage(root, _text(ident, 0, 8), _text(ident, 8, 13), entries, [])
    pq_map = image.stream("pq")
    if pq_map is None:
        raise DeliveryError(f"{root}: the map has no PQ descriptor stream")
    try:
        pq_raw = (root / pq_map.file_name).read_bytes()
    except FileNotFoundError:
        raise DeliveryError(f"{root}: {pq_map.file_name} is missing") from None
    if len(pq_raw) % 64:
        raise DeliveryError(f"{root / pq_map.file_name}: not a whole number of 64-byte packets")
    for pos in range(0, len(pq_raw), 64):
        rec = pq_raw[pos:pos + 64]
        where = f"{pq_map.file_name} packet {pos // 64}"
        if rec[:4] != b"VVVS":
            raise DeliveryError(f"{root / pq_map.file_name}: packet {pos // 64} does not start with VVVS")
        h, m, s, f = (_int_field(rec, o, 2, where) for o in (8, 10, 12, 14))
        image.pq.append(PqEntry(
            track=_text(rec, 4, 2), index=_int_field(rec, 6, 2, where),
            frames=((h * 60 + m) * 60 + s) * FRAMES_PER_S + f,
            isrc=_text(rec, 20, 12), catalog=_text(rec, 32, 13),
        ))
    text_map = image.stream("cdtext")
    if text_map is not None and (root / text_map.file_name).is_file():
        image.cdtext = parse_cdtext((root / text_map.file_name).read_bytes())
    return image


def verify_ddp(folder: str | os.PathLike[str]) -> list[str]:
    """Check a DDP folder: checksums, structure, PQ sanity. Returns notes; raises DeliveryError
    with every problem found (one per line after the first)."""
    root = Path(folder)
    problems: list[str] = []
    notes: list[str] = []
    image = read_ddp(root)
    if image.level != DDP_LEVEL:
        problems.append(f"DDPID level is {image.level!r}, expected {DDP_LEVEL!r}")
    sums = root / CHECKSUM_NAME
    if not sums.is_file():
        problems.append(f"{CHECKSUM_NAME} is missing")
    else:
        listed = set()
        for line in sums.read_text(encoding="ascii", errors="replace").splitlines():
            if not line.strip():
                continue
            digest, _, name = line.partition("  ")
            name = name.strip().lstrip("*")
            listed.add(name)
            if not (root / name).is_file():
                problems.append(f"{name}: listed in {CHECKSUM_NAME} but missing")
            elif _md5(root / name) != digest.strip().lower():
                problems.append(f"{name}: MD5 mismatch")
        for item in sorted(root.iterdir()):
            if item.is_file() and item.name != CHECKSUM_NAME and item.name not in listed:
                problems.append(f"{item.name}: not listed in {CHECKSUM_NAME}")
        notes.append(f"checksums: {len(listed)} files checked")
    for m in image.map:
        path = root / m.file_name
        if not path.is_file():
            problems.append(f"{m.file_name}: named in {MS_NAME} but missing")
            continue
        size = path.stat().st_size
        expected = m.length * BYTES_PER_FRAME if m.stream_type.startswith("D") else m.length
        if size != expected:
            problems.append(f"{m.file_name}: {size} bytes, the map says {expected}")
    img = image.stream("image")
    if img is None:
        problems.append("the map has no audio (D0) stream")
    image_frames = img.length if img is not None else 0
    points = [p for p in image.pq if p.track != LEAD_OUT]
    prev = -1
    for p in image.pq:
        if p.frames < prev:
            problems.append(f"PQ: track {p.track} index {p.index:02d} at {p.time} is before the previous point")
        prev = p.frames
    lead = [p for p in image.pq if p.track == LEAD_OUT]
    if len(lead) != 1:
        problems.append("PQ: there must be exactly one lead-out (track AA) point")
    elif img is not None and lead[0].frames != image_frames:
        problems.append(f"PQ: the lead-out is at {lead[0].time} but the image ends at frame {image_frames}")
    numbers = [int(p.track) for p in points if p.track.isdigit()]
    if sorted(set(numbers)) != list(range(1, len(set(numbers)) + 1)):
        problems.append("PQ: track numbers are not 1, 2, 3, ... in order")
    starts = [p for p in points if p.index == 1]
    if starts and starts[0].frames < MIN_FIRST_PREGAP_FRAMES:
        problems.append(f"PQ: track 1 starts at {starts[0].time}, before 00:02:00")
    for p in points:
        if p.isrc:
            try:
                normalize_isrc(p.isrc)
            except DeliveryError as exc:
                problems.append(f"PQ track {p.track}: {exc}")
    for cat in {image.catalog} | {p.catalog for p in image.pq}:
        if cat and (not cat.isdigit() or len(cat) != 13 or gs1_check_digit(cat[:-1]) != int(cat[-1])):
            problems.append(f"UPC/EAN {cat!r}: not 13 digits with a valid check digit")
    notes.append(f"PQ: {len(starts)} tracks, lead-out at {lead[0].time if lead else '?'}")
    if problems:
        raise DeliveryError(f"{root}: {len(problems)} problem(s): " + "; ".join(problems))
    return notes


def extract_wav(folder: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
                track: int | None = None) -> tuple[int, int]:
    """Write the whole image (or track ``track``: INDEX 01 to the next track's first index) as a
    44.1 kHz 16-bit WAV; returns (start, end) in samples of the image."""
    import soundfile as sf

    from burnish.io.files import atomic_temp_path, commit_temp, discard_temp

    image = read_ddp(folder)
    path = image.image_path
    if not path.is_file():
        raise DeliveryError(f"{path}: missing")
    total = path.stat().st_size // 4
    start, end = 0, total
    if track is not None:
        found = [t for t in image.tracks() if t["number"] == track]
        if not found:
            raise DeliveryError(f"track={track} is not on this image (1-{len(image.tracks())})")
        start = found[0]["index01_frames"] * SAMPLES_PER_FRAME
        end = (found[0]["end_frames"] or total // SAMPLES_PER_FRAME) * SAMPLES_PER_FRAME
    tmp = atomic_temp_path(out_path)
    try:
        with sf.SoundFile(tmp, "w", samplerate=CD_SAMPLE_RATE, channels=2, subtype="PCM_16",
                          format="WAV") as out, open(path, "rb") as src:
            src.seek(start * 4)
            left = end - start
            while left > 0:
                n = min(left, 1 << 18)
                raw = src.read(n * 4)
                if len(raw) != n * 4:
                    raise DeliveryError(f"{path}: shorter than the PQ descriptors say")
                out.write(np.frombuffer(raw, dtype="<i2").reshape(-1, 2))
                left -= n
    except BaseException:
        discard_temp(tmp)
        raise
    commit_temp(tmp, out_path)
    return start, end
