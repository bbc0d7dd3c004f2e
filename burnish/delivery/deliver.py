"""Deliverables from a finished master: resampled, dithered, encoded, checked, tagged.

:func:`deliver` makes one file per :class:`~burnish.delivery.destinations.Destination` from a
stored master, without mastering again:

1. **Source.** A master record (``OUTDIR/<name>.master.json``) names one output file per
   version; the deliverables are derived from that file (by default the first version
   rendered at 24 bits or more, so nothing is made from a dithered 16-bit file when a 24-bit
   one exists). A plain audio file (a finished master) works too.
2. **Validation first.** Destinations, metadata (ISRC, UPC/EAN check digits, artwork, text a
   container can't hold) and ceilings are checked before any audio is rendered.
3. **Lossless** (WAV, FLAC): the master streams through gain (only when a retry needs it),
   soxr VHQ rate conversion (:class:`~burnish.dsp.resample.Resampler`) and, for 16 bits, the
   seeded TPDF :class:`~burnish.dsp.dither.Dither` applied once, last (a 16-bit master that
   needs no change is copied without a second dither). 24-bit output is rounded to the 24-bit
   grid here, so what is measured is exactly what is written.
4. **Lossy** (MP3, AAC, Opus): a short probe (the master's loudest windows) is encoded and
   decoded first to predict the codec's true-peak overshoot and choose the pre-encode gain;
   then the file is encoded with :func:`~burnish.io.codecs.encode_file`, decoded once and
   measured in that pass by burnish's BS.1770 meter and libavfilter's ebur128 (as in
   :func:`~burnish.io.ffmeter.ffmpeg_ebur128`). When either decoded true peak is above the
   ceiling less a 0.02 dB guard, the gain is lowered by the excess plus 0.1 dB and the file
   is encoded again (at most :data:`MAX_ATTEMPTS` encodes).
5. **Tags**: the release metadata plus ReplayGain 2.0 (track gain = -18 LUFS - integrated,
   peak = decoded true peak, linear), ``R128_TRACK_GAIN`` for Opus (-23 LUFS - integrated,
   Q7.8), and the Broadcast WAV ``bext`` v2 loudness fields, all from the deliverable itself.
6. **In parallel**: deliverables are rendered in worker processes (one per core by default),
   longest first; each is made from the master alone, so the files don't depend on it.
7. **Atomic**: everything is rendered and tagged in a hidden work folder inside ``out_dir``
   and renamed into place only when every deliverable is done; after an error the output
   folder holds nothing new.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from burnish.delivery.destinations import Destination, parse_destinations
from burnish.delivery.release import check_release, release_metadata
from burnish.errors import BurnishError, DeliveryError, ParameterError
from burnish.io.files import AudioReader, AudioWriter, audio_info, commit_temp, display_name
from burnish.io.metadata import Metadata, write_tags

#: Most encodes of one lossy deliverable (the first plus retries at a lower gain).
MAX_ATTEMPTS = 4
#: Lossy: a decoded true peak must be at least this far under the ceiling (decoders differ in
#: the last hundredths of a dB; this keeps a player's decoder under the ceiling too).
LOSSY_GUARD_DB = 0.02
#: Lossy, when burnish's meter alone checks the decoded file (the default): a further guard
#: for the difference between meters. On 40 corpus deliverables burnish's meter read between
#: 0.022 dB over and 0.011 dB under the ffmpeg binary's ebur128 (whose 4x oversampling filter
#: is another); 0.03 dB more covers that with room.
OWN_METER_GUARD_DB = 0.03
#: Lossy, burnish's meter alone: a decoded true peak within this much under its limit is a
#: close call, confirmed by libavfilter's ebur128 (the file is decoded again; the higher of
#: the two must then be under the ceiling less :data:`LOSSY_GUARD_DB`). On dense masters with
#: content near Nyquist (square-wave edges, fs/4 tones) burnish's meter read up to 0.08 dB
#: under the ffmpeg binary's ebur128, more than :data:`OWN_METER_GUARD_DB` covers.
CONFIRM_BAND_DB = 0.1
#: AAC: after this many encodes over the ceiling with ffmpeg's default coding tools, the rest
#: are made without PNS, intensity stereo and TNS (:data:`burnish.io.codecs.AAC_PLAIN_OPTIONS`),
#: whose true peak follows the gain where the defaults' can jump by several dB.
AAC_PLAIN_AFTER = 2
#: Lossy: extra gain reduction beyond the measured excess on a retry (codec noise moves).
LOSSY_MARGIN_DB = 0.1
#: Lossless: extra reduction beyond the excess when rate conversion raised the true peak.
PCM_MARGIN_DB = 0.02
#: Default ceiling for lossy deliverables of a plain audio file (no record, no target).
DEFAULT_LOSSY_CEILING_DBTP = -1.0
#: ReplayGain 2.0 and Opus R128 reference levels.
REPLAYGAIN_REFERENCE_LUFS = -18.0
R128_REFERENCE_LUFS = -23.0
#: Seed of the 16-bit TPDF dither (fixed: the same master gives the same bits).
DITHER_SEED = 0

_BLOCK_FRAMES = 65536

Progress = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class MasterSource:
    """The finished master the deliverables are made from."""

    path: str
    sample_rate: int
    num_channels: int
    bit_depth: int | None  # None for a lossy file
    is_float: bool
    ceiling_dbtp: float  # default ceiling of lossless deliverables
    lossy_ceiling_dbtp: float  # default ceiling of lossy deliverables
    stem: str  # deliverable names start with it
    version: str | None = None
    target: str | None = None
    record_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "sample_rate": self.sample_rate, "num_channels": self.num_channels,
            "bit_depth": self.bit_depth, "ceiling_dbtp": self.ceiling_dbtp,
            "lossy_ceiling_dbtp": self.lossy_ceiling_dbtp, "version": self.version,
            "target": self.target, "record": self.record_path,
        }


@dataclass(frozen=True, slots=True)
class DeliverableResult:
    """One delivered file and what its decoded audio measured."""

    destination: str
    path: str
    codec: str
    container: str
    sample_rate: int
    bit_depth: int | None  # None for lossy codecs
    bitrate_kbps: int | None
    vbr_quality: int | None
    num_channels: int
    ceiling_dbtp: float
    gain_db: float  # gain applied before encoding (0 unless a true-peak retry lowered it)
    attempts: int
    true_peak_dbtp: float  # the higher of the meters that measured the decoded file
    own_true_peak_dbtp: float  # burnish's meter
    independent_true_peak_dbtp: float | None  # libavfilter ebur128 (lossy deliverables)
    integrated_lufs: float
    independent_integrated_lufs: float | None
    loudness_range_lu: float
    dithered: bool
    replaygain_track_gain_db: float | None
    replaygain_track_peak: float | None
    r128_track_gain_db: float | None
    passed: bool
    elapsed_s: float  # wall time: render/encode, decode, meters, retries, tags
    notes: tuple[str, ...] = field(default=())
    cpu_s: float = 0.0  # CPU time of the process that rendered it (tags not included)
    probe_true_peak_dbtp: float | None = None  # lossy: decoded true peak of the probe at 0 dB
    #: lossy, burnish's meter alone: libavfilter ebur128's decoded true peak when burnish's was
    #: a close call (within CONFIRM_BAND_DB of its limit); the file passed only if both did
    confirm_true_peak_dbtp: float | None = None

    @property
    def lossy(self) -> bool:
        return self.bit_depth is None

    def to_dict(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            if x is None or not math.isfinite(x):
                return None
            return round(float(x), 3)

        return {
            "destination": self.destination,
            "file": os.path.basename(self.path),
            "codec": self.codec,
            "container": self.container,
            "sample_rate": self.sample_rate,
            "bit_depth": self.bit_depth,
            "bitrate_kbps": self.bitrate_kbps,
            "vbr_quality": self.vbr_quality,
            "num_channels": self.num_channels,
            "ceiling_dbtp": num(self.ceiling_dbtp),
            "gain_db": num(self.gain_db),
            "attempts": self.attempts,
            "true_peak_dbtp": num(self.true_peak_dbtp),
            "own_true_peak_dbtp": num(self.own_true_peak_dbtp),
            "independent_true_peak_dbtp": num(self.independent_true_peak_dbtp),
            "integrated_lufs": num(self.integrated_lufs),
            "independent_integrated_lufs": num(self.independent_integrated_lufs),
            "loudness_range_lu": num(self.loudness_range_lu),
            "dithered": self.dithered,
            "replaygain_track_gain_db": num(self.replaygain_track_gain_db),
            "replaygain_track_peak": None if self.replaygain_track_peak is None
            else round(self.replaygain_track_peak, 6),
            "r128_track_gain_db": num(self.r128_track_gain_db),
            "passed": self.passed,
            "elapsed_s": round(self.elapsed_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "probe_true_peak_dbtp": num(self.probe_true_peak_dbtp),
            "confirm_true_peak_dbtp": num(self.confirm_true_peak_dbtp),
            "notes": list(self.notes),
        }


# -------------------------------------------------------------------------------------------
# the source
# -------------------------------------------------------------------------------------------
def _is_record(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(64).lstrip().startswith(b"{")
    except OSError:
        return False


def resolve_source(
    master: str | os.PathLike[str], *, version: str | None = None
) -> MasterSource:
    """The master file behind ``master`` (a master record or an audio file) and its ceilings.

    From a record: the latest revision's ``version`` (default: the first rendered at 24 bits
    or more, else the first); ceilings from the version's render and target. From an audio
    file: lossless ceiling = the file's own true peak (rounded up to 0.01 dB, at most 0 dBTP),
    lossy ceiling = :data:`DEFAULT_LOSSY_CEILING_DBTP`.
    """
    path = Path(os.fspath(master))
    name = display_name(path)
    if not path.is_file():
        raise DeliveryError(f"{name}: no such master record or audio file")
    if _is_record(path):
        return _source_from_record(path, version)
    if version is not None:
        raise ParameterError(f"version={version!r} applies to a master record, not to an audio file")
    from burnish.analysis.loudness import measure_file

    with AudioReader(path) as reader:
        info = reader.info
    tp = measure_file(path).true_peak_dbtp
    ceiling = min(0.0, math.ceil(tp * 100.0 - 1e-6) / 100.0) if math.isfinite(tp) else 0.0
    from burnish.assistant.master import safe_stem

    return MasterSource(
        path=os.fspath(path), sample_rate=info.sample_rate, num_channels=info.num_channels,
        bit_depth=info.bit_depth, is_float=info.is_float, ceiling_dbtp=ceiling,
        lossy_ceiling_dbtp=min(DEFAULT_LOSSY_CEILING_DBTP, ceiling),
        stem=safe_stem(path),
    )


def _source_from_record(path: Path, version: str | None) -> MasterSource:
    from burnish.assistant.master import load_record, safe_stem

    name = display_name(path)
    try:
        record = load_record(path)
        versions: list[dict[str, Any]] = record["revisions"][-1]["versions"]
    except DeliveryError:
        raise
    except BurnishError as exc:
        raise DeliveryError(str(exc)) from None
    except (KeyError, IndexError, TypeError):
        raise DeliveryError(f"{name}: the master record has no rendered versions") from None
    names = [str(v.get("name")) for v in versions]
    if not versions:
        raise DeliveryError(f"{name}: the master record has no rendered versions")
    if version is None:
        chosen = next((v for v in versions if (v.get("render", {}).get("bit_depth") or 24) >= 24),
                      versions[0])
    else:
        found = [v for v in versions if v.get("name") == version]
        if not found:
            raise DeliveryError(
                f"{name}: no version {version!r} in the master record (versions: {', '.join(names)})"
            )
        chosen = found[0]
    try:
        out = path.parent / str(chosen["output"])
        render = chosen["render"]
        ceiling = float(render["ceiling_dbtp"])
        target = chosen.get("settings", {}).get("target", {})
        lossy_ceiling = float(target.get("ceiling_dbtp", ceiling))
    except (KeyError, TypeError, ValueError):
        raise DeliveryError(
            f"{name}: version {chosen.get('name')!r} has no output or ceiling in the record"
        ) from None
    if not out.is_file():
        raise DeliveryError(
            f"{display_name(out)}: the master of version {chosen.get('name')!r} is missing"
        )
    with AudioReader(out) as reader:
        info = reader.info
    mix = record.get("mix", {}).get("path") or out
    return MasterSource(
        path=os.fspath(out), sample_rate=info.sample_rate, num_channels=info.num_channels,
        bit_depth=info.bit_depth, is_float=info.is_float, ceiling_dbtp=ceiling,
        lossy_ceiling_dbtp=lossy_ceiling, stem=safe_stem(mix), version=str(chosen.get("name")),
        target=str(target.get("name")) if target.get("name") else None,
        record_path=os.fspath(path),
    )


# -------------------------------------------------------------------------------------------
# rendering
# -------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Measured:
    own: Any  # LoudnessResult
    independent: Any | None = None  # FfmpegLoudness

    @property
    def true_peak_dbtp(self) -> float:
        tp = float(self.own.true_peak_dbtp)
        if self.independent is not None:
            tp = max(tp, float(self.independent.true_peak_dbtp))
        return tp


def _quantize(block: npt.NDArray[np.floating], bit_depth: int) -> npt.NDArray[np.floating]:
    """Round to the ``bit_depth`` grid (what the file will hold), clipped to full scale."""
    scale = float(2 ** (bit_depth - 1))
    return np.clip(np.round(block * scale), -scale, scale - 1.0) / scale


#: The master held in memory (float32, exact for 16/24-bit and float masters) while
#: :func:`deliver` runs, keyed by path: read once by the calling process and shared with
#: forked workers (copy-on-write, never written), so no deliverable reads or decodes the file
#: again. A worker that has no copy (started by "spawn") streams the file instead.
_SHARED_MASTER: dict[str, npt.NDArray[np.float32]] = {}
#: Masters larger than this (as float32) are streamed from the file by every deliverable
#: (bounded memory): 256 MB is about 25 minutes of 44.1 kHz stereo.
SHARED_MASTER_MAX_BYTES = 256 * 1024 * 1024


def _load_shared_master(src: MasterSource, num_frames: int) -> npt.NDArray[np.float32] | None:
    """Read the master once into :data:`_SHARED_MASTER` when float32 holds it exactly and it
    is small enough; returns the array (or None: every deliverable streams the file)."""
    exact = src.bit_depth is not None and (src.bit_depth <= 24 or (src.is_float and src.bit_depth == 32))
    if not exact or num_frames * src.num_channels * 4 > SHARED_MASTER_MAX_BYTES:
        return None
    audio = np.empty((src.num_channels, num_frames), dtype=np.float32)
    filled = 0
    with AudioReader(src.path, dtype=np.float32) as reader:  # in blocks: one copy in memory
        for block in reader.blocks(_BLOCK_FRAMES):
            n = min(block.shape[1], num_frames - filled)
            audio[:, filled : filled + n] = block[:, :n]
            filled += n
    if filled < num_frames:  # pragma: no cover - a file shorter than its header said
        audio = audio[:, :filled]
    audio.flags.writeable = False
    _SHARED_MASTER[src.path] = audio
    return audio


def _master_blocks(src: MasterSource) -> Iterator[npt.NDArray[np.floating]]:
    """The master in :data:`_BLOCK_FRAMES` blocks, float64: from the shared copy if there is
    one, else read from the file (the same values either way)."""
    audio = _SHARED_MASTER.get(src.path)
    if audio is not None:
        for start in range(0, audio.shape[1], _BLOCK_FRAMES):
            yield audio[:, start : start + _BLOCK_FRAMES].astype(np.float64)
        return
    with AudioReader(src.path) as reader:
        yield from reader.blocks(_BLOCK_FRAMES)


def _gained_blocks(src: MasterSource, gain_db: float) -> Iterable[npt.NDArray[np.floating]]:
    gain = 10.0 ** (gain_db / 20.0)
    for block in _master_blocks(src):
        yield block * gain if gain_db != 0.0 else block


def _render_pcm(
    src: MasterSource, dest: Destination, out_path: str, *, sample_rate: int, gain_db: float,
    seed: int,
) -> tuple[_Measured, bool]:
    """Write a WAV/FLAC deliverable; returns its measurement and whether it was dithered."""
    from burnish.analysis.loudness import LoudnessMeter
    from burnish.dsp.dither import Dither, DitherParams
    from burnish.dsp.resample import ResampleParams, Resampler

    bit_depth = cast(int, dest.bit_depth)
    untouched = gain_db == 0.0 and sample_rate == src.sample_rate
    # a 16-bit master needing no change is already dithered: copy it, don't dither twice
    dither_on = bit_depth == 16 and not (untouched and src.bit_depth == 16 and not src.is_float)
    channels = src.num_channels
    resampler = None
    if sample_rate != src.sample_rate:
        resampler = Resampler(ResampleParams(target_sample_rate=sample_rate, quality="VHQ"),
                              sample_rate=src.sample_rate, num_channels=channels)
    dither = (Dither(DitherParams(bit_depth=16, shape="tpdf", seed=seed),
                     sample_rate=sample_rate, num_channels=channels) if dither_on else None)
    meter = LoudnessMeter(sample_rate=sample_rate, num_channels=channels)
    with AudioWriter(out_path, sample_rate=sample_rate, num_channels=channels,
                     bit_depth=bit_depth, format=dest.codec.upper()) as writer:

        def emit(block: npt.NDArray[np.floating]) -> None:
            if block.shape[1] == 0:
                return
            out = dither.process(block) if dither is not None else _quantize(block, bit_depth)
            meter.update(out)
            writer.write(out)

        for block in _gained_blocks(src, gain_db):
            emit(resampler.process(block) if resampler is not None else block)
        if resampler is not None:
            emit(resampler.flush())
    return _Measured(meter.result()), dither_on


def _render_lossy(
    src: MasterSource, dest: Destination, out_path: str, *, sample_rate: int, gain_db: float,
    independent: bool, encoder_options: dict[str, str] | None = None,
) -> _Measured:
    """Encode a lossy deliverable (gain applied on the way in), decode it once and measure it
    in that pass (with libavfilter's ebur128 too when ``independent``)."""
    from burnish.io.codecs import encode_blocks

    encode_blocks(_master_blocks(src), out_path, codec=cast(Any, dest.codec),
                  input_sample_rate=src.sample_rate, num_channels=src.num_channels,
                  sample_rate=sample_rate, bitrate_kbps=dest.bitrate_kbps,
                  vbr_quality=dest.vbr_quality, gain_db=gain_db,
                  encoder_options=encoder_options)
    return measure_decoded(out_path, independent=independent)


def _frame_array(frame: Any) -> npt.NDArray[np.floating]:
    """A decoded PyAV frame as ``(channels, n)`` float."""
    arr = frame.to_ndarray()
    if not frame.format.is_planar:
        arr = arr.reshape(-1, int(frame.layout.nb_channels)).T
    if arr.dtype == np.int16:
        return arr.astype(np.float32) / np.float32(32768.0)
    if arr.dtype == np.int32:
        return arr.astype(np.float64) / 2147483648.0
    if arr.dtype.kind != "f":
        raise DeliveryError(f"unexpected decoded sample type {arr.dtype}")
    return arr


def measure_decoded(path: str | os.PathLike[str], *, independent: bool = True) -> _Measured:
    """Decode a lossy file once and measure it with burnish's meter and, when ``independent``,
    libavfilter's ebur128 too.

    burnish's meter sees the audio :class:`~burnish.io.files.AudioReader` would return (the
    decoder's tail past the stream's end trimmed, as the reader does); ebur128 sees every
    decoded frame (:class:`~burnish.io.ffmeter.Ebur128Graph`, as
    :func:`~burnish.io.ffmeter.ffmpeg_ebur128` does). The last second is
    held back from burnish's meter until the trimmed length is known.
    """
    import av

    from burnish.analysis.loudness import LoudnessMeter, measure_file
    from burnish.io.ffmeter import Ebur128Graph

    name = display_name(path)
    try:
        container = av.open("file:" + os.path.abspath(os.fspath(path)), "r")
    except av.error.FFmpegError as exc:
        raise DeliveryError(f"{name}: can't be decoded ({exc})") from None
    with container:
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate)
        channels = int(stream.codec_context.layout.nb_channels)
        graph = Ebur128Graph(stream) if independent else None
        meter = LoudnessMeter(sample_rate=rate, num_channels=channels)
        held: list[npt.NDArray[np.floating]] = []
        held_n = fed = decoded = 0
        first_pts: int | None = None
        end_pts: int | None = None
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.duration:
                    end = int(packet.pts + packet.duration)
                    end_pts = end if end_pts is None else max(end_pts, end)
                for frame in packet.decode():
                    if first_pts is None and frame.pts is not None:
                        first_pts = int(frame.pts)
                    if graph is not None:
                        graph.push(frame)
                    arr = _frame_array(frame)
                    decoded += arr.shape[1]
                    held.append(arr)
                    held_n += arr.shape[1]
                    if held_n >= rate + _BLOCK_FRAMES:  # meter in big blocks: less overhead
                        joined = np.concatenate(held, axis=1)
                        cut = joined.shape[1] - rate
                        meter.update(joined[:, :cut])
                        fed += cut
                        held, held_n = [joined[:, cut:]], rate
            other = graph.result(where=name) if graph is not None else None
        except av.error.FFmpegError as exc:
            raise DeliveryError(f"{name}: the audio data is damaged ({exc})") from None
        count = decoded
        tb = stream.time_base
        if first_pts is not None and end_pts is not None and tb:
            span = int(round((end_pts - first_pts) * tb * rate))
            if 0 < span < count:
                count = span
    if count < fed:  # pragma: no cover - a tail longer than the hold-back: measure it apart
        own = measure_file(path)
    else:
        rest = count - fed
        for arr in held:
            take = min(rest, arr.shape[1])
            if take:
                meter.update(arr[:, :take])
            rest -= take
        own = meter.result()
    return _Measured(own, other)


