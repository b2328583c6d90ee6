"""The reference's answers for a case: spike times, Jacobian rows and (with a loss) the loss and its gradient.

``ground_truth(case)`` runs the independent mpmath reference (``exactsnn.reference``) on a case and adds the
loss at high precision; ``truth_from_reference`` does the same for a reference loaded from a file.
``as_case`` and ``symbolic_model`` turn the many ways a user names a case or a model into one form.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpmath import mp

from ..errors import ModelError, NetworkError

#: The Jacobian blocks, in the order of the engine's columns.
BLOCKS = ("weights", "delays", "inputs", "model")


def as_case(case, network=None, inputs=None, t_max=None, params=None, loss=None):
    """A ``Case`` from a Case, a case file/dict/JSON string, or parts ``(model, network, inputs, t_max)``."""
    from ..io.case import Case, load_case
    from ..losses import Loss
    from ..network import Network, validate_inputs, validate_t_max

    if network is None:
        if any(x is not None for x in (inputs, t_max, params, loss)):
            raise TypeError("inputs, t_max, params and loss are parts of a case: pass them with network=")
        return case if isinstance(case, Case) else load_case(case)
    if not isinstance(network, Network):
        raise NetworkError(f"network must be an exactsnn.Network, got {type(network).__name__}")
    if inputs is None or t_max is None:
        raise TypeError("verify(model, network=..., inputs=..., t_max=...): inputs and t_max are required")
    arrays = validate_inputs(inputs, network.n_inputs)
    if loss is not None:
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be an exactsnn.Loss or None, got {type(loss).__name__}")
        loss.check_outputs(network.outputs.size)
    symbolic_model(case).param_values(params)
    return Case(case, dict(params or {}), network, [a.tolist() for a in arrays], validate_t_max(t_max), loss, {})


def symbolic_model(model):
    """The SymPy ``NeuronModel`` the reference needs: a built-in by name, or the model itself."""
    from ..compiled import BUILTIN_NAMES, CompiledModel
    from ..model import NeuronModel

    if isinstance(model, NeuronModel):
        return model
    name = model.name if isinstance(model, CompiledModel) else model
    if isinstance(name, str) and name in BUILTIN_NAMES:
        from ..models import get

        return get(name)
    raise ModelError(f"model = {model!r}: the reference needs the symbolic model; pass a built-in name "
                     f"{list(BUILTIN_NAMES)} or the NeuronModel")


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The reference answers of one case at ``ref.dps`` digits.

    Attributes
    ----------
    case : Case
    ref : ReferenceResult
        Spike times, ``dV/dt`` and the IFT Jacobian, rows in time order.
    loss : mpf or None
    dl_dt : list of mpf or None
        ``dL/dt`` per reference row (nonzero only at the outputs' first spikes).
    grad : dict or None
        Block name (``BLOCKS``) -> list of mpf: ``dL/dq = sum_k dL/dt_k dt_k/dq``.
    """

    case: object
    ref: object
    loss: object = None
    dl_dt: list | None = None
    grad: dict | None = None


def ground_truth(case, dps: int = 50, fd_subset=None) -> GroundTruth:
    """Run the reference solver on ``case`` and, when it has a loss, the loss and its gradient.

    ``fd_subset``: also compute these Jacobian columns by finite differences (``reference_solve``),
    a cross-check of the reference's IFT rows (``verify/validate --thorough``)."""
    from ..reference import reference_solve

    case = as_case(case)
    ref = reference_solve(symbolic_model(case.model), case.params, case.network, case.inputs, case.t_max, dps=dps,
                          finite_differences=fd_subset is not None, fd_subset=fd_subset)
    return truth_from_reference(case, ref)


def truth_from_reference(case, ref) -> GroundTruth:
    """The ground truth of ``case`` from reference answers ``ref`` (a ``ReferenceResult``, e.g. loaded
    from a file): the loss and its gradient are computed here, at ``ref.dps + 10`` digits."""
    dps = ref.dps
    if case.loss is None:
        return GroundTruth(case, ref)
    with mp.workdps(dps + 10):
        value, dl_dt = reference_loss(ref, case.loss, case.network.outputs)
        used = [r for r in range(ref.n_spikes) if dl_dt[r]]  # the outputs' first spikes
        grad = {b: [mp.fsum(dl_dt[r] * getattr(ref, "d_" + b)[r][i] for r in used)
                    for i in range(ref.n_columns["d_" + b])] for b in BLOCKS}
    with mp.workdps(dps):
        return GroundTruth(case, ref, +value, [+x for x in dl_dt], {b: [+x for x in v] for b, v in grad.items()})


def reference_loss(ref, loss, outputs) -> tuple:
    """``(L, dL/dt per reference row)`` in mpmath at the current precision.

    Notes
    -----
    With ``t_o`` the first spike of output ``o`` (``t_max`` when silent, which passes no gradient):
    ``first_spike_sum``: ``L = sum_o t_o``, ``dL/dt_o = 1``; ``ttfs_cross_entropy`` with label ``c``:
    ``L = t_c/tau0 + logsumexp(-t/tau0) + gamma (exp(t_c/tau1) - 1)``,
    ``dL/dt_o = (delta_oc - softmax(-t/tau0)_o) / tau0 + delta_oc gamma exp(t_c/tau1) / tau1``.
    """
    times, rows = [], []
    for j in (int(x) for x in outputs):
        times.append(ref.spikes[j][0] if ref.spikes[j] else mp.mpf(ref.t_max))
        rows.append(ref.row(j, 0) if ref.spikes[j] else None)
    if loss.kind == "first_spike_sum":
        value, g = mp.fsum(times), [mp.one] * len(times)
    else:
        tau0, tau1, gamma, c = mp.mpf(float(loss.tau0)), mp.mpf(float(loss.tau1)), mp.mpf(float(loss.gamma)), loss.label
        z = [-t / tau0 for t in times]
        z_max = max(z)
        lse = z_max + mp.log(mp.fsum(mp.exp(x - z_max) for x in z))
        reg = mp.exp(times[c] / tau1)
        value = times[c] / tau0 + lse + gamma * (reg - 1)
        g = [-mp.exp(x - lse) / tau0 for x in z]
        g[c] += 1 / tau0 + gamma * reg / tau1
    dl_dt = [mp.zero] * ref.n_spikes
    for o, r in enumerate(rows):
        if r is not None:
            dl_dt[r] += g[o]
    return value, dl_dt


# ----------------------------------------------------------------------------- labels and errors
