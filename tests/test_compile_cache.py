"""compile_model: content-keyed files on disk, safe when several processes compile at once."""

import json
import os
import subprocess
import sys
import textwrap

CODE = textwrap.dedent("""
    import json, sys
    import exactsnn
    from exactsnn import Network, simulate
    m = exactsnn.kernel_model("s/tau*exp(1 - s/tau)", "theta*exp(-s/tau_r)", "theta",
                              {"tau": 1.25, "tau_r": 0.6, "theta": 1.0})
    cm = exactsnn.compile_model(m)
    r = simulate(cm, Network.feedforward([[[2.0]]]), [[0.0]], 4.0)
    print(json.dumps({"file": cm.module.__file__, "spikes": r.spike_time.tolist()}))
""")


def test_concurrent_processes_compile_the_same_model_safely(tmp_path):
    env = dict(os.environ, EXACTSNN_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", CODE], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert results[0] == results[1] and results[0]["spikes"]
    generated = sorted(f for f in os.listdir(tmp_path) if f.endswith(".py"))
    # one kernel module (printed by codegen) and one stamped module (kernels + engine templates)
    assert len(generated) == 2 and sum(f.endswith("_kernels.py") for f in generated) == 1
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    # a third process reuses the file without deriving again (same path, same answer)
    again = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)
    assert json.loads(again.stdout.strip().splitlines()[-1]) == results[0]
