"""exactsnn against its peers on the same network: jaxsnn (event-based, exact) and snnTorch (BPTT).

Network: 5-120-3 LIF as in bench_core.py (weights: hidden N(0.6, 0.4), output N(0.05, 0.1), seed 0),
inputs: 5 channels with one spike each, uniform in [0.15, 2]; t_max = 4; threshold 1; subtractive
reset to 0 (identical to jaxsnn's reset to v_reset = 0, since V equals the threshold at a spike).
tau_syn = tau_mem = 1 exactly: jaxsnn's event solver only knows tau_mem / tau_syn in {1, 2} and
rounds the ratio, so bench_core's tau_syn = 1/0.999 would give it a different model.
Loss: TTFS cross-entropy with regulariser (exactsnn.Loss("ttfs_cross_entropy")), written again
for each peer on its own first-spike times; the gradient is taken with respect to all weights.

(a) jaxsnn: its Topology / LIF / Linear modules, with backprop "analytical" (JAX autodiff
    through its closed-form spike solver) and "eventprop" (its adjoint), in float32 and float64.
(b) snnTorch: snntorch.Synaptic (alpha = beta = exp(-dt), reset by subtraction right after the
    spike), fast-sigmoid surrogate, BPTT over t_max / dt steps, for several dt. Set up to be as
    accurate as this scheme allows: weights scaled by dt exp(-dt) and an input at t entering at
    step round(t / dt) + 1 make V on the grid exact for an input on the grid (tau_syn = tau_mem);
    a spike at step n (V crossed in ((n-1) dt, n dt]) is read as (n - 1/2) dt.

Spike-time errors are measured against exactsnn's float64 spike times, which are checked here
against the mpmath reference solver (30 digits) on --reference samples. Every timed side runs in this one
process, interleaved, best of --repeats. Ratios are peer time / exactsnn time per sample.

Run:  pip install -e ".[peers]"; python benchmarks/bench_peers.py [--quick]
"""

import argparse
import importlib
import logging
import math
import os
import platform
import time
from importlib.metadata import version

import numba
import numpy as np

from exactsnn import Loss, Network, batch_loss_grad, simulate

PARAMS = {"tau_syn": 1.0, "tau_mem": 1.0, "threshold": 1.0}
T_MAX = 4.0
N_IN, N_HID, N_OUT = 5, 120, 3
LOSS = Loss("ttfs_cross_entropy")
STEP_MARGIN = 16  # spare event slots for jaxsnn's fixed-length event buffers


def network(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.6, 0.4, (N_IN, N_HID)), rng.normal(0.05, 0.1, (N_HID, N_OUT))


def patterns(n, seed=1):
    """Input spike times x : (n, 5) float64, one spike per channel."""
    return np.random.default_rng(seed).uniform(0.15, 2.0, (n, N_IN))


def trains(times, neurons):
    """Per-neuron spike trains {neuron: ascending times} of one sample."""
    out = {}
    for t, j in sorted(zip(np.asarray(times, float).tolist(), np.asarray(neurons).tolist())):
        out.setdefault(int(j), []).append(t)
    return out


def compare(test, ref):
    """Spike-time errors of ``test`` vs ``ref`` (lists of per-sample trains).

    Returns (|dt| of every spike of neurons whose spike count matches, fraction of
    (sample, neuron) pairs with a different spike count)."""
    errs, bad, total = [], 0, 0
    for a, b in zip(test, ref):
        for j in range(N_HID + N_OUT):
            ta, tb = a.get(j, []), b.get(j, [])
            total += 1
            if len(ta) != len(tb):
                bad += 1
            elif ta:
                errs.extend(np.abs(np.subtract(ta, tb)).tolist())
    return np.asarray(errs), bad / total


def error_text(errs, mismatch):
    if errs.size == 0:
        return "no matched spikes"
    return (f"median {np.median(errs):8.1e}  p99 {np.quantile(errs, 0.99):8.1e}  max {errs.max():8.1e}  "
            f"wrong spike count {100 * mismatch:5.2f}% of neurons")


def best(times):
    return min(times) if times else float("nan")


# ---------------------------------------------------------------- exactsnn

