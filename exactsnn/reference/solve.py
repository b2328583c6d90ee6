"""reference_solve: the public entry point of the high-precision reference."""

from __future__ import annotations

from collections.abc import Mapping

import mpmath
from mpmath import mp

from ..errors import ModelError
from ..model import NeuronModel
from ..network import Network, validate_inputs, validate_t_max
from .expressions import working_precision
from .expstate import ExpPolyTable
from .gradients import KINDS, ift_jacobian, layout
from .gradients import finite_differences as fd_jacobian
from .isolate import ENCLOSURE_BUDGET, BisectionBudgetError
from .kernels import KernelTable, find_limits, symbolic_kernels
from .result import ReferenceResult
from .simulate import simulate
from .state_gradients import ift_jacobian_state

#: Extra decimal digits carried internally beyond the requested ``dps``.
GUARD_DIGITS = 15
#: Order of the Taylor-form enclosures (see :mod:`.potential`).
TAYLOR_ORDER = 12


def reference_solve(model, params, network, inputs, t_max, dps=50, finite_differences=False,
                    fd_subset=None, *, max_spikes=10000, taylor_order=TAYLOR_ORDER):
    """Spike times and exact gradients of a spiking network, in certified high precision.

    Parameters
    ----------
    model : NeuronModel
    params : dict or None
        Parameter name -> value; missing names take the model's defaults. Values may be floats
        (converted exactly), ``mpmath.mpf`` or decimal strings (kept beyond float precision).
    network : Network
    inputs : list of list of float
        Per input channel, its ascending spike times (checked by ``validate_inputs``).
    t_max : float
        The network is simulated on ``[0, t_max]``.
    dps : int
        Decimal digits of the results; ``GUARD_DIGITS`` more (plus any lost to cancellation near a
        singular parameter set) are carried internally. Precision is set locally only.
    finite_differences : bool
        Also compute the Jacobian by central differences with the spike pattern held fixed.
    fd_subset : list of (str, int) or None
        Restrict finite differences to these columns; ``kind`` in ``("weight", "delay", "input",
        "model")``; a model parameter may also be given by name. Default: all columns.
    max_spikes : int
        Raise ``SimulationError`` when the network emits more spikes.
    taylor_order : int
        Order of the Taylor-form interval enclosures (0 disables them).

    Returns
    -------
    ReferenceResult

    Raises
    ------
    ModelError, NetworkError, InputSpikeError
        Invalid arguments.
    SimulationError
        More than ``max_spikes`` spikes, ``V >= threshold`` right after a reset or at ``t = 0``, or a
        finite-difference perturbation that changes the spike pattern.

    Notes
    -----
    ``V_j(t) = sum_k w_k sum_f psp(t - t_f - d_k) - sum_m reset(t - t_m)``; a spike is each upward
    crossing of ``threshold``. Crossings are isolated by interval bisection (``res.certified`` and
    ``res.undecided``), and polished to the working precision. Gradients solve, in time order,
    ``dt_k/dq = -(dF/dq + sum_e dF/dt_e dt_e/dq) / Vdot(t_k)`` including the neuron's own earlier
    spikes through the reset kernel (see :mod:`.gradients`).
    """
    problem, arrays, q0 = setup(model, params, network, inputs, t_max, dps, max_spikes, taylor_order)
    input_index = [(c, f) for c, a in enumerate(arrays) for f in range(a.size)]
    rec, table, work = problem.run(q0)
    with working_precision(work):
        rows, vdot = _jacobian(table, rec, q0["weight"], len(q0["input"]), len(q0["model"]), problem.t_max)
        fd = None
        if finite_differences:
            subset = _subset(fd_subset, q0, model)
            fd = finite_differences_columns(problem, rec, q0, subset, dps)
    return _result(problem, rec, rows, vdot, fd, q0, input_index, table, work)


def setup(model, params, network, inputs, t_max, dps, max_spikes, taylor_order):
    """Check the arguments and build the problem and the quantities ``q0`` the derivatives are taken by.

    Returns ``(problem, arrays, q0)``: the ``_Problem``, the validated input arrays, and ``q0`` with the
    blocks ``weight``, ``delay``, ``input`` (every input spike, channel by channel) and ``model`` as mpf.
    """
    _check(model, network, dps, max_spikes, taylor_order)
    with working_precision(dps + GUARD_DIGITS):
        values = _param_values(model, params)
    arrays = validate_inputs(inputs, network.n_inputs)
    problem = _Problem(model, network, mp.mpf(validate_t_max(t_max)), [a.size for a in arrays],
                       dps, max_spikes, taylor_order)
    q0 = {
        "weight": [mp.mpf(float(w)) for w in network.weight],
        "delay": [mp.mpf(float(d)) for d in network.delay],
        "input": [mp.mpf(float(t)) for a in arrays for t in a],
        "model": [values[name] for name in model.param_names],
    }
    return problem, arrays, q0


