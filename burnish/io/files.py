"""Reading and writing audio files in blocks.

Two decoding back ends sit behind one :class:`AudioReader`:

* libsndfile (``soundfile``) for WAV (PCM 8/16/24/32-bit, float 32/64, WAVE_FORMAT_EXTENSIBLE,
  RF64), AIFF/AIFC, FLAC and Ogg Vorbis/FLAC;
* the ffmpeg libraries (PyAV) for MP3, AAC/M4A/ALAC, Opus and anything else libsndfile can't
  open. Encoder delay and padding are removed (LAME/Xing header, MP4 edit list, Opus pre-skip),
  so a decoded file lines up with what was encoded.

The back end is chosen from the file's first bytes, not its name, so a mislabelled file still
reads. Every block is ``(channels, samples)`` float and checked for NaN/Inf. Anything that is not
readable audio raises :class:`~burnish.errors.AudioFileError` with a one-line message that names
the file and the problem.

Writing is atomic: a temporary file beside the target, renamed into place only when complete.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from burnish.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, SUPPORTED_CHANNELS, check_audio
from burnish.errors import AudioFileError

#: Frames per block when streaming, unless a caller asks otherwise (about 1.5 s at 44.1 kHz).
DEFAULT_BLOCK_FRAMES = 65536

#: What the reader accepts, for messages.
READABLE_FORMATS = "WAV, AIFF, FLAC, Ogg Vorbis, MP3, AAC/M4A, Opus"


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a file holds, read from its header (no samples decoded, except to count frames of
    compressed files whose headers don't say it exactly)."""

    path: str
    sample_rate: int
    num_channels: int
    num_frames: int
    format: str  # container: "WAV", "FLAC", "AIFF", "OGG", "MP3", "M4A", ...
    subtype: str  # sample format / codec: "PCM_16", "PCM_24", "FLOAT", "VORBIS", "aac", ...
    bit_depth: int | None  # bits per sample of PCM formats, None for lossy codecs
    backend: str = "soundfile"  # "soundfile" (libsndfile) or "pyav" (ffmpeg)

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def lossy(self) -> bool:
        return self.bit_depth is None

    @property
    def is_float(self) -> bool:
        """True for floating-point PCM (which can hold NaN/Inf and overs above 0 dBFS)."""
        return self.subtype in ("FLOAT", "DOUBLE")


_SUBTYPE_BITS = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "FLOAT": 32,
    "DOUBLE": 64,
    "ALAC_16": 16,
    "ALAC_20": 20,
    "ALAC_24": 24,
    "ALAC_32": 32,
}


def display_name(path: str | os.PathLike[str]) -> str:
    """A file name fit for a one-line message: as is, or escaped if it holds control characters
    (a newline in a file name must not split an error message over two lines)."""
    text = os.fspath(path)
    if text.isprintable():
        return text
    return repr(text)[1:-1]


