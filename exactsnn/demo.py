"""``exactsnn demo``: the main job on built-in defaults.

A 4-20-3 LIF network in which hidden neurons fire several times is simulated exactly; the
exact TTFS cross-entropy gradient is computed by forward propagation and by the adjoint; the
two are compared with each other and with central finite differences, and with the gradient
that the paper's public code would give (own-reset coupling dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grad import adjoint, forward_propagation
from .losses import Loss, loss_value_and_dt
from .network import Network
from .simulate import simulate

PARAMS = {"tau_syn": 0.5, "tau_mem": 1.0, "threshold": 1.0}
T_MAX = 6.0
INPUTS = [[0.0, 0.9], [0.2], [0.35, 1.4], [0.6]]
LOSS = Loss("ttfs_cross_entropy", label=1)
FD_STEP = 1e-6


def demo_network(seed: int = 2) -> Network:
    """4 inputs -> 20 hidden -> 3 outputs; strong input weights make hidden neurons burst."""
    rng = np.random.default_rng(seed)
    w1 = rng.uniform(0.5, 4.5, (4, 20))
    w2 = rng.uniform(-0.25, 0.45, (20, 3))
    d1 = rng.uniform(0.0, 0.2, (4, 20))
    d2 = rng.uniform(0.0, 0.2, (20, 3))
    return Network.feedforward([w1, w2], [d1, d2])


@dataclass
class DemoReport:
    spikes_per_neuron: np.ndarray
    loss: float
    fp_vs_adjoint: float
    fd_vs_exact: float
    fd_checked: int
    no_reset_vs_exact: float
    result: object
    fd: np.ndarray | None = None     # central finite differences per weight (nan where the spike count changes)
    exact: np.ndarray | None = None  # the adjoint's dL/dw

    def text(self) -> str:
        n_hidden = 20
        hid = self.spikes_per_neuron[:n_hidden]
        return "\n".join([
            "exactsnn demo: exact gradients of a 4-20-3 LIF network (tau_syn=0.5, tau_mem=1, threshold=1)",
            f"  spikes: {int(self.spikes_per_neuron.sum())} in total; hidden neurons firing >= 2 times: "
            f"{int((hid >= 2).sum())} of {n_hidden} (max {int(hid.max())}); output spike counts "
            f"{self.spikes_per_neuron[n_hidden:].tolist()}",
            f"  TTFS cross-entropy loss (label 1): {self.loss:.12g}",
            f"  forward propagation vs adjoint, dL/dw:          max rel. difference {self.fp_vs_adjoint:.2e}",
            f"  central finite differences (h={FD_STEP:g}) vs exact: max rel. difference {self.fd_vs_exact:.2e} "
            f"over {self.fd_checked} weights",
            f"  paper's public code (own-reset term dropped):   max rel. error      {self.no_reset_vs_exact:.2e}",
            "  (relative to the largest gradient entry; finite differences carry O(h^2) + rounding/h error)",
        ])


def run_demo() -> DemoReport:
    net = demo_network()
    res = simulate("lif", net, INPUTS, T_MAX, params=PARAMS)
    value, dl_dt, _ = loss_value_and_dt(res, LOSS)
    jac = forward_propagation(res)
    g_fp = jac.contract(dl_dt).weights
    g_adj = adjoint(res, dl_dt).weights
    scale = np.max(np.abs(g_adj))
    wrong = forward_propagation(res, _own_reset=False).contract(dl_dt).weights
    fd, checked = _finite_differences(net, res.spike_neuron.size)
    ok = ~np.isnan(fd)
    counts = np.bincount(res.spike_neuron, minlength=net.n_neurons)
    return DemoReport(counts, value, float(np.max(np.abs(g_fp - g_adj)) / scale),
                      float(np.max(np.abs(fd[ok] - g_adj[ok])) / scale), int(checked),
                      float(np.max(np.abs(wrong - g_adj)) / scale), res, fd, g_adj)


def _finite_differences(net: Network, n_spikes: int):
    """Central differences of the loss in every weight; nan where the spike count changes."""
    fd = np.full(net.n_synapses, np.nan)
    for s in range(net.n_synapses):
        vals = []
        for sign in (1.0, -1.0):
            w = net.weight.copy()
            w[s] += sign * FD_STEP
            r = simulate("lif", net.with_weights(w), INPUTS, T_MAX, params=PARAMS)
            vals.append(loss_value_and_dt(r, LOSS)[0] if r.n_spikes == n_spikes else np.nan)
        fd[s] = (vals[0] - vals[1]) / (2 * FD_STEP)
    return fd, int(np.sum(~np.isnan(fd)))


def plot_demo(report: DemoReport, path: str):
    """Raster of all spikes (``plot.raster``), the membrane potential of the busiest hidden neuron and the
    outputs (``plot.membrane``), and finite differences against the exact gradient (``plot.gradient_check``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plot

    res = report.result
    fig = plt.figure(figsize=(11, 6))
    grid = fig.add_gridspec(2, 2)
    plot.raster(res, ax=fig.add_subplot(grid[0, 0]))
    busiest = int(np.argmax(report.spikes_per_neuron[:20]))
    plot.membrane(res, [busiest, 20, 21, 22], ax=fig.add_subplot(grid[1, 0]), n_samples=1500)
    ok = ~np.isnan(report.fd)
    plot.gradient_check(report.fd[ok], report.exact[ok],
                        axes=(fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1])))
    fig.suptitle("exactsnn demo: exact spike times, membrane potentials, finite differences vs exact dL/dw")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