def _ebur128_true_peak(path: str) -> float | None:
    """The decoded true peak of a lossy file by libavfilter's ebur128 alone, or None when the
    file is too short for the filter to report one."""
    from burnish.errors import AudioFileError
    from burnish.io.ffmeter import ffmpeg_ebur128

    try:
        return float(ffmpeg_ebur128(path).true_peak_dbtp)
    except AudioFileError:
        return None


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _tags_for(
    md: Metadata, dest: Destination, measured: _Measured, origination: Any = None
) -> Metadata:
    """``md`` plus the loudness tags computed from the deliverable (and, for WAV, the bext
    origination time: ``origination``, the master's modification time)."""
    own = measured.own
    integrated = _finite(own.integrated_lufs)
    tp = measured.true_peak_dbtp
    rg_gain = None if integrated is None else REPLAYGAIN_REFERENCE_LUFS - integrated
    r128 = None if integrated is None else R128_REFERENCE_LUFS - integrated
    out = replace(
        md,
        replaygain_track_gain_db=None if rg_gain is None else round(rg_gain, 2),
        replaygain_track_peak=round(10.0 ** (tp / 20.0), 6) if math.isfinite(tp) else 0.0,
        r128_track_gain_db=r128 if dest.codec == "opus" else None,
    )
    if dest.codec == "wav":
        out = replace(
            out,
            origination=origination,
            artwork_path=None,  # RIFF has no standard picture chunk
            integrated_lufs=integrated,
            loudness_range_lu=_finite(own.lra_lu),
            true_peak_dbtp=_finite(tp),
            max_momentary_lufs=_finite(own.max_momentary_lufs),
            max_short_term_lufs=_finite(own.max_short_term_lufs),
        )
    return out


