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
    exactsnn train {xor,iris,yinyang,digits} [--seed S] [--epochs N] [--hidden H] [--lr LR] [--out DIR]
                                                train a classifier with exact gradients; metrics + figures
    exactsnn train TASK --resume RUN_DIR        continue a killed run from its last checkpoint
    exactsnn --version
    exactsnn campaign CASES_DIR | --generate lif --seeds 0-999 [--store DB] [--scheduler ADDR] [--workers N]
                                                verify many cases as Dask tasks (exactsnn.distributed)
    exactsnn sweep {xor,iris,yinyang,digits} --seeds 0-9 --hidden 30,60 [--lr ...] [--epochs N]
                                                training runs as Dask tasks; one table + figure
    exactsnn train-dp TASK [train options] --workers N   each minibatch split across Dask workers (same weights)

simulate, grad, verify and validate also take a NIR graph instead of a case:
``CASE.nir --inputs SPIKES [--t-max T] [--loss LOSS.json]`` (spike formats: exactsnn.interop.spike_data).

Exit status, one meaning across commands (``EXIT_*`` below):

- 0: success; ``verify``/``validate``: every number agrees within tolerance;
- 1: a disagreement (a verdict): ``verify`` found the engine outside its tolerances, ``validate`` found a
  claimed number that disagrees;
- 2: invalid input (files, keys, shapes, values, arguments), found before any long computation;
- 3: no trustworthy answer: a simulation failed (spike budget, a degenerate spike under
  ``--policy raise``), or the high-precision reference cannot solve the case (``verify``/``validate``:
  e.g. ``V`` still at threshold after a reset, too many spikes); neither agreement nor disagreement is known;
- 4: an internal error (a bug in exactsnn).

``verify`` and ``validate`` live in ``exactsnn.verification.command``.

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
    from .verification.command import add_parsers as add_check_parsers

    add_check_parsers(sub)
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
        if args.command in ("verify", "validate"):
            from .verification.command import run as run_check

            return run_check(args)
        return _case_command(args)
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


if __name__ == "__main__":
    sys.exit(main())
