"""``burnish repair IN OUT``: declick, declip, denoise and dehum a file, streaming.

``--auto`` runs the analysis first and turns on the repairs its issues call for (clicks,
clipping, noise, and mains hum when :func:`~burnish.analysis.hum.detect_mains_hum` is confident),
printing what it enables and why. ``--dehum`` without ``--mains-hz`` runs the hum detector on the
whole input first and gives the dehum processor the frequency it found; when it finds none, dehum
is skipped with a one-line note, and if dehum was the only repair asked for, nothing is written
and the command fails (exit 2) saying why, so that scripts don't mistake a copy for a repair. The output is written atomically through a
:class:`~burnish.chain.Chain` (latency compensated, same length as the input).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``repair`` subcommand."""
    p = subparsers.add_parser(
        "repair",
        help="remove clicks, clipping, hiss and hum from a file",
        description="Stream IN through the chosen restoration processors into OUT (atomic).",
    )
    p.add_argument("input", metavar="IN", help="input audio file")
    p.add_argument("output", metavar="OUT", help="output file (.wav, .flac, .aiff)")
    p.add_argument("--declick", action="store_true", help="remove clicks")
    p.add_argument("--declip", action="store_true", help="reconstruct clipped peaks (output -6 dB)")
    p.add_argument("--denoise", type=float, metavar="DB", help="reduce hiss by up to DB dB")
    p.add_argument("--dehum", action="store_true", help="remove 50/60 Hz hum (auto-detected)")
    p.add_argument("--mains-hz", type=float, default=0.0,
                   help="mains frequency for --dehum: 50 or 60, or a measured one in [40, 70]"
                        " such as 49.8 (0 = detect)")
    p.add_argument("--auto", action="store_true", help="analyse first; enable what it calls for")
    p.add_argument("--bit-depth", type=int, choices=(16, 24, 32), default=24)
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(run=run)


def plan_from_issues(issues: list[Any]) -> list[tuple[str, dict[str, Any], str]]:
    """Repairs ``(kind, params, reason)`` that the analysis issues call for."""
    plan: list[tuple[str, dict[str, Any], str]] = []
    kinds = {i.kind: i for i in issues if i.severity != "info"}
    if "clipping" in kinds:
        plan.append(("declip", {}, f"clipping found: {kinds['clipping'].message}"))
    if "click" in kinds:
        plan.append(("declick", {}, f"clicks found: {kinds['click'].message}"))
    if "noise" in kinds:
        snr = float(kinds["noise"].value)
        reduction = float(min(20.0, max(6.0, 40.0 - snr)))
        plan.append(("denoise", {"reduction_db": reduction},
                     f"noise floor {snr:.0f} dB below the music: reduce by up to {reduction:.0f} dB"))
    return plan


def _plan_dehum(
    plan: list[tuple[str, dict[str, Any], str]], args: argparse.Namespace
) -> tuple[list[tuple[str, dict[str, Any], str]], str]:
    """Add dehum to ``plan`` as asked: a forced ``--mains-hz`` as is; otherwise (``--dehum`` or
    ``--auto``) only when the whole-file detector finds hum (``--auto``: with high confidence).
    Returns the plan and a one-line note when dehum was asked for but skipped."""
    if args.dehum and args.mains_hz:
        return plan + [("dehum", {"mains_hz": float(args.mains_hz)},
                        f"asked for (--dehum --mains-hz {args.mains_hz:g})")], ""
    from burnish.analysis.hum import detect_mains_hum

    hum = detect_mains_hum(args.input)
    if args.dehum:
        if not hum.found:
            return plan, f"dehum skipped: no mains hum found ({hum.reason})"
        return plan + [("dehum", _dehum_params(hum), f"asked for (--dehum); found {hum.reason}")], ""
    if hum.found and hum.confidence >= 0.75:
        return plan + [("dehum", _dehum_params(hum), f"found {hum.reason}")], ""
    return plan, ""


def _dehum_params(hum: Any) -> dict[str, Any]:
    """Dehum at the found mains frequency. A fundamental within 0.03 Hz of nominal (the
    detector's precision) is removed at exactly nominal (``max_drift_hz=0``: the processor is then
    linear and leaves the music untouched by frequency tracking); a drifting one is tracked within
    its measured offset + 0.1 Hz."""
    offset = abs(hum.fundamental_hz - hum.mains_hz)
    drift = 0.0 if offset <= 0.03 else round(min(0.5, offset + 0.1), 2)
    return {"mains_hz": hum.mains_hz, "max_drift_hz": drift}


def run(args: argparse.Namespace) -> int:
    """Build the chain, stream the file, report."""
    from burnish.chain import process_file
    from burnish.errors import ParameterError

    plan: list[tuple[str, dict[str, Any], str]] = []
    if args.auto:
        from burnish.analysis.analyzer import analyze_file

        plan = plan_from_issues(analyze_file(args.input).issues)
    if args.declip and not any(k == "declip" for k, _, _ in plan):
        plan.append(("declip", {}, "asked for (--declip)"))
    if args.declick and not any(k == "declick" for k, _, _ in plan):
        plan.append(("declick", {}, "asked for (--declick)"))
    if args.denoise is not None:
        plan = [p for p in plan if p[0] != "denoise"]
        plan.append(("denoise", {"reduction_db": float(args.denoise)}, "asked for (--denoise)"))
    notes: list[str] = []
    if args.dehum or args.auto:
        plan, note = _plan_dehum(plan, args)
        if note:
            notes.append(note)
    if not plan and args.dehum:
        raise ParameterError(notes[0].removeprefix("dehum skipped: ") + "; nothing written")
    if not plan:
        raise ParameterError(
            "nothing to repair: give --declick, --declip, --denoise DB, --dehum or --auto"
            " (--auto found nothing to repair)" if args.auto else
            "nothing to repair: give --declick, --declip, --denoise DB, --dehum or --auto"
        )
    order = {"declip": 0, "declick": 1, "dehum": 2, "denoise": 3}
    plan.sort(key=lambda p: order[p[0]])
    chain = {"format": "burnish-chain", "version": 1,
             "processors": [{"type": k, "params": prm} for k, prm, _ in plan]}
    summary = process_file(args.input, args.output, chain, bit_depth=args.bit_depth)
    summary["repairs"] = [{"kind": k, "params": prm, "reason": why} for k, prm, why in plan]
    summary["notes"] = notes
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for note in notes:
            print(note)
        for k, _, why in plan:
            print(f"{k}: {why}")
        print(f"{summary['output']}: {summary['output_frames']} frames written")
    return 0
