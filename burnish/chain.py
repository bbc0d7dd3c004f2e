"""A list-like chain of processors with latency compensation, JSON I/O and file streaming.

>>> chain = Chain.from_dict(                                       # doctest: +SKIP
...     {"format": "burnish-chain", "version": 1,
...      "processors": [{"type": "imager", "params": {"mono_below_hz": 120.0}}]},
...     sample_rate=44100, num_channels=2)
>>> mastered = chain.render(audio)                                 # aligned, same length

Latency model (docs/chain.md)
-----------------------------
Processors between resamplers form *segments* that run at one rate. Inside a chain the latency
of every segment that feeds a resampler is removed before the resampler (its first samples are
dropped and :meth:`Chain.flush` pushes its tail out), so every resampler sees an aligned signal.
``latency_samples`` is the latency of the last segment, in output-rate samples: the streamed
output (``process`` blocks then the ``flush`` tail) is the aligned result preceded by that many
samples. Without a resampler ``process`` returns blocks of the input's length; with one, it
returns whatever is ready (libsoxr emits in bursts) and the total length is only known at flush.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableSequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from burnish.audio import AudioArray, check_audio, check_sample_rate
from burnish.dsp.base import Processor, processor_from_dict
from burnish.dsp.resample import Resampler, resampled_length
from burnish.errors import AudioFileError, ChainError, ParameterError

CHAIN_FORMAT = "burnish-chain"
CHAIN_VERSION = 1
#: Top-level keys a chain file may hold ("description" documents a chain; JSON has no comments).
_TOP_KEYS = ("format", "version", "processors", "description")
_PARAM_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[\d+\])?=")


#: Sub-block length of the two-core pipeline inside a block (and half the shortest block that
#: is pipelined).
PIPELINE_SUB_SAMPLES = 16384

#: Relative cost per sample of each kind (measured on 4 minutes of stereo at 44.1 kHz,
#: docs/performance.md); the pipeline splits a segment where the two halves cost most alike.
_COST = {
    "multiband_compressor": 5.0, "saturation": 4.2, "limiter": 3.5, "reverb": 3.0,
    "compressor": 2.0, "match_eq": 2.0, "dynamic_eq": 2.0, "deesser": 2.0, "eq": 1.5,
    "imager": 0.8, "dither": 0.5, "highpass": 0.5, "gain": 0.2, "polarity": 0.1,
    "balance": 0.2, "declick": 3.0, "declip": 10.0, "denoise": 8.0, "dehum": 2.0,
}

def _pipeline_split(procs: list[Processor]) -> int:
    """Where to cut ``procs`` into two stages of like cost, or 0 to run them on one core."""
    from burnish.io.overlap import parallel_ok

    if len(procs) < 2 or not parallel_ok():
        return 0
    costs = [_COST.get(p.kind, 1.0) for p in procs]
    total = sum(costs)
    best, best_k = total, 0
    for k in range(1, len(procs)):
        worst = max(sum(costs[:k]), total - sum(costs[:k]))
        if worst < best:
            best, best_k = worst, k
    # not worth a thread unless the smaller stage carries a fair share of the work
    return best_k if total - best >= 0.25 * total and total >= 4.0 else 0


class Chain(MutableSequence[Processor]):
    """Processors in order, bound to an input ``sample_rate`` and ``num_channels``.

    Behaves like a list (``len``, iteration, indexing, ``insert``, ``append``, ``remove``,
    ``del``). Every processor must be built for the rate at its position (the input rate, or the
    target of the last :class:`~burnish.dsp.resample.Resampler` before it) and the chain's
    channel count; a mutation that breaks this raises :class:`ParameterError` and changes
    nothing. Any mutation resets the chain's state.
    """

    def __init__(
        self, processors: Iterable[Processor] = (), *, sample_rate: int, num_channels: int
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if num_channels not in (1, 2):
            raise ParameterError(f"num_channels={num_channels} must be 1 or 2")
        self.num_channels = int(num_channels)
        self._items: list[Processor] = []
        self._set_items(list(processors))

    # list protocol ---------------------------------------------------------------------------
    @overload
    def __getitem__(self, index: int) -> Processor: ...
    @overload
    def __getitem__(self, index: slice) -> MutableSequence[Processor]: ...
    def __getitem__(self, index: int | slice) -> Processor | MutableSequence[Processor]:
        if isinstance(index, slice):
            return self._items[index]
        return self._items[index]

    @overload
    def __setitem__(self, index: int, value: Processor) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[Processor]) -> None: ...
    def __setitem__(self, index: int | slice, value: Any) -> None:
        items = list(self._items)
        items[index] = value
        self._set_items(items)

    def __delitem__(self, index: int | slice) -> None:
        items = list(self._items)
        del items[index]
        self._set_items(items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Processor]:
        return iter(self._items)

    def insert(self, index: int, value: Processor) -> None:
        items = list(self._items)
        items.insert(index, value)
        self._set_items(items)

    def __repr__(self) -> str:
        inner = ", ".join(repr(p) for p in self._items)
        return f"Chain([{inner}], sample_rate={self.sample_rate}, num_channels={self.num_channels})"

    def _set_items(self, items: list[Processor]) -> None:
        rate = self.sample_rate
        for i, p in enumerate(items):
            if not isinstance(p, Processor):
                raise ParameterError(f"processors[{i}] is a {type(p).__name__}, not a Processor")
            if p.num_channels != self.num_channels:
                raise ParameterError(
                    f"processors[{i}] ({p.kind}) has num_channels={p.num_channels}; the chain has {self.num_channels}"
                )
            if p.sample_rate != rate:
                raise ParameterError(
                    f"processors[{i}] ({p.kind}) was built at sample_rate={p.sample_rate}; the chain runs"
                    f" at {rate} Hz there (build it after any resampler's target rate)"
                )
            if isinstance(p, Resampler):
                rate = p.output_sample_rate
        self._items = items
        self._segments: list[list[Processor]] = [[]]
        self._resamplers: list[Resampler] = []
        for p in items:
            if isinstance(p, Resampler):
                self._resamplers.append(p)
                self._segments.append([])
            else:
                self._segments[-1].append(p)
        self.reset()

    # properties ------------------------------------------------------------------------------
    @property
    def output_sample_rate(self) -> int:
        """The rate of the output: the last resampler's target, else the input rate."""
        return self._resamplers[-1].output_sample_rate if self._resamplers else self.sample_rate

    @property
    def latency_samples(self) -> int:
        """Leading output samples (output rate) to drop; earlier segments are compensated inside."""
        return sum(p.latency_samples for p in self._segments[-1])

    def output_length(self, num_samples: int) -> int:
        """Length of the aligned output for ``num_samples`` input samples."""
        n = int(num_samples)
        for r in self._resamplers:
            n = resampled_length(n, sample_rate=r.sample_rate, target_sample_rate=r.output_sample_rate)
        return n

    # streaming -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all state (every processor reset); the next run is bit-identical to a fresh one."""
        for p in self._items:
            p.reset()
        self._drop = [sum(p.latency_samples for p in seg) for seg in self._segments[:-1]]
        self._dtype: np.dtype[Any] = np.dtype(np.float64)
        self._flushed = False

    @staticmethod
    def _run_procs(procs: list[Processor], block: AudioArray) -> AudioArray:
        # the chain checked the block at its entry: processors that offer an unchecked entry
        # (same result, no second isfinite scan) are called through it
        y = block
        for p in procs:
            unchecked = getattr(p, "_process_unchecked", None)
            y = unchecked(y) if unchecked is not None else p.process(y)
        return y

    def _run_segment(self, k: int, block: AudioArray) -> AudioArray:
        if block.shape[1] == 0:
            return block
        procs = self._segments[k]
        split = _pipeline_split(procs) if block.shape[1] >= 2 * PIPELINE_SUB_SAMPLES else 0
        if not split:
            return self._run_procs(procs, block)
        return self._run_pipelined(procs[:split], procs[split:], block)

    def _run_pipelined(self, head: list[Processor], tail: list[Processor],
                       block: AudioArray) -> AudioArray:
        """Run ``head`` then ``tail`` over ``block`` in sub-blocks, ``tail`` on a second core.

        While the helper thread runs the tail on sub-block i, this thread runs the head on
        sub-block i + 1. Each processor still sees the same samples in the same order, and
        every processor gives the same bits for any block sizes (the invariants suite checks
        it), so the output is that of a plain loop.
        """
        from concurrent.futures import ThreadPoolExecutor

        n, sub = block.shape[1], PIPELINE_SUB_SAMPLES
        # a thread per call, not one kept for the process: nothing outlives the block (a
        # later fork, e.g. delivery's workers, must find a single-threaded process)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="burnish-chain") as pool:
            futures = []
            for start in range(0, n, sub):
                mid = self._run_procs(head, block[:, start : start + sub])
                # a processor may hand out a view of a buffer it reuses: the tail gets a copy
                futures.append(pool.submit(self._run_procs, tail, np.array(mid, copy=True)))
            return np.concatenate([f.result() for f in futures], axis=1)

    def _to_resampler(self, k: int, block: AudioArray) -> AudioArray:
        """Drop segment ``k``'s remaining latency, then feed resampler ``k``."""
        drop = min(self._drop[k], block.shape[1])
        if drop:
            self._drop[k] -= drop
            block = block[:, drop:]
        return self._resamplers[k].process(block)

    def process(self, block: AudioArray) -> AudioArray:
        """Process one ``(channels, samples)`` block; output delayed by ``latency_samples``."""
        x = check_audio(block, num_channels=self.num_channels, name="block")
        if self._flushed:
            raise ParameterError("the chain was flushed; call reset() before processing again")
        self._dtype = x.dtype
        y = x
        last = len(self._segments) - 1
        for k in range(last + 1):
            y = self._run_segment(k, y)
            if k < last:
                y = self._to_resampler(k, y)
        return y if y is not x else x.copy()

    def flush(self) -> AudioArray:
        """End the stream: push every latency tail (and the resamplers' tails) out."""
        if self._flushed:
            raise ParameterError("the chain was already flushed; call reset() first")
        self._flushed = True
        dtype = self._dtype
        carried = np.zeros((self.num_channels, 0), dtype=dtype)
        last = len(self._segments) - 1
        for k in range(last + 1):
            latency = sum(p.latency_samples for p in self._segments[k])
            parts = [self._run_segment(k, carried)]
            if latency:
                parts.append(self._run_segment(k, np.zeros((self.num_channels, latency), dtype=dtype)))
            y = np.concatenate(parts, axis=1)
            if k < last:
                head = self._to_resampler(k, y)
                carried = np.concatenate([head, self._resamplers[k].flush(dtype)], axis=1)
            else:
                carried = y
        return carried

    def render(self, audio: AudioArray) -> AudioArray:
        """Process a whole buffer: output aligned to the input, ``output_length(n)`` samples.

        The chain is reset before and after, so calls don't influence each other.
        """
        x = check_audio(audio, num_channels=self.num_channels)
        self.reset()
        try:
            if x.shape[1] == 0:
                return x.copy()
            out = np.concatenate([self.process(x), self.flush()], axis=1)
            return out[:, self.latency_samples :]
        finally:
            self.reset()

    # JSON ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"format": "burnish-chain", "version": 1, "processors": [...]}`` (no sample rate)."""
        return {
            "format": CHAIN_FORMAT,
            "version": CHAIN_VERSION,
            "processors": [p.to_dict() for p in self._items],
        }

    @classmethod
    def from_dict(cls, data: Any, *, sample_rate: int, num_channels: int) -> Chain:
        """Build a chain from its dict at the given input rate and channel count.

        Raises :class:`ChainError` whose message points at the offending key, e.g.
        ``processors[2].params.ratio: ratio=0.5 must be in [1, inf]``.
        """
        if not isinstance(data, Mapping):
            raise ChainError(f"chain: expected a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_TOP_KEYS))
        if unknown:
            raise ChainError(f"{unknown[0]}: unknown key (expected {', '.join(_TOP_KEYS)})")
        if data.get("format", CHAIN_FORMAT) != CHAIN_FORMAT:
            raise ChainError(f"format: {data.get('format')!r} is not {CHAIN_FORMAT!r}")
        version = data.get("version", CHAIN_VERSION)
        if version != CHAIN_VERSION or isinstance(version, bool):
            raise ChainError(f"version: {version!r} is not supported (this burnish reads version {CHAIN_VERSION})")
        entries = data.get("processors", [])
        if not isinstance(entries, list):
            raise ChainError(f"processors: expected a list, got {type(entries).__name__}")
        rate = check_sample_rate(sample_rate)
        built: list[Processor] = []
        for i, entry in enumerate(entries):
            where = f"processors[{i}]"
            if isinstance(entry, Mapping):
                enabled = entry.get("enabled", True)
                if not isinstance(enabled, bool):
                    raise ChainError(f"{where}.enabled: expected true or false, got {enabled!r}")
                if not enabled:
                    continue
                entry = {k: v for k, v in entry.items() if k not in ("enabled", "comment")}
            try:
                p = processor_from_dict(entry, sample_rate=rate, num_channels=num_channels, where=where)
            except ChainError as exc:
                raise ChainError(_point_at_param(str(exc), where)) from None
            except ParameterError as exc:  # a value valid alone but not at this sample rate
                raise ChainError(_point_at_param(f"{where}.params: {exc}", where)) from None
            built.append(p)
            if isinstance(p, Resampler):
                rate = p.output_sample_rate
        return cls(built, sample_rate=sample_rate, num_channels=num_channels)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON atomically (temporary file renamed into place)."""
        write_chain_file(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, sample_rate: int, num_channels: int) -> Chain:
        """Read a chain file; errors name the file and the key."""
        data = load_chain_data(path)
        try:
            return cls.from_dict(data, sample_rate=sample_rate, num_channels=num_channels)
        except ChainError as exc:
            raise ChainError(f"{os.fspath(path)}: {exc}") from None


def _point_at_param(message: str, where: str) -> str:
    """``processors[2].params: ratio=0.5 ...`` -> ``processors[2].params.ratio: ratio=0.5 ...``."""
    prefix = f"{where}.params: "
    if message.startswith(prefix):
        rest = message[len(prefix) :]
        m = _PARAM_NAME.match(rest)
        if m:
            return f"{where}.params.{m.group(1)}{m.group(2) or ''}: {rest}"
    return message.splitlines()[0] if message else message


def load_chain_data(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse a chain JSON file (not yet built); :class:`ChainError` naming the file."""
    p = os.fspath(path)
    try:
        text = Path(p).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChainError(f"{p}: no such chain file") from None
    except IsADirectoryError:
        raise ChainError(f"{p}: is a folder, not a chain file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChainError(f"{p}: can't read the chain file ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChainError(f"{p}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ChainError(f"{p}: expected a JSON object with 'processors', got {type(data).__name__}")
    return data


def write_chain_file(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write a chain dict as indented JSON atomically."""
    p = Path(os.fspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def process_file(
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    chain_data: Mapping[str, Any] | Chain,
    *,
    block_frames: int = 65536,
    bit_depth: int = 24,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Stream a file through a chain into ``out_path`` (written atomically).

    The chain is built at the file's rate and channel count (a :class:`Chain` argument is
    rebuilt from its ``to_dict()``). The output is latency compensated and holds
    ``output_length(n)`` frames; ``block_frames`` never changes its bits. ``progress`` is called
    with ``(frames_read, total_frames)`` after every block. Returns a summary dict.
    """
    from burnish.io.files import AudioReader, AudioWriter

    if isinstance(block_frames, bool) or not isinstance(block_frames, int) or block_frames < 1:
        raise ParameterError(f"block_frames={block_frames!r} must be a whole number in [1, inf)")
    data = chain_data.to_dict() if isinstance(chain_data, Chain) else chain_data
    with AudioReader(in_path) as reader:
        info = reader.info
        chain = Chain.from_dict(data, sample_rate=info.sample_rate, num_channels=info.num_channels)
        expected = chain.output_length(info.num_frames)
        to_drop = chain.latency_samples
        written = 0
        with AudioWriter(
            out_path, sample_rate=chain.output_sample_rate, num_channels=info.num_channels,
            bit_depth=bit_depth,
        ) as writer:

            def emit(y: AudioArray) -> None:
                nonlocal to_drop, written
                if to_drop:
                    d = min(to_drop, y.shape[1])
                    y = y[:, d:]
                    to_drop -= d
                y = y[:, : max(0, expected - written)]
                if y.shape[1]:
                    writer.write(y)
                    written += y.shape[1]

            done = 0
            for block in reader.blocks(block_frames):
                emit(chain.process(block))
                done += block.shape[1]
                if progress is not None:
                    progress(done, info.num_frames)
            emit(chain.flush())
            if written != expected:
                raise AudioFileError(
                    f"{os.fspath(in_path)}: read {done} of {info.num_frames} frames; wrote {written}"
                    f" of {expected} (the file may be truncated)"
                )
    return {
        "input": os.fspath(in_path),
        "output": os.fspath(out_path),
        "sample_rate": info.sample_rate,
        "output_sample_rate": chain.output_sample_rate,
        "num_channels": info.num_channels,
        "input_frames": info.num_frames,
        "output_frames": written,
        "latency_samples": chain.latency_samples,
        "chain": chain.to_dict(),
    }
