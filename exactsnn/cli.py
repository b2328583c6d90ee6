"""The ``exactsnn`` command.

    exactsnn demo [--plot FILE]                 the main job, on built-in defaults
    exactsnn simulate CASE.json                 spike times (exactsnn-result/1 JSON)
    exactsnn grad CASE.json [--jacobian]        spike times, loss and exact gradients
    exactsnn verify CASE.json [--dps N] [--json]
                                                the float64 engine against the high-precision reference
    exactsnn validate CASE.json CLAIMED.json [--rtol R] [--atol-time A] [--atol B] [--json]
                                                another implementation's answers against the reference
    exactsnn derive MODEL [--latex]             the derived implicit-function partials of a model
    exactsnn export-nir CASE.json OUT.nir       the case's network as a NIR graph
    exactsnn train {xor,iris,yinyang} [--seed S] [--epochs N] [--hidden H] [--lr LR] [--out DIR]
                                                train a classifier with exact gradients; metrics + figures
    exactsnn campaign CASES_DIR | --generate lif --seeds 0-999 [--store DB] [--scheduler ADDR] [--workers N]
                                                verify many cases as Dask tasks (exactsnn.distributed)
    exactsnn sweep {xor,iris,yinyang} --seeds 0-9 --hidden 30,60 [--lr ...] [--epochs N]
                                                training runs as Dask tasks; one table + figure

simulate, grad, verify and validate also take a NIR graph instead of a case:
``CASE.nir --inputs SPIKES [--t-max T] [--loss LOSS.json]`` (spike formats: exactsnn.interop.spike_data).

Exit status: 0 on success, 2 for invalid input files or arguments, 1 for a simulation that
cannot give a trustworthy answer (e.g. a degenerate spike under ``--policy raise``). ``verify``
exits 1 when the engine is outside its tolerances; ``validate`` exits 1 when any claimed number
disagrees, and 2 when the files are invalid or the reference cannot solve the case.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from .errors import CaseFormatError, DegenerateSpikeError, InvalidInputError, SimulationError


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="exactsnn", description="Exact gradients of spiking neural networks.")
    sub = ap.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="simulate a small multi-spike network; FP, adjoint and finite differences")
    demo.add_argument("--plot", metavar="FILE", help="save a raster + membrane potential figure (PNG/PDF)")
    for name, text in (("simulate", "simulate a case and print its spike times"),
                       ("grad", "spike times, loss and exact gradients of a case")):
        p = sub.add_parser(name, help=text)
        p.add_argument("case", help="case file (exactsnn-case/1 JSON)")
        p.add_argument("--policy", choices=("raise", "warn", "flag"), default="warn",
                       help="degenerate spikes (tangential, on an event, at t_max): raise, warn (default) or flag")
        p.add_argument("--max-spikes", type=int, default=100_000, help="spike budget (default 100000)")
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


def _add_campaign(sub):
    from .distributed.command import add_campaign_parser, add_sweep_parser

    add_campaign_parser(sub)
    add_sweep_parser(sub)


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
    from .verification import ATOL, ATOL_TIME, GRAD_RTOL, RTOL, TIME_TOL

    ver = sub.add_parser("verify", help="compare the float64 engine with the high-precision reference on a case",
                         description="Per spike and per parameter errors of the float64 spike times and "
                                     "gradients against the independent mpmath reference, and the conditioning "
                                     "of every spike. Exit 0 when within tolerance, 1 otherwise, 2 for an "
                                     "invalid case.")
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
                                     "files.")
    val.add_argument("case", help="case file (exactsnn-case/1 JSON)")
    val.add_argument("claimed", help="claimed results (exactsnn-result/1 JSON) from any implementation")
    val.add_argument("--rtol", type=_tolerance, default=RTOL,
                     help=f"relative tolerance of loss, gradient and Jacobian entries (default {RTOL:g})")
    val.add_argument("--atol-time", type=_tolerance, default=ATOL_TIME,
                     help=f"absolute tolerance of spike times (default {ATOL_TIME:g})")
    val.add_argument("--atol", type=_tolerance, default=ATOL,
                     help=f"absolute tolerance added to RTOL * scale (default {ATOL:g})")
    for p in (ver, val):
        p.add_argument("--dps", type=_digits, default=50, help="decimal digits of the reference (default 50)")
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.add_argument("--rows", type=int, default=50, help="rows of the readable tables (default 50)")


def _add_derive(sub):
    der = sub.add_parser("derive", help="print a model's derived implicit-function partials (text or LaTeX)")
    der.add_argument("model", help="built-in model name, or a JSON/TOML file with kernel formulas or a linear ODE")
    der.add_argument("--latex", action="store_true", help="print the formulas as LaTeX")


def _add_nir(sub):
    """``export-nir`` and the ``.nir`` options of the commands that take a case."""
    exp = sub.add_parser("export-nir", help="write a case's network as a NIR graph (.nir, HDF5)")
    exp.add_argument("case", help="case file (exactsnn-case/1 JSON)")
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
    from .io.case import load_case
    from .interop.nir import to_nir, write_nir

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
        if args.command in ("campaign", "sweep"):
            from .distributed.command import run_campaign, run_sweep

            return run_campaign(args) if args.command == "campaign" else run_sweep(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "validate":
            return _validate(args)
        return _case_command(args)
    except DegenerateSpikeError as exc:
        print(f"exactsnn: degenerate spike(s):\n{exc}", file=sys.stderr)
        return 1
    except SimulationError as exc:
        print(f"exactsnn: simulation failed: {exc}", file=sys.stderr)
        return 1
    except InvalidInputError as exc:
        print(f"exactsnn: invalid input: {exc}", file=sys.stderr)
        return 2


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
                jac = forward_propagation(res, policy=args.policy)
    print(dumps(result_document(case, res, value, grads, jac)))
    return 0


def _verify(args) -> int:
    import json

    from .verification import verify

    report = verify(args.case, dps=args.dps, time_tol=args.time_tol, grad_rtol=args.grad_rtol)
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.text(args.rows))
    return 0 if report.ok else 1


def _validate(args) -> int:
    import json

    from .verification import compare

    try:
        report = compare(args.case, args.claimed, rtol=args.rtol, atol_time=args.atol_time, atol=args.atol,
                         dps=args.dps)
    except SimulationError as exc:
        print(f"exactsnn: the reference cannot solve this case: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.text(args.rows))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