class Exact:
    """exactsnn batch_loss_grad (simulate + loss + adjoint) on ``threads`` numba threads."""

    def __init__(self, w, x, labels):
        self.net = Network.feedforward(list(w))
        self.pats = [[[t] for t in row] for row in x]
        self.labels = labels

    def run(self, threads, n=None):
        numba.set_num_threads(threads)
        n = len(self.pats) if n is None else n
        t0 = time.perf_counter()
        res = batch_loss_grad("lif", self.net, self.pats[:n], T_MAX, LOSS, labels=self.labels[:n], params=PARAMS)
        return (time.perf_counter() - t0) / n, res

    def trains(self, n):
        out = []
        for p in self.pats[:n]:
            r = simulate("lif", self.net, p, T_MAX, params=PARAMS)
            out.append(trains(r.spike_time, r.spike_neuron))
        return out


def reference_check(exact, n):
    """Max |t_exactsnn - t_reference| over all spikes of the first n samples (mpmath, 30 digits)."""
    from exactsnn.models import lif
    from exactsnn.reference import reference_solve
    worst = 0.0
    for p, tr in zip(exact.pats[:n], exact.trains(n)):
        ref = reference_solve(lif.build(), PARAMS, exact.net, p, T_MAX, dps=30)
        for j, ts in enumerate(ref.spikes):
            mine = tr.get(j, [])
            if len(mine) != len(ts):
                return float("inf")
            worst = max([worst] + [abs(float(a) - b) for a, b in zip(ts, mine)])
    return worst


# ---------------------------------------------------------------- jaxsnn

def import_peer(name):
    """The module, or None with the reason printed."""
    try:
        logging.disable(logging.WARNING)  # jaxsnn warns at import that BrainScaleS-2 support is absent
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any import failure means: skip this peer, say why
        print(f"  SKIPPED: {name} could not be imported ({type(exc).__name__}: {exc}); "
              f"install it with: pip install -e '.[peers]'")
        return None
    finally:
        logging.disable(logging.NOTSET)


class Jaxsnn:
    """jaxsnn's event-based 5-120-3 LIF network, value and gradient of the same loss, jitted."""

    def __init__(self, jax, w, x, labels, method, x64, steps_hidden, steps_out):
        from jaxsnn.event.modules import LIF, LIFParameters, Linear, Source
        from jaxsnn.event.topology import Topology
        from jaxsnn.event.types import Spike
        self.jax, self.x64 = jax, x64
        jnp = jax.numpy
        with jax.enable_x64(x64):
            lif = LIFParameters(tau_syn=PARAMS["tau_syn"], tau_mem=PARAMS["tau_mem"], v_th=PARAMS["threshold"],
                                v_reset=0.0)
            top = Topology(t_max=T_MAX, backprop_method=method)
            top.add({"inp": Source(N_IN), "lif1": LIF(N_HID, steps_hidden, lif), "lif2": LIF(N_OUT, steps_out, lif),
                     "syn1": Linear(pre_weights=jnp.asarray(w[0])), "syn2": Linear(pre_weights=jnp.asarray(w[1]))})
            top.connect([("inp", "syn1"), ("syn1", "lif1"), ("lif1", "syn2"), ("syn2", "lif2")])
            init_fn, apply_fn = top.done()
            self.params = init_fn(jax.random.PRNGKey(0))
            order = np.argsort(x, axis=1)
            self.inp = Spike(time=jnp.asarray(np.take_along_axis(x, order, 1)), idx=jnp.asarray(order),
                             current=jnp.zeros(x.shape), layer_idx=jnp.zeros(x.shape, int),
                             internal=jnp.ones(x.shape, bool))
            self.labels = jnp.asarray(labels)
            self.fn = jax.jit(jax.value_and_grad(self._loss(apply_fn), has_aux=True))

    def _loss(self, apply_fn):
        jax, jnp = self.jax, self.jax.numpy

        def loss(params, inp, labels):
            ev = apply_fn({"inp": inp}, params)
            out = ev["lif2"]
            fired = out.internal & (out.idx >= 0)
            t = jnp.stack([jnp.min(jnp.where(fired & (out.idx == o), out.time, jnp.inf), axis=1)
                           for o in range(N_OUT)], axis=1)
            silent = ~jnp.isfinite(t)   # as exactsnn: a silent output counts as t_max, passes no gradient
            t = jnp.where(silent, jax.lax.stop_gradient(jnp.where(silent, T_MAX, t)), t)
            t_label = jnp.take_along_axis(t, labels[:, None], axis=1)[:, 0]
            value = (t_label / LOSS.tau0 + jax.nn.logsumexp(-t / LOSS.tau0, axis=1)
                     + LOSS.gamma * (jnp.exp(t_label / LOSS.tau1) - 1.0))
            return value.sum(), (ev["lif1"], ev["lif2"])

        return loss

    def run(self):
        with self.jax.enable_x64(self.x64):
            t0 = time.perf_counter()
            out = self.jax.block_until_ready(self.fn(self.params, self.inp, self.labels))
        return (time.perf_counter() - t0) / self.inp.time.shape[0], out

    @staticmethod
    def trains(out):
        (_, (hid, outp)), _ = out
        res = []
        for b in range(hid.time.shape[0]):
            t, j = [], []
            for layer, offset in ((hid, 0), (outp, N_HID)):
                m = np.asarray(layer.internal[b]) & (np.asarray(layer.idx[b]) >= 0)
                t.append(np.asarray(layer.time[b], float)[m])
                j.append(np.asarray(layer.idx[b])[m] + offset)
            res.append(trains(np.concatenate(t), np.concatenate(j)))
        return res

    @staticmethod
    def full(out, steps_hidden, steps_out):
        """True when an event buffer was filled to its last slot (events may have been dropped)."""
        (_, (hid, outp)), _ = out
        return bool((np.asarray(hid.idx)[:, steps_hidden - 1] >= 0).any()
                    or (np.asarray(outp.idx)[:, steps_out - 1] >= 0).any())

    @staticmethod
    def grad(out):
        _, g = out
        return np.concatenate([np.asarray(g["syn1"], float).ravel(), np.asarray(g["syn2"], float).ravel()])


