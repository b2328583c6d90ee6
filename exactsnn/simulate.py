"""Exact event-driven simulation: the Python wrapper around the generated numba engine.

    V_i(t) = sum_j W_ji sum_f psp(t - t_j^f - d_ji) - sum_k reset(t - t_i^k)

Spikes are the upward crossings of ``V_i = threshold`` on ``[0, t_max]``, found to float64
accuracy with a method that cannot miss one (see ``exactsnn/numeric/templates/engine_sim.py``). The
result carries the causal record that ``exactsnn.grad`` needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .compiled import CompiledModel
from .resolve import resolve
from .errors import InvalidInputError, SimulationError
from .numeric import status
from .numeric.spike_screen import first_spike_ids
from .network import Network, validate_t_max
from .packing import pack_pattern

DEFAULT_MAX_SPIKES = 100_000
#: ``simulate(engine=...)``: the engine's ``path`` argument (0: feed-forward path where it applies).
ENGINES = {"auto": 0, "general": 1}


class CausalRecord(NamedTuple):
    """The causal record the gradient sweeps need: a persistent linked list of arrivals per neuron and each
    spike's last arrival and previous own spike (``SimulationResult.engine_args`` passes it to the sweeps).

    Arrival ids number the arrivals in the order the engine recorded them: by time on the general event loop,
    neuron after neuron (each neuron's by time) on the feed-forward path. Read them through the links
    (``spike_arrival_head``, ``arrival_prev``), which are the same on both paths; ``arrival_source`` holds
    input spike ids ``0 .. n_in-1`` and ``n_in + k`` for neuron spike k (time order) on both.
    """

    spike_arrival_head: np.ndarray
    spike_prev: np.ndarray
    n_arrivals: int
    arrival_time: np.ndarray
    arrival_synapse: np.ndarray
    arrival_source: np.ndarray
    arrival_prev: np.ndarray


@dataclass(frozen=True)
class Topology:
    """Network arrays in the engine's layout: synapses grouped by source (CSR).

    ``Topology.of(net)`` is built once per network and kept in ``net.cache`` (a network's arrays are
    read-only, so it cannot go stale); results of the same network share it: treat its arrays as read-only.
    """

    syn_post: np.ndarray
    syn_w: np.ndarray
    syn_d: np.ndarray
    out_ptr: np.ndarray
    out_syn: np.ndarray

    @classmethod
    def of(cls, net: Network) -> "Topology":
        """The layout of ``net``: from its cache while the network is frozen (always, unless a caller made
        an array writable again), else built afresh."""
        if not net.frozen:
            return cls.build(net, None)
        topo = net.cache.get("topology")
        if topo is None:
            topo = net.cache["topology"] = cls.build(net, net.cache.get("structure"))
            net.cache["structure"] = (topo.syn_post, topo.out_ptr, topo.out_syn)
        return topo

    @classmethod
    def build(cls, net: Network, structure=None) -> "Topology":
        """Build the layout; ``structure = (syn_post, out_ptr, out_syn)`` of a network with the same
        ``pre``/``post`` skips the sort (``Network.with_weights`` passes it on)."""
        if structure is None:
            n_src = net.n_inputs + net.n_neurons
            order = np.argsort(net.pre, kind="stable")
            counts = np.bincount(net.pre, minlength=n_src)
            ptr = np.zeros(n_src + 1, np.int64)
            np.cumsum(counts, out=ptr[1:])
            structure = (net.post.astype(np.int64), ptr, order.astype(np.int64))
        syn_post, out_ptr, out_syn = structure
        return cls(syn_post, net.weight.astype(np.float64), net.delay.astype(np.float64), out_ptr, out_syn)


def _feedforward_tables(compiled, network: Network, topo: Topology) -> tuple:
    """(whether the engine's feed-forward path applies to this model and network, the network's tables for it):
    the engine's ``simulate_one`` decides and builds both at every call; ``simulate`` keeps them with a frozen
    network (they depend on its structure only, the same for every model with a Newton state)."""
    if not compiled.module.STRATEGY_EXPSUM:
        return False, _NO_TABLES
    cached = network.cache.get("ff_tables") if network.frozen else None
    if cached is None:
        m = compiled.module
        ok = bool(m.feedforward_ok(network.n_inputs, network.n_neurons, topo.syn_post, topo.out_ptr, topo.out_syn))
        cached = (ok, m.ff_tables(network.n_inputs, network.n_neurons, topo.syn_post, topo.out_ptr, topo.out_syn)
                  if ok else _NO_TABLES)
        if network.frozen:
            network.cache["ff_tables"] = cached
    return cached


#: ``simulate_tabled``'s tables when the feed-forward path is not taken (read by nothing).
_NO_TABLES = (np.empty(0, np.int64),) * 4


def _none():
    return None


#: ``SimulationResult``'s fields in time order, which an unordered result makes on first read.
_ORDERED = ("spike_time", "spike_neuron", "record", "spike_vdot", "spike_event_gap")


def pack_inputs(times: list) -> tuple:
    """Flat (in_times, in_src) in channel-major order: input spike id -> (time, channel)."""
    if not times:
        return np.zeros(0), np.zeros(0, np.int64)
    flat = np.concatenate([np.asarray(t, np.float64) for t in times]) if times else np.zeros(0)
    src = np.concatenate([np.full(len(t), c, np.int64) for c, t in enumerate(times)])
    return flat, src


@dataclass(eq=False)
class SimulationResult:
    """Spikes of one input pattern and the causal record behind them.

    Attributes
    ----------
    spike_time, spike_neuron : (n_spikes,) float64, int64
        All neuron spikes in time order.
    spikes : list of (n_j,) float64
        Spike times per neuron.
    in_times, in_src : (n_input_spikes,)
        Input spikes, channel-major; their ids index the gradient's ``inputs`` block.
    near_margin : (n_neurons,) float64
        Smallest ``threshold - V`` at a sub-threshold local maximum (inf if none was seen):
        how far each neuron is from gaining a spike. Exact for the exponential-sum strategy; for
        the interval strategy a lower bound, within 20 % of the margin when that is below
        ``1e-5 * threshold`` (refined enclosures, ``engine_sim.interval_search``).
    ptab : (n_populations, n_params) float64
        Model parameter values per population; ``pop[j]`` is neuron j's population.
    n_closed_form : int
        Number of spikes whose Newton polish started from the model's closed-form
        spike time (0 when the model has none at these parameters, or with ``closed_form=False``;
        crossings near their segment's start polish from the Taylor start instead).
    spike_vdot, spike_event_gap : (n_spikes,) float64 or None
        Recorded by the engine during the run: ``dV/dt`` just before each spike's reset, and the
        distance to the nearest arrival at the spiking neuron (inf if none). ``diagnostics.diagnose``
        reads them (None: a result built elsewhere; diagnose then recomputes them from the record).

    A feed-forward run (``engine="auto"`` without the early exit) comes back as the engine's per-neuron pools:
    ``spike_time``, ``spike_neuron``, ``record``, ``spike_vdot`` and ``spike_event_gap`` are put in time order
    the first time one of them is read (the same arrays, bit for bit, as ordering them at once), and
    ``loss_grad`` on a result whose spikes nobody has read sweeps the pools directly (``engine_pooled``).
    """

    model: CompiledModel
    ptab: np.ndarray
    pop: np.ndarray
    network: Network
    topology: Topology
    t_max: float
    in_times: np.ndarray
    in_src: np.ndarray
    spike_time: np.ndarray
    spike_neuron: np.ndarray
    record: tuple = field(repr=False)
    near_margin: np.ndarray = field(repr=False)
    n_closed_form: int = 0
    # default_factory, not default: no class attribute, so an unordered result's missing ones reach __getattr__
    spike_vdot: np.ndarray | None = field(default_factory=_none, repr=False)
    spike_event_gap: np.ndarray | None = field(default_factory=_none, repr=False)

    #: An unordered result's (n_spk, n_arr, f, i, (max_spikes, closed_form)): ``simulate_pooled``'s buffers.
    _pools = None

    @classmethod
    def _from_pools(cls, model, ptab, pop, network, topology, t_max, in_times, in_src, n_spk, n_arr, n_closed, f, i,
                    run):
        """A feed-forward run kept as ``simulate_pooled``'s buffers (f, i); ordered on first read. run: the call's
        (max_spikes, closed_form), for the general engine when the order needs it."""
        result = object.__new__(cls)
        result.__dict__.update(model=model, ptab=ptab, pop=pop, network=network, topology=topology, t_max=t_max,
                               in_times=in_times, in_src=in_src, n_closed_form=int(n_closed),
                               near_margin=f[3 * n_spk + n_arr:3 * n_spk + n_arr + network.n_neurons],
                               _pools=(int(n_spk), int(n_arr), f, i, run))
        return result

    def __getattr__(self, name):
        """An unordered result's time-ordered fields, made on first read (``_order``)."""
        if name in _ORDERED and self.__dict__.get("_pools") is not None:
            self._order()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _order(self) -> None:
        """Put an unordered result in time order (``order_pooled``), as ``simulate_packed`` would have."""
        n_spk, n_arr, f, i, (max_spikes, closed_form) = self._pools
        net, topo = self.network, self.topology
        out = self.model.call("order_pooled", net.n_inputs, net.n_neurons, self.in_times, self.in_src, self.t_max,
                              topo.syn_post, topo.syn_d, topo.out_ptr, topo.out_syn, n_spk, n_arr,
                              self.n_closed_form, f, i)
        if out[0] != status.OK:  # the general engine settles this pattern's order (ties): run it, as simulate does
            out = _run_packed(self.model, self.ptab, self.pop, self.in_times, self.in_src, net, topo, self.t_max,
                              max_spikes, closed_form, _NO_WATCH, False, _NO_TABLES)
        st, n_spk, n_arr, _, fail_j, fail_t, f, i = out
        if st != status.OK:
            raise SimulationError(status.message(st, max_spikes=max_spikes, neuron=int(fail_j), time=float(fail_t)))
        ordered = _unpacked(n_spk, n_arr, f, i)  # near_margin too (the same numbers), so the pools can go
        self.__dict__.update(zip(_ORDERED, ordered[:5]), near_margin=ordered[5], _pools=None)

    @property
    def params(self) -> np.ndarray:
        """Parameter values of population 0 (all neurons, unless populations were given)."""
        return self.ptab[0]

    @property
    def n_populations(self) -> int:
        return int(self.ptab.shape[0])

    def engine_args(self) -> tuple:
        """The arguments every gradient sweep of the engine (``fp_core``, ``adjoint_core``) starts with, in
        order: parameter table, populations, sizes, the spikes and the causal record, synaptic weights."""
        r = self.record
        return (self.ptab, self.pop, self.network.n_synapses, self.in_times.size, self.n_spikes, self.spike_time,
                self.spike_neuron, r.spike_arrival_head, r.spike_prev, r.n_arrivals, r.arrival_time,
                r.arrival_synapse, r.arrival_source, r.arrival_prev, self.topology.syn_w)

    @property
    def n_spikes(self) -> int:
        return self._pools[0] if self._pools is not None else int(self.spike_time.size)

    @property
    def spikes(self) -> list:
        return [self.spike_time[self.spike_neuron == j] for j in range(self.network.n_neurons)]

    @property
    def spike_index(self) -> np.ndarray:
        """Position of each spike in its neuron's own spike list (0 = first)."""
        idx = np.zeros(self.n_spikes, np.int64)
        seen = np.zeros(self.network.n_neurons, np.int64)
        for k, j in enumerate(self.spike_neuron):
            idx[k] = seen[j]
            seen[j] += 1
        return idx

    def first_spikes(self, neurons=None) -> tuple:
        """(times, spike ids) of each listed neuron's first spike (t_max and -1 when silent)."""
        neurons = self.network.outputs if neurons is None else np.asarray(neurons)
        if neurons.ndim == 1 and neurons.dtype.kind in "iu":
            ids = first_spike_ids(self.spike_neuron, self.network.n_neurons, neurons.astype(np.int64, copy=False))
        else:  # e.g. float ids: compared by value, as before
            ids = np.full(len(neurons), -1, np.int64)
            for o, j in enumerate(neurons):
                hits = np.flatnonzero(self.spike_neuron == j)
                ids[o] = hits[0] if hits.size else -1
        times = np.where(ids >= 0, self.spike_time[ids], self.t_max) if self.n_spikes else np.full(ids.size, self.t_max)
        return times, ids


def watched_outputs(network: Network, first_spike_exit) -> np.ndarray:
    """The engine's ``watch`` argument: the output neurons when the first-spike early exit is on, else none."""
    if not isinstance(first_spike_exit, (bool, np.bool_)):
        raise ValueError(f"first_spike_exit = {first_spike_exit!r} must be True or False")
    return network.outputs.astype(np.int64) if first_spike_exit else _NO_WATCH


_NO_WATCH = np.zeros(0, np.int64)  # empty: nothing can be written to it


def populations_array(populations, n_neurons: int) -> tuple:
    """(pop (n_neurons,) int64, n_pop) from None (one population) or a sequence of population ids."""
    if populations is None:
        return np.zeros(n_neurons, np.int64), 1
    pop = np.asarray(populations)
    if pop.shape != (n_neurons,) or pop.dtype.kind not in "iu" or (pop < 0).any():
        raise ValueError(f"populations must be {n_neurons} non-negative integers (one per neuron), got {populations!r}")
    n_pop = int(pop.max()) + 1
    missing = sorted(set(range(n_pop)) - set(pop.tolist()))
    if missing:
        raise ValueError(f"populations must use every id in 0..{n_pop - 1}; missing {missing}")
    return pop.astype(np.int64), n_pop


def simulate(model, network: Network, inputs, t_max, params=None, max_spikes=DEFAULT_MAX_SPIKES,
             populations=None, closed_form=True, first_spike_exit=False, engine="auto"):
    """Simulate one input pattern exactly.

    Parameters
    ----------
    model : str, NeuronModel or CompiledModel
        A built-in name (one of ``exactsnn.compiled.BUILTIN_NAMES``: ``"lif"``, ``"nonleaky_if"``,
        ``"srm_alpha"``, ``"lif_dual_exp"``, ``"lif_two_synapse"``, ``"adaptive_threshold"``), a
        ``NeuronModel`` (compiled on first use) or a ``CompiledModel``.
    network : Network
    inputs : list of ascending lists of float
        ``inputs[c]`` are the spike times of input channel ``c`` (times >= 0).
    t_max : float
        End of the simulated window; spikes after it do not exist.
    params : dict, optional
        Model parameter values by name; missing ones take the model's defaults. A value may be a
        number (shared) or one number per population.
    max_spikes : int
        Budget on the total number of spikes (guards against runaway recurrent activity).
    populations : sequence of int, optional
        Population id of every neuron (e.g. one per layer) for heterogeneous parameters:
        neuron j uses the parameter values of population ``populations[j]``, and gradients
        with respect to model parameters come per population. Default: one population.
    closed_form : bool
        Start a crossing's Newton polish from the model's closed-form spike time where one
        applies (log, quadratic or Lambert W, see ``CLOSED_FORMS`` of the generated module) and the
        crossing is far from the segment's start (nearer, the Taylor start is as good and cheaper:
        ``engine_crossing.CF_TAYLOR_NEAR``). False always uses the generic root finder; results agree
        to rounding.
    first_spike_exit : bool
        Stop as soon as every output neuron has fired (default False: every spike up to ``t_max``).
        For first-spike losses: every spike up to the stop, its causal record and so the first output
        spikes, the loss and its gradient are those of the full run bit for bit; later spikes are
        missing, and ``spike_event_gap`` counts only arrivals before the stop.
    engine : {"auto", "general"}
        ``"auto"`` simulates a network without recurrent synapses layer by layer, each neuron over its
        own sorted arrivals (the feed-forward path, for models with a Newton state, without the early
        exit), and anything else with the general event loop; ``"general"`` always uses the event loop.
        Both give the same spikes, diagnostics and gradients bit for bit, and the same causal record up to
        the numbering of arrivals (``CausalRecord``; tests/test_feedforward_path.py).

    Returns
    -------
    SimulationResult
    """
    compiled = resolve(model)
    if not isinstance(network, Network):
        raise TypeError(f"network must be an exactsnn.Network, got {type(network).__name__}")
    if populations is None:  # one population: the network's zeros, made once (the engine only reads them)
        pop, n_pop = network.cache.get("pop"), 1
        if pop is None:
            pop = network.cache["pop"] = np.zeros(network.n_neurons, np.int64)
    else:
        pop, n_pop = populations_array(populations, network.n_neurons)
    ptab = param_table(compiled, params, n_pop)
    t_max = validate_t_max(t_max)
    in_times, in_src = pack_pattern(inputs, network.n_inputs)
    if not isinstance(max_spikes, (int, np.integer)) or max_spikes < 1:
        raise ValueError(f"max_spikes = {max_spikes!r} must be a positive integer")
    if not isinstance(engine, str) or engine not in ENGINES:
        raise InvalidInputError(f"engine = {engine!r} must be one of {list(ENGINES)}")
    topo = Topology.of(network)
    watch = watched_outputs(network, first_spike_exit)
    feedforward, tables = _feedforward_tables(compiled, network, topo)
    feedforward = feedforward and ENGINES[engine] == 0 and watch.size == 0
    if feedforward:  # kept as the path's pools, ordered when read (SimulationResult._order)
        ok, n_spk, n_arr, n_closed, _, f, i = compiled.call(
            "simulate_pooled", ptab, pop, in_times, in_src, network.n_inputs, network.n_neurons, topo.syn_post,
            topo.syn_w, topo.syn_d, topo.out_ptr, topo.out_syn, t_max, int(max_spikes), bool(closed_form), tables)
        if ok:
            return SimulationResult._from_pools(compiled, ptab, pop, network, topo, t_max, in_times, in_src, n_spk,
                                                n_arr, n_closed, f, i, (int(max_spikes), bool(closed_form)))
        feedforward = False  # handed back by the path: the general engine settles it, as simulate_packed would
    st, n_spk, n_arr, n_closed, fail_j, fail_t, f, i = _run_packed(
        compiled, ptab, pop, in_times, in_src, network, topo, t_max, int(max_spikes), bool(closed_form), watch,
        feedforward, tables)
    if st != status.OK:
        raise SimulationError(status.message(st, max_spikes=max_spikes, neuron=int(fail_j), time=float(fail_t)))
    spike_time, spike_neuron, record, spike_vdot, spike_gap, near = _unpacked(n_spk, n_arr, f, i)
    return SimulationResult(compiled, ptab, pop, network, topo, t_max, in_times, in_src, spike_time, spike_neuron,
                            record, near, int(n_closed), spike_vdot, spike_gap)


def _run_packed(compiled, ptab, pop, in_times, in_src, network, topo, t_max, max_spikes, closed_form, watch,
                feedforward, tables) -> tuple:
    """The engine's ``simulate_packed`` on one pattern."""
    return compiled.call("simulate_packed", ptab, pop, in_times, in_src, network.n_inputs, network.n_neurons,
                         topo.syn_post, topo.syn_w, topo.syn_d, topo.out_ptr, topo.out_syn, t_max, max_spikes,
                         closed_form, watch, feedforward, tables)


def _unpacked(n_spk: int, n_arr: int, f: np.ndarray, i: np.ndarray) -> tuple:
    """(spike_time, spike_neuron, record, spike_vdot, spike_event_gap, near_margin): views of ``simulate_packed``'s
    two buffers (this call's own: no copies)."""
    s1, s2, s3 = n_spk, 2 * n_spk, 3 * n_spk
    a1, a2 = s3 + n_arr, s3 + 2 * n_arr
    record = CausalRecord(i[s1:s2], i[s2:s3], int(n_arr), f[s3:a1], i[s3:a1], i[a1:a2], i[a2:])
    return f[:s1], i[:s1], record, f[s1:s2], f[s2:s3], f[a1:]


#: ``param_table``'s memo: (CompiledModel, n_pop, (name, value key), ...) -> validated table (bounded).
_PTAB_MEMO = {}
_PTAB_MEMO_SIZE = 64
_FLOAT_TYPES = frozenset({float, np.float64})


def param_table(compiled: CompiledModel, params, n_pop: int) -> np.ndarray:
    """``compiled.param_table(params, n_pop)``, remembered for parameters given as plain numbers.

    A dict of Python or numpy floats / ints is validated once per model and distinct value set; the same
    values later give a fresh copy of the validated table (the same numbers bit for bit). Anything else
    (per-population sequences, other types, bad values) is validated on every call: errors are unchanged.
    """
    key = _params_key(compiled, params, n_pop)
    if key is None:
        return compiled.param_table(params, n_pop)
    tab = _PTAB_MEMO.get(key)
    if tab is None:
        tab = compiled.param_table(params, n_pop)
        if len(_PTAB_MEMO) >= _PTAB_MEMO_SIZE:
            _PTAB_MEMO.clear()
        _PTAB_MEMO[key] = tab
    return tab.copy()


def _params_key(compiled, params, n_pop: int):
    """A hashable key, equal only for the same model and bit-identical values (``float.hex``: -0.0 != 0.0),
    or None when ``params`` is not a dict of plain numbers."""
    if params is None:
        return (compiled, n_pop)
    if type(params) is not dict:
        return None
    values = params.values()
    if set(map(type, values)) <= _FLOAT_TYPES and 0.0 not in values:  # no signed zero: == is bit equality
        return (compiled, n_pop, *params.items())
    key = [compiled, n_pop]
    for name, v in params.items():
        if type(v) is float or type(v) is np.float64:
            key.append((name, v.hex()))
        elif type(v) is int and abs(v) <= 2 ** 53:
            key.append((name, v))
        else:
            return None
    return tuple(key)


def membrane_potential(result: SimulationResult, neuron: int, times) -> np.ndarray:
    """V_neuron(t) for each t in ``times`` (right limits at events), from the recorded history."""
    spk_arr_head, spk_prev, n_arr, arr_time, arr_syn, arr_src, arr_prev = result.record
    n = result.network.n_neurons
    if not (0 <= int(neuron) < n):
        raise ValueError(f"neuron = {neuron!r} must be in [0, {n})")
    post = result.topology.syn_post[arr_syn] if n_arr else np.zeros(0, np.int64)
    mine = np.flatnonzero(post == neuron)
    arr_head = np.full(n, -1, np.int64)
    arr_head[neuron] = mine[-1] if mine.size else -1
    last_spk = np.full(n, -1, np.int64)
    own = np.flatnonzero(result.spike_neuron == neuron)
    last_spk[neuron] = own[-1] if own.size else -1
    p = tuple(result.ptab[result.pop[neuron]].tolist())
    theta = result.model.module.firing_threshold(p)
    out = np.empty(len(times))
    for i, t in enumerate(np.asarray(times, np.float64)):
        f, _ = result.model.module.potential(t, p, theta, int(neuron), arr_head, arr_time, arr_syn,
                                             arr_prev, result.topology.syn_w, last_spk, result.spike_time, spk_prev)
        out[i] = f + theta
    return out