@dataclass(frozen=True, slots=True)
class _Job:
    """One deliverable to render (picklable: it runs in a worker process)."""

    src: MasterSource
    dest: Destination
    tmp_path: str
    ceiling_dbtp: float
    work_dir: str
    seed: int
    probe_windows: tuple[tuple[int, int], ...]  # master frames (start, stop) of the probe
    src_frames: int = 0  # the master's length in frames
    independent: bool = False  # measure lossy files with libavfilter's ebur128 too


@dataclass(frozen=True, slots=True)
class _Rendered:
    """What a worker made: the file, its measurement and how it got there."""

    measured: _Measured
    sample_rate: int
    gain_db: float
    attempts: int
    passed: bool
    dithered: bool
    probe_true_peak_dbtp: float | None
    wall_s: float
    cpu_s: float
    notes: tuple[str, ...] = ()
    confirm_true_peak_dbtp: float | None = None  # libavfilter's, on a close call


#: Lossy probe: this many 1 s windows of the master (the loudest among those peaking within
#: :data:`PROBE_PEAK_RANGE_DB` of its peak), each with :data:`PROBE_CONTEXT_S` of context.
PROBE_WINDOWS = 12
PROBE_WINDOW_S = 1.0
PROBE_CONTEXT_S = 0.25
PROBE_PEAK_RANGE_DB = 0.5
#: Lossy: the pre-encode gain from the probe leaves this much more room than the probe
#: needed, per codec, when the probe is a small part of the file (the whole file has more
#: peaks than the probe, so its highest can be higher); it shrinks towards
#: :data:`PROBE_MARGIN_COVERED_DB` as the probe covers more of the file. Learned on the
#: 4-minute bench master (12 probe seconds of 240): MP3 and Opus overshot their probe by
#: 0.04-0.1 dB over the whole file; ffmpeg's AAC by 0.45-0.95 dB, chaotically: one second of
#: 240 decides, and which one changes with the gain (-0.6 dB in gave -0.91 dBTP out, -0.78 dB
#: gave -1.11, -0.83 dB gave -0.89).
PROBE_MARGIN_DB = {"mp3": 0.15, "aac": 0.9, "opus": 0.15}
PROBE_MARGIN_COVERED_DB = 0.1
_PROBE_FADE_S = 0.02
_PROBE_GAP_S = 0.05


