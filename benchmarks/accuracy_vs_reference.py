"""Accuracy of the float64 engine against the independent 50-digit mpmath reference.

For every case of tests/test_agreement.py: the worst spike-time error and, per Jacobian block
(weights, delays, input times, model parameters), the worst entry error relative to the largest
entry of its row.

Run:  python benchmarks/accuracy_vs_reference.py
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import test_agreement as cases  # noqa: E402  (the shared case list)

from exactsnn import forward_propagation, simulate  # noqa: E402
from exactsnn.reference import reference_solve  # noqa: E402
from exactsnn.verification.agreement import spike_positions


def worst_errors(model, params, net, inputs, t_max):
    res = simulate(model, net, inputs, t_max, params=params)
    ref = reference_solve(cases._symbolic(model), params, net, inputs, t_max, dps=50)
    jac = forward_propagation(res, policy="flag")
    pos = spike_positions(res)
    worst_t, worst = 0.0, {}
    blocks = (("weights", jac.dts_dq.weights, ref.d_weights), ("delays", jac.dts_dq.delays, ref.d_delays),
              ("inputs", jac.dts_dq.inputs, ref.d_inputs), ("model", jac.dts_dq.model, ref.d_model))
    for r, key in enumerate(ref.order):
        k = pos[key]
        worst_t = max(worst_t, abs(res.spike_time[k] - float(ref.times[r])))
        for name, ours, theirs in blocks:
            row = np.array([float(x) for x in theirs[r]])
            if row.size:
                err = np.max(np.abs(ours[k] - row)) / max(np.max(np.abs(row)), 1e-300)
                worst[name] = max(worst.get(name, 0.0), err)
    return res, worst_t, worst


def main():
    print(f"{'case':22s} {'spikes':>6s} {'max/neuron':>10s} {'|dt|':>8s}  row-relative errors")
    for name, args in cases.CASES.items():
        res, wt, worst = worst_errors(*args)
        per = max(len(s) for s in res.spikes)
        print(f"{name:22s} {res.n_spikes:6d} {per:10d} {wt:8.1e}  " +
              " ".join(f"{k}:{v:.1e}" for k, v in worst.items()))


if __name__ == "__main__":
    main()
