"""``exactsnn verify`` and ``exactsnn validate``: the command-line face of ``exactsnn.verification``.

    exactsnn verify CASE.json [--dps N] [--json] [--thorough] [--save-reference F | --reference F]
    exactsnn validate CASE.json CLAIMED.json [--rtol R] [--atol-time A] [--atol B] [--float32] [--json]

``add_parsers(sub)`` registers both sub-commands, ``run(args)`` runs one. Exit statuses are the CLI's
(``exactsnn.cli.EXIT_*``): 0 every number agrees, 1 some number disagrees (a verdict), 3 the reference
cannot solve the case (``ReferenceFailed``, neither verdict is known); invalid input raises
``InvalidInputError`` and the CLI exits 2.
"""

from __future__ import annotations

import argparse
import sys

from ..cli import EXIT_DISAGREE, EXIT_OK, EXIT_REFERENCE_FAILED
from ..errors import CaseFormatError, SimulationError


class ReferenceFailed(Exception):
    """The reference solver could not solve the case (exit status ``EXIT_REFERENCE_FAILED``)."""


def run(args) -> int:
    """Run ``args.command`` (``verify`` or ``validate``); the exit status."""
    try:
        return _verify(args) if args.command == "verify" else _validate(args)
    except ReferenceFailed as exc:
        print(f"exactsnn: the reference cannot solve this case: {exc}", file=sys.stderr)
        return EXIT_REFERENCE_FAILED


