"""Audio files in and out: block reads, atomic writes, codecs, resampling, metadata."""

from burnish.io.files import (
    AudioInfo,
    AudioReader,
    AudioWriter,
    audio_info,
    read_audio,
    write_audio,
)

__all__ = ["AudioInfo", "AudioReader", "AudioWriter", "audio_info", "read_audio", "write_audio"]
