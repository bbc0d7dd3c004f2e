"""``burnish master``: one command from a mix to verified masters."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

AUDIO_SUFFIXES = {".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3", ".m4a", ".aac", ".opus", ".wv"}


def _targets_help() -> str:
    try:
        from burnish.assistant.targets import available_targets

        lines = [f"  {t.name:11s} {t.integrated_lufs:6.1f} LUFS {t.ceiling_dbtp:5.1f} dBTP  "
                 f"{t.title}: {t.source}" for t in available_targets().values()]
        return "targets (name, loudness, ceiling, source):\n" + "\n".join(lines)
    except Exception:  # noqa: BLE001 - help must never fail
        return ""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "master",
        help="master a mix (or a folder of mixes) to a target or a reference, verified",
        description="Analyse the mix, decide a mastering chain, render it to the target loudness"
        " and ceiling, verify the result with two meters, and record every decision.",
        epilog=_targets_help() + "\n\nVersions: any target name, or streaming (=spotify),"
        " loud (=cd), dynamic (=audiophile), podcast. Targets are TOML files; add your own"
        " with --target path/to/file.toml or the BURNISH_TARGETS_DIR folder.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("mixes", nargs="+", metavar="MIX", help="mix file(s) or folder(s) of mixes")
    p.add_argument("-o", "--out-dir", default="masters", help="output folder (default: masters)")
    p.add_argument("--target", help="destination target name or TOML file (default: spotify)")
    p.add_argument("--lufs", type=float, help="integrated loudness to reach (overrides target)")
    p.add_argument("--ceiling", type=float, help="true-peak ceiling in dBTP (overrides target)")
    p.add_argument("--reference", action="append", default=[], metavar="REF",
                   help="reference track to match (repeat for several: they are averaged)")
    p.add_argument("--style", default="balanced", choices=("balanced", "warm", "bright", "open"))
    p.add_argument("--intensity", default="medium", choices=("low", "medium", "high"))
    p.add_argument("--versions", help="comma-separated versions, e.g. streaming,loud,dynamic")
    p.add_argument("--force-loudness", action="store_true",
                   help="reach the loudness even where it harms the music")
    p.add_argument("--sample-rate", type=int, help="output sample rate (default: the target's)")
    p.add_argument("--bit-depth", type=int, choices=(16, 24, 32), help="output bit depth")
    p.add_argument("--format", default="wav", choices=("wav", "flac"), help="output container")
    p.add_argument("--report", action="store_true", help="write an HTML report per master")
    p.add_argument("--jobs", type=int, default=0, help="parallel jobs for a batch (default: cores)")
    p.add_argument("--json", action="store_true", help="print the master record(s) as JSON")
    p.add_argument("--deliver", metavar="LIST",
                   help="then make these deliverables from the first version (see burnish"
                   " deliver), e.g. streaming,cd,mp3,aac,opus,hires")
    p.add_argument("--release", metavar="TOML", help="release metadata for --deliver")
    p.add_argument("--independent-meter", action="store_true",
                   help="with --deliver: also check every lossy file with libavfilter's ebur128")
    p.set_defaults(run=run)


def _collect(paths: list[str]) -> list[str]:
    from burnish.errors import AudioFileError

    files: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(str(f) for f in p.iterdir()
                           if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise AudioFileError(f"{raw}: the folder holds no audio files")
            files.extend(found)
        else:
            files.append(raw)
    return files


def _job(args: argparse.Namespace, mix: str) -> Any:
    from burnish.assistant.master import MasterJob, build_versions

    names = [v.strip() for v in args.versions.split(",") if v.strip()] if args.versions else None
    versions = build_versions(
        names, target=args.target, lufs=args.lufs, ceiling_dbtp=args.ceiling, style=args.style,
        intensity=args.intensity, force_loudness=args.force_loudness,
        sample_rate=args.sample_rate, bit_depth=args.bit_depth,
    )
    match_ref = bool(args.reference) and args.target is None and args.lufs is None and not names
    return MasterJob(mix_path=mix, out_dir=args.out_dir, versions=versions,
                     references=list(args.reference), report=args.report,
                     output_format=args.format, match_reference_loudness=match_ref)


def _run_one(job: Any, show_progress: bool) -> dict[str, Any]:
    from burnish.assistant.master import master
    from burnish.cli.progress import ProgressLine

    bar = ProgressLine(f"{Path(job.mix_path).name}: ")
    if not show_progress:
        bar.enabled = False
    try:
        return master(job, progress=bar)
    finally:
        bar.done()


def _batch_worker(job: Any) -> tuple[str, dict[str, Any] | None, str | None]:
    from burnish.errors import BurnishError

    try:
        return job.mix_path, _run_one(job, False), None
    except BurnishError as exc:
        return job.mix_path, None, str(exc)


def _print_record(record: dict[str, Any], out: Any, out_dir: str = "") -> None:
    """The verification and where each file is (paths as the user can open them)."""
    rev = record["revisions"][-1]

    def where(rel: str) -> str:
        return os.path.join(out_dir, rel) if out_dir else rel

    print(f"{record['mix']['path']}", file=out)
    for v in rev["versions"]:
        ver = v["verification"]
        status = "PASS" if ver["passed"] else "FAIL"
        r = v["render"]
        line = (f"  {v['name']:<12s} {status}  {ver['integrated_lufs']} LUFS (target"
                f" {r['target_lufs']}), {ver['true_peak_dbtp']} dBTP (ceiling {r['ceiling_dbtp']};"
                f" independent {ver['independent_true_peak_dbtp']})")
        print(line, file=out)
        if not r["reachable"]:
            if v.get("settings", {}).get("force_loudness"):
                from burnish.assistant.render import FORCED_MAX_LIMITING_DB

                print(f"    target out of reach: {r['shortfall_lu']} LU short with the limiter"
                      f" taking {FORCED_MAX_LIMITING_DB:g} dB off the peaks (the most"
                      " --force-loudness allows)", file=out)
            else:
                print(f"    target not reachable without harm: {r['shortfall_lu']} LU short"
                      " (--force-loudness to insist)", file=out)
        for c in ver["checks"]:
            if not c["passed"]:
                print(f"    failed: {c['name']}: {c['measured']} (required {c['required']})", file=out)
        print(f"    master: {where(v['output'])}", file=out)
        print(f"    chain:  {where(v['chain_file'])}", file=out)
        if v.get("report"):
            print(f"    report: {where(v['report'])}", file=out)
    for d in rev["versions"][0]["decisions"] if len(rev["versions"]) == 1 else []:
        print(f"    - {d['step']}: {d['action']}", file=out)


def run(args: argparse.Namespace) -> int:
    import json

    from burnish.assistant.master import already_done, record_path_for
    from burnish.errors import BurnishError

    files = _collect(args.mixes)
    metadata = None
    if args.deliver:  # destinations and tags are checked BEFORE any mastering
        from burnish.delivery.destinations import parse_destinations
        from burnish.delivery.release import check_release, load_release

        if len(files) > 1:
            raise BurnishError("--deliver takes one mix; use burnish deliver on each record")
        metadata = load_release(args.release) if args.release else None
        dests = parse_destinations(args.deliver)
        if metadata is not None:
            check_release(metadata, [d.codec for d in dests])
    os.makedirs(args.out_dir, exist_ok=True)
    jobs = [_job(args, f) for f in files]
    if len(jobs) == 1:
        record = _run_one(jobs[0], True)
        if args.json:
            print(json.dumps(record, indent=2))
        else:
            _print_record(record, sys.stdout, args.out_dir)
            print(f"  record: {record_path_for(jobs[0].mix_path, args.out_dir)}")
        ok = all(v["verification"]["passed"] for v in record["revisions"][-1]["versions"])
        if args.deliver:
            from burnish.cli.deliver import print_table
            from burnish.delivery.deliver import deliver

            delivered = deliver(record_path_for(jobs[0].mix_path, args.out_dir), args.deliver,
                                out_dir=os.path.join(args.out_dir, "delivery"), metadata=metadata,
                                independent_meter=args.independent_meter)
            print_table(delivered, sys.stdout)
            ok = ok and all(r.passed for r in delivered)
        return 0 if ok else 5

    # a batch: skip what is done, run the rest on every core, summarise
    todo = [j for j in jobs if not already_done(j)]
    skipped = [j for j in jobs if j not in todo]
    results: list[tuple[str, dict[str, Any] | None, str | None]] = []
    workers = args.jobs or (os.cpu_count() or 1)
    if workers > 1 and len(todo) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            for i, res in enumerate(pool.map(_batch_worker, todo), 1):
                results.append(res)
                if sys.stderr.isatty():
                    print(f"\r{i}/{len(todo)} done", end="", file=sys.stderr)
    else:
        for j in todo:
            results.append(_batch_worker(j))
    if sys.stderr.isatty() and todo:
        print(file=sys.stderr)
    failures = 0
    print(f"{'mix':<40s} {'version':<12s} {'LUFS':>7s} {'dBTP':>7s}  result")
    for j in skipped:
        print(f"{Path(j.mix_path).name[:40]:<40s} {'(all)':<12s} {'':>7s} {'':>7s}  skipped: already"
              " mastered with these settings")
    for path, maybe, err in results:
        name = Path(path).name[:40]
        if maybe is None:
            failures += 1
            print(f"{name:<40s} {'-':<12s} {'':>7s} {'':>7s}  error: {err}")
            continue
        for v in maybe["revisions"][-1]["versions"]:
            ver = v["verification"]
            failures += 0 if ver["passed"] else 1
            print(f"{name:<40s} {v['name']:<12s} {ver['integrated_lufs']!s:>7s}"
                  f" {ver['true_peak_dbtp']!s:>7s}  {'pass' if ver['passed'] else 'FAIL'}")
    if args.json:
        print(json.dumps([r for _, r, _ in results if r is not None], indent=2))
    if failures:
        raise BurnishError(f"{failures} of {len(jobs)} masters failed; see the table above")
    return 0
