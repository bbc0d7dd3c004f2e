"""Encoding to delivery codecs and decoding anything the reader opens.

Lossy codecs go through the ffmpeg libraries bundled with PyAV:

========  ================  ===========  ===============================================
codec     encoder           container    defaults
========  ================  ===========  ===============================================
mp3       LAME              .mp3         CBR 320 kbps; ``vbr_quality=0`` gives LAME V0
aac       aac (native)      .m4a (MP4)   256 kbps CBR-ish (ABR)
opus      libopus           .opus (Ogg)  160 kbps VBR, always at 48 kHz (resampled by soxr)
flac      libsndfile        .flac        24-bit
wav       libsndfile        .wav         24-bit (16, 24, 32 = float)
========  ================  ===========  ===============================================

MP3 is encoded by the LAME inside pedalboard (``pedalboard.io.AudioFile``) when it is installed
and the rate is 32, 44.1 or 48 kHz: the same LAME 3.100 at the same settings as ffmpeg's
``libmp3lame`` wrapper, about three times faster than the copy bundled with PyAV. That writer
takes 16-bit samples (it truncates its input to 16 bits), so the samples are requantised here
first with seeded TPDF dither (:class:`~burnish.dsp.dither.Dither`, ±1 LSB, the same on every
run) and handed over half an LSB up, so that its truncation lands exactly on them. Otherwise
(no pedalboard, or another rate) PyAV's ``libmp3lame`` is fed float samples.

MP3 and AAC can't carry more than 48 kHz: higher rates are resampled (with soxr, VHQ) to
44.1 kHz for multiples of 44.1 kHz and to 48 kHz otherwise, unless ``sample_rate`` says which.
The encoder's delay and padding are recorded the standard way (LAME/Xing header, MP4 edit list,
Opus pre-skip), so :func:`decode_file` returns audio aligned with the input.

Writing is atomic like :class:`~burnish.io.files.AudioWriter`: a temporary file beside the
target, renamed into place only when the encoder has finished.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from burnish.audio import check_audio, check_sample_rate
from burnish.errors import DeliveryError, ParameterError
from burnish.io.files import (
    AudioReader,
    AudioWriter,
    atomic_temp_path,
    commit_temp,
    discard_temp,
    display_name,
    read_audio,
)

Codec = Literal["mp3", "aac", "opus", "flac", "wav"]
CODECS: tuple[str, ...] = get_args(Codec)

#: ffmpeg encoder and muxer per lossy codec.
_ENCODERS = {"mp3": ("libmp3lame", "mp3"), "aac": ("aac", "ipod"), "opus": ("libopus", "ogg")}
_DEFAULT_KBPS = {"mp3": 320, "aac": 256, "opus": 160}
_KBPS_RANGE = {"mp3": (32, 320), "aac": (32, 512), "opus": (6, 510)}
_MP3_CBR_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
#: ffmpeg's AAC encoder with its optional coding tools off: perceptual noise substitution,
#: intensity stereo and temporal noise shaping. Its defaults (all on) can overshoot
#: erratically on dense material with strong content near fs/4 and square-wave edges (one
#: ISP-heavy master at -1 dBTP decoded at +4.7 dBTP after -1.6 dB of gain, at -0.9 dBTP after
#: -2.2 dB, at -0.7 dBTP after -3.4 dB); without these tools the same master's overshoot
#: followed the gain (at most +0.08 dB). At 256 kbps the three are low-rate tools that cost
#: little to leave out; :mod:`burnish.delivery.deliver` falls back to this set only when the
#: default encode misses its true-peak ceiling twice.
AAC_PLAIN_OPTIONS: dict[str, str] = {"aac_pns": "0", "aac_is": "0", "aac_tns": "0"}
#: LAME's quality scale is passed to ffmpeg as global_quality = q * FF_QP2LAMBDA.
_FF_QP2LAMBDA = 118
_BLOCK_FRAMES = 65536


@dataclass(frozen=True, slots=True)
class EncodeResult:
    """What :func:`encode_file` wrote."""

    path: str
    codec: str
    sample_rate: int
    num_channels: int
    num_frames: int  # at the output sample rate, before the encoder's padding
    bitrate_kbps: int | None  # the nominal (CBR/ABR/target) rate; None for PCM and MP3 VBR
    vbr_quality: int | None


def available_encoders() -> dict[str, bool]:
    """Which codecs this installation can encode (PyAV's ffmpeg build decides for lossy ones)."""
    import av

    have = av.codecs_available
    return {
        codec: (codec in ("flac", "wav") or _ENCODERS[codec][0] in have) for codec in CODECS
    }


def _output_rate(codec: str, source_rate: int, sample_rate: int | None) -> int:
    if codec == "opus":
        if sample_rate not in (None, 48000):
            raise ParameterError(f"sample_rate={sample_rate} must be 48000 for opus (Opus runs at 48 kHz)")
        return 48000
    if sample_rate is not None:
        rate = check_sample_rate(sample_rate)
    elif codec in ("mp3", "aac") and source_rate > 48000:
        rate = 44100 if source_rate % 44100 == 0 else 48000
    else:
        rate = source_rate
    allowed = {"mp3": _MP3_RATES, "aac": _AAC_RATES}.get(codec)
    if allowed is not None and rate not in allowed:
        raise ParameterError(
            f"sample_rate={rate} is not one {codec} can carry (use one of {', '.join(map(str, allowed))})"
        )
    return rate


def _check_rate_options(codec: str, bitrate_kbps: int | None, vbr_quality: int | None) -> int | None:
    """Validate bitrate/VBR options; return the bitrate to use (None for VBR or PCM)."""
    if codec in ("flac", "wav"):
        if bitrate_kbps is not None or vbr_quality is not None:
            raise ParameterError(f"bitrate_kbps and vbr_quality don't apply to {codec} (lossless)")
        return None
    if vbr_quality is not None:
        if codec != "mp3":
            raise ParameterError(
                f"vbr_quality applies to mp3 only (LAME V0-V9); use bitrate_kbps for {codec}"
            )
        if bitrate_kbps is not None:
            raise ParameterError("give bitrate_kbps (CBR) or vbr_quality (VBR), not both")
        if isinstance(vbr_quality, bool) or vbr_quality not in range(10):
            raise ParameterError(f"vbr_quality={vbr_quality!r} must be an integer in [0, 9] (0 = V0, best)")
        return None
    kbps = _DEFAULT_KBPS[codec] if bitrate_kbps is None else bitrate_kbps
    low, high = _KBPS_RANGE[codec]
    if isinstance(kbps, bool) or int(kbps) != kbps or not low <= kbps <= high:
        raise ParameterError(f"bitrate_kbps={kbps!r} must be a whole number in [{low}, {high}] for {codec}")
    if codec == "mp3" and kbps not in _MP3_CBR_KBPS:
        raise ParameterError(
            f"bitrate_kbps={kbps} is not an MP3 bitrate (use one of {', '.join(map(str, _MP3_CBR_KBPS))})"
        )
    return int(kbps)


def _source_blocks(
    audio_or_path: npt.ArrayLike | str | os.PathLike[str],
    sample_rate: int | None,
    *,
    reader_holder: list[AudioReader],
) -> tuple[Iterator[npt.NDArray[np.floating]], int, int]:
    """Blocks of the input, its sample rate and channel count."""
    if isinstance(audio_or_path, (str, os.PathLike)):
        reader = AudioReader(audio_or_path)
        reader_holder.append(reader)
        return reader.blocks(_BLOCK_FRAMES), reader.info.sample_rate, reader.info.num_channels
    if sample_rate is None:
        raise ParameterError("sample_rate is required when encoding an array")
    rate = check_sample_rate(sample_rate)
    x = check_audio(audio_or_path)

    def gen() -> Iterator[npt.NDArray[np.floating]]:
        for start in range(0, x.shape[1], _BLOCK_FRAMES):
            yield x[:, start : start + _BLOCK_FRAMES]

    return gen(), rate, int(x.shape[0])


def _gained(
    blocks: Iterator[npt.NDArray[np.floating]], gain: float
) -> Iterator[npt.NDArray[np.floating]]:
    for block in blocks:  # in double precision whatever the input's type
        yield np.asarray(block, dtype=np.float64) * gain


def _resampled(
    blocks: Iterator[npt.NDArray[np.floating]], in_rate: int, out_rate: int, num_channels: int
) -> Iterator[npt.NDArray[np.float64]]:
    """Stream ``blocks`` through soxr (VHQ) when the rates differ."""
    if in_rate == out_rate:
        for block in blocks:
            yield np.asarray(block, dtype=np.float64)
        return
    import soxr

    stream = soxr.ResampleStream(in_rate, out_rate, num_channels, dtype="float64", quality="VHQ")
    for block in blocks:
        out = stream.resample_chunk(np.ascontiguousarray(block.T, dtype=np.float64))
        if out.shape[0]:
            yield np.ascontiguousarray(out.T)
    tail = stream.resample_chunk(np.zeros((0, num_channels)), last=True)
    if tail.shape[0]:
        yield np.ascontiguousarray(tail.T)


def encode_file(
    audio_or_path: npt.ArrayLike | str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    codec: Codec,
    sample_rate: int | None = None,
    bitrate_kbps: int | None = None,
    vbr_quality: int | None = None,
    bit_depth: int = 24,
    gain_db: float = 0.0,
) -> EncodeResult:
    """Encode an array or an audio file to ``out_path`` with ``codec``, atomically.

    Parameters
    ----------
    audio_or_path
        ``(channels, samples)`` float audio (then ``sample_rate`` is its rate) or a file path
        (read in blocks; then ``sample_rate``, if given, is the output rate).
    codec
        ``"mp3"``, ``"aac"`` (M4A), ``"opus"`` (Ogg), ``"flac"`` or ``"wav"``.
    bitrate_kbps
        CBR/ABR/target rate for lossy codecs (defaults: mp3 320, aac 256, opus 160).
    vbr_quality
        LAME VBR quality 0-9 for mp3 (0 = V0); excludes ``bitrate_kbps``.
    bit_depth
        16, 24 or 32 (float, WAV only) for flac/wav.
    gain_db
        Gain applied to the samples before encoding (and before any rate conversion).

    Samples are encoded as given: dither and limit before encoding (a lossy encoder clips
    what's above full scale after decoding, so leave true-peak headroom).
    """
    _check_codec_options(codec, bitrate_kbps, vbr_quality, gain_db)
    holder: list[AudioReader] = []
    try:
        from_file = isinstance(audio_or_path, (str, os.PathLike))
        blocks, in_rate, num_channels = _source_blocks(
            audio_or_path, None if from_file else sample_rate, reader_holder=holder
        )
        return encode_blocks(
            blocks, out_path, codec=codec, input_sample_rate=in_rate, num_channels=num_channels,
            sample_rate=sample_rate if from_file else None, bitrate_kbps=bitrate_kbps,
            vbr_quality=vbr_quality, bit_depth=bit_depth, gain_db=gain_db,
        )
    finally:
        for reader in holder:
            reader.close()


def _check_codec_options(
    codec: str, bitrate_kbps: int | None, vbr_quality: int | None, gain_db: float
) -> int | None:
    if codec not in CODECS:
        raise ParameterError(f"codec={codec!r} must be one of {', '.join(CODECS)}")
    kbps = _check_rate_options(codec, bitrate_kbps, vbr_quality)
    if isinstance(gain_db, bool) or not (isinstance(gain_db, (int, float)) and -60.0 <= gain_db <= 24.0):
        raise ParameterError(f"gain_db={gain_db!r} must be a number in [-60, 24]")
    return kbps


def encode_blocks(
    blocks: Iterable[npt.NDArray[np.floating]],
    out_path: str | os.PathLike[str],
    *,
    codec: Codec,
    input_sample_rate: int,
    num_channels: int,
    sample_rate: int | None = None,
    bitrate_kbps: int | None = None,
    vbr_quality: int | None = None,
    bit_depth: int = 24,
    gain_db: float = 0.0,
    encoder_options: Mapping[str, str] | None = None,
) -> EncodeResult:
    """:func:`encode_file` for a stream of ``(channels, n)`` float blocks at
    ``input_sample_rate`` (for callers that already hold the audio: nothing is read again).
    ``sample_rate`` is the output rate (default as :func:`encode_file` chooses it).
    ``encoder_options`` are ffmpeg encoder options for AAC and Opus (e.g.
    :data:`AAC_PLAIN_OPTIONS`)."""
    kbps = _check_codec_options(codec, bitrate_kbps, vbr_quality, gain_db)
    if encoder_options and codec not in ("aac", "opus"):
        raise ParameterError(f"encoder_options apply to aac and opus, not to {codec}")
    out = os.fspath(out_path)
    rate = _output_rate(codec, check_sample_rate(input_sample_rate), sample_rate)
    stream: Iterator[npt.NDArray[np.floating]] = iter(blocks)
    if gain_db != 0.0:
        stream = _gained(stream, 10.0 ** (gain_db / 20.0))
    resampled = _resampled(stream, input_sample_rate, rate, num_channels)
    if codec in ("flac", "wav"):
        return _encode_pcm(resampled, out, codec=codec, sample_rate=rate,
                           num_channels=num_channels, bit_depth=bit_depth)
    return _encode_lossy(resampled, out, codec=codec, sample_rate=rate, num_channels=num_channels,
                         bitrate_kbps=kbps, vbr_quality=vbr_quality,
                         encoder_options=encoder_options)


def _encode_pcm(
    blocks: Iterator[npt.NDArray[np.float64]], out: str, *, codec: str, sample_rate: int,
    num_channels: int, bit_depth: int,
) -> EncodeResult:
    frames = 0
    with AudioWriter(out, sample_rate=sample_rate, num_channels=num_channels,
                     bit_depth=bit_depth, format=codec.upper()) as writer:
        for block in blocks:
            writer.write(block)
            frames += block.shape[1]
    return EncodeResult(out, codec, sample_rate, num_channels, frames, None, None)


#: Sample format fed to each encoder: float where the encoder takes it planar; libopus gets
#: 16-bit (rounded like libswresample's float to s16 conversion): its float input raises the
#: VBR rate by about a fifth on bright material for no audible gain at these rates.
_ENCODER_FORMATS = {"libmp3lame": "fltp", "aac": "fltp", "libopus": "s16"}


def _encoder_frames(
    blocks: Iterator[npt.NDArray[np.float64]], frame_size: int, fmt: str
) -> Iterator[npt.NDArray[Any]]:
    """Cut ``blocks`` into arrays of exactly ``frame_size`` frames (the last may be shorter)
    in the layout ``av.AudioFrame.from_ndarray`` takes for ``fmt``: ``(channels, n)`` float32
    for ``fltp``, ``(1, n * channels)`` int16 for ``s16``."""
    carry: npt.NDArray[np.float32] | None = None
    for block in blocks:
        if block.shape[1] == 0:
            continue
        x = np.asarray(block, dtype=np.float32)
        if carry is not None and carry.shape[1]:
            x = np.concatenate([carry, x], axis=1)
        whole = x.shape[1] - x.shape[1] % frame_size
        if fmt == "fltp":
            for start in range(0, whole, frame_size):
                yield np.ascontiguousarray(x[:, start : start + frame_size])
        elif whole:
            for row in _s16_packed(x[:, :whole]).reshape(-1, frame_size * x.shape[0]):
                yield row[np.newaxis, :]
        carry = x[:, whole:]
    if carry is not None and carry.shape[1]:
        yield np.ascontiguousarray(carry) if fmt == "fltp" else _s16_packed(carry).reshape(1, -1)


def _s16_packed(x: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    scaled = np.rint(x.T * np.float32(32768.0))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


#: Rates the LAME inside pedalboard encodes (it doesn't resample).
_PEDALBOARD_MP3_RATES = (32000, 44100, 48000)
#: Seed of the TPDF dither that requantises MP3 input to 16 bits (fixed: the same bytes on
#: every run).
MP3_DITHER_SEED = 0


def mp3_encoder(sample_rate: int = 44100) -> str:
    """Which LAME encodes MP3 at ``sample_rate``: ``"pedalboard"`` (16-bit input, TPDF
    dithered here) or ``"libmp3lame"`` (PyAV's ffmpeg, float input)."""
    if sample_rate in _PEDALBOARD_MP3_RATES:
        try:
            import pedalboard.io  # noqa: F401
        except ImportError:
            return "libmp3lame"
        return "pedalboard"
    return "libmp3lame"


def _encode_mp3_pedalboard(
    blocks: Iterator[npt.NDArray[np.float64]], out: str, *, sample_rate: int,
    num_channels: int, bitrate_kbps: int | None, vbr_quality: int | None,
) -> EncodeResult:
    """MP3 through pedalboard's LAME: ``-b <kbps>`` (CBR, "Info" header) or ``-V <q>`` (VBR,
    "Xing" header); the LAME tag records the encoder delay and padding (gapless)."""
    from pedalboard.io import AudioFile

    from burnish.dsp.dither import Dither, DitherParams

    name = display_name(out)
    quality = f"V{vbr_quality}" if vbr_quality is not None else f"{bitrate_kbps}k"
    dither = Dither(DitherParams(bit_depth=16, shape="tpdf", seed=MP3_DITHER_SEED),
                    sample_rate=sample_rate, num_channels=num_channels)
    half_lsb = 0.5 / 32768.0
    tmp = atomic_temp_path(out)
    frames = 0
    try:
        with open(tmp, "wb") as raw, AudioFile(raw, "w", sample_rate, num_channels,
                                               format="mp3", quality=quality) as f:
            for block in blocks:
                if block.shape[1] == 0:
                    continue
                # on the 16-bit grid, then half an LSB up: the writer's float -> int32 -> >> 16
                # conversion (a floor) gives back exactly these values
                grid = dither.process(block)
                f.write((grid + half_lsb).astype(np.float32))
                frames += block.shape[1]
    except BaseException:
        discard_temp(tmp)
        raise
    if frames == 0:
        discard_temp(tmp)
        raise ParameterError(f"{name}: nothing to encode (the audio is empty)")
    commit_temp(tmp, out)
    return EncodeResult(out, "mp3", sample_rate, num_channels, frames, bitrate_kbps, vbr_quality)


def _encode_lossy(
    blocks: Iterator[npt.NDArray[np.float64]], out: str, *, codec: str, sample_rate: int,
    num_channels: int, bitrate_kbps: int | None, vbr_quality: int | None,
    encoder_options: Mapping[str, str] | None = None,
) -> EncodeResult:
    import av

    if codec == "mp3" and mp3_encoder(sample_rate) == "pedalboard":
        return _encode_mp3_pedalboard(blocks, out, sample_rate=sample_rate,
                                      num_channels=num_channels, bitrate_kbps=bitrate_kbps,
                                      vbr_quality=vbr_quality)
    name = display_name(out)
    encoder, muxer = _ENCODERS[codec]
    if encoder not in av.codecs_available:
        raise DeliveryError(f"{name}: this ffmpeg build has no {encoder} encoder for {codec}")
    layout = "mono" if num_channels == 1 else "stereo"
    tmp = atomic_temp_path(out)
    frames = 0
    time_base = Fraction(1, sample_rate)
    try:
        # bitexact: no random Ogg serial number, no version string: the same input gives the
        # same bytes on every run
        with av.open(tmp, "w", format=muxer, options={"fflags": "+bitexact"}) as container:
            stream: Any = container.add_stream(encoder, rate=sample_rate, layout=layout,
                                               options=dict(encoder_options or {}))
            cc = stream.codec_context
            # fed float samples in the encoder's own layout (no resampler, no conversion)
            fmt = _ENCODER_FORMATS[encoder]
            cc.format = fmt
            if bitrate_kbps is not None:
                cc.bit_rate = bitrate_kbps * 1000
            if vbr_quality is not None:
                cc.qscale = True
                cc.global_quality = vbr_quality * _FF_QP2LAMBDA
            cc.time_base = time_base
            cc.open()
            frame_size = int(cc.frame_size or 4096)
            encode, mux = stream.encode, container.mux
            from_ndarray = av.AudioFrame.from_ndarray
            for arr in _encoder_frames(blocks, frame_size, fmt):
                frame = from_ndarray(arr, format=fmt, layout=layout)
                frame.sample_rate = sample_rate
                frame.pts = frames
                frame.time_base = time_base
                frames += arr.shape[1] if fmt == "fltp" else arr.shape[1] // num_channels
                for packet in encode(frame):
                    mux(packet)
            for packet in encode(None):
                mux(packet)
    except av.error.FFmpegError as exc:
        discard_temp(tmp)
        raise DeliveryError(f"{name}: the {codec} encoder failed ({exc})") from None
    except BaseException:
        discard_temp(tmp)
        raise
    if frames == 0:
        discard_temp(tmp)
        raise ParameterError(f"{name}: nothing to encode (the audio is empty)")
    commit_temp(tmp, out)
    return EncodeResult(out, codec, sample_rate, num_channels, frames, bitrate_kbps, vbr_quality)


def decode_file(
    path: str | os.PathLike[str], *, dtype: Any = np.float64
) -> tuple[npt.NDArray[np.floating], int]:
    """Decode any readable file to ``(audio, sample_rate)`` (delay/padding removed).

    Raises :class:`~burnish.errors.AudioFileError` for anything that isn't readable audio.
    """
    return read_audio(path, dtype=dtype)
