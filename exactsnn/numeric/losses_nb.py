"""First-spike losses and their exact derivatives dL/dt (numba; shared by serial and batch paths).

Inputs are the first spike time of every output neuron; a silent output counts as ``t_max``
and passes no gradient (its entry of dL/dt is set to 0).

- ``first_spike_sum``:      L = sum_o t_o,                          dL/dt_o = 1
- ``ttfs_cross_entropy``:   L = -log softmax(-t / tau0)[k] + gamma (exp(t_k / tau1) - 1)
                            dL/dt_o = (delta_ok - softmax(-t/tau0)_o) / tau0 + delta_ok gamma exp(t_k/tau1) / tau1
"""

import math

import numpy as np
from numba import njit

LOSS_FIRST_SPIKE_SUM = 1
LOSS_TTFS_CROSS_ENTROPY = 2


@njit(cache=True)
def loss_and_grad(kind, t_first, silent, label, tau0, tau1, gamma, dl_dt):
    """Loss value; fills dl_dt (n_out,) with dL/dt_o (0 for silent outputs)."""
    n = t_first.size
    if kind == LOSS_FIRST_SPIKE_SUM:
        total = 0.0
        for o in range(n):
            total += t_first[o]
            dl_dt[o] = 0.0 if silent[o] else 1.0
        return total
    if kind == LOSS_TTFS_CROSS_ENTROPY:
        z_max = -np.inf
        for o in range(n):
            z_max = max(z_max, -t_first[o] / tau0)
        acc = 0.0
        for o in range(n):
            acc += math.exp(-t_first[o] / tau0 - z_max)
        lse = z_max + math.log(acc)
        reg = math.exp(t_first[label] / tau1)
        value = t_first[label] / tau0 + lse + gamma * (reg - 1.0)
        for o in range(n):
            soft = math.exp(-t_first[o] / tau0 - lse)
            g = -soft / tau0
            if o == label:
                g += 1.0 / tau0 + gamma * reg / tau1
            dl_dt[o] = 0.0 if silent[o] else g
        return value
    for o in range(n):
        dl_dt[o] = 0.0
    return 0.0