# ---------------------------------------------------------------- snnTorch

class Snntorch:
    """snnTorch BPTT of the same network and loss on a time grid of step dt (float32)."""

    def __init__(self, torch, snn, w, x, labels, dt):
        self.torch, self.dt = torch, dt
        self.steps = int(round(T_MAX / dt))
        self.fc1 = torch.nn.Linear(N_IN, N_HID, bias=False)
        self.fc2 = torch.nn.Linear(N_HID, N_OUT, bias=False)
        decay = math.exp(-dt / PARAMS["tau_syn"]), math.exp(-dt / PARAMS["tau_mem"])
        # with alpha = beta, syn = dt beta I gives V(n dt) = w m dt exp(-m dt) m steps after an input
        # entered one step after its arrival on the grid: the exact LIF response
        scale = dt * decay[1]
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor(w[0].T * scale))
            self.fc2.weight.copy_(torch.tensor(w[1].T * scale))
        grad = snn.surrogate.fast_sigmoid(slope=25)
        self.lif1, self.lif2 = (snn.Synaptic(alpha=decay[0], beta=decay[1], threshold=PARAMS["threshold"],
                                             spike_grad=grad, reset_delay=False) for _ in range(2))
        b = x.shape[0]
        self.raster = torch.zeros(self.steps + 1, b, N_IN)
        self.raster[torch.tensor(np.rint(x / dt).astype(int) + 1), torch.arange(b)[:, None], torch.arange(N_IN)] = 1.0
        self.labels = torch.tensor(labels)

    def run(self):
        torch = self.torch
        t0 = time.perf_counter()
        syn1, mem1 = self.lif1.reset_mem()
        syn2, mem2 = self.lif2.reset_mem()
        s1, s2 = [], []
        for n in range(self.steps + 1):
            spk1, syn1, mem1 = self.lif1(self.fc1(self.raster[n]), syn1, mem1)
            spk2, syn2, mem2 = self.lif2(self.fc2(spk1), syn2, mem2)
            s1.append(spk1)
            s2.append(spk2)
        s2 = torch.stack(s2)
        alive = torch.cumprod(1.0 - s2, 0)  # (first spike step - 1/2) dt, or t_max when silent
        t = self.dt * alive[:-1].sum(0) - 0.5 * self.dt * (1.0 - alive[-1])
        t_label = t.gather(1, self.labels[:, None])[:, 0]
        value = (t_label / LOSS.tau0 + torch.logsumexp(-t / LOSS.tau0, 1)
                 + LOSS.gamma * (torch.exp(t_label / LOSS.tau1) - 1.0)).sum()
        self.fc1.zero_grad()
        self.fc2.zero_grad()
        value.backward()
        return (time.perf_counter() - t0) / self.raster.shape[1], (torch.stack(s1).detach(), s2.detach())

    def trains(self, out):
        s1, s2 = (np.asarray(s.numpy()) > 0.5 for s in out)
        res = []
        for b in range(s1.shape[1]):
            n1, j1 = np.nonzero(s1[:, b, :])
            n2, j2 = np.nonzero(s2[:, b, :])
            res.append(trains((np.concatenate([n1, n2]) - 0.5) * self.dt, np.concatenate([j1, j2 + N_HID])))
        return res


