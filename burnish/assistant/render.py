"""Rendering a decided master, file to file, in bounded memory, to the loudness asked.

Two stages. Stage A (everything before the limiter, and rate conversion) is rendered once to a
32-bit float work file while it is measured (a float's 24-bit mantissa is far finer than the
24-bit output's step). Stage B (loudness gain, true-peak limiter, dither) then runs over the
work file: each pass writes a candidate master and measures it, and secant steps on the gain
land the integrated loudness on the target (the limiter is not linear, so the gain is found by
iteration); the pass that lands is the master. A cap on the limiter's peak reduction keeps the
assistant from crushing music to reach a number; the shortfall is then reported instead. A
master that falls short at the cap by no more than the tolerance counts as reaching the target,
so the cap is stretched by ``CAP_STRETCH_DB`` to land it on the target rather than at the edge
of the tolerance.

A limiter's gain moves with the waveform, so on asymmetric low-frequency material (a kick whose
first half-cycle is its largest) it leaves a DC offset behind, though the mix was high-passed
before it (and a finished master, which gets no high-pass, brings its own). When a pass
measures one, stage B gains a DC blocker after the limiter and a short safety limiter after
that (the blocker shifts the low end's phase, which can lift the peaks a few tenths of a dB),
and the search goes on with both.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from burnish.assistant.decide import CAP_STRETCH_DB, Plan
from burnish.io.files import AudioReader, AudioWriter

Array = npt.NDArray[np.float64]
BLOCK = 65536
TRACE_HOP_S = 0.1  # gain-reduction traces are kept at 10 values a second
MIN_LIMITER_INPUT_GAIN_DB = -24.0  # LimiterParams.input_gain_db's range
MAX_LIMITER_INPUT_GAIN_DB = 36.0
MAX_GAIN_STAGE_DB = 48.0  # GainParams.gain_db's range (the gain before the limiter)
PEAK_ESTIMATE_MARGIN_DB = 0.5  # true peak estimated as sample peak + this, for the cap
#: The limiting cap is measured from the peaks the music keeps reaching, not from its single
#: highest moment: the peak of 2048-sample windows at this quantile (the highest window for
#: files under about 45 s at 44.1 kHz; 4 minutes: all but the 5 loudest windows). One stray
#: peak (a snare hit or a burst 10 dB above the rest) no longer caps the whole master's loudness.
CAP_PEAK_QUANTILE = 0.999
CAP_PEAK_WINDOW = 2048
OVERSHOOT_LU = 0.15  # measuring passes aim this far over the target; a cut then lands it
REACH_TOLERANCE_LU = 0.2  # a capped master this close to the target still reaches it
#: With --force-loudness there is no intensity cap, but the limiter still takes at most this
#: much off the peaks: beyond it a brick-walled mix gains almost no loudness (the search's
#: slope falls towards 0 and its steps grew past the gain stages' +-48 dB range).
FORCED_MAX_LIMITING_DB = 30.0
DC_BLOCK_ABOVE = 5e-4  # a limited pass whose |mean| reaches this gets a DC blocker (verify: 1e-3)
DC_BLOCK_HZ = 2.0  # first-order high-pass after the limiter: the least lift of the peaks
# the limiter after the DC blocker only catches the blocker's overshoot: short and fast
SAFETY_LIMITER = {"lookahead_ms": 1.5, "release_ms": 20.0, "adaptive_release": False}


def chain_document(processors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": "burnish-chain", "version": 1, "processors": processors}


def full_chain(plan: Plan, *, input_sample_rate: int, limiter_gain_db: float,
               limiter_ceiling_dbtp: float, trim_db: float = 0.0,
               dc_block: bool = False) -> dict[str, Any]:
    """The whole master as one chain document (what ``burnish process`` re-applies)."""
    return chain_document(stage_a(plan, input_sample_rate)
                          + stage_b(plan, limiter_gain_db, limiter_ceiling_dbtp, trim_db=trim_db,
                                    dc_block=dc_block))


def stage_a(plan: Plan, input_sample_rate: int) -> list[dict[str, Any]]:
    procs = list(plan.pre_limiter)
    if plan.output_sample_rate != input_sample_rate:
        procs.append({"type": "resample", "params": {"target_sample_rate": plan.output_sample_rate}})
    return procs


def stage_b(
    plan: Plan, gain_db: float, ceiling_dbtp: float, *, trim_db: float = 0.0, final: bool = True,
    dc_block: bool = False,
) -> list[dict[str, Any]]:
    """Gain into the limiter, the limiter, a trim after it (never up) and, at 16 bits, dither.

    ``dc_block`` adds a DC blocker and a safety limiter after the limiter. ``final=False``
    stops after the limiting (the measuring passes); ``final=True`` is the whole tail as
    recorded in the master's chain.
    """
    limiter = dict(plan.limiter_params)
    into_limiter = min(max(float(gain_db), MIN_LIMITER_INPUT_GAIN_DB), MAX_LIMITER_INPUT_GAIN_DB)
    limiter["input_gain_db"] = round(into_limiter, 4)
    limiter["ceiling_dbtp"] = round(float(ceiling_dbtp), 4)
    procs: list[dict[str, Any]] = []
    if gain_db != into_limiter:  # more than the limiter's input stage takes: a gain before it
        procs.append({"type": "gain", "params": {"gain_db": round(float(gain_db) - into_limiter, 4)}})
    procs.append({"type": "limiter", "params": limiter})
    if dc_block:
        procs.append({"type": "highpass", "params": {"cutoff_hz": DC_BLOCK_HZ,
                                                     "slope_db_per_octave": 6}})
        procs.append({"type": "limiter", "params": {**limiter, **SAFETY_LIMITER,
                                                    "input_gain_db": 0.0}})
    if final:
        procs.extend(stage_c(plan, trim_db))
    return procs


def stage_c(plan: Plan, trim_db: float) -> list[dict[str, Any]]:
    """What follows the limiter: the loudness trim (a cut, so peaks only go down) and dither."""
    procs: list[dict[str, Any]] = []
    if trim_db:
        procs.append({"type": "gain", "params": {"gain_db": round(float(trim_db), 4)}})
    if plan.bit_depth == 16:
        procs.append({"type": "dither", "params": {"bit_depth": 16, "shape": "tpdf", "seed": 0}})
    return procs


@dataclass
class StageResult:
    integrated_lufs: float
    true_peak_dbtp: float
    num_frames: int
    sample_rate: int
    loudness: Any = None  # LoudnessResult
    gain_reduction_db: dict[str, Array] = field(default_factory=dict)
    channel_means: tuple[float, ...] = ()  # mean of each channel (DC), when measured
    #: sample peak (dBFS) of CAP_PEAK_WINDOW windows at CAP_PEAK_QUANTILE, when measured
    body_peak_dbfs: float = math.nan

    @property
    def dc_offset(self) -> float:
        """The largest absolute channel mean (0 when not measured)."""
        return max((abs(m) for m in self.channel_means), default=0.0)


def run_chain(
    chain: Any,
    blocks: Iterable[npt.NDArray[np.floating]],
    *,
    num_frames_in: int,
    num_frames_out: int,
    on_block: Callable[[Any], None] | None = None,
) -> Iterator[Array]:
    """Stream ``blocks`` through ``chain`` and yield its output aligned to the input.

    The chain's latency is dropped from the start and the tail flushed with zeros, so exactly
    ``num_frames_out`` frames come out. ``on_block(chain)`` runs after every process call.
    """
    skip = int(chain.latency_samples)
    emitted = 0
    channels = None
    ratio = num_frames_out / max(num_frames_in, 1)

    def emit(out: Array) -> Iterator[Array]:
        nonlocal skip, emitted
        if skip:
            drop = min(skip, out.shape[1])
            out = out[:, drop:]
            skip -= drop
        room = num_frames_out - emitted
        if out.shape[1] > room:
            out = out[:, :room]
        if out.shape[1]:
            emitted += out.shape[1]
            yield out

    for block in blocks:
        channels = block.shape[0]
        out = chain.process(block)
        if on_block is not None:
            on_block(chain)
        yield from emit(out)
    if channels is None:
        return
    pad = max(4096, int(math.ceil(BLOCK / max(ratio, 1e-9))))
    guard = 0
    while emitted < num_frames_out:
        out = chain.process(np.zeros((channels, min(pad, BLOCK)), dtype=np.float64))
        if on_block is not None:
            on_block(chain)
        yield from emit(out)
        guard += 1
        if guard > 10_000:  # a chain that never emits is a bug, not an endless loop
            raise RuntimeError("chain produced no output while flushing")


class _TraceCollector:
    """Collects per-sample gain reduction from processors that expose it, decimated."""

    def __init__(self, sample_rate: int) -> None:
        self.hop = max(1, int(round(TRACE_HOP_S * sample_rate)))
        self.buffers: dict[str, list[float]] = {}
        self._carry: dict[str, Array] = {}

    def __call__(self, chain: Any) -> None:
        for i, proc in enumerate(chain):
            key = f"{i}:{proc.kind}"
            lowest = getattr(proc, "min_gain", None)
            if callable(lowest):
                # the most reduction in a hop is its lowest gain: one logarithm per hop
                gain = np.asarray(lowest(), dtype=np.float64)
                hops = self._reduce(key, gain, np.min)
                if hops.size:
                    self.buffers.setdefault(key, []).extend(
                        (-20.0 * np.log10(np.maximum(hops, 1e-30))).tolist())
                continue
            fn = getattr(proc, "gain_reduction_db", None)
            if not callable(fn):
                continue
            gr = np.asarray(fn(), dtype=np.float64)
            if gr.ndim == 2:
                gr = gr.max(axis=0)
            hops = self._reduce(key, gr, np.max)
            if hops.size:
                self.buffers.setdefault(key, []).extend(hops.tolist())

    def _reduce(self, key: str, values: Array, how: Callable[..., Array]) -> Array:
        """Whole hops of ``values`` (after what was carried over) reduced by ``how``."""
        carry = self._carry.get(key)
        data = values if carry is None or not carry.size else np.concatenate([carry, values])
        whole = (data.size // self.hop) * self.hop
        self._carry[key] = data[whole:].copy()
        return how(data[:whole].reshape(-1, self.hop), axis=1) if whole else np.zeros(0)

    def result(self) -> dict[str, Array]:
        return {k: np.asarray(v) for k, v in self.buffers.items()}


def render_stage(
    in_path: str | os.PathLike[str],
    processors: list[dict[str, Any]],
    *,
    out_path: str | os.PathLike[str] | None,
    bit_depth: int = 64,
    measure: bool = True,
    true_peak: bool = False,
    keep_series: bool = False,
    progress: Callable[[float], None] | None = None,
) -> StageResult:
    """Run a chain over a file; write it (atomically) when ``out_path`` is given; measure it.

    The loudness meter runs without true peak unless asked (the verification measures the
    written master's true peak with two meters); ``true_peak_dbtp`` is then the sample peak.
    """
    from burnish.analysis.loudness import LoudnessMeter
    from burnish.chain import Chain
    from burnish.io.overlap import OrderedWorker, prefetch

    with AudioReader(in_path) as reader:
        info = reader.info
        chain = Chain.from_dict(chain_document(processors), sample_rate=info.sample_rate,
                                num_channels=info.num_channels)
        out_rate = int(chain.output_sample_rate)
        n_out = _output_frames(info.num_frames, info.sample_rate, out_rate)
        meter = (LoudnessMeter(sample_rate=out_rate, num_channels=info.num_channels,
                               true_peak=true_peak) if measure else None)
        traces = _TraceCollector(out_rate)
        writer = (AudioWriter(out_path, sample_rate=out_rate, num_channels=info.num_channels,
                              bit_depth=bit_depth) if out_path is not None else None)
        sums = np.zeros(info.num_channels)
        window_peaks: list[Array] = []

        def sink(block: Array) -> None:
            if meter is not None:
                meter.update(block)
                sums[:] += block.sum(axis=1)
                frame_peaks = np.max(np.abs(block), axis=0)
                tail = (-frame_peaks.size) % CAP_PEAK_WINDOW
                window_peaks.append(np.pad(frame_peaks, (0, tail)).reshape(-1, CAP_PEAK_WINDOW)
                                    .max(axis=1))
            if writer is not None:
                writer.write(block)

        try:
            done = 0
            # decoding runs ahead, metering and writing one block behind, on a second core
            with OrderedWorker() as beside:
                for block in run_chain(chain, prefetch(reader.blocks(BLOCK)),
                                       num_frames_in=info.num_frames, num_frames_out=n_out,
                                       on_block=traces):
                    beside.submit(sink, np.array(block, dtype=np.float64, copy=True))
                    done += block.shape[1]
                    if progress is not None:
                        progress(done / n_out)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        if writer is not None:
            writer.close()
    result = meter.result() if meter is not None else None
    return StageResult(
        integrated_lufs=float(result.integrated_lufs) if result else math.nan,
        true_peak_dbtp=float(result.true_peak_dbtp) if result else math.nan,
        num_frames=n_out,
        sample_rate=out_rate,
        loudness=result,
        gain_reduction_db=traces.result(),
        channel_means=tuple(float(x) for x in sums / max(n_out, 1)) if measure else (),
        body_peak_dbfs=_body_peak_dbfs(window_peaks),
    )


def _body_peak_dbfs(window_peaks: list[Array]) -> float:
    """The peak the music keeps reaching: :data:`CAP_PEAK_QUANTILE` of the window peaks."""
    if not window_peaks:
        return math.nan
    peaks = np.concatenate(window_peaks)
    level = float(np.quantile(peaks, CAP_PEAK_QUANTILE, method="higher"))
    return 20.0 * math.log10(level) if level > 0.0 else -math.inf


def _output_frames(n_in: int, rate_in: int, rate_out: int) -> int:
    if rate_in == rate_out:
        return n_in
    return int(math.ceil(n_in * rate_out / rate_in))


@dataclass
class RenderResult:
    output_path: str
    chain: dict[str, Any]
    limiter_gain_db: float
    limiter_ceiling_dbtp: float
    reachable: bool
    achieved_lufs: float
    shortfall_lu: float
    pre_limiter_lufs: float
    pre_limiter_peak_dbfs: float  # sample peak of the signal into the gain and limiter
    limiting_db: float  # how far the gained pre-limiter peaks went over the ceiling
    output: StageResult
    pre: StageResult
    passes: int
    dc_offset_blocked: float = 0.0  # the DC the limiter left, when a DC blocker removed it


def render_master(
    mix_path: str | os.PathLike[str],
    plan: Plan,
    out_path: str | os.PathLike[str],
    *,
    work_dir: str | os.PathLike[str],
    progress: Callable[[str, float], None] | None = None,
    ceiling_margin_db: float = 0.0,
) -> RenderResult:
    """Render ``plan`` for ``mix_path`` into ``out_path`` at the plan's loudness.

    ``ceiling_margin_db`` lowers the limiter's ceiling below the plan's (a retry after a
    verification found the true peak over the ceiling).
    """
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    pre_path = work / "stage_a.wav"
    with AudioReader(mix_path) as reader:
        rate_in = reader.info.sample_rate

    def step(name: str) -> Callable[[float], None] | None:
        if progress is None:
            return None
        return lambda frac: progress(name, frac)

    pre = render_stage(mix_path, stage_a(plan, rate_in), out_path=pre_path, bit_depth=32,
                       progress=step("processing"))
    target = plan.target_lufs
    ceiling = plan.ceiling_dbtp
    if not math.isfinite(pre.integrated_lufs):
        gain = 0.0
    else:
        gain = target - pre.integrated_lufs
    # the stage-A meter reads sample peaks; inter-sample peaks of music sit up to ~0.5 dB higher
    pre_peak = pre.true_peak_dbtp + PEAK_ESTIMATE_MARGIN_DB
    # the cap on limiting counts from the peaks the music keeps reaching (a few stray moments
    # above them are the limiter's to take, however deep)
    body_peak = min(pre.body_peak_dbfs, pre.true_peak_dbtp) + PEAK_ESTIMATE_MARGIN_DB
    if not math.isfinite(body_peak):
        body_peak = pre_peak
    cap = MAX_GAIN_STAGE_DB + MAX_LIMITER_INPUT_GAIN_DB  # what the chain's gain stages can give
    if math.isfinite(body_peak):
        cap = min(cap, ceiling - body_peak + (FORCED_MAX_LIMITING_DB if plan.max_limiting_db is None
                                              else plan.max_limiting_db))
    capped = gain > cap
    gain = min(gain, cap)

    # Find the gain into the limiter: each measuring pass writes the limited signal (32-bit
    # float) and measures it. The gain aims a little over the target (OVERSHOOT_LU), so the
    # landing is a plain cut afterwards: a cut lowers loudness and peaks by exactly its size.
    passes = 0
    prev: tuple[float, float] | None = None
    limiter_ceiling = ceiling - ceiling_margin_db
    limited_path = work / "stage_b.wav"
    gain = min(gain + OVERSHOOT_LU, cap) if math.isfinite(gain) else gain
    capped = capped or gain >= cap
    limited: StageResult | None = None
    stretched = False
    dc_block = False
    dc_found = 0.0
    searches = 0
    while searches < 8:
        limited = render_stage(
            pre_path, stage_b(plan, gain, limiter_ceiling, final=False, dc_block=dc_block),
            out_path=limited_path, bit_depth=32, progress=step("limiting"))
        passes += 1
        if not dc_block and limited.dc_offset >= DC_BLOCK_ABOVE:
            # the limiter left a DC offset: block it and measure again at the same gain (once)
            dc_block, dc_found, prev = True, limited.dc_offset, None
            continue
        searches += 1
        measured = limited.integrated_lufs
        err = target - measured
        if not math.isfinite(err) or err <= 0.02:
            break  # over the target (a cut lands it) or on it
        if capped:
            if stretched or err > REACH_TOLERANCE_LU:
                break  # as loud as allowed: the shortfall is reported
            # short by less than the tolerance at the cap: such a master counts as reaching
            # the target, so it should land on it, not at the tolerance's edge (where another
            # meter may read it outside); a little more limiting does that
            cap, capped, stretched = cap + CAP_STRETCH_DB, False, True
        slope = 1.0
        if prev is not None and abs(gain - prev[0]) > 1e-6:
            slope = float(np.clip((measured - prev[1]) / (gain - prev[0]), 0.05, 1.5))
        elif math.isfinite(pre_peak) and math.isfinite(pre.integrated_lufs):
            # first step: loudness lost to the limiter grows about in proportion to how far
            # the peaks are driven over the ceiling, so the slope is below 1 by that share
            depth = gain - (limiter_ceiling - pre_peak)
            loss = pre.integrated_lufs + gain - measured
            if depth > 1.0 and loss > 0.0:
                slope = float(np.clip(1.0 - loss / depth, 0.2, 1.0))
        prev = (gain, measured)
        new_gain = gain + (err + OVERSHOOT_LU) / slope
        if new_gain >= cap:
            new_gain, capped = cap, True
        if abs(new_gain - gain) < 1e-4:
            break
        gain = new_gain
    if limited is None:  # the loop always runs at least once
        raise RuntimeError("no limiter pass ran")
    trim = 0.0
    if math.isfinite(limited.integrated_lufs) and limited.integrated_lufs > target:
        trim = target - limited.integrated_lufs
    candidate = work / f"candidate{Path(out_path).suffix}"
    render_stage(limited_path, stage_c(plan, trim), out_path=candidate,
                 bit_depth=plan.bit_depth, measure=False, progress=step("writing"))
    passes += 1
    os.replace(candidate, out_path)
    for tmp in (pre_path, limited_path):
        try:
            os.unlink(tmp)
        except OSError:
            pass
    # a cut scales loudness and peaks exactly; dither adds at most one 16-bit step (the true
    # peak itself is measured by the verification, on the written file)
    out = StageResult(
        integrated_lufs=limited.integrated_lufs + trim,
        true_peak_dbtp=limited.true_peak_dbtp + trim,
        num_frames=limited.num_frames,
        sample_rate=limited.sample_rate,
        loudness=limited.loudness,
        gain_reduction_db=_merge_limiter_traces(limited.gain_reduction_db),
        channel_means=tuple(m * 10 ** (trim / 20) for m in limited.channel_means),
    )
    achieved = out.integrated_lufs
    shortfall = max(0.0, target - achieved) if math.isfinite(achieved) else math.inf
    reachable = not (capped or stretched) or shortfall <= REACH_TOLERANCE_LU
    limiting = (pre_peak + gain - ceiling) if math.isfinite(pre_peak) else 0.0
    return RenderResult(
        output_path=os.fspath(out_path),
        chain=full_chain(plan, input_sample_rate=rate_in, limiter_gain_db=gain,
                         limiter_ceiling_dbtp=limiter_ceiling, trim_db=trim, dc_block=dc_block),
        limiter_gain_db=gain,
        limiter_ceiling_dbtp=limiter_ceiling,
        reachable=reachable,
        achieved_lufs=achieved,
        shortfall_lu=shortfall,
        pre_limiter_lufs=pre.integrated_lufs,
        pre_limiter_peak_dbfs=pre.true_peak_dbtp,
        limiting_db=max(0.0, limiting),
        output=out,
        pre=pre,
        passes=passes,
        dc_offset_blocked=dc_found,
    )


def _merge_limiter_traces(traces: dict[str, Array]) -> dict[str, Array]:
    """One limiter trace: the safety limiter's reduction added to the main limiter's."""
    keys = [k for k in traces if k.split(":", 1)[-1] == "limiter"]
    if len(keys) < 2:
        return traces
    merged = {k: v for k, v in traces.items() if k not in keys[1:]}
    total = np.array(traces[keys[0]], dtype=np.float64)
    for k in keys[1:]:
        extra = traces[k]
        n = min(total.size, extra.size)
        total[:n] += extra[:n]
    merged[keys[0]] = total
    return merged
