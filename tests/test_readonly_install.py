"""A read-only install with an unwritable HOME (a system install, a container) still runs built-in models.

The package is copied to a temporary directory and made read-only, HOME points at a read-only directory,
and the subprocess runs without the capabilities that let root ignore file permissions (``setpriv``), so
the permission bits really apply. The model's cache then falls back to a private directory under TMPDIR
with a one-line warning, and numba's cache goes there too (issue 18, part 5).
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import exactsnn as es

ROOT = Path(__file__).resolve().parents[1]
CODE = textwrap.dedent("""
    import json
    import numpy as np
    import exactsnn as es
    net = es.Network.feedforward([np.array([[2.5, 2.0, 1.8], [1.5, 2.2, 2.9]]), np.array([[1.2], [1.0], [1.1]])])
    r = es.simulate("lif", net, [[0.1, 0.6], [0.3]], 6.0)
    print(json.dumps({"file": es.__file__, "spikes": r.spike_time.tolist()}))
""")


def _read_only(path: Path):
    for root, dirs, files in os.walk(path):
        for name in files:
            os.chmod(os.path.join(root, name), 0o444)
        os.chmod(root, 0o555)


def _without_privilege():
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make file permissions apply")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]


def test_builtin_model_runs_from_a_read_only_install_with_an_unwritable_home(tmp_path):
    site, home, tmp = tmp_path / "site", tmp_path / "home", tmp_path / "tmp"
    shutil.copytree(ROOT / "exactsnn", site / "exactsnn", ignore=shutil.ignore_patterns("__pycache__", "*.nbi",
                                                                                         "*.nbc"))
    home.mkdir()
    tmp.mkdir(mode=0o700)
    _read_only(site)
    _read_only(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXACTSNN_", "NUMBA_CACHE"))}
    env.update(HOME=str(home), PYTHONPATH=str(site), TMPDIR=str(tmp), NUMBA_NUM_THREADS="1")
    try:
        out = subprocess.run([*_without_privilege(), sys.executable, "-c", CODE], env=env, capture_output=True,
                             text=True, timeout=900, cwd=tmp)
    finally:
        for root, dirs, _ in os.walk(tmp_path):
            os.chmod(root, 0o755)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    assert doc["file"].startswith(str(site))  # the read-only copy ran, not the development tree
    warnings = [ln for ln in out.stderr.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "not writable" in warnings[0] and str(tmp) in warnings[0]
    net = es.Network.feedforward([np.array([[2.5, 2.0, 1.8], [1.5, 2.2, 2.9]]), np.array([[1.2], [1.0], [1.1]])])
    expected = es.simulate("lif", net, [[0.1, 0.6], [0.3]], 6.0).spike_time
    assert np.array_equal(np.array(doc["spikes"]), expected)