def probe_windows(
    path: str, *, count: int = PROBE_WINDOWS, audio: npt.NDArray[np.floating] | None = None,
) -> tuple[tuple[int, int], ...]:
    """Where a lossy codec is likeliest to overshoot: ``(start, stop)`` frames of the
    ``count`` loudest 1 s windows among those whose sample peak is within
    :data:`PROBE_PEAK_RANGE_DB` of the master's, widened by :data:`PROBE_CONTEXT_S`.
    ``audio``, if given, is the file's content already in memory (nothing is read)."""
    rate = audio_info(path).sample_rate
    size = max(1, int(round(PROBE_WINDOW_S * rate)))
    peaks: list[float] = []
    energies: list[float] = []
    if audio is not None:
        total = int(audio.shape[1])
        blocks: Iterable[npt.NDArray[np.floating]] = (
            audio[:, start : start + size] for start in range(0, total, size))
    else:
        reader = AudioReader(path, dtype=np.float32)
        total = reader.info.num_frames
        blocks = reader.blocks(size)
    try:
        for block in blocks:
            peaks.append(float(np.max(np.abs(block))) if block.size else 0.0)
            energies.append(float(np.mean(np.square(block, dtype=np.float64))))
    finally:
        if audio is None:
            reader.close()
    if not peaks or max(peaks) <= 0.0:
        return ()
    floor = max(peaks) * 10.0 ** (-PROBE_PEAK_RANGE_DB / 20.0)
    candidates = [k for k, peak in enumerate(peaks) if peak >= floor]
    chosen = sorted(sorted(candidates, key=lambda k: (-energies[k], k))[:count])
    context = int(round(PROBE_CONTEXT_S * rate))
    return tuple((max(0, k * size - context), min(total, (k + 1) * size + context))
                 for k in chosen)