def _jacobian(table, rec, weight, n_in, n_p, t_max):
    """The IFT Jacobian from state sums when the kernels allow it (:mod:`.state_gradients`), else
    term by term (:func:`.gradients.ift_jacobian`)."""
    ex = ExpPolyTable(table.sym, table.values)
    if ex.ok:
        return ift_jacobian_state(table, ex, rec, weight, n_in, n_p, t_max)
    return ift_jacobian(table, rec, weight, n_in, n_p)


def finite_differences_columns(problem, rec, q0, subset, dps):
    """FD columns ``{(kind, index): column}`` with ``h = 10**-((dps + GUARD_DIGITS) // 3)``.

    The simulations carry ``dps + GUARD_DIGITS`` digits, so the rounding error of a difference
    quotient is ~10^-(2/3 (dps + GUARD)) and its truncation error h^2 is the same size."""

    def run(kind, i, value):
        q = dict(q0)
        q[kind] = list(q0[kind])
        q[kind][i] = value
        return problem.run(q)[0]

    return fd_jacobian(run, rec, q0, subset, (dps + GUARD_DIGITS) // 3, labels={"model": problem.model.param_names})


class _Problem:
    """Everything of one solve except the perturbable values."""

    def __init__(self, model, network, t_max, counts, dps, max_spikes, taylor_order):
        self.model, self.network, self.t_max, self.counts = model, network, t_max, counts
        self.dps, self.max_spikes, self.taylor = dps, max_spikes, taylor_order

    def run(self, q):
        """Simulate with values ``q`` (kind -> list of mpf); return ``(SimRecord, KernelTable, digits)``."""
        model, net = self.model, self.network
        values = dict(zip(model.param_names, q["model"]))
        limits, extra = find_limits(model, values)
        sym = symbolic_kernels(model, limits, self.taylor + 1)
        work = self.dps + GUARD_DIGITS + extra
        flat = iter(q["input"])
        inputs = [[next(flat) for _ in range(n_c)] for n_c in self.counts]
        with working_precision(work):
            table = KernelTable(sym, q["model"], extra)
            min_width = self.t_max * mp.mpf(10) ** (-(self.dps // 2))
            try:
                rec = simulate(table, net, q["weight"], q["delay"], inputs, self.t_max,
                               max_spikes=self.max_spikes, min_width=min_width, taylor=self.taylor)
            except BisectionBudgetError as exc:
                raise BisectionBudgetError(f"{exc}. {_scale_hint(model, values, self.t_max, self.dps)}") from None
        return rec, table, work


#: A parameter further than this factor from ``t_max`` is named as a likely cause of lost digits.
SCALE_GAP = mp.mpf(10) ** 6


def _scale_hint(model, values, t_max, dps) -> str:
    """Why a search can exhaust ``ENCLOSURE_BUDGET``, naming the parameters far from the time scale.

    A kernel such as ``(e^{-s/tau_1} - e^{-s/tau_2}) / (1/tau_2 - 1/tau_1)`` evaluated at ``s ~ t_max`` cancels
    about ``log10(tau / t_max)`` digits; the reference carries ``dps + GUARD_DIGITS``.
    """
    far = [(name, v) for name, v in values.items() if v != 0 and not 1 / SCALE_GAP <= abs(v) / t_max <= SCALE_GAP]
    if far:
        lost = max(int(mpmath.ceil(abs(mpmath.log10(abs(v) / t_max)))) for _, v in far)
        named = ", ".join(f"{name} = {mp.nstr(v, 6)}" for name, v in far)
        return (f"Likely cause: {named} lie(s) far outside [t_max / 1e6, t_max * 1e6] = "
                f"[{mp.nstr(t_max / SCALE_GAP, 6)}, {mp.nstr(t_max * SCALE_GAP, 6)}] (t_max = {mp.nstr(t_max, 6)}), "
                f"which costs ~{lost} digits to cancellation; the reference carried {dps} + {GUARD_DIGITS}. "
                f"Raise dps to at least {lost + 20} (each decade between such a parameter and t_max costs about "
                f"one digit), or keep the parameters within about a factor 1e{max(dps - 10, 6)} of t_max")
    return (f"The reference stops here rather than bisect without end (budget {ENCLOSURE_BUDGET} pieces per "
            f"search); raise dps (now {dps}) to carry more digits")


def _check(model, network, dps, max_spikes, taylor_order):
    if not isinstance(model, NeuronModel):
        raise ModelError(f"model must be an exactsnn.model.NeuronModel, got {type(model).__name__}")
    if not isinstance(network, Network):
        raise ModelError(f"network must be an exactsnn.network.Network, got {type(network).__name__}")
    if not isinstance(dps, int) or isinstance(dps, bool) or dps < 15:
        raise ValueError(f"dps = {dps!r} must be an integer >= 15")
    if not isinstance(max_spikes, int) or max_spikes < 0:
        raise ValueError(f"max_spikes = {max_spikes!r} must be a non-negative integer")
    if not isinstance(taylor_order, int) or taylor_order < 0:
        raise ValueError(f"taylor_order = {taylor_order!r} must be a non-negative integer")


def _param_values(model, params) -> dict:
    """Name -> exact mpf; floats exactly, mpf as given, strings at the current precision."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ModelError(f"params must be a dict of parameter name -> value, got {type(params).__name__}")
    try:
        as_float = {k: float(v) for k, v in params.items()}
    except (TypeError, ValueError):
        raise ModelError(f"params values must be numbers (float, mpf or decimal string), got {params!r}") from None
    model.param_values(as_float)  # names and ranges
    out = {}
    for name, default in model.defaults.items():
        v = params.get(name, default)
        out[name] = v if isinstance(v, mpmath.mpf) else mp.mpf(v if isinstance(v, str) else float(v))
    return out


def _subset(fd_subset, q0, model) -> list:
    """Validated list of ``(kind, index)`` columns; all columns when ``fd_subset`` is None."""
    if fd_subset is None:
        return [(kind, i) for kind in KINDS for i in range(len(q0[kind]))]
    out = []
    for item in fd_subset:
        try:
            kind, i = item
        except (TypeError, ValueError):
            raise ValueError(f"fd_subset entries must be (kind, index) pairs, got {item!r}") from None
        if kind == "model" and isinstance(i, str):
            if i not in model.param_names:
                raise ModelError(f"fd_subset names unknown parameter {i!r}; the model has {model.param_names}")
            i = model.param_names.index(i)
        if kind not in KINDS:
            raise ValueError(f"fd_subset kind {kind!r} must be one of {KINDS}")
        if not isinstance(i, int) or not 0 <= i < len(q0[kind]):
            raise ValueError(f"fd_subset index {i!r} for {kind!r} must be an integer in [0, {len(q0[kind])})")
        out.append((kind, i))
    return out


def _result(problem, rec, rows, vdot, fd, q0, input_index, table, work) -> ReferenceResult:
    """Split the Jacobian into blocks and round everything to ``dps`` digits."""
    model = problem.model
    cols = layout(len(q0["weight"]), len(q0["input"]), len(q0["model"]))
    names = dict(zip(KINDS, ("d_weights", "d_delays", "d_inputs", "d_model")))
    with working_precision(problem.dps):
        r = lambda x: None if x is None else +x  # noqa: E731  (rounds to dps)
        blocks, fd_blocks = {}, {}
        for kind, (start, size) in cols.items():
            blocks[names[kind]] = [[+x if x else x for x in row[start:start + size]] for row in rows]
            if fd is not None:
                fd_blocks[names[kind] + "_fd"] = [
                    [r(fd.get((kind, i), [None] * len(rows))[g]) for i in range(size)]
                    for g in range(len(rows))
                ]
        return ReferenceResult(
            spikes=[[+t for t in s] for s in rec.spikes], order=list(rec.order),
            times=[+t for t in rec.times], vdot=[+v for v in vdot], **blocks, **fd_blocks,
            certified=not rec.undecided, undecided=[(j, +a, +b) for j, a, b in rec.undecided],
            dps=problem.dps, max_bracket=+mp.mpf(rec.max_bracket), param_names=model.param_names,
            input_index=input_index, limits=table.sym.limits, t_max=problem.t_max,
            n_columns={names[k]: size for k, (_, size) in cols.items()}, coincident=list(rec.coincident),
            work_dps=work,
        )