def _check_layout(name: str, sample_rate: int, num_channels: int) -> None:
    if num_channels < 1:
        raise AudioFileError(f"{name}: the header says {num_channels} channels")
    if num_channels not in SUPPORTED_CHANNELS:
        raise AudioFileError(
            f"{name}: has {num_channels} channels; burnish supports mono and stereo"
            " (fold it down to stereo first)"
        )
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioFileError(
            f"{name}: sample rate {sample_rate} Hz is outside the supported"
            f" {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1].strip() if text else type(exc).__name__


# -------------------------------------------------------------------------------------------
# sniffing: what the first bytes say the file is
# -------------------------------------------------------------------------------------------
_SNDFILE_KINDS = frozenset({"wav", "aiff", "flac", "ogg"})


def _sniff(head: bytes) -> str:
    """Kind of file from its first bytes: wav, aiff, flac, ogg, opus, mp3 (ID3 tag), mp4,
    mpeg (a bare frame sync), text, unknown."""
    if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "opus" if b"OpusHead" in head[:200] else "ogg"
    if head[:3] == b"ID3":
        return "mp3"
    if head[4:8] == b"ftyp":
        return "mp4"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "mpeg"  # a bare MP3/ADTS frame sync: a weak sign, random bytes show it too
    if head and _looks_like_text(head):
        return "text"
    return "unknown"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at the end of the sample is still text
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(c.isprintable() or c in "\r\n\t\f" for c in text)


def _riff_problem(path: str) -> str | None:
    """A precise description of what is wrong with a RIFF/WAVE header, or None if it looks sane.

    libsndfile's own messages ("SF_INFO struct incomplete") don't tell a musician much.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 16)
    except OSError:
        return None
    if len(data) < 12:
        return "the WAV header is truncated"
    pos = 12
    fmt: bytes | None = None
    has_data = False
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        if chunk_id == b"fmt ":
            fmt = data[pos + 8 : pos + 8 + min(size, 40)]
        elif chunk_id == b"data":
            has_data = True
            break
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        return "the WAV header is truncated (no complete 'fmt ' chunk)"
    _tag, channels, sample_rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if channels == 0:
        return "the WAV header says 0 channels"
    if sample_rate == 0:
        return "the WAV header says a sample rate of 0 Hz"
    if bits == 0:
        return "the WAV header says 0 bits per sample"
    if not has_data:
        return "the WAV file is truncated (no 'data' chunk)"
    return None


def _preflight(path: str, name: str) -> bytes:
    """Check that ``path`` is a readable, non-empty file and return its first bytes."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise AudioFileError(f"{name}: no such file") from None
    except NotADirectoryError:
        raise AudioFileError(f"{name}: no such file (a parent is not a folder)") from None
    except PermissionError:
        raise AudioFileError(f"{name}: permission denied") from None
    except OSError as exc:
        raise AudioFileError(f"{name}: can't open ({exc.strerror or exc})") from None
    if p.is_dir():
        raise AudioFileError(f"{name}: is a folder, not an audio file")
    if not p.is_file():
        raise AudioFileError(f"{name}: is not a regular file")
    if st.st_size == 0:
        raise AudioFileError(f"{name}: the file is empty")
    try:
        with open(path, "rb") as f:
            return f.read(512)
    except PermissionError:
        raise AudioFileError(f"{name}: permission denied (can't read the file)") from None
    except OSError as exc:
        raise AudioFileError(f"{name}: can't read ({exc.strerror or exc})") from None


# -------------------------------------------------------------------------------------------
# back ends
# -------------------------------------------------------------------------------------------
class _SoundfileSource:
    """libsndfile: WAV, AIFF, FLAC, Ogg Vorbis."""

    def __init__(self, path: str, name: str) -> None:
        import soundfile as sf

        self.name = name
        self._sf: Any = sf.SoundFile(path)  # raises LibsndfileError / RuntimeError
        f = self._sf
        self.sample_rate = int(f.samplerate)
        self.num_channels = int(f.channels)
        self.num_frames = int(f.frames)
        self.format = str(f.format)
        self.subtype = str(f.subtype)
        self.bit_depth = _SUBTYPE_BITS.get(self.subtype)

    def read(self, num_frames: int, dtype: np.dtype[Any]) -> npt.NDArray[np.floating]:
        import soundfile as sf

        try:
            data = self._sf.read(num_frames, dtype=dtype.name, always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise _DamagedError(_short(exc)) from None
        return np.ascontiguousarray(data.T)

    def seek(self, frame: int) -> None:
        self._sf.seek(frame)

    def close(self) -> None:
        self._sf.close()


class _DamagedError(Exception):
    """Raised by a back end when the audio data can't be decoded; AudioReader adds the file."""


_AV_CONTAINERS = {
    "mp3": "MP3",
    "mov,mp4,m4a,3gp,3g2,mj2": "M4A",
    "ogg": "OGG",
    "matroska,webm": "MATROSKA",
    "aac": "AAC",
    "wav": "WAV",
    "aiff": "AIFF",
    "flac": "FLAC",
    "caf": "CAF",
    "w64": "W64",
    "wv": "WAVPACK",
    "ape": "APE",
    "asf": "WMA",
}

_LOSSLESS_CODECS = ("flac", "alac", "wavpack", "ape", "tta", "mlp", "truehd", "pcm_")


class _PyAVSource:
    """ffmpeg through PyAV: MP3, AAC/M4A, Opus and the rest.

    The exact frame count is found by one decoding pass when the file is opened (about 1/1000
    of real time for MP3): headers of compressed files only estimate it. Decoded frames are
    trimmed to the stream's true length (encoder delay and padding removed by ffmpeg from the
    LAME tag, MP4 edit list and Opus pre-skip; the decoder's tail after the edit list cut here).
    """

    def __init__(self, path: str, name: str) -> None:
        self.path = path
        self.name = name
        container, stream = self._open()
        try:
            cc = stream.codec_context
            self.sample_rate = int(cc.sample_rate or stream.rate or 0)
            self.num_channels = int(cc.layout.nb_channels if cc.layout else cc.channels)
            fmt_name = str(container.format.name)
            self.format = _AV_CONTAINERS.get(fmt_name, fmt_name.split(",")[0].upper())
            codec = str(cc.codec.name)
            self.subtype = codec[: -len("float")] if codec.endswith("float") else codec
            self.bit_depth = self._bits(cc, codec)
            if self.sample_rate <= 0 or self.num_channels <= 0:
                raise AudioFileError(
                    f"{name}: the header says {self.sample_rate} Hz, {self.num_channels} channels"
                )
            _check_layout(name, self.sample_rate, self.num_channels)
            self.num_frames = self._count(container, stream)
        finally:
            container.close()
        self._container: Any = None
        self._frames: Iterator[npt.NDArray[np.float64]] | None = None
        self._buffer: list[npt.NDArray[np.float64]] = []
        self._buffered = 0
        self._position = 0

    @staticmethod
    def _bits(cc: Any, codec: str) -> int | None:
        if not codec.startswith(_LOSSLESS_CODECS):
            return None
        bits = int(getattr(cc, "bits_per_raw_sample", 0) or 0)
        if bits:
            return bits
        fmt = cc.format
        return int(fmt.bits) if fmt is not None else None

    def _open(self) -> tuple[Any, Any]:
        import av

        try:
            container = av.open("file:" + os.path.abspath(self.path), "r")
        except av.error.FFmpegError as exc:
            raise _UnreadableError(_short(exc)) from None
        streams = container.streams.audio
        if not streams:
            container.close()
            raise AudioFileError(f"{self.name}: has no audio stream")
        return container, streams[0]

    def _decoded(self, container: Any, stream: Any) -> Iterator[tuple[Any, int | None]]:
        """Yield ``(frame, end_pts)``; ``end_pts`` is the furthest packet end seen so far."""
        import av

        end_pts: int | None = None
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.duration:
                    end = int(packet.pts + packet.duration)
                    end_pts = end if end_pts is None else max(end_pts, end)
                for frame in packet.decode():
                    yield frame, end_pts
        except av.error.FFmpegError as exc:
            raise _DamagedError(_short(exc)) from None

    def _count(self, container: Any, stream: Any) -> int:
        count = 0
        first_pts: int | None = None
        end_pts: int | None = None
        for frame, seen_end in self._decoded(container, stream):
            if first_pts is None and frame.pts is not None:
                first_pts = int(frame.pts)
            count += int(frame.samples)
            end_pts = seen_end
        tb = stream.time_base
        if first_pts is not None and end_pts is not None and tb:
            span = int(round((end_pts - first_pts) * tb * self.sample_rate))
            if 0 < span < count:  # the decoder's tail past the edit list / stream end
                count = span
        return count

    def _convert(self, frame: Any) -> npt.NDArray[np.float64]:
        arr = frame.to_ndarray()
        channels = int(frame.layout.nb_channels)
        if not frame.format.is_planar:
            arr = arr.reshape(-1, channels).T
        kind = arr.dtype
        if kind == np.uint8:
            out = (arr.astype(np.float64) - 128.0) / 128.0
        elif kind == np.int16:
            out = arr.astype(np.float64) / 32768.0
        elif kind == np.int32:
            out = arr.astype(np.float64) / 2147483648.0
        elif kind == np.int64:
            out = arr.astype(np.float64) / 9223372036854775808.0
        else:
            out = arr.astype(np.float64)
        if out.shape[0] != self.num_channels:
            raise _DamagedError(f"the channel count changes mid-stream ({out.shape[0]})")
        return out

    def _frame_arrays(self) -> Iterator[npt.NDArray[np.float64]]:
        container, stream = self._open()
        self._container = container
        for frame, _end in self._decoded(container, stream):
            yield self._convert(frame)

    def read(self, num_frames: int, dtype: np.dtype[Any]) -> npt.NDArray[np.floating]:
        if self._frames is None:
            self._frames = self._frame_arrays()
        want = max(0, min(num_frames, self.num_frames - self._position))
        while self._buffered < want:
            try:
                arr = next(self._frames)
            except StopIteration:
                break
            self._buffer.append(arr)
            self._buffered += arr.shape[1]
        take = min(want, self._buffered)
        if not self._buffer or take == 0:
            return np.zeros((self.num_channels, 0), dtype=dtype)
        joined = np.concatenate(self._buffer, axis=1) if len(self._buffer) > 1 else self._buffer[0]
        out, rest = joined[:, :take], joined[:, take:]
        self._buffer = [rest] if rest.shape[1] else []
        self._buffered = rest.shape[1]
        self._position += take
        return np.ascontiguousarray(out, dtype=dtype)

    def seek(self, frame: int) -> None:
        """Go to ``frame`` by decoding from the start (exact; costs a decode up to ``frame``)."""
        self.close()
        self._buffer, self._buffered, self._position = [], 0, 0
        dtype = np.dtype(np.float64)
        while self._position < frame:
            if self.read(min(frame - self._position, 1 << 16), dtype).shape[1] == 0:
                break

    def close(self) -> None:
        self._frames = None
        if self._container is not None:
            self._container.close()
            self._container = None


class _UnreadableError(Exception):
    """ffmpeg can't open the file at all."""


_Source = _SoundfileSource | _PyAVSource


def _open_source(path: str, name: str, head: bytes) -> _Source:
    """Pick a back end from the first bytes and open the file, or raise AudioFileError."""
    import soundfile as sf

    kind = _sniff(head)
    sf_error: str | None = None
    if kind in _SNDFILE_KINDS or kind == "unknown":
        try:
            return _SoundfileSource(path, name)
        except (sf.LibsndfileError, RuntimeError) as exc:
            sf_error = _short(exc).split(": ", 1)[-1] if "Error opening" in str(exc) else _short(exc)
        if kind == "wav":
            problem = _riff_problem(path)
            if problem is not None:
                raise AudioFileError(f"{name}: {problem}")
    if kind == "text":
        raise AudioFileError(f"{name}: not an audio file (it holds text)")
    try:
        return _PyAVSource(path, name)
    except _UnreadableError:
        pass
    except _DamagedError as exc:
        raise AudioFileError(f"{name}: the audio data is damaged ({exc})") from None
    if kind in _SNDFILE_KINDS:
        label = {"wav": "WAV", "aiff": "AIFF", "flac": "FLAC", "ogg": "Ogg"}[kind]
        raise AudioFileError(f"{name}: damaged or unsupported {label} file ({sf_error})")
    if kind in ("mp3", "mp4", "opus"):
        raise AudioFileError(f"{name}: damaged or unsupported {kind.upper()} file")
    raise AudioFileError(f"{name}: not a recognised audio file (burnish reads {READABLE_FORMATS})")


# -------------------------------------------------------------------------------------------
# the reader
# -------------------------------------------------------------------------------------------
class AudioReader:
    """Read an audio file block by block, in bounded memory.

    >>> with AudioReader("mix.flac") as reader:          # doctest: +SKIP
    ...     for block in reader.blocks(65536):
    ...         meter.update(block)

    ``reader.info`` describes the file. Blocks are ``(channels, n)`` arrays of ``dtype``
    (float64 unless asked otherwise). Raises :class:`AudioFileError` for anything that isn't
    readable mono/stereo audio at 8-192 kHz, including NaN/Inf samples (when read).
    """

    def __init__(self, path: str | os.PathLike[str], *, dtype: Any = np.float64) -> None:
        self.path = os.fspath(path)
        self.name = display_name(self.path)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise AudioFileError(f"{self.name}: dtype={self.dtype} must be float32 or float64")
        self._src: _Source | None = None
        self._frames_read = 0
        head = _preflight(self.path, self.name)
        src = _open_source(self.path, self.name, head)
        self._src = src
        try:
            if src.num_channels <= 0 and isinstance(src, _SoundfileSource):
                raise AudioFileError(f"{self.name}: the header says {src.num_channels} channels")
            _check_layout(self.name, src.sample_rate, src.num_channels)
            if src.num_frames <= 0:
                raise AudioFileError(f"{self.name}: holds no audio (zero length)")
        except AudioFileError:
            self.close()
            raise
        self.info = AudioInfo(
            path=self.path,
            sample_rate=src.sample_rate,
            num_channels=src.num_channels,
            num_frames=src.num_frames,
            format=src.format,
            subtype=src.subtype,
            bit_depth=src.bit_depth,
            backend="soundfile" if isinstance(src, _SoundfileSource) else "pyav",
        )

    # context manager -----------------------------------------------------------------------
    def __enter__(self) -> AudioReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the file (idempotent)."""
        if self._src is not None:
            self._src.close()
            self._src = None

    # reading -------------------------------------------------------------------------------
    @property
    def position(self) -> int:
        """Frames read (or sought past) so far."""
        return self._frames_read

    def read(self, num_frames: int) -> npt.NDArray[np.floating]:
        """Read up to ``num_frames`` frames as ``(channels, n)``; ``n == 0`` at the end."""
        if self._src is None:
            raise AudioFileError(f"{self.name}: read after close")
        if num_frames < 0:
            raise AudioFileError(f"{self.name}: num_frames={num_frames} must be >= 0")
        try:
            block = self._src.read(num_frames, self.dtype)
        except _DamagedError as exc:
            raise AudioFileError(
                f"{self.name}: the audio data is damaged near frame {self._frames_read} ({exc})"
            ) from None
        if block.size and not np.isfinite(block).all():
            bad = int(np.argmax(~np.isfinite(block).all(axis=0)))
            raise AudioFileError(
                f"{self.name}: contains NaN or infinite samples (first at frame"
                f" {self._frames_read + bad})"
            )
        self._frames_read += block.shape[1]
        return block

    def blocks(self, block_frames: int = DEFAULT_BLOCK_FRAMES) -> Iterator[npt.NDArray[np.floating]]:
        """Yield ``(channels, n)`` blocks of ``block_frames`` (the last may be shorter)."""
        if block_frames <= 0:
            raise AudioFileError(f"{self.name}: block_frames={block_frames} must be > 0")
        while True:
            block = self.read(block_frames)
            if block.shape[1] == 0:
                return
            yield block

    def seek(self, frame: int) -> None:
        """Move to ``frame`` (0-based) so that the next read starts there."""
        if self._src is None:
            raise AudioFileError(f"{self.name}: seek after close")
        if not 0 <= frame <= self.info.num_frames:
            raise AudioFileError(
                f"{self.name}: can't seek to frame {frame} (the file has {self.info.num_frames})"
            )
        try:
            self._src.seek(frame)
        except _DamagedError as exc:
            raise AudioFileError(f"{self.name}: the audio data is damaged ({exc})") from None
        self._frames_read = frame


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Read a file's header (for MP3/AAC/Opus this decodes once to count frames exactly)."""
    with AudioReader(path) as reader:
        return reader.info


def read_audio(
    path: str | os.PathLike[str], *, dtype: Any = np.float64
) -> tuple[npt.NDArray[np.floating], int]:
    """Read a whole file as ``(audio, sample_rate)``; prefer :class:`AudioReader` for long files."""
    with AudioReader(path, dtype=dtype) as reader:
        audio = np.empty((reader.info.num_channels, reader.info.num_frames), dtype=reader.dtype)
        pos = 0
        for block in reader.blocks(1 << 18):
            n = min(block.shape[1], audio.shape[1] - pos)
            audio[:, pos : pos + n] = block[:, :n]
            pos += n
        return audio[:, :pos], reader.info.sample_rate


# -------------------------------------------------------------------------------------------
# writing
# -------------------------------------------------------------------------------------------
_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF", ".ogg": "OGG"}
_PCM_SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT", 64: "DOUBLE"}


def atomic_temp_path(path: str | os.PathLike[str]) -> str:
    """Create and return an empty temporary file beside ``path`` (same folder, so the final
    ``os.replace`` is an atomic rename), with the permissions a new file would get."""
    target = Path(os.fspath(path))
    folder = target.parent
    name = display_name(target)
    if not folder.is_dir():
        raise AudioFileError(f"{name}: the folder {display_name(folder)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part" + target.suffix, dir=folder
        )
    except OSError as exc:
        raise AudioFileError(f"{name}: can't write in the folder ({exc.strerror or exc})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    mode = 0o666 & ~umask
    try:
        if target.exists():
            mode = target.stat().st_mode & 0o777
    except OSError:
        pass
    os.chmod(tmp, mode)
    return tmp


def commit_temp(tmp: str, path: str | os.PathLike[str]) -> None:
    """Flush ``tmp`` to disk and rename it onto ``path``; remove it if that fails."""
    try:
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, os.fspath(path))
    except OSError as exc:
        discard_temp(tmp)
        raise AudioFileError(
            f"{display_name(path)}: can't move the finished file into place ({exc.strerror or exc})"
        ) from None


def discard_temp(tmp: str) -> None:
    """Remove a temporary file if it is still there."""
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


class AudioWriter:
    """Write PCM audio (WAV/FLAC/AIFF) block by block, atomically.

    Samples go to a temporary file in the target's folder; ``close()`` renames it into place.
    If the writer is closed after an error (or ``abort()`` is called) the temporary file is
    removed and an existing file at ``path`` is left untouched. Samples are written as given:
    quantisation to 16/24 bits is libsndfile's rounding, so dither first (burnish.dsp.dither).
    ``bit_depth`` is 16 or 24 (integer PCM), 32 (float) or 64 (double, WAV only); FLAC holds
    16 or 24.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_rate: int,
        num_channels: int,
        bit_depth: int = 24,
        format: str | None = None,
    ) -> None:
        import soundfile as sf

        self.path = os.fspath(path)
        self.name = display_name(self.path)
        self._sf: Any = None
        self._tmp: str | None = None
        suffix = Path(self.path).suffix.lower()
        fmt = (format or _FORMATS.get(suffix) or "").upper()
        if fmt not in ("WAV", "FLAC", "AIFF", "OGG"):
            raise AudioFileError(
                f"{self.name}: can't tell the format from {format or suffix!r}"
                f" (use one of {', '.join(_FORMATS)} or format='WAV'/'FLAC'/'AIFF')"
            )
        if bit_depth not in _PCM_SUBTYPES:
            raise AudioFileError(f"{self.name}: bit_depth={bit_depth} must be 16, 24, 32 or 64")
        subtype = _PCM_SUBTYPES[bit_depth]
        if fmt == "OGG":
            subtype = "VORBIS"
        if fmt == "FLAC" and bit_depth > 24:
            raise AudioFileError(f"{self.name}: FLAC holds at most 24 bits; use WAV for float")
        if fmt == "AIFF" and bit_depth == 64:
            raise AudioFileError(f"{self.name}: write 64-bit float as WAV, not AIFF")
        _check_layout(self.name, sample_rate, num_channels)
        self._tmp = atomic_temp_path(self.path)
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self.bit_depth = bit_depth
        self.format = fmt
        self.frames_written = 0
        try:
            self._sf = sf.SoundFile(
                self._tmp, "w", samplerate=sample_rate, channels=num_channels,
                subtype=subtype, format=fmt,
            )
        except Exception as exc:
            discard_temp(self._tmp)
            raise AudioFileError(f"{self.name}: can't write ({_short(exc)})") from None

    def write(self, block: npt.ArrayLike) -> None:
        """Append a ``(channels, n)`` block."""
        if self._sf is None:
            raise AudioFileError(f"{self.name}: write after close")
        x = check_audio(block, num_channels=self.num_channels, name="block")
        try:
            self._sf.write(np.ascontiguousarray(x.T))
        except Exception as exc:
            self.abort()
            raise AudioFileError(f"{self.name}: writing failed ({_short(exc)})") from None
        self.frames_written += x.shape[1]

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._sf is None:
            return
        try:
            self._sf.close()
        except Exception as exc:
            self._sf = None
            self.abort()
            raise AudioFileError(f"{self.name}: finishing the file failed ({_short(exc)})") from None
        self._sf = None
        tmp = self._tmp
        self._tmp = None
        if tmp is not None:
            commit_temp(tmp, self.path)

    def abort(self) -> None:
        """Drop what was written; the target path is left as it was."""
        if self._sf is not None:
            try:
                self._sf.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away
                pass
            self._sf = None
        if self._tmp is not None:
            discard_temp(self._tmp)
            self._tmp = None

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # a writer dropped without close() leaves no half-written temporary file behind
        if getattr(self, "_tmp", None) is not None:
            self.abort()


def write_audio(
    path: str | os.PathLike[str],
    audio: npt.ArrayLike,
    sample_rate: int,
    *,
    bit_depth: int = 24,
    format: str | None = None,
) -> None:
    """Write a whole buffer atomically (see :class:`AudioWriter`)."""
    x = check_audio(audio)
    with AudioWriter(
        path, sample_rate=sample_rate, num_channels=x.shape[0], bit_depth=bit_depth, format=format
    ) as w:
        w.write(x)
