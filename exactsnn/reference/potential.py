"""The distance to threshold ``G(t) = V(t) - theta`` of one neuron on one inter-event segment.

On a segment ``(a, b]`` that contains no event of the neuron, the set of active terms is fixed:

    G(t) = sum_e w_e psp(t - tau_e) - sum_m reset(t - t_m) - theta

with ``tau_e`` the arrival times (``<= a``) and ``t_m`` the neuron's own spike times (``<= a``).
Each kernel is analytic on the closed segment (its value at ``s = 0`` is the right limit), so
``G`` and all its derivatives can be enclosed over any sub-interval.

Two rigorous enclosures of ``G^(k)`` over ``X = [lo, hi]`` are available, and their intersection is
used:

- the *natural* interval extension: every kernel evaluated in ``iv`` over ``X - tau``;
- the *Taylor form* of order ``N`` around the midpoint ``c``, with ``Y = X - c``:

      G^(k)(X)  in  sum_{i<N} G^(k+i)(c) Y^i / i!  +  G^(k+N)(X) Y^N / N!

  where the point values ``G^(k+i)(c)`` are thin ``iv`` enclosures. Its overestimation shrinks like
  ``|Y|^N``, which defeats the dependency problem of kernels with cancelling terms (the LIF kernel
  near ``tau_syn = tau_mem``), where the natural extension is wider than the true range by a
  factor ``~ 1/|tau_syn - tau_mem|``.
"""

from __future__ import annotations

import math

from mpmath import iv, mp


def lower(x):
    """Exact lower endpoint of an ``iv`` interval, as an ``mpf``."""
    return mp.make_mpf(x._mpi_[0])


def upper(x):
    """Exact upper endpoint of an ``iv`` interval, as an ``mpf``."""
    return mp.make_mpf(x._mpi_[1])


def intersect(x, y):
    """Intersection of two enclosures of the same quantity (both rigorous, so is the result)."""
    return iv.mpf([max(lower(x), lower(y)), min(upper(x), upper(y))])


class Potential:
    """``G(t) = V(t) - theta`` of one neuron with a fixed set of active terms.

    Parameters
    ----------
    table : KernelTable
        Kernels bound to the parameter values.
    arrivals : list of (mpf, mpf)
        ``(weight, arrival time)`` of every active presynaptic arrival.
    own_spikes : list of mpf
        The neuron's own earlier spike times (their reset kernels are active).
    taylor_order : int
        Order ``N`` of the Taylor form; ``0`` disables it. Needs ``N + 1 <= table.n_deriv``.
    """

    def __init__(self, table, arrivals, own_spikes, taylor_order: int = 0):
        self.table = table
        self.arrivals = list(arrivals)
        self.own = list(own_spikes)
        self.taylor_order = min(taylor_order, table.n_deriv - 1)
        self._iv_arr = [(iv.mpf(w), iv.mpf(tau)) for w, tau in self.arrivals]
        self._iv_own = [iv.mpf(t) for t in self.own]
        self._at_center = {}

    # --------------------------------------------------------------- points
    def point(self, ctx, t, k: int = 0):
        """``G^(k)(t)`` at a point: an ``mpf`` (``ctx = mp``) or a thin enclosure (``ctx = iv``)."""
        tab = self.table
        if ctx is iv:
            t = iv.mpf(t)
            terms = self._iv_arr
            own = self._iv_own
            total = -tab.theta_iv if k == 0 else iv.mpf(0)
        else:
            terms = self.arrivals
            own = self.own
            total = -tab.theta if k == 0 else mp.zero
        for w, tau in terms:
            total += w * tab.psp(ctx, k, t - tau)
        for tm in own:
            total -= tab.reset(ctx, k, t - tm)
        return total

    def value_slope(self, t):
        """``(G(t), G'(t))`` in ``mp`` at the current precision (for Newton steps)."""
        return self.point(mp, t, 0), self.point(mp, t, 1)

    # ------------------------------------------------------------ intervals
    def natural(self, lo, hi, k: int = 0):
        """Natural interval extension of ``G^(k)`` over ``[lo, hi]``."""
        return self.point(iv, iv.mpf([lo, hi]), k)

    def taylor(self, lo, hi, k: int = 0):
        """Taylor-form enclosure of ``G^(k)`` over ``[lo, hi]`` (order ``taylor_order``)."""
        n = self.taylor_order
        c = lo + (hi - lo) / 2
        y = iv.mpf([lo, hi]) - iv.mpf(c)
        total = self._center(c, k)
        fact = 1
        for i in range(1, n):
            fact *= i
            total += self._center(c, k + i) * y ** i / fact
        remainder = self.natural(lo, hi, k + n) * y ** n / math.factorial(n)
        return total + remainder

    def _center(self, c, k):
        """Thin enclosure of ``G^(k)(c)``, cached (the G and G' Taylor forms share the center)."""
        key = (c, k)
        if key not in self._at_center:
            if len(self._at_center) > 256:
                self._at_center.clear()
            self._at_center[key] = self.point(iv, c, k)
        return self._at_center[key]

    def enclose(self, lo, hi, k: int = 0):
        """Rigorous enclosure of ``G^(k)`` over ``[lo, hi]``.

        The natural extension first; when it does not exclude 0, the Taylor form too (if enabled),
        and the intersection of both.
        """
        box = self.natural(lo, hi, k)
        if self.taylor_order >= 2 and lower(box) <= 0 <= upper(box):
            box = intersect(box, self.taylor(lo, hi, k))
        return box
