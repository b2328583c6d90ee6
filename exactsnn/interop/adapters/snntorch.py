"""snnTorch's time-stepped ``Synaptic`` neurons on a NIR graph, as an ``exactsnn-result/1`` claim.

snnTorch (1.0.0) steps ``syn[n] = alpha syn[n-1] + x[n]``, ``mem[n] = beta mem[n-1] + syn[n]`` with a
subtractive reset, and reports a spike at step ``n`` when ``mem`` exceeds the threshold; a spike at step
``n`` is claimed at time ``n dt``. It approximates exactsnn's ``lif`` (``dJ/dt = -J/tau_syn + w S``,
``dV/dt = -V/tau_mem + J``) with ``alpha = exp(-dt/tau_syn)``, ``beta = exp(-dt/tau_mem)`` and, by
``scheme``:

- ``"exact"`` (default): weight ``kappa w`` with ``kappa = int_0^dt exp(-(dt-u)/tau_mem) exp(-u/tau_syn) du``
  ``= exp(-dt/tau_mem) expm1(dt d) / d``, ``d = 1/tau_mem - 1/tau_syn`` (``dt exp(-dt/tau)`` at ``d = 0``),
  and an input spike at ``t`` entering at step ``round(t/dt) + 1``. Then ``syn[n] = kappa J((n-1) dt+)``
  and ``mem[n] = V(n dt)`` exactly for inputs on the grid: the errors left are the grid's (inputs moved
  by at most ``dt/2``, a crossing reported at the end of its step, the reset applied there);
- ``"riemann"``: weight ``dt w`` (``mem`` sums ``syn`` once per step, a Riemann sum of ``integral J``) and
  an input at ``t`` entering at step ``ceil(t/dt)``: biased by O(dt) in the charge of every input
  (``dt sum alpha^n = tau_syn + dt/2 + ...``), which adds spikes at coarse ``dt``.

The errors are the method's: that is what ``exactsnn validate`` measures. Torch runs single-threaded
here (tensors of a few hundred entries; on a loaded 2-core machine its thread pool made each step 10x
slower).

Gradient (``loss=``): snnTorch's own surrogate-gradient BPTT. The first output spike step ``k_o`` comes
from ``snntorch.functional.loss.SpikeTime.FirstSpike`` (the op behind its ``ce_temporal_loss``: backward
``dk_o/dS[k_o] = -1``), the spikes' backward is ``Synaptic``'s default surrogate (``atan``, slope 2), and
``t_o = k_o dt``. The loss and ``dL/dt_o`` are exactsnn's at snnTorch's ``t_o`` (``_common``); the claim
holds ``dL/dw_ij = c_j (dL/d fc.weight)_ji`` for exactsnn's weights ``w`` (``c = kappa`` or ``dt``). A
surrogate gradient is not the gradient of the simulated spike times, so its scale is arbitrary: compare
its direction (cosine, signs).
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import NIRError
from ..nir_import import from_nir
from ._common import grad_claim, loss_at, output_layer_check, parse_loss


def _layers(imp):
    net = imp.network
    if imp.model != "lif" or net.kind != "feedforward" or len(net.blocks) != len(net.layer_sizes) - 1:
        raise NIRError("the snnTorch adapter runs feed-forward CubaLIF layer stacks without skip connections")
    if np.any(net.delay != 0):
        raise NIRError("snnTorch's Synaptic layers have no synaptic delays; the graph has Delay nodes")
    pop = np.zeros(net.n_neurons, np.int64) if imp.populations is None else imp.populations
    per = {k: np.asarray(v, np.float64)[pop] if np.ndim(v) else np.full(net.n_neurons, float(v))
           for k, v in imp.params.items()}
    mats = net.unflatten(net.weight)
    out, first = [], 0
    for l, size in enumerate(net.layer_sizes[1:]):
        sl = slice(first, first + size)
        out.append((mats[f"weights[{l}]"], per["tau_syn"][sl], per["tau_mem"][sl], per["threshold"][sl]))
        first += size
    return out


def _weight_factor(dt, tau_syn, tau_mem, scheme):
    """Per-neuron factor ``c`` of the snnTorch weight ``c w`` (module docstring)."""
    if scheme == "riemann":
        return np.full(tau_syn.shape, dt)
    d = 1.0 / tau_mem - 1.0 / tau_syn
    safe = np.where(d == 0, 1.0, d)
    return np.exp(-dt / tau_mem) * np.where(d == 0, dt, np.expm1(dt * safe) / safe)


def _modules(layers, dt, scheme):
    """``[(nn.Linear with weight (c w)^T, snn.Synaptic, c), ...]`` in float64."""
    import snntorch as snn
    import torch

    mods = []
    for w, tau_syn, tau_mem, theta in layers:
        c = _weight_factor(dt, tau_syn, tau_mem, scheme)
        fc = torch.nn.Linear(w.shape[0], w.shape[1], bias=False).double()
        with torch.no_grad():
            fc.weight.copy_(torch.from_numpy(c[:, None] * w.T))
        lif = snn.Synaptic(alpha=torch.from_numpy(np.exp(-dt / tau_syn)), beta=torch.from_numpy(np.exp(-dt / tau_mem)),
                           threshold=torch.from_numpy(theta), reset_mechanism="subtract")
        mods.append((fc, lif, c))
    return mods


def _input_tensor(batch, n_in, steps, dt, scheme):
    """``x[n, b, c]``: spikes of channel ``c`` of pattern ``b`` entering at step ``n`` (module docstring)."""
    import torch

    x = torch.zeros(steps, len(batch), n_in, dtype=torch.float64)
    for b, times in enumerate(batch):
        for c, ts in enumerate(times):
            for t in ts:
                k = int(math.ceil(t / dt)) if scheme == "riemann" else int(round(t / dt)) + 1
                if k < steps:
                    x[k, b, c] += 1.0
    return x


def _run(mods, x):
    """Spike records ``[steps, batch, n]`` of every layer (torch single-threaded meanwhile)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        state = [(torch.zeros(x.shape[1], fc.out_features, dtype=torch.float64),) * 2 for fc, _, _ in mods]
        recs = [[] for _ in mods]
        for n in range(x.shape[0]):
            s = x[n]
            for l, (fc, lif, _) in enumerate(mods):
                s, syn, mem = lif(fc(s.to(torch.float64)), *state[l])
                state[l] = (syn, mem)
                recs[l].append(s)
        return [torch.stack(r) for r in recs]
    finally:
        torch.set_num_threads(threads)