# ---------------------------------------------------------------- the two comparisons

def exact_times(exact, cores, n, into):
    """One interleaved round of exactsnn: per-sample times at 1 thread and at all cores."""
    into.setdefault("1 thread", []).append(exact.run(1, n)[0])
    into.setdefault(f"{cores} threads", []).append(exact.run(cores, n)[0])


def compare_jaxsnn(args, w, x, labels, exact, cores):
    print(f"\n(a) jaxsnn, event-based exact gradients; batch of {args.jax_batch} (vmapped), jitted")
    if import_peer("jax") is None or import_peer("jaxsnn") is None:
        return
    import jax
    logging.getLogger("jaxsnn").setLevel(logging.WARNING)  # it logs each Topology build at INFO
    n = args.jax_batch
    ref = exact.trains(n)
    _, res = exact.run(cores, n)
    ref_grad = res.grad.weights.sum(axis=0)
    steps_h = N_IN + int(res.counts[:, :N_HID].sum(axis=1).max()) + STEP_MARGIN
    steps_o = int(res.counts[:, :N_HID].sum(axis=1).max() + res.counts[:, N_HID:].sum(axis=1).max()) + STEP_MARGIN
    print(f"  jax {jax.__version__}, jaxsnn {version('jaxsnn')}, "
          f"backend {jax.default_backend()}; event buffers: {steps_h} (hidden), {steps_o} (output) steps")
    variants = {}
    for method in args.jax_methods:
        for x64 in (True, False):
            name = f"{method}, float{64 if x64 else 32}"
            t0 = time.perf_counter()
            side = Jaxsnn(jax, w, x[:n], labels[:n], method, x64, steps_h, steps_o)
            _, out = side.run()
            errs, mism = compare(Jaxsnn.trains(out), ref)
            g = Jaxsnn.grad(out)
            g_err = np.nanmax(np.abs(g - ref_grad)) / np.abs(ref_grad).max()
            nan = int(np.isnan(g).sum())
            full = " EVENT BUFFER FULL" if Jaxsnn.full(out, steps_h, steps_o) else ""
            print(f"  {name:22s} compile+first call {time.perf_counter() - t0:5.1f} s; spike times: {error_text(errs, mism)}"
                  f"; dL/dw max rel. diff {g_err:.1e}" + (f", {nan} NaN entries" if nan else "") + full)
            variants[name] = side
    times = {}
    for _ in range(args.repeats):
        exact_times(exact, cores, args.exact_samples, times)
        for name, side in variants.items():
            times.setdefault(name, []).append(side.run()[0])
    t1, tn = best(times["1 thread"]), best(times[f"{cores} threads"])
    print(f"  exactsnn float64, 1 thread : {1e6 * t1:9.1f} us/sample")
    print(f"  exactsnn float64, {cores} threads: {1e6 * tn:9.1f} us/sample")
    for name in variants:
        tj = best(times[name])
        print(f"  jaxsnn {name:22s}: {1e6 * tj:9.1f} us/sample   ratio jaxsnn/exactsnn {tj / t1:6.1f}x (1 thread), "
              f"{tj / tn:6.1f}x ({cores} threads)")


