"""Event-driven reference simulation in global time order (feed-forward and recurrent).

Every neuron ``j`` has a cursor ``c_j`` (time of its last processed event) and a segment
``(c_j, e_j]`` that ends at its next pending arrival or at ``t_max``. On that segment its set of
active terms is fixed, so :func:`.isolate.first_crossing` finds its first upward crossing (the
*candidate*). The globally earliest candidate spike or pending arrival is processed next:

- a spike of ``j`` at ``t`` starts its reset kernel, and schedules an arrival ``t + d_k`` at
  ``post[k]`` for each synapse ``k`` leaving ``j`` (delay ``0`` and self-connections allowed). An
  arrival that lands inside another neuron's searched segment shortens it; the cached search
  result stays valid on the shorter segment, since ``psp(0) = 0`` means an arrival does not change
  ``V`` before it;
- an arrival activates its ``psp`` term and opens a new segment.

A spike and an arrival at the same time: the spike goes first (``V(t)`` does not see the arrival);
also when they coincide only within the spike's certified bracket (see ``SimRecord.coincident``).
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field

from mpmath import iv, mp

from ..errors import SimulationError
from .expstate import ExpPolyTable, NeuronState, StatePotential
from .isolate import BisectionBudgetError, first_crossing
from .potential import Potential, upper

#: Use Taylor-form enclosures when the kernels lose at least this many digits to cancellation.
TAYLOR_MIN_DIGITS = 2


@dataclass(frozen=True)
class Arrival:
    """A presynaptic spike arriving at a neuron.

    Attributes
    ----------
    time : mpf
        ``t_src + delay[syn]``, exact.
    syn : int
        Synapse index.
    src : tuple
        ``("input", flat input index)`` or ``("spike", global spike number)``.
    """

    time: object
    syn: int
    src: tuple


@dataclass
class SimRecord:
    """Spike times plus the causal record that the gradient sweep needs.

    Attributes
    ----------
    spikes : list of list of mpf
        Per neuron, its spike times.
    order : list of (int, int)
        ``(neuron, index)`` of every spike in global time order.
    times : list of mpf
        The spike times in that order.
    n_active : list of int
        Per spike (global order): how many arrivals of ``active[neuron]`` precede it.
    active : list of list of Arrival
        Per neuron, the processed arrivals in time order.
    undecided : list of (int, mpf, mpf)
        ``(neuron, lo, hi)`` where a crossing could be neither proven nor excluded.
    max_bracket : mpf
        Largest certified half-width of a spike-time bracket.
    brackets : list of mpf
        Per spike (global order), the half-width of its certified bracket.
    coincident : list of (int, int)
        ``(neuron, index)`` of spikes with an arrival at the same neuron inside their bracket: the
        spike time has a kink there, and the gradient given is the one with the arrival not active.
    """

    spikes: list
    order: list = field(default_factory=list)
    times: list = field(default_factory=list)
    n_active: list = field(default_factory=list)
    active: list = field(default_factory=list)
    undecided: list = field(default_factory=list)
    max_bracket: object = 0
    coincident: list = field(default_factory=list)
    brackets: list = field(default_factory=list)


class _Simulation:
    """One run; see :func:`simulate`."""

    def __init__(self, table, network, weight, delay, inputs, t_max, max_spikes, min_width, taylor):
        self.table, self.net = table, network
        self.weight, self.delay, self.t_max = weight, delay, t_max
        self.max_spikes, self.min_width = max_spikes, min_width
        # The Taylor form pays off only against the dependency problem of cancelling kernels.
        self.taylor = taylor if table.extra_digits >= TAYLOR_MIN_DIGITS else 0
        n = network.n_neurons
        self.rec = SimRecord(spikes=[[] for _ in range(n)], active=[[] for _ in range(n)])
        self.out_syn = [[] for _ in range(network.n_inputs + n)]
        for k, src in enumerate(network.pre.tolist()):
            self.out_syn[src].append(k)
        self.post = network.post.tolist()
        self.pending = [[] for _ in range(n)]
        self.seq = 0
        self.cursor = [mp.zero] * n
        self.cand = [None] * n  # None = unknown, else (time or None, undecided list)
        # float keys of the candidate spike times and pending heads (None: none), for fast scans
        self.ckey, self.pkey = [None] * n, [None] * n
        ex = ExpPolyTable(table.sym, table.values)
        self.ex = ex if ex.ok else None
        self.state = [NeuronState(ex) for _ in range(n)] if ex.ok else None
        flat = 0
        for c, times in enumerate(inputs):
            for t in times:
                self._emit(c, t, ("input", flat))
                flat += 1

    def _emit(self, src, t, tag):
        for k in self.out_syn[src]:
            tau = mp.fadd(t, self.delay[k], exact=True)
            if tau <= self.t_max:
                heapq.heappush(self.pending[self.post[k]], (tau, self.seq, Arrival(tau, k, tag)))
                self._head(self.post[k])
                self.seq += 1
                self._shorten(self.post[k], tau)

    def _shorten(self, i, tau):
        cand = self.cand[i]
        if cand is None or (cand[0] is not None and _goes_first(cand[0], tau)):
            return
        self.cand[i] = (None, [(lo, min(hi, tau)) for lo, hi in cand[1] if lo < tau])
        self.ckey[i] = None

    def _head(self, i):
        pend = self.pending[i]
        self.pkey[i] = float(pend[0][0]) if pend else None

    def potential(self, j):
        """``G`` of neuron ``j`` with its processed arrivals and own spikes: from its state sums (2) of
        :mod:`.expstate` when every kernel is an exponential polynomial, else term by term."""
        if self.state is not None:
            return StatePotential(self.table, self.ex, self.state[j].snapshot(), self.taylor)
        terms = [(self.weight[a.syn], a.time) for a in self.rec.active[j]]
        return Potential(self.table, terms, self.rec.spikes[j], self.taylor)

    def _activate(self, j, arr):
        self.rec.active[j].append(arr)
        if self.state is not None:
            self.state[j].add("psp", self.weight[arr.syn], arr.time)

    def _search(self, j):
        pend = self.pending[j]
        end = pend[0][0] if pend and pend[0][0] < self.t_max else self.t_max
        try:
            return first_crossing(self.potential(j), self.cursor[j], end, self.min_width)
        except BisectionBudgetError as exc:
            raise BisectionBudgetError(f"neuron {j}: {exc}") from None

    def run(self):
        self._start()
        while True:
            for j in range(self.net.n_neurons):
                if self.cand[j] is None:
                    self.cand[j] = self._search(j)
                    self.ckey[j] = None if self.cand[j][0] is None else float(self.cand[j][0][0])
            spike = _earliest(self.ckey, lambda j: self.cand[j][0][0])
            arrival = _earliest(self.pkey, lambda j: self.pending[j][0][0])
            if spike is None and arrival is None:
                break
            if spike is not None and (arrival is None or spike[0] <= arrival[0]):
                self._fire(spike[1])
            elif self.cand[arrival[1]][0] is not None and _goes_first(self.cand[arrival[1]][0], arrival[0]):
                self._fire(arrival[1])  # its crossing coincides with the arrival within precision
            else:
                self._arrive(arrival[1])
        for j, c in enumerate(self.cand):
            self._commit(j, c[1])
        self._find_coincident()
        return self.rec

    def _start(self):
        for j, pend in enumerate(self.pending):
            while pend and pend[0][0] <= 0:
                self._activate(j, heapq.heappop(pend)[2])
            self._head(j)
            if upper(self.potential(j).point(iv, mp.zero, 0)) >= 0:
                raise SimulationError(f"neuron {j}: V(0) >= threshold; the reference needs V(0) < threshold")

    def _commit(self, j, undecided):
        self.rec.undecided.extend((j, lo, hi) for lo, hi in undecided)

    def _find_coincident(self):
        """Spikes with an arrival at the same neuron inside their certified bracket."""
        rec = self.rec
        arrivals = [[a.time for a in act] for act in rec.active]
        for g, (j, idx) in enumerate(rec.order):
            t, err = rec.times[g], rec.brackets[g]
            k = bisect.bisect_left(arrivals[j], t - err)
            while k < len(arrivals[j]) and arrivals[j][k] <= t + err:
                if rec.active[j][k].src != ("spike", g):  # not its own zero-delay self-arrival
                    rec.coincident.append((j, idx))
                    break
                k += 1

    def _arrive(self, i):
        arr = heapq.heappop(self.pending[i])[2]
        self._head(i)
        self._commit(i, self.cand[i][1])
        self._activate(i, arr)
        self.cursor[i] = max(self.cursor[i], arr.time)
        self.cand[i] = None

    def _fire(self, j):
        (t, err), undecided = self.cand[j]
        self._commit(j, undecided)
        rec = self.rec
        if len(rec.times) >= self.max_spikes:
            raise SimulationError(
                f"more than max_spikes = {self.max_spikes} spikes before t_max = {self.t_max}; "
                "raise max_spikes or shorten t_max"
            )
        rec.order.append((j, len(rec.spikes[j])))
        rec.times.append(t)
        rec.n_active.append(len(rec.active[j]))
        rec.spikes[j].append(t)
        if self.state is not None:
            self.state[j].add("reset", -1, t)
        rec.max_bracket = max(rec.max_bracket, err)
        rec.brackets.append(err)
        self.cursor[j] = t
        self.cand[j] = None
        after = self.potential(j).point(iv, t, 0)
        if upper(after) >= 0:
            raise SimulationError(
                f"neuron {j}: V is still >= threshold right after the reset of its spike at t = "
                f"{mp.nstr(t, 17)} (V - threshold in {after}); the reset kernel must bring V below threshold"
            )
        self._emit(self.net.n_inputs + j, t, ("spike", len(rec.times) - 1))


def _earliest(keys, exact):
    """``(t, j)`` with the smallest exact time ``t = exact(j)`` over ``j`` with ``keys[j]`` not None,
    smallest ``j`` on ties; None if there is none. ``keys[j] = float(exact(j))``: rounding is monotone,
    so only the indices whose key equals the smallest key can hold the exact minimum."""
    present = [k for k in keys if k is not None]
    if not present:
        return None
    low = min(present)
    return min((exact(j), j) for j, k in enumerate(keys) if k == low)


def _goes_first(crossing, tau):
    """A crossing ``(t, err)`` precedes an arrival at ``tau`` when ``t <= tau`` or ``tau`` lies inside
    its certified bracket: ``psp(0) = 0``, so ``V(tau)`` does not see the arrival, and a crossing that
    coincides with it within the working precision is taken before it (and reported as coincident)."""
    return crossing[0] - crossing[1] <= tau


def simulate(table, network, weight, delay, inputs, t_max, *, max_spikes=10000, min_width, taylor=0):
    """Run the reference simulation on ``[0, t_max]``.

    Parameters
    ----------
    table : KernelTable
    network : Network
        Topology (``pre``, ``post``); its float weights and delays are not used.
    weight, delay : list of mpf, length ``n_synapses``
    inputs : list of list of mpf
        Per input channel, its spike times.
    t_max : mpf
    max_spikes : int
        Raise ``SimulationError`` beyond this many spikes.
    min_width : mpf
        Width below which an undecided interval is reported rather than split.
    taylor : int
        Taylor-form order for the enclosures (0: natural extension only). Used only when the kernels
        lose ``TAYLOR_MIN_DIGITS`` or more digits to cancellation (``table.extra_digits``).

    Returns
    -------
    SimRecord
    """
    return _Simulation(table, network, weight, delay, inputs, t_max, max_spikes, min_width, taylor).run()
