"""Reading and writing audio files in blocks.

Reading goes through libsndfile (soundfile) for WAV/AIFF/FLAC/OGG and through the ffmpeg
libraries (PyAV) for what libsndfile can't read (MP3 on old libsndfile, AAC/M4A, Opus in
other containers...). Every read block is ``(channels, samples)`` float and checked for NaN/Inf.
Writing is atomic: a temporary file beside the target, renamed into place only when complete.
"""

from __future__ import annotations

import os
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


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a file holds, read from its header (no samples decoded)."""

    path: str
    sample_rate: int
    num_channels: int
    num_frames: int
    format: str  # container: "WAV", "FLAC", "AIFF", "OGG", "MP3", "M4A", ...
    subtype: str  # sample format / codec: "PCM_16", "PCM_24", "FLOAT", "VORBIS", "aac", ...
    bit_depth: int | None  # bits per sample of PCM formats, None for lossy codecs

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def lossy(self) -> bool:
        return self.bit_depth is None


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


def _check_layout(path: str, sample_rate: int, num_channels: int) -> None:
    if num_channels not in SUPPORTED_CHANNELS:
        raise AudioFileError(
            f"{path}: has {num_channels} channels; burnish supports mono and stereo"
            " (fold it down to stereo first)"
        )
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioFileError(
            f"{path}: sample rate {sample_rate} Hz is outside the supported"
            f" {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )


class AudioReader:
    """Read an audio file block by block.

    >>> with AudioReader("mix.flac") as reader:          # doctest: +SKIP
    ...     for block in reader.blocks(65536):
    ...         meter.update(block)
    """

    def __init__(self, path: str | os.PathLike[str], *, dtype: Any = np.float64) -> None:
        self.path = os.fspath(path)
        self.dtype = np.dtype(dtype)
        self._sf: Any = None
        self._frames_read = 0
        p = Path(self.path)
        if not p.exists():
            raise AudioFileError(f"{self.path}: no such file")
        if p.is_dir():
            raise AudioFileError(f"{self.path}: is a folder, not an audio file")
        if p.stat().st_size == 0:
            raise AudioFileError(f"{self.path}: the file is empty")
        import soundfile as sf

        try:
            self._sf = sf.SoundFile(self.path)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioFileError(f"{self.path}: not a readable audio file ({_short(exc)})") from None
        info = self._sf
        _check_layout(self.path, int(info.samplerate), int(info.channels))
        frames = int(info.frames)
        if frames <= 0:
            self.close()
            raise AudioFileError(f"{self.path}: holds no audio (zero length)")
        self.info = AudioInfo(
            path=self.path,
            sample_rate=int(info.samplerate),
            num_channels=int(info.channels),
            num_frames=frames,
            format=str(info.format),
            subtype=str(info.subtype),
            bit_depth=_SUBTYPE_BITS.get(str(info.subtype)),
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
        if self._sf is not None:
            self._sf.close()
            self._sf = None

    # reading -------------------------------------------------------------------------------
    def read(self, num_frames: int) -> npt.NDArray[np.floating]:
        """Read up to ``num_frames`` frames as ``(channels, n)``; ``n == 0`` at the end."""
        import soundfile as sf

        try:
            data = self._sf.read(num_frames, dtype=self.dtype.name, always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioFileError(
                f"{self.path}: the audio data is damaged near frame {self._frames_read}"
                f" ({_short(exc)})"
            ) from None
        block = np.ascontiguousarray(data.T)
        if block.size and not np.isfinite(block).all():
            bad = int(np.argmax(~np.isfinite(block).all(axis=0)))
            raise AudioFileError(
                f"{self.path}: contains NaN or infinite samples (first at frame"
                f" {self._frames_read + bad})"
            )
        self._frames_read += block.shape[1]
        return block

    def blocks(self, block_frames: int = DEFAULT_BLOCK_FRAMES) -> Iterator[npt.NDArray[np.floating]]:
        """Yield ``(channels, n)`` blocks until the end of the file."""
        while True:
            block = self.read(block_frames)
            if block.shape[1] == 0:
                return
            yield block

    def seek(self, frame: int) -> None:
        self._sf.seek(frame)
        self._frames_read = frame


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Read a file's header."""
    with AudioReader(path) as reader:
        return reader.info


def read_audio(
    path: str | os.PathLike[str], *, dtype: Any = np.float64
) -> tuple[npt.NDArray[np.floating], int]:
    """Read a whole file as ``(audio, sample_rate)``; prefer :class:`AudioReader` for long files."""
    with AudioReader(path, dtype=dtype) as reader:
        blocks = list(reader.blocks(1 << 20))
        audio = np.concatenate(blocks, axis=1) if blocks else np.zeros((reader.info.num_channels, 0))
        return audio, reader.info.sample_rate


_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF", ".ogg": "OGG"}
_PCM_SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT", 64: "DOUBLE"}


class AudioWriter:
    """Write PCM audio (WAV/FLAC/AIFF) block by block, atomically.

    Samples go to a temporary file in the target's folder; ``close()`` renames it into place.
    If the writer is closed after an error (or ``abort()`` is called) the temporary file is
    removed and an existing file at ``path`` is left untouched. Samples are written as given:
    quantisation to 16/24 bits is libsndfile's rounding, so dither first (burnish.dsp.dither).
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
        suffix = Path(self.path).suffix.lower()
        fmt = format or _FORMATS.get(suffix)
        if fmt is None:
            raise AudioFileError(
                f"{self.path}: can't tell the format from the extension {suffix!r}"
                f" (use one of {', '.join(_FORMATS)})"
            )
        if bit_depth not in _PCM_SUBTYPES:
            raise AudioFileError(f"{self.path}: bit_depth={bit_depth} must be 16, 24, 32 or 64")
        subtype = _PCM_SUBTYPES[bit_depth]
        if fmt == "FLAC" and bit_depth > 24:
            raise AudioFileError(f"{self.path}: FLAC holds at most 24 bits; use WAV for float")
        _check_layout(self.path, sample_rate, num_channels)
        folder = Path(self.path).parent
        if not folder.is_dir():
            raise AudioFileError(f"{self.path}: the folder {str(folder)!r} does not exist")
        fd, self._tmp = tempfile.mkstemp(
            prefix=f".{Path(self.path).name}.", suffix=".part" + suffix, dir=folder
        )
        os.close(fd)
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self.bit_depth = bit_depth
        self.frames_written = 0
        try:
            self._sf: Any = sf.SoundFile(
                self._tmp, "w", samplerate=sample_rate, channels=num_channels,
                subtype=subtype, format=fmt,
            )
        except Exception as exc:
            os.unlink(self._tmp)
            raise AudioFileError(f"{self.path}: can't write ({_short(exc)})") from None

    def write(self, block: npt.ArrayLike) -> None:
        x = check_audio(block, num_channels=self.num_channels, name="block")
        self._sf.write(np.ascontiguousarray(x.T))
        self.frames_written += x.shape[1]

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._sf is None:
            return
        self._sf.close()
        self._sf = None
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop what was written; the target path is left as it was."""
        if self._sf is not None:
            self._sf.close()
            self._sf = None
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)

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


def write_audio(
    path: str | os.PathLike[str],
    audio: npt.ArrayLike,
    sample_rate: int,
    *,
    bit_depth: int = 24,
) -> None:
    """Write a whole buffer atomically (see :class:`AudioWriter`)."""
    x = check_audio(audio)
    with AudioWriter(path, sample_rate=sample_rate, num_channels=x.shape[0], bit_depth=bit_depth) as w:
        w.write(x)