def compare_snntorch(args, w, x, labels, exact, cores):
    print(f"\n(b) snnTorch surrogate-gradient BPTT, float32, batch of {args.torch_batch}, "
          f"torch threads {args.torch_threads}")
    torch = import_peer("torch")
    snn = import_peer("snntorch") if torch else None
    if snn is None:
        return
    torch.set_num_threads(args.torch_threads)
    n = args.torch_batch
    ref = exact.trains(n)
    print(f"  torch {torch.__version__}, snntorch {version('snntorch')}")
    rows = []
    for dt in args.dts:
        side = Snntorch(torch, snn, w, x[:n], labels[:n], dt)
        times = {}
        for _ in range(args.repeats):
            exact_times(exact, cores, args.exact_samples, times)
            t, out = side.run()
            times.setdefault("snn", []).append(t)
        errs, mism = compare(side.trains(out), ref)
        t1, ts = best(times["1 thread"]), best(times["snn"])
        rows.append((dt, np.median(errs), ts, t1))
        print(f"  dt {dt:7.4f} ({side.steps + 1:5d} steps): {1e6 * ts:10.1f} us/sample (exactsnn, 1 thread: "
              f"{1e6 * t1:6.1f}), ratio {ts / t1:7.1f}x; spike times: {error_text(errs, mism)}")
        del side, out
    for target in args.targets:
        print("  " + at_accuracy(rows, target))


def at_accuracy(rows, target):
    """The snnTorch/exactsnn ratio at the coarsest measured dt whose median error is <= target, or
    extrapolated (error ~ dt^p fitted on the two finest dt, time ~ steps) when none reaches it."""
    for dt, err, ts, t1 in sorted(rows, reverse=True):
        if err <= target:
            return (f"median spike-time error <= {target:.0e}: dt {dt:g} (measured), ratio snnTorch/exactsnn "
                    f"{ts / t1:.0f}x (1 thread)")
    if len(rows) < 2:
        return f"median spike-time error <= {target:.0e}: not reached, too few dt to extrapolate"
    (dt_a, e_a, _, _), (dt_b, e_b, ts_b, t1) = sorted(rows, reverse=True)[-2:]
    p = math.log(e_a / e_b) / math.log(dt_a / dt_b)
    dt = dt_b * (target / e_b) ** (1 / p)
    ts = ts_b * dt_b / dt
    return (f"median spike-time error <= {target:.0e}: EXTRAPOLATED (error ~ dt^{p:.2f}) dt {dt:.1e} "
            f"({T_MAX / dt:.1e} steps), about {ts:.1e} s/sample, ratio about {ts / t1:.0e}x (1 thread), "
            f"not measured" + ("; below float32 resolution: needs float64 too, so a lower bound" if target < 1e-5 else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exact-samples", type=int, default=1000, help="batch timed for exactsnn")
    ap.add_argument("--jax-batch", type=int, default=256)
    ap.add_argument("--jax-methods", nargs="+", default=["analytical", "eventprop"])
    ap.add_argument("--torch-batch", type=int, default=64)
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--dts", type=float, nargs="+", default=[0.1, 0.03, 0.01, 0.003, 0.001, 0.0005])
    ap.add_argument("--targets", type=float, nargs="+", default=[1e-3, 1e-6])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--reference", type=int, default=1, help="samples checked against the mpmath reference")
    ap.add_argument("--skip", nargs="*", default=[], choices=["jaxsnn", "snntorch"])
    ap.add_argument("--quick", action="store_true", help="small batches, coarse dt only, 1 repeat")
    args = ap.parse_args()
    if args.quick:
        args.exact_samples, args.jax_batch, args.torch_batch, args.repeats = 200, 32, 16, 1
        args.dts, args.reference = [0.1, 0.01], 0
    w = network()
    n = max(args.exact_samples, args.jax_batch, args.torch_batch)
    x = patterns(n)
    labels = np.arange(n) % N_OUT
    exact = Exact(w, x, labels)
    cores = numba.config.NUMBA_NUM_THREADS
    exact.run(1, 8)  # compile
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; numba {numba.__version__}, numpy {np.__version__}")
    print(f"5-120-3 lif, tau_syn = tau_mem = 1, threshold 1, t_max {T_MAX}, TTFS cross-entropy; "
          f"exactsnn timed on {args.exact_samples} samples (batch_loss_grad)")
    if args.reference:
        t0 = time.perf_counter()
        err = reference_check(exact, args.reference)
        print(f"exactsnn float64 vs 30-digit mpmath reference, {args.reference} sample(s): max |dt| {err:.1e} "
              f"({time.perf_counter() - t0:.0f} s)")
    if "jaxsnn" not in args.skip:
        compare_jaxsnn(args, w, x, labels, exact, cores)
    if "snntorch" not in args.skip:
        compare_snntorch(args, w, x, labels, exact, cores)


if __name__ == "__main__":
    main()
