"""Train the small Yin-Yang network the peer checks use (tests/fixtures/yinyang_small_trained.json).

Exact gradients (``exactsnn.training``), ``lif`` with tau_syn = tau_mem = 1, threshold 1, t_max = 4,
no input->output bias synapses (``output_bias=False``: a plain layer stack, which jaxsnn's and snnTorch's
adapters run). Run::

    python benchmarks/make_peer_fixture.py [--hidden 40 --epochs 30 --train-size 5000]

It prints the test accuracy and the training time and writes the weights with the recipe.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exactsnn.training import trainer  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "yinyang_small_trained.json"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--train-size", type=int, default=5000)
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args(argv)
    cfg = trainer.config_for("yinyang", hidden=a.hidden, epochs=a.epochs, train_size=a.train_size, seed=0,
                             output_bias=False, eval_every=a.epochs)
    t0 = time.perf_counter()
    res = trainer.train(cfg, progress=False)
    doc = {"recipe": f"python benchmarks/make_peer_fixture.py --hidden {a.hidden} --epochs {a.epochs} "
                     f"--train-size {a.train_size}",
           "test_accuracy": res.test_accuracy, "model": "lif", "params": cfg.params, "t_max": cfg.t_max,
           "loss": {"kind": "ttfs_cross_entropy", "label": 0, "tau0": cfg.tau0, "tau1": cfg.tau1, "gamma": cfg.gamma},
           "weights": [w.tolist() for w in res.state.weights]}
    Path(a.out).write_text(json.dumps(doc, indent=None) + "\n")
    print(f"test accuracy {100 * res.test_accuracy:.1f}% in {time.perf_counter() - t0:.0f} s -> {a.out}")


if __name__ == "__main__":
    main()