def _probe_true_peak(job: _Job, sample_rate: int) -> float:
    """Encode the probe windows (faded, with short gaps) at 0 dB and return the decoded true
    peak (the higher of both meters when the independent one is on)."""
    from burnish.io.codecs import encode_file

    src, dest = job.src, job.dest
    rate = src.sample_rate
    fade_n = max(1, int(round(_PROBE_FADE_S * rate)))
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(fade_n) + 0.5) / fade_n))
    gap = np.zeros((src.num_channels, int(round(_PROBE_GAP_S * rate))))
    parts: list[npt.NDArray[np.floating]] = [gap]
    shared = _SHARED_MASTER.get(src.path)
    reader = AudioReader(src.path) if shared is None else None
    try:
        for start, stop in job.probe_windows:
            seg: npt.NDArray[np.floating]
            if reader is None:
                seg = cast(npt.NDArray[np.float32], shared)[:, start:stop].astype(np.float64)
            else:
                reader.seek(start)
                seg = reader.read(stop - start)
            n = min(fade_n, seg.shape[1] // 2)
            if n:
                seg[:, :n] *= ramp[:n]
                seg[:, seg.shape[1] - n:] *= ramp[:n][::-1]
            parts += [seg, gap]
    finally:
        if reader is not None:
            reader.close()
    probe = np.concatenate(parts, axis=1)
    path = os.path.join(job.work_dir, f".probe.{dest.name}.{dest.extension}")
    try:
        encode_file(probe, path, codec=cast(Any, dest.codec), sample_rate=rate,
                    bitrate_kbps=dest.bitrate_kbps, vbr_quality=dest.vbr_quality)
        return measure_decoded(path, independent=job.independent).true_peak_dbtp
    finally:
        if os.path.exists(path):
            os.unlink(path)


def _render(job: _Job) -> _Rendered:
    """Render one deliverable and check its true peak (in a worker process or in-process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    src, dest = job.src, job.dest
    rate = dest.output_sample_rate(src.sample_rate)
    gain_db = 0.0
    guard_db = LOSSY_GUARD_DB + (0.0 if job.independent else OWN_METER_GUARD_DB)
    limit = job.ceiling_dbtp - guard_db if dest.lossy else job.ceiling_dbtp + 1e-9
    probe_tp: float | None = None
    if dest.lossy and job.probe_windows:
        # predict the codec's overshoot from a short probe so that one full encode complies;
        # the full decode below is still what decides
        probe_tp = _probe_true_peak(job, rate)
        covered = min(1.0, sum(b - a for a, b in job.probe_windows) / max(1, job.src_frames))
        margin = PROBE_MARGIN_DB[dest.codec] * (1.0 - covered) + PROBE_MARGIN_COVERED_DB * covered
        if math.isfinite(probe_tp) and probe_tp + margin > limit:
            gain_db = round(min(0.0, limit - margin - probe_tp), 2)
    measured: _Measured | None = None
    dithered = False
    attempts = 0
    passed = False
    options: dict[str, str] | None = None
    notes: list[str] = []
    confirm_tp: float | None = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        attempts = attempt
        if dest.lossy:
            if dest.codec == "aac" and attempt > AAC_PLAIN_AFTER and options is None:
                from burnish.io.codecs import AAC_PLAIN_OPTIONS

                options = dict(AAC_PLAIN_OPTIONS)
                notes.append("AAC encoded without PNS, intensity stereo and TNS: with them the"
                             f" decoded true peak missed the ceiling {AAC_PLAIN_AFTER} times")
            measured = _render_lossy(src, dest, job.tmp_path, sample_rate=rate, gain_db=gain_db,
                                     independent=job.independent, encoder_options=options)
            tp = measured.true_peak_dbtp
            held_to = limit
            confirm_tp = None
            if (not job.independent and math.isfinite(tp)
                    and limit - CONFIRM_BAND_DB < tp <= job.ceiling_dbtp - LOSSY_GUARD_DB):
                # a close call: burnish's meter alone may read a little under other meters on
                # content near Nyquist, so libavfilter's ebur128 confirms (decoded again)
                confirm_tp = _ebur128_true_peak(job.tmp_path)
                if confirm_tp is not None:  # None: too short for ebur128 to report
                    held_to = job.ceiling_dbtp - LOSSY_GUARD_DB
                    tp = max(tp, confirm_tp)
            passed = not math.isfinite(tp) or tp <= held_to
        else:
            measured, dithered = _render_pcm(src, dest, job.tmp_path, sample_rate=rate,
                                             gain_db=gain_db, seed=job.seed)
            tp = measured.true_peak_dbtp
            held_to = limit
            passed = not math.isfinite(tp) or tp <= limit
        if passed or attempt == MAX_ATTEMPTS:
            break
        step = tp - held_to + (LOSSY_MARGIN_DB if dest.lossy else PCM_MARGIN_DB)
        gain_db = round(gain_db - step, 4)
    if measured is None:  # pragma: no cover - the loop runs at least once
        raise RuntimeError("no attempt was made")
    return _Rendered(measured, rate, gain_db, attempts, passed, dithered, probe_tp,
                     time.perf_counter() - t0, time.process_time() - c0, tuple(notes),
                     confirm_tp)


def _finish(
    job: _Job, done: _Rendered, *, md: Metadata, say: Progress
) -> DeliverableResult:
    """Tag a rendered deliverable (in this process) and describe it."""
    t0 = time.perf_counter()
    src, dest, ceiling_dbtp = job.src, job.dest, job.ceiling_dbtp
    measured, gain_db = done.measured, done.gain_db
    notes: list[str] = list(done.notes)
    if gain_db != 0.0:
        notes.append(f"gain {gain_db:+.2f} dB before {'encoding' if dest.lossy else 'writing'}"
                     f" to keep the decoded true peak under {ceiling_dbtp:.2f} dBTP")
    if not done.passed:
        worst = max(measured.true_peak_dbtp, done.confirm_true_peak_dbtp or -math.inf)
        notes.append(f"decoded true peak {worst:.2f} dBTP is still over the"
                     f" {ceiling_dbtp:.2f} dBTP ceiling after {done.attempts} attempts")
    if dest.bit_depth is not None and src.bit_depth is not None and src.bit_depth < dest.bit_depth:
        notes.append(f"made from a {src.bit_depth}-bit master: the extra bits carry nothing")
    if dest.codec == "wav" and md.artwork_path is not None:
        notes.append("artwork not embedded (WAV has no standard picture chunk)")
    import datetime

    # the bext origination is the master's modification time, not now: reruns are identical
    origination = datetime.datetime.fromtimestamp(int(os.stat(src.path).st_mtime))
    tagged = _tags_for(md, dest, measured, origination)
    say(f"{dest.name}: tagging", 0.9)
    write_tags(job.tmp_path, tagged)
    ind = measured.independent
    return DeliverableResult(
        destination=dest.name,
        path=job.tmp_path,
        codec=dest.codec,
        container=dest.container,
        sample_rate=done.sample_rate,
        bit_depth=dest.bit_depth,
        bitrate_kbps=dest.bitrate_kbps,
        vbr_quality=dest.vbr_quality,
        num_channels=src.num_channels,
        ceiling_dbtp=ceiling_dbtp,
        gain_db=gain_db,
        attempts=done.attempts,
        true_peak_dbtp=measured.true_peak_dbtp,
        own_true_peak_dbtp=float(measured.own.true_peak_dbtp),
        independent_true_peak_dbtp=None if ind is None else float(ind.true_peak_dbtp),
        integrated_lufs=float(measured.own.integrated_lufs),
        independent_integrated_lufs=None if ind is None else float(ind.integrated_lufs),
        loudness_range_lu=float(measured.own.lra_lu),
        dithered=done.dithered,
        replaygain_track_gain_db=tagged.replaygain_track_gain_db,
        replaygain_track_peak=tagged.replaygain_track_peak,
        r128_track_gain_db=tagged.r128_track_gain_db,
        passed=done.passed,
        elapsed_s=done.wall_s + time.perf_counter() - t0,
        notes=tuple(notes),
        cpu_s=done.cpu_s,
        probe_true_peak_dbtp=done.probe_true_peak_dbtp,
        confirm_true_peak_dbtp=done.confirm_true_peak_dbtp,
    )


#: Relative cost of a deliverable (the longest start first, so the workers finish together):
#: CPU seconds per 4 minutes of 44.1 kHz stereo, measured (encode + decode + meter + probe).
_COST = {"aac": 7.0, "opus": 4.0, "mp3": 3.5, "flac": 1.0, "wav": 0.8}


def _cost(job: _Job) -> float:
    """Expected cost of a job: its codec's, plus rate conversion for a lossless one."""
    cost = _COST[job.dest.codec]
    if not job.dest.lossy and job.dest.output_sample_rate(job.src.sample_rate) != job.src.sample_rate:
        cost += 0.5
    return cost


def default_workers() -> int:
    """Worker processes :func:`deliver` uses by default: one per available core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _can_fork() -> bool:
    import multiprocessing
    import threading

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _render_all(jobs: Sequence[_Job], workers: int, say: Progress) -> list[_Rendered]:
    """Render ``jobs`` on ``workers`` processes (forked: nothing is imported twice); results
    in the order of ``jobs``. Each deliverable is rendered by one process from the master
    alone, so the bytes don't depend on the number of workers or the order."""
    workers = min(workers, len(jobs))
    if workers <= 1:
        out = []
        for i, job in enumerate(jobs):
            say(f"{job.dest.name}: {'encoding' if job.dest.lossy else 'rendering'}", i / len(jobs))
            out.append(_render(job))
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork is fastest (modules and compiled kernels come along) but only safe from a process
    # with one thread; elsewhere fresh interpreters are started (the caller's main module must
    # then be import-safe, as multiprocessing's "spawn" requires)
    context = multiprocessing.get_context("fork" if _can_fork() else "spawn")
    order = sorted(range(len(jobs)), key=lambda i: (-_cost(jobs[i]), i))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures = {i: pool.submit(_render, jobs[i]) for i in order}
        results = []
        for i, job in enumerate(jobs):
            say(f"{job.dest.name}: {'encoding' if job.dest.lossy else 'rendering'}", i / len(jobs))
            results.append(futures[i].result())
        return results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -------------------------------------------------------------------------------------------
# the public entry point
# -------------------------------------------------------------------------------------------
def deliverable_name(stem: str, dest: Destination) -> str:
    """``<stem>.<destination>.<ext>``, e.g. ``song.mp3v0.mp3``, ``song.cd.wav``."""
    return f"{stem}.{dest.name}.{dest.extension}"


def deliver(
    master: str | os.PathLike[str],
    destinations: str | Sequence[str | Destination],
    *,
    out_dir: str | os.PathLike[str],
    metadata: Metadata | None = None,
    version: str | None = None,
    ceiling_dbtp: float | None = None,
    stem: str | None = None,
    dither_seed: int = DITHER_SEED,
    progress: Progress | None = None,
    workers: int | None = None,
    independent_meter: bool = False,
) -> list[DeliverableResult]:
    """Make the deliverables of ``destinations`` from a stored master, in ``out_dir``.

    Parameters
    ----------
    master
        A master record (``<name>.master.json``) or a finished master audio file.
    destinations
        ``"streaming,cd,mp3"``, or a list of names and/or
        :class:`~burnish.delivery.destinations.Destination` objects.
    metadata
        Release tags (title, artist, ISRC, UPC/EAN, artwork ...); its loudness fields are
        ignored: ReplayGain, R128 and bext loudness are measured from each deliverable.
    version
        Which version of a master record (default: the first 24-bit one).
    ceiling_dbtp
        Overrides the default ceiling of every deliverable whose destination has none.
    stem
        Deliverable names start with it (default: the mix's name, or the file's).
    dither_seed
        Seed of the 16-bit TPDF dither (fixed by default: reruns are bit-identical).
    workers
        Processes rendering deliverables side by side (default: one per available core,
        forked, when the calling process has a single thread; otherwise 1, which renders in
        this process). A count above 1 from a process with threads starts fresh interpreters
        ("spawn": the main module must be import-safe). The files are the same whatever the
        number.
    independent_meter
        Also measure every decoded lossy file (and its probe) with libavfilter's ebur128,
        which shares no code with burnish's meter; the decoded true peak is then the higher of
        the two. Off by default (it costs about 1 s per lossy file): burnish's meter is the
        check, and the tests hold it against the ffmpeg binary's ebur128.

    Returns one :class:`DeliverableResult` per destination, in order; their files are in
    ``out_dir`` together with ``<stem>.delivery.json``. Raises
    :class:`~burnish.errors.DeliveryError` (or ParameterError) before rendering for bad
    metadata or arguments; after any error ``out_dir`` holds nothing new.
    """
    say: Progress = progress or (lambda stage, frac: None)
    dests = parse_destinations(destinations)
    if ceiling_dbtp is not None and not (
        isinstance(ceiling_dbtp, (int, float)) and -12.0 <= ceiling_dbtp <= 0.0
    ):
        raise ParameterError(f"ceiling_dbtp={ceiling_dbtp!r} must be in [-12, 0] dBTP")
    if isinstance(dither_seed, bool) or not isinstance(dither_seed, int) or dither_seed < 0:
        raise ParameterError(f"dither_seed={dither_seed!r} must be a whole number >= 0")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= 64):
        raise ParameterError(f"workers={workers!r} must be a whole number in [1, 64]")
    md = release_metadata(metadata) if metadata is not None else Metadata()
    check_release(md, [d.codec for d in dests])
    src = resolve_source(master, version=version)
    if stem is not None and (not stem or os.sep in stem or stem.startswith(".")):
        raise ParameterError(f"stem={stem!r} must be a plain file name start (no folder, no dot)")
    base = stem or src.stem
    out = Path(os.fspath(out_dir))
    created = _make_folders(out)  # removed again after an error (if still empty)
    finals = [out / deliverable_name(base, d) for d in dests]
    for final in finals:
        if final.exists() and os.path.samefile(final, src.path):
            raise DeliveryError(
                f"{display_name(final)}: would overwrite the master it is made from;"
                " choose another output folder"
            )
    try:
        work = tempfile.mkdtemp(prefix=".burnish-deliver-", dir=out)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        frames = audio_info(src.path).num_frames
        # read once, shared by every deliverable (and forked worker) instead of read by each
        shared = _load_shared_master(src, frames)
        windows = (probe_windows(src.path, audio=shared) if any(d.lossy for d in dests)
                   else ())
        jobs = []
        for dest, final in zip(dests, finals):
            ceiling = dest.ceiling_dbtp
            if ceiling is None:
                ceiling = ceiling_dbtp
            if ceiling is None:
                ceiling = src.lossy_ceiling_dbtp if dest.lossy else src.ceiling_dbtp
            jobs.append(_Job(src, dest, os.path.join(work, final.name), ceiling, work,
                             dither_seed, windows if dest.lossy else (), frames,
                             bool(independent_meter)))
        # by default, worker processes only where they can be forked safely (a caller with
        # threads, such as a service, renders in its own process unless it asks for workers)
        count = (default_workers() if _can_fork() else 1) if workers is None else workers
        rendered = _render_all(jobs, count, say)
        made = [_finish(job, done, md=md, say=say) for job, done in zip(jobs, rendered)]
        results = [replace(r, path=os.fspath(final)) for r, final in zip(made, finals)]
        record_tmp = os.path.join(work, f"{base}.delivery.json")
        with open(record_tmp, "w", encoding="utf-8") as f:
            json.dump(_delivery_record(src, dests, results), f, indent=2)
            f.write("\n")
        for r, final in zip(made, finals):
            commit_temp(r.path, final)
        commit_temp(record_tmp, out / f"{base}.delivery.json")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        _remove_empty(created)
        raise
    finally:
        _SHARED_MASTER.pop(src.path, None)
        shutil.rmtree(work, ignore_errors=True)
    say("done", 1.0)
    return results


def _make_folders(folder: Path) -> list[Path]:
    """``mkdir -p folder``; returns the folders it created, deepest first."""
    created: list[Path] = []
    at = folder
    while not at.exists() and at != at.parent:
        created.append(at)
        at = at.parent
    folder.mkdir(parents=True, exist_ok=True)
    return created


def _remove_empty(created: Sequence[Path]) -> None:
    """Remove the folders :func:`_make_folders` created, as long as they are empty."""
    for folder in created:
        try:
            folder.rmdir()
        except OSError:
            return


def _delivery_record(
    src: MasterSource, dests: Sequence[Destination], results: Sequence[DeliverableResult]
) -> dict[str, Any]:
    from burnish import __version__

    return {
        "format": "burnish-delivery",
        "version": 1,
        "burnish_version": __version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": src.to_dict(),
        "destinations": [d.to_dict() for d in dests],
        "deliverables": [r.to_dict() for r in results],
    }


__all__ = [
    "DEFAULT_LOSSY_CEILING_DBTP",
    "DeliverableResult",
    "MasterSource",
    "deliver",
    "deliverable_name",
    "resolve_source",
]
