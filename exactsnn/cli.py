"""The ``exactsnn`` command.

    exactsnn demo [--plot FILE]                 the main job, on built-in defaults
    exactsnn simulate CASE.json                 spike times (exactsnn-result/1 JSON)
    exactsnn grad CASE.json [--jacobian]        spike times, loss and exact gradients

Exit status: 0 on success, 2 for invalid input files or arguments, 1 for a simulation that
cannot give a trustworthy answer (e.g. a degenerate spike under ``--policy raise``).
"""

from __future__ import annotations

import argparse
import sys
import warnings

from .errors import DegenerateSpikeError, ExactSNNError, SimulationError


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
    return ap


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        return _case_command(args)
    except DegenerateSpikeError as exc:
        print(f"exactsnn: degenerate spike(s):\n{exc}", file=sys.stderr)
        return 1
    except SimulationError as exc:
        print(f"exactsnn: simulation failed: {exc}", file=sys.stderr)
        return 1
    except ExactSNNError as exc:
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
    from .case import dumps, load_case, result_document
    from .diagnostics import check_spikes
    from .grad import adjoint, forward_propagation
    from .losses import loss_value_and_dt
    from .simulate import simulate

    case = load_case(args.case)
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


if __name__ == "__main__":
    sys.exit(main())
