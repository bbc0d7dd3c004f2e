"""``burnish master``: from a mix to verified masters, one per version, with a record.

One analysis of the mix (and of each reference) serves every version. Each version gets its
own decisions, chain, render, verification and (optionally) report; everything is recorded in
``OUTDIR/<name>.master.json`` so that ``burnish revise`` can render a new revision from the
original mix, and ``burnish process`` can re-apply any version's chain.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from burnish import __version__
from burnish.assistant.decide import Adjustments, Decision, MasterSettings, Plan, decide
from burnish.assistant.profile import MixProfile, average_profiles, profile_from_analysis
from burnish.assistant.render import RenderResult, render_master
from burnish.assistant.targets import Target, load_target
from burnish.assistant.verify import Verification, verify_master
from burnish.errors import AnalysisError, BurnishError, ParameterError
from burnish.io.overlap import run_beside

RECORD_FORMAT = "burnish-master"
RECORD_VERSION = 1
OUTPUT_FORMATS = ("wav", "flac")

Progress = Callable[[str, float], None]


@dataclass
class VersionResult:
    name: str
    settings: MasterSettings
    plan: Plan
    render: RenderResult
    verification: Verification
    output_path: str
    chain_path: str
    report_path: str | None = None

    def to_dict(self, out_dir: Path) -> dict[str, Any]:
        r = self.render

        def num(x: float) -> float | None:
            return round(float(x), 3) if math.isfinite(x) else None

        return {
            "name": self.name,
            "target": self.settings.target.name,
            "settings": self.settings.to_dict(),
            "output": _rel(self.output_path, out_dir),
            "chain_file": _rel(self.chain_path, out_dir),
            "report": None if self.report_path is None else _rel(self.report_path, out_dir),
            "decisions": [d.to_dict() for d in self.plan.decisions],
            "chain": r.chain,
            "render": {
                "target_lufs": num(self.plan.target_lufs),
                "ceiling_dbtp": num(self.plan.ceiling_dbtp),
                "reachable": r.reachable,
                "shortfall_lu": num(r.shortfall_lu),
                "limiter_gain_db": num(r.limiter_gain_db),
                "limiter_ceiling_dbtp": num(r.limiter_ceiling_dbtp),
                "limiting_db": num(r.limiting_db),
                "pre_limiter_lufs": num(r.pre_limiter_lufs),
                "pre_limiter_peak_dbfs": num(r.pre_limiter_peak_dbfs),
                "passes": r.passes,
                "sample_rate": r.output.sample_rate,
                "bit_depth": self.plan.bit_depth,
            },
            "verification": self.verification.to_dict(),
        }


def _rel(path: str, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return path


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def analyze_for_master(path: str | os.PathLike[str], curve: str = "neutral") -> tuple[Any, MixProfile]:
    from burnish.analysis.analyzer import analyze_file

    analysis = analyze_file(os.fspath(path), target_curve=curve)
    return analysis, profile_from_analysis(analysis)


def curve_levels(name: str, profile: MixProfile) -> Any:
    from burnish.analysis.curves import curve_at, load_curve

    return curve_at(load_curve(name), profile.band_centers_hz)


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def safe_stem(path: str | os.PathLike[str]) -> str:
    """A file-system-safe name for outputs derived from the mix's name."""
    stem = Path(path).stem
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem).strip("._")
    return cleaned or "master"