def _tolerance(text) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (v >= 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return v


def _digits(text) -> int:
    if not text.isdigit() or int(text) < 15:
        raise argparse.ArgumentTypeError(f"{text!r} must be an integer >= 15")
    return int(text)


def add_parsers(sub):
    """Register the ``verify`` and ``validate`` sub-commands on an argparse sub-parser set."""
    from . import ATOL, ATOL_TIME, FLOAT32, GRAD_RTOL, RTOL, TIME_TOL

    ver = sub.add_parser("verify", help="compare the float64 engine with the high-precision reference on a case",
                         description="Per spike and per parameter errors of the float64 spike times and "
                                     "gradients against the independent mpmath reference, and the conditioning "
                                     "of every spike. Exit 0 when within tolerance, 1 otherwise, 2 for an "
                                     "invalid case, 3 when the reference cannot solve it.")
    ver.add_argument("case", help="case file (exactsnn-case/1 JSON)")
    ver.add_argument("--time-tol", type=_tolerance, default=TIME_TOL,
                     help=f"absolute spike-time tolerance of the verdict (default {TIME_TOL:g})")
    ver.add_argument("--grad-rtol", type=_tolerance, default=GRAD_RTOL,
                     help=f"gradient tolerance, relative to the largest entry of the row/block (default {GRAD_RTOL:g})")
    val = sub.add_parser("validate", help="check another implementation's answers (exactsnn-result/1) on a case",
                         description="Compare every number of CLAIMED (spikes, loss, grad blocks, jacobian entries) "
                                     "with the reference answer. A spike time agrees when |err| <= ATOL_TIME; a "
                                     "loss, gradient or Jacobian entry when |err| <= RTOL * scale + ATOL, scale "
                                     "being the largest exact entry of its block (for the Jacobian: of the same "
                                     "spike's row). Exit 0 when all agree, 1 when any disagrees, 2 for invalid "
                                     "files (checked before the reference runs), 3 when the reference cannot "
                                     "solve the case.")
    val.add_argument("case", help="case file (exactsnn-case/1 JSON)")
    val.add_argument("claimed", help="claimed results (exactsnn-result/1 JSON) from any implementation")
    val.add_argument("--rtol", type=_tolerance, default=None,
                     help=f"relative tolerance of loss, gradient and Jacobian entries (default {RTOL:g}; "
                          f"--float32: {FLOAT32['rtol']:g})")
    val.add_argument("--atol-time", type=_tolerance, default=None,
                     help=f"absolute tolerance of spike times (default {ATOL_TIME:g}; --float32: "
                          f"{FLOAT32['atol_time']:g})")
    val.add_argument("--atol", type=_tolerance, default=None,
                     help=f"absolute tolerance added to RTOL * scale (default {ATOL:g})")
    val.add_argument("--float32", action="store_true",
                     help="tolerances for single-precision answers (rounding passes, a lost or extra spike does "
                          "not); explicit --rtol/--atol-time/--atol still win")
    for p in (ver, val):
        p.add_argument("--dps", type=_digits, default=50, help="decimal digits of the reference (default 50)")
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.add_argument("--rows", type=int, default=50, help="rows of the readable tables (default 50)")
        p.add_argument("--thorough", action="store_true",
                       help="also cross-check the reference's Jacobian by finite differences in every model "
                            "parameter and input spike time (2 more reference simulations per column)")
        p.add_argument("--save-reference", metavar="FILE",
                       help="also write the reference answers to FILE (exactsnn-reference-run/1 JSON)")
        p.add_argument("--reference", metavar="FILE",
                       help="read the reference answers from FILE (written by --save-reference for this case) "
                            "instead of solving again")


def _verify(args) -> int:
    """``exactsnn verify``: the float64 engine against the reference; 0 agree, 1 disagree."""
    from . import verify

    case, truth, cost = _reference(args)
    report = verify(case, dps=args.dps, time_tol=args.time_tol, grad_rtol=args.grad_rtol, truth=truth)
    _print_report(args, report, truth, cost)
    return EXIT_OK if report.ok else EXIT_DISAGREE


def _validate(args) -> int:
    """``exactsnn validate``: claimed answers against the reference; 0 agree, 1 disagree."""
    from ..io.case import load_case
    from . import compare
    from .claims import check_claimed, load_claimed

    case, claimed = load_case(args.case), load_claimed(args.claimed)
    check_claimed(case, claimed)  # format and shapes before the long reference work
    case, truth, cost = _reference(args, case)
    report = compare(case, claimed, **_tolerances(args), dps=args.dps, truth=truth)
    _print_report(args, report, truth, cost)
    return EXIT_OK if report.ok else EXIT_DISAGREE


def _tolerances(args) -> dict:
    """The validate tolerances: explicit options, else the ``--float32`` profile, else the defaults."""
    from . import ATOL, ATOL_TIME, FLOAT32, RTOL

    base = FLOAT32 if args.float32 else {"rtol": RTOL, "atol_time": ATOL_TIME, "atol": ATOL}
    return {k: base[k] if getattr(args, k) is None else getattr(args, k) for k in ("rtol", "atol_time", "atol")}


def _reference(args, case=None):
    """``(case, ground truth, (seconds, working digits))`` of the reference run."""
    import time

    from ..io.case import load_case
    from . import ground_truth
    from .reference_store import load_reference, save_reference

    case = load_case(args.case) if case is None else case
    start, cpu = time.perf_counter(), time.process_time()
    if args.reference:
        if args.thorough:
            raise CaseFormatError("--thorough checks a fresh reference run; it cannot be combined with --reference")
        truth = load_reference(case, args.reference, args.dps)
    else:
        subset = fd = None
        if args.thorough:
            n_in = sum(len(ts) for ts in case.inputs)
            subset = [("model", i) for i in range(len(case.params))] + [("input", i) for i in range(n_in)]
        try:
            truth = ground_truth(case, args.dps, fd_subset=subset)
        except SimulationError as exc:
            raise ReferenceFailed(str(exc)) from None
        if args.thorough:
            fd = _check_fd(truth.ref)
    cost = (time.perf_counter() - start, time.process_time() - cpu, truth.ref.work_dps,
            None if args.reference else fd)
    if args.save_reference:
        save_reference(truth, args.save_reference)
    return case, truth, cost


def _check_fd(ref):
    """``(entries compared, max gap)``; raise ``ReferenceFailed`` unless the finite-difference columns
    agree with the IFT rows to ``10**-((dps + GUARD_DIGITS) // 2)`` relative to the row's block (central
    differences with ``h = 10**-((dps + GUARD_DIGITS) // 3)`` err by ~``h**2``; a wrong IFT term by O(1))."""
    from mpmath import mp

    from ..reference import GUARD_DIGITS

    limit = mp.mpf(10) ** (-((ref.dps + GUARD_DIGITS) // 2))
    gap, n = mp.zero, 0
    for name in ("d_model", "d_inputs"):
        for row, row_fd in zip(getattr(ref, name), getattr(ref, name + "_fd")):
            scale = max((abs(x) for x in row), default=mp.zero)
            for x, y in zip(row, row_fd):
                if y is not None:
                    n += 1
                    gap = max(gap, abs(x - y) / scale if scale else abs(x - y))
    if gap > limit:
        raise ReferenceFailed(f"--thorough: the reference's IFT Jacobian and its finite differences differ by "
                              f"{mp.nstr(gap, 3)} (relative to the row's block) > {mp.nstr(limit, 3)}")
    return n, float(gap)


def _print_report(args, report, truth, cost):
    import json

    seconds, cpu, work, fd = cost
    source = f"loaded from {args.reference}" if args.reference else "solved"
    line = (f"reference: {seconds:.1f} s ({cpu:.1f} s CPU) for {truth.ref.n_spikes} spikes ({source}), "
            f"{truth.ref.dps} digits reported, {work} carried")
    if args.json:
        doc = report.to_dict()
        doc["reference_run"] = {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
                                "n_spikes": truth.ref.n_spikes,
                                "dps": truth.ref.dps, "working_dps": work, "loaded_from": args.reference}
        if fd is not None:
            doc["reference_run"]["fd_entries"], doc["reference_run"]["fd_max_gap"] = fd
        print(json.dumps(doc, indent=1))
    else:
        print(report.text(args.rows))
        print(line)
        if fd is not None:
            n, gap = fd
            print(f"thorough: {n} Jacobian entries by finite differences agree with the IFT to {gap:.1e} "
                  f"(relative to the row's block)")