def _setup(graph, t_max, dt, spike_area, scheme):
    from ...network import validate_t_max

    try:
        import snntorch  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise NIRError(f"snnTorch is not installed ({exc}); pip install -e '.[peers]'") from None
    if isinstance(dt, bool) or not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise NIRError(f"dt = {dt!r} must be a finite number > 0")
    if scheme not in ("exact", "riemann"):
        raise NIRError(f"scheme = {scheme!r}; allowed: 'exact', 'riemann'")
    imp = from_nir(graph, spike_area=spike_area)
    t_max = validate_t_max(t_max)
    return imp, _modules(_layers(imp), dt, scheme), t_max, int(math.floor(t_max / dt)) + 1


def _first_steps(rec):
    """First spike step per ``[batch, n]`` (``-1`` when silent)."""
    fired = rec.detach().numpy() > 0
    return np.where(fired.any(0), fired.argmax(0), -1)


def snntorch_first_times(graph, batch, t_max, dt: float, *, scheme: str = "exact",
                         spike_area: float = 1.0) -> np.ndarray:
    """First output spike times ``(n_patterns, n_out)`` (``inf`` when silent) of a batch of input patterns.

    ``batch[b][c]`` lists the spike times of input channel ``c`` of pattern ``b``; one batched snnTorch run.
    """
    import torch
    from ...network import validate_inputs

    imp, mods, t_max, steps = _setup(graph, t_max, dt, spike_area, scheme)
    batch = [validate_inputs(p, imp.network.n_inputs) for p in batch]
    with torch.no_grad():
        rec = _run(mods, _input_tensor(batch, imp.network.n_inputs, steps, dt, scheme))[-1]
    k = _first_steps(rec)
    return np.where(k >= 0, k * dt, np.inf)


def _gradient(mods, out_rec, loss, t_max, dt):
    """(L, dL/dw per layer) by snnTorch's FirstSpike op and surrogate BPTT (module docstring)."""
    import torch
    from snntorch.functional.loss import SpikeTime

    k = _first_steps(out_rec)[0]
    t_first = np.where(k >= 0, k * dt, np.inf)
    value, dl_dt = loss_at(loss, t_first, t_max)
    steps = SpikeTime.FirstSpike.apply(out_rec, out_rec.device)  # [batch, n_out], in steps
    steps.backward(torch.from_numpy(dl_dt * dt)[None])
    return value, [c[None, :] * fc.weight.grad.numpy().T for fc, _, c in mods]


def snntorch_claim(graph, inputs, t_max, dt: float, *, loss=None, scheme: str = "exact",
                   spike_area: float = 1.0) -> dict:
    """Simulate ``graph`` with snnTorch ``Synaptic`` layers at step ``dt`` (float64); return a claim.

    Parameters
    ----------
    graph : nir.NIRGraph or path
    inputs : list of ascending lists of float
    t_max : float
    dt : float
        Time step, in the graph's time unit.
    loss : Loss or case-format loss dict, optional
        Adds ``loss`` and ``grad.weights``: snnTorch's surrogate BPTT gradient (module docstring).
    scheme : {"exact", "riemann"}
        How NIR's ODE is put on snnTorch's grid (module docstring).
    """
    import torch
    from ...network import validate_inputs

    imp, mods, t_max, steps = _setup(graph, t_max, dt, spike_area, scheme)
    loss = parse_loss(loss)
    if loss is not None:
        output_layer_check(imp.network, loss)
    times = validate_inputs(inputs, imp.network.n_inputs)
    with torch.set_grad_enabled(loss is not None):
        recs = _run(mods, _input_tensor([times], imp.network.n_inputs, steps, dt, scheme))
    spikes = []
    for rec in recs:
        r = rec.detach().numpy()[:, 0, :] > 0
        spikes.append([(np.nonzero(r[:, j])[0] * dt).tolist() for j in range(r.shape[1])])
    doc = {"format": "exactsnn-result/1", "spikes": spikes, "snntorch": {"dt": float(dt), "steps": steps, "scheme": scheme}}
    if loss is not None:
        doc["loss"], grads = _gradient(mods, recs[-1], loss, t_max, dt)
        doc["grad"] = grad_claim(grads)
    return doc