@dataclass
class MasterJob:
    """What to master and how: the inputs of one ``burnish master`` run on one mix."""

    mix_path: str
    out_dir: str
    versions: dict[str, MasterSettings]
    references: Sequence[str] = ()
    report: bool = False
    output_format: str = "wav"
    match_reference_loudness: bool = False

    def settings_hash(self) -> str:
        blob = json.dumps({
            "versions": {k: v.to_dict() for k, v in self.versions.items()},
            "references": [os.path.abspath(r) for r in self.references],
            "match_reference_loudness": self.match_reference_loudness,
            "format": self.output_format,
            "burnish": __version__,
        }, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def master(
    job: MasterJob,
    *,
    progress: Progress | None = None,
    revision: int = 1,
    record: dict[str, Any] | None = None,
    request_text: str = "",
) -> dict[str, Any]:
    """Master ``job.mix_path`` into ``job.out_dir``; returns (and writes) the master record."""
    if job.output_format not in OUTPUT_FORMATS:
        raise ParameterError(
            f"format={job.output_format!r} must be one of {', '.join(OUTPUT_FORMATS)}")
    for name, settings in job.versions.items():
        bits = settings.bit_depth or settings.target.bit_depth
        if job.output_format == "flac" and bits == 32:
            # found before any work, not after the render: FLAC has no float samples
            raise ParameterError(
                f"version {name!r}: bit_depth=32 (float) can't be written as FLAC, which holds"
                " 16 or 24 bits; use format 'wav' or bit depth 16 or 24")
    mix = Path(job.mix_path)
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(mix)
    say: Progress = progress or (lambda stage, frac: None)
    t0 = time.perf_counter()

    say("analysing", 0.0)
    mix_sha256 = run_beside(functools.partial(sha256_file, mix)) if record is None else None
    # the references are analysed beside the mix (each analysis is mostly GIL-free kernels)
    ref_jobs = [run_beside(functools.partial(analyze_for_master, ref)) for ref in job.references]
    analysis, profile = analyze_for_master(mix)
    refs = [wait()[1] for wait in ref_jobs]
    _check_masterable(profile)
    ref_profile = None
    ref_summaries = [p.summary() for p in refs]
    if refs:
        ref_profile = average_profiles(refs)
    say("analysing", 1.0)

    results: list[VersionResult] = []
    suffix = "" if revision == 1 else f".r{revision}"
    with tempfile.TemporaryDirectory(prefix=".burnish-", dir=out_dir) as work:
        for name, settings in job.versions.items():
            curve = None if ref_profile is not None else curve_levels(settings.target.curve, profile)
            plan = decide(profile, settings, curve_db=curve, reference=ref_profile)
            if ref_profile is not None and job.match_reference_loudness:
                plan.target_lufs = ref_profile.integrated_lufs + settings.adjustments.loudness_lu
                matched = Decision(
                    "loudness", f"gain into a true-peak limiter, ceiling {plan.ceiling_dbtp:.1f}"
                    f" dBTP, aiming at the reference's {plan.target_lufs:.1f} LUFS",
                    "no target loudness was given, so the master is as loud as the reference"
                    f" ({ref_profile.integrated_lufs:.1f} LUFS)")
                plan.decisions = [matched if d.step == "loudness" else d for d in plan.decisions]
            base = f"{stem}.{name}{suffix}"
            out_path = out_dir / f"{base}.{job.output_format}"

            def version_progress(stage: str, frac: float, n: str = name) -> None:
                say(f"{n}: {stage}", frac)

            render = render_master(mix, plan, out_path, work_dir=Path(work) / name,
                                   progress=version_progress)
            say(f"{name}: verifying", 0.0)
            verification = _verify(render, plan, out_path, settings)
            tp_check = next(c for c in verification.checks if c.name == "true peak")
            if not tp_check.passed and isinstance(tp_check.measured, float):
                # the limiter's margin was not enough for this material: lower its ceiling by
                # the excess and render once more
                excess = tp_check.measured - plan.ceiling_dbtp + 0.05
                render = render_master(mix, plan, out_path, work_dir=Path(work) / name,
                                       progress=version_progress, ceiling_margin_db=excess)
                verification = _verify(render, plan, out_path, settings)
            if render.dc_offset_blocked:
                _note_dc_block(plan, render.dc_offset_blocked)
            chain_path = out_dir / f"{base}.chain.json"
            _atomic_write_text(chain_path, json.dumps(render.chain, indent=2) + "\n")
            result = VersionResult(name, settings, plan, render, verification,
                                   os.fspath(out_path), os.fspath(chain_path))
            if job.report:
                say(f"{name}: report", 0.0)
                from burnish.report.master_report import write_master_report

                report_path = out_dir / f"{base}.report.html"
                write_master_report(report_path, mix_analysis=analysis, result=result,
                                    reference=ref_profile)
                result.report_path = os.fspath(report_path)
            results.append(result)

    entry = {
        "revision": revision,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "request": request_text,
        "elapsed_s": round(time.perf_counter() - t0, 2),
        "versions": [r.to_dict(out_dir) for r in results],
    }
    if record is None:
        record = {
            "format": RECORD_FORMAT,
            "version": RECORD_VERSION,
            "burnish_version": __version__,
            "mix": {
                "path": os.path.abspath(mix),
                "sha256": mix_sha256() if mix_sha256 is not None else sha256_file(mix),
                "analysis": profile.summary(),
            },
            "references": [
                {"path": os.path.abspath(r), "analysis": s}
                for r, s in zip(job.references, ref_summaries)
            ],
            "job": {
                "versions": {k: v.to_dict() for k, v in job.versions.items()},
                "report": job.report,
                "format": job.output_format,
                "settings_hash": job.settings_hash(),
                "match_reference_loudness": job.match_reference_loudness,
            },
            "revisions": [],
        }
    record["revisions"].append(entry)
    _atomic_write_text(out_dir / f"{stem}.master.json", json.dumps(record, indent=2) + "\n")
    return record


def _note_dc_block(plan: Plan, dc_offset: float) -> None:
    """Record the DC blocker the render added after the limiter (beside the loudness step)."""
    from burnish.assistant.render import DC_BLOCK_HZ

    if any(p.get("type") == "highpass" for p in plan.pre_limiter):
        source = ("the limiter left a DC offset of {:.4f} though the mix was high-passed (its"
                  " gain follows the waveform, so asymmetric bass such as kicks comes out offset)")
    else:
        source = ("the limited signal has a DC offset of {:.4f}: the mix's own, too small for the"
                  " analysis to report, so no high-pass was decided, raised by the loudness gain"
                  " and the limiter")
    note = Decision(
        "loudness", f"DC blocker after the limiter ({DC_BLOCK_HZ:g} Hz, 6 dB/octave), then a"
        " fast safety limiter at the same ceiling",
        source.format(dc_offset) + "; the blocker removes it and the safety limiter catches the"
        " few tenths of a dB it can add to the peaks")
    at = max((i + 1 for i, d in enumerate(plan.decisions) if d.step == "loudness"),
             default=len(plan.decisions))
    plan.decisions.insert(at, note)


def _check_masterable(profile: MixProfile) -> None:
    """A silent mix, or one too short to gate, has no integrated loudness to master to."""
    if math.isfinite(profile.integrated_lufs):
        return
    if profile.duration_s < 0.4:
        raise AnalysisError(
            f"{profile.path}: {profile.duration_s:.2f} s is too short to master (integrated"
            " loudness needs at least 0.4 s of audio)")
    raise AnalysisError(f"{profile.path}: the mix is silent (no block above -70 LUFS)")


def _verify(render: RenderResult, plan: Plan, out_path: Path, settings: MasterSettings) -> Verification:
    return verify_master(
        out_path,
        target_lufs=plan.target_lufs,
        ceiling_dbtp=plan.ceiling_dbtp,
        own_integrated_lufs=render.output.integrated_lufs,
        reachable=render.reachable,
        shortfall_lu=render.shortfall_lu,
        sample_rate=plan.output_sample_rate,
        bit_depth=plan.bit_depth,
        tolerance_lu=settings.target.tolerance_lu,
    )


def record_path_for(mix_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    return Path(out_dir) / f"{safe_stem(mix_path)}.master.json"


def already_done(job: MasterJob) -> bool:
    """True when ``out_dir`` already holds this mix mastered with the same settings."""
    path = record_path_for(job.mix_path, job.out_dir)
    if not path.is_file():
        return False
    try:
        record = json.loads(path.read_text())
        if record["job"]["settings_hash"] != job.settings_hash():
            return False
        if record["mix"]["sha256"] != sha256_file(job.mix_path):
            return False
        first = record["revisions"][0]
        return all((Path(job.out_dir) / v["output"]).is_file() for v in first["versions"])
    except (OSError, KeyError, IndexError, ValueError):
        return False


def load_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    try:
        record = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BurnishError(f"{p}: no such master record") from None
    except (OSError, ValueError) as exc:
        raise BurnishError(f"{p}: not a readable master record ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        raise BurnishError(f"{p}: not a burnish master record (format {RECORD_FORMAT!r} expected)")
    return record


def settings_from_dict(data: dict[str, Any]) -> MasterSettings:
    target = Target(**data["target"])
    return MasterSettings(
        target=target,
        style=data.get("style", "balanced"),
        intensity=data.get("intensity", "medium"),
        force_loudness=bool(data.get("force_loudness", False)),
        adjustments=Adjustments(**data.get("adjustments", {})),
        sample_rate=data.get("sample_rate"),
        bit_depth=data.get("bit_depth"),
    )


def revise(
    record_path: str | os.PathLike[str],
    adjustments: Adjustments,
    *,
    request_text: str = "",
    report: bool | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Render a new revision from the ORIGINAL mix with the settings of the latest revision
    plus ``adjustments``; every earlier revision's files are kept."""
    path = Path(record_path)
    record = load_record(path)
    out_dir = path.parent
    mix = record["mix"]["path"]
    if not Path(mix).is_file():
        raise BurnishError(f"{mix}: the original mix is gone; revisions are rendered from it")
    if sha256_file(mix) != record["mix"]["sha256"]:
        raise BurnishError(f"{mix}: the original mix has changed since it was mastered")
    latest = record["revisions"][-1]
    versions = {}
    for v in latest["versions"]:
        s = settings_from_dict(v["settings"])
        versions[v["name"]] = MasterSettings(
            target=s.target, style=s.style, intensity=s.intensity,
            force_loudness=s.force_loudness, adjustments=s.adjustments.plus(adjustments),
            sample_rate=s.sample_rate, bit_depth=s.bit_depth,
        )
    job = MasterJob(
        mix_path=mix,
        out_dir=os.fspath(out_dir),
        versions=versions,
        references=[r["path"] for r in record.get("references", [])],
        report=record["job"].get("report", False) if report is None else report,
        output_format=record["job"].get("format", "wav"),
        match_reference_loudness=record["job"].get("match_reference_loudness", False),
    )
    revision = len(record["revisions"]) + 1
    text = request_text or ", ".join(f"{k} {v:+g}" for k, v in asdict(adjustments).items() if v)
    return master(job, progress=progress, revision=revision, record=record, request_text=text)


def build_versions(
    version_names: Sequence[str] | None,
    *,
    target: str | None,
    lufs: float | None,
    ceiling_dbtp: float | None,
    style: str,
    intensity: str,
    force_loudness: bool,
    sample_rate: int | None,
    bit_depth: int | None,
) -> dict[str, MasterSettings]:
    """The settings of every version asked for (custom --lufs/--ceiling always win)."""
    from burnish.assistant.targets import custom_target

    names = list(version_names or [])
    if not names:
        names = [target or "spotify"]
    out: dict[str, MasterSettings] = {}
    for name in names:
        base = load_target(name)
        t = custom_target(lufs=lufs, ceiling_dbtp=ceiling_dbtp, base=base)
        key = name if (lufs is None and ceiling_dbtp is None) else f"{name}-custom"
        out[safe_stem(key)] = MasterSettings(
            target=t, style=style, intensity=intensity, force_loudness=force_loudness,
            sample_rate=sample_rate, bit_depth=bit_depth,
        )
    return out
