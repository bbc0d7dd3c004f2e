"""An independent loudness meter: libavfilter's ``ebur128`` filter, run in-process through PyAV.

burnish verifies its masters with this meter as well as its own, so that a bug in one can't
hide itself: the two implementations share no code. Values come from the filter's frame
metadata (``lavfi.r128.*``, three decimals), after the graph is flushed at the end of the file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from burnish.errors import AudioFileError


@dataclass(frozen=True, slots=True)
class FfmpegLoudness:
    """What ffmpeg's ebur128 filter measured (true peak with its 4x oversampling)."""

    integrated_lufs: float
    lra_lu: float
    true_peak_dbtp: float
    true_peak_dbtp_per_channel: tuple[float, ...]


def _db(linear: float) -> float:
    return 20.0 * math.log10(linear) if linear > 0 else -math.inf


class Ebur128Graph:
    """libavfilter's ebur128 filter (``peak=true``) fed with decoded frames, one by one.

    ``template`` is the audio stream the frames come from. Push every frame, then read
    :meth:`result` (which flushes the graph).
    """

    def __init__(self, template: Any) -> None:
        import av

        self._av = av
        self._graph = av.filter.Graph()
        src = self._graph.add_abuffer(template=template)
        meter = self._graph.add("ebur128", "peak=true:metadata=1")
        sink = self._graph.add("abuffersink")
        src.link_to(meter)
        meter.link_to(sink)
        self._graph.configure()
        self._meta: dict[str, str] = {}

    def _drain(self) -> None:
        av = self._av
        while True:
            try:
                out = self._graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            if out.metadata:
                self._meta = dict(out.metadata)

    def push(self, frame: Any) -> None:
        self._graph.push(frame)
        self._drain()

    def result(self, *, where: str = "audio") -> FfmpegLoudness:
        self._graph.push(None)
        self._drain()
        meta = self._meta
        if "lavfi.r128.I" not in meta:
            raise AudioFileError(f"{where}: ffmpeg's ebur128 returned no measurement")
        channels = sorted(k for k in meta if k.startswith("lavfi.r128.true_peaks_ch"))
        return FfmpegLoudness(
            integrated_lufs=float(meta["lavfi.r128.I"]),
            lra_lu=float(meta.get("lavfi.r128.LRA", "nan")),
            true_peak_dbtp=_db(float(meta.get("lavfi.r128.true_peak", "0"))),
            true_peak_dbtp_per_channel=tuple(_db(float(meta[k])) for k in channels),
        )


def ffmpeg_ebur128(path: str | os.PathLike[str]) -> FfmpegLoudness:
    """Measure a file with libavfilter's ebur128 (``peak=true``)."""
    import av

    path = os.fspath(path)
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError) as exc:
        raise AudioFileError(f"{path}: ffmpeg can't open it ({exc})") from None
    with container:
        stream = container.streams.audio[0]
        graph = Ebur128Graph(stream)
        for frame in container.decode(stream):
            graph.push(frame)
        return graph.result(where=path)
