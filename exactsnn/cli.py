"""The ``exactsnn`` command.

    exactsnn demo [--plot FILE]                 the main job, on built-in defaults
    exactsnn simulate CASE.json                 spike times (exactsnn-result/1 JSON)
    exactsnn grad CASE.json [--jacobian]        spike times, loss and exact gradients
    exactsnn verify CASE.json [--dps N] [--json]
                                                the float64 engine against the high-precision reference
    exactsnn validate CASE.json CLAIMED.json [--rtol R] [--atol-time A] [--atol B] [--json]
                                                another implementation's answers against the reference
    exactsnn derive MODEL [--latex]             the derived implicit-function partials (LaTeX: a fragment)
    exactsnn export-nir CASE.json|RUN OUT.nir   the case's (or a trained run's) network as a NIR graph
    exactsnn train {xor,iris,yinyang} [--seed S] [--epochs N] [--hidden H] [--lr LR] [--out DIR]
                                                train a classifier with exact gradients; metrics + figures
    exactsnn train TASK --resume RUN_DIR        continue a killed run from its last checkpoint
    exactsnn --version
    exactsnn campaign CASES_DIR | --generate lif --seeds 0-999 [--store DB] [--scheduler ADDR] [--workers N]
                                                verify many cases as Dask tasks (exactsnn.distributed)
    exactsnn sweep {xor,iris,yinyang} --seeds 0-9 --hidden 30,60 [--lr ...] [--epochs N]
                                                training runs as Dask tasks; one table + figure
    exactsnn train-dp TASK [train options] --workers N   each minibatch split across Dask workers (same weights)

simulate, grad, verify and validate also take a NIR graph instead of a case:
``CASE.nir --inputs SPIKES [--t-max T] [--loss LOSS.json]`` (spike formats: exactsnn.interop.spike_data).

Exit status, one meaning across commands (``EXIT_*`` below):

- 0: success; ``verify``/``validate``: every number agrees within tolerance;
- 1: a disagreement or an untrustworthy answer: ``verify`` found the engine outside its tolerances,
  ``validate`` found a claimed number that disagrees, or a simulation cannot give a trustworthy answer
  (e.g. a degenerate spike under ``--policy raise``);
- 2: invalid input (files, keys, shapes, values, arguments), found before any long computation;
- 3: the high-precision reference itself cannot solve the case (``verify``/``validate``: e.g. ``V``
  still at threshold after a reset, too many spikes); neither agreement nor disagreement is known.

``verify`` and ``validate`` print the reference's run time and precision after their report (in
``--json``: the key ``reference_run``).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings

from .errors import CaseFormatError, DegenerateSpikeError, InvalidInputError, SimulationError


#: Exit statuses, one meaning each across every command (documented in README.md):
EXIT_OK = 0          # done; for verify/validate: the answers agree
EXIT_DISAGREE = 1    # verify/validate: the answers disagree (a verdict)
EXIT_INVALID = 2     # invalid input (files, options, values), or output closed early
EXIT_FAILED = 3      # no trustworthy answer could be computed (spike budget, degenerate spike under
#                      --policy raise, the reference could not solve the case)
EXIT_INTERNAL = 4    # a bug in exactsnn
EXIT_REFERENCE_FAILED = EXIT_FAILED  # the reference could not solve the case


class ReferenceFailed(Exception):
    """The reference solver could not solve the case (exit status ``EXIT_FAILED``)."""


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="exactsnn", description="Exact gradients of spiking neural networks.")
    _add_version(ap)
    sub = ap.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="simulate a small multi-spike network; FP, adjoint and finite differences")
    demo.add_argument("--plot", metavar="FILE", help="save a raster + membrane potential figure (PNG/PDF)")
    for name, text in (("simulate", "simulate a case and print its spike times"),
                       ("grad", "spike times, loss and exact gradients of a case")):
        p = sub.add_parser(name, help=text)
        p.add_argument("case", help="case file (exactsnn-case/1 JSON)")
        p.add_argument("--policy", choices=("raise", "warn", "flag"), default="warn",
                       help="degenerate spikes (tangential, on an event, at t_max): raise, warn (default) or flag")
        p.add_argument("--max-spikes", type=_positive_int, default=100_000, help="spike budget (default 100000)")
        if name == "grad":
            p.add_argument("--jacobian", action="store_true",
                           help="add the forward-propagation Jacobian: d(spike time)/d(every weight)")
    _add_checks(sub)
    _add_derive(sub)
    _add_nir(sub)
    from .training.command import add_train_parser

    add_train_parser(sub)
    _add_campaign(sub)
    return ap


def _add_version(ap):
    from . import __version__

    ap.add_argument("--version", action="version", version=f"exactsnn {__version__}")


def _add_campaign(sub):
    from .distributed.command import add_campaign_parser, add_sweep_parser, add_train_dp_parser

    add_campaign_parser(sub)
    add_sweep_parser(sub)
    add_train_dp_parser(sub)


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


def _add_checks(sub):
    from .verification import ATOL, ATOL_TIME, FLOAT32, GRAD_RTOL, RTOL, TIME_TOL

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


def _add_derive(sub):
    der = sub.add_parser("derive", help="print a model's derived implicit-function partials (text or LaTeX)")
    der.add_argument("model", help="built-in model name, or a JSON/TOML file with kernel formulas or a linear ODE")
    der.add_argument("--latex", action="store_true",
                     help="print a LaTeX fragment (headings, every formula in math mode; needs amsmath)")


def _add_nir(sub):
    """``export-nir`` and the ``.nir`` options of the commands that take a case."""
    exp = sub.add_parser("export-nir", help="write a case's or a trained run's network as a NIR graph (.nir, HDF5)")
    exp.add_argument("case", help="case file (exactsnn-case/1 JSON), or a run folder written by exactsnn train")
    exp.add_argument("out", help="output .nir file")
    for name in ("simulate", "grad", "verify", "validate"):
        p = sub.choices[name]
        p.add_argument("--inputs", metavar="SPIKES", help="with a .nir graph as CASE: input spikes (.npz/.csv/.json/.h5)")
        p.add_argument("--t-max", type=float, help="with a .nir graph: end of the window (default: the spike file's)")
        p.add_argument("--loss", metavar="LOSS", help="with a .nir graph: a case-format loss (JSON file or text)")


def _nir_case(args):
    """Replace ``args.case`` by a Case when it names a .nir graph (needs --inputs)."""
    if not str(args.case).lower().endswith(".nir"):
        if any(getattr(args, k, None) is not None for k in ("inputs", "t_max", "loss")):
            raise CaseFormatError("--inputs, --t-max and --loss go with a .nir graph, not a case file")
        return
    if args.inputs is None:
        raise CaseFormatError(f"{args.case} is a NIR graph: give its input spikes with --inputs FILE")
    from .interop.nir_case import case_from_nir

    args.case = case_from_nir(args.case, args.inputs, args.t_max, args.loss)


def _export_nir(args) -> int:
    from pathlib import Path

    from .io.case import load_case
    from .interop.nir import to_nir, write_nir

    if Path(args.case).is_dir():
        from .interop.nir_run import export_run

        print(f"wrote {export_run(args.case, args.out)}")
        return 0
    case = load_case(args.case)
    write_nir(args.out, to_nir(case.network, case.model, case.params))
    print(f"wrote {args.out}")
    return 0


def _derive(args) -> int:
    from .io.model_files import formulas_text, load_model_spec

    print(formulas_text(load_model_spec(args.model), latex=args.latex))
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "derive":
            return _derive(args)
        if args.command == "export-nir":
            return _export_nir(args)
        if args.command in ("simulate", "grad", "verify", "validate"):
            _nir_case(args)
        if args.command == "train":
            from .training.command import run_train

            return run_train(args)
        if args.command in ("campaign", "sweep", "train-dp"):
            from .distributed.command import run_command

            return run_command(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "validate":
            return _validate(args)
        return _case_command(args)
    except ReferenceFailed as exc:
        print(f"exactsnn: the reference cannot solve this case: {exc}", file=sys.stderr)
        return EXIT_REFERENCE_FAILED
    except DegenerateSpikeError as exc:
        print(f"exactsnn: degenerate spike(s):\n{exc}", file=sys.stderr)
        return EXIT_FAILED
    except SimulationError as exc:
        print(f"exactsnn: simulation failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except InvalidInputError as exc:
        print(f"exactsnn: invalid input: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        # the reader closed stdout early (`exactsnn grad ... | head`): stop quietly, and keep Python's
        # exit-time flush from raising again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("exactsnn: output closed early (broken pipe)", file=sys.stderr)
        return EXIT_INVALID
    except Exception:  # a bug: say so, with the traceback to report, and an exit status no verdict uses
        traceback.print_exc()
        print("exactsnn: internal error (a bug in exactsnn; please report the traceback above)", file=sys.stderr)
        return EXIT_INTERNAL


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _demo(args) -> int:
    from .demo import plot_demo, run_demo

    print("compiling and running (the first run compiles the numba engine; later runs load it from cache) ...",
          file=sys.stderr)
    report = run_demo()
    print(report.text())
    if args.plot:
        plot_demo(report, args.plot)
        print(f"  figure written to {args.plot}")
    return 0


def _case_command(args) -> int:
    from .io.case import Case, dumps, load_case, result_document
    from .diagnostics import check_spikes
    from .grad import adjoint, forward_propagation
    from .losses import loss_value_and_dt
    from .simulate import simulate

    case = args.case if isinstance(args.case, Case) else load_case(args.case)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        res = simulate(case.model, case.network, case.inputs, case.t_max, params=case.params,
                       max_spikes=args.max_spikes)
        value = grads = jac = None
        if args.command == "simulate":
            check_spikes(res, args.policy)
        else:
            if case.loss is not None:
                value, dl_dt, _ = loss_value_and_dt(res, case.loss)
                grads = adjoint(res, dl_dt, policy=args.policy)
            if args.jacobian:
                _check_jacobian_size(res)
                jac = forward_propagation(res, policy=args.policy)
    print(dumps(result_document(case, res, value, grads, jac)))
    return 0


#: Largest per-spike Jacobian ``grad --jacobian`` builds (float64 bytes; its JSON is several times larger).
MAX_JACOBIAN_BYTES = 2 * 1024**3


def _check_jacobian_size(res):
    n_q = 2 * res.network.n_synapses + res.in_times.size + res.ptab.size
    size = 8 * res.n_spikes * n_q
    if size > MAX_JACOBIAN_BYTES:
        raise InvalidInputError(
            f"--jacobian would hold {res.n_spikes} spikes x {n_q} quantities = {size / 1024**3:.1f} GiB "
            f"(limit {MAX_JACOBIAN_BYTES / 1024**3:.0f} GiB); drop --jacobian: with a loss in the case, grad "
            "gives dL/d(every quantity) by the adjoint in one sweep, or use exactsnn.forward_propagation on a "
            "smaller network")


def _verify(args) -> int:
    from .verification import verify

    case, truth, cost = _reference(args)
    report = verify(case, dps=args.dps, time_tol=args.time_tol, grad_rtol=args.grad_rtol, truth=truth)
    _print_report(args, report, truth, cost)
    return EXIT_OK if report.ok else EXIT_DISAGREE


def _validate(args) -> int:
    from .io.case import load_case
    from .verification import compare
    from .verification.claims import check_claimed, load_claimed

    case, claimed = load_case(args.case), load_claimed(args.claimed)
    check_claimed(case, claimed)  # format and shapes before the long reference work
    case, truth, cost = _reference(args, case)
    report = compare(case, claimed, **_tolerances(args), dps=args.dps, truth=truth)
    _print_report(args, report, truth, cost)
    return EXIT_OK if report.ok else EXIT_DISAGREE


def _tolerances(args) -> dict:
    """The validate tolerances: explicit options, else the ``--float32`` profile, else the defaults."""
    from .verification import ATOL, ATOL_TIME, FLOAT32, RTOL

    base = FLOAT32 if args.float32 else {"rtol": RTOL, "atol_time": ATOL_TIME, "atol": ATOL}
    return {k: base[k] if getattr(args, k) is None else getattr(args, k) for k in ("rtol", "atol_time", "atol")}


def _reference(args, case=None):
    """``(case, ground truth, (seconds, working digits))`` of the reference run."""
    import time

    from .io.case import load_case
    from .verification import ground_truth
    from .verification.reference_store import load_reference, save_reference

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

    from .reference import GUARD_DIGITS

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


if __name__ == "__main__":
    sys.exit(main())
