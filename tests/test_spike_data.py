"""Spike data files: (channel, time) arrays in npz/csv/json and NIR's event data, and their bad input."""

import json

import numpy as np
import pytest

from exactsnn.errors import InputSpikeError
from exactsnn.interop.spike_data import from_flat, read_spikes, to_flat, write_spikes

SPIKES = [[0.1, 0.35, 1.0 / 3.0 + 1.0], [], [0.2, 0.05]]  # channel 2 deliberately unsorted
EXPECT = [[0.1, 0.35, 1.0 / 3.0 + 1.0], [], [0.05, 0.2]]


def _equal(read, expect):
    return len(read) == len(expect) and all(np.array_equal(a, np.asarray(b, float)) for a, b in zip(read, expect))


@pytest.mark.parametrize("ext", [".npz", ".csv", ".json", ".h5"])
def test_write_read_roundtrip_is_exact(tmp_path, ext):
    path = tmp_path / f"spikes{ext}"
    write_spikes(path, SPIKES, t_max=2.5)
    data = read_spikes(path, n_channels=3)
    assert _equal(data.spikes, EXPECT)
    assert data.t_max == (None if ext == ".csv" else 2.5)


def test_flat_form_and_case_lists(tmp_path):
    ch, t = to_flat(SPIKES)
    assert ch.tolist() == [2, 0, 2, 0, 0] and t.tolist() == sorted(t.tolist())
    assert _equal(from_flat(ch, t, 4), EXPECT + [[]])
    (tmp_path / "case.json").write_text(json.dumps({"inputs": EXPECT, "t_max": 3.0}))
    data = read_spikes(tmp_path / "case.json")
    assert _equal(data.spikes, EXPECT) and data.t_max == 3.0


def test_nir_event_data_written_by_nir(tmp_path):
    """A file written with nir's own API (two samples, -1/inf padding) reads back per sample."""
    nir = pytest.importorskip("nir")
    ev = nir.EventData(np.array([[1, 0, -1], [2, 2, 0]]), np.array([[0.5, 0.25, np.inf], [0.1, 0.3, 0.2]]), 3, 1.0)
    nir.write_data(str(tmp_path / "d.h5"), nir.NIRGraphData({"input": nir.NIRNodeData({"spikes": ev})}))
    assert _equal(read_spikes(tmp_path / "d.h5").spikes, [[0.25], [0.5], []])
    assert _equal(read_spikes(tmp_path / "d.h5", sample=1).spikes, [[0.2], [], [0.1, 0.3]])
    with pytest.raises(InputSpikeError, match="sample 2"):
        read_spikes(tmp_path / "d.h5", sample=2)
    with pytest.raises(InputSpikeError, match="no observable 'v'"):
        read_spikes(tmp_path / "d.h5", observable="v")


@pytest.mark.parametrize("text, words", [
    ("channel,time\n0,0.1\n1,nan\n", "time[1] = nan"),
    ("channel,time\n0,-0.1\n", "time[0] = -0.1"),
    ("channel,time\n1.5,0.1\n", "channel[0] = 1.5"),
    ("chan,t\n0,0.1\n", "header"),
    ("channel,time\n0,0.1,3\n", "line 2"),
    ("channel,time\n7,0.1\n", "outside the 3 channels"),
])
def test_bad_csv(tmp_path, text, words):
    (tmp_path / "s.csv").write_text(text)
    with pytest.raises(InputSpikeError) as err:
        read_spikes(tmp_path / "s.csv", n_channels=3)
    assert words in str(err.value)


def test_bad_files(tmp_path):
    with pytest.raises(InputSpikeError, match="unknown extension"):
        read_spikes(tmp_path / "s.txt")
    with pytest.raises(InputSpikeError, match="does not exist"):
        read_spikes(tmp_path / "missing.npz")
    (tmp_path / "s.json").write_text('{"channel": [0, 1], "time": [0.1]}')
    with pytest.raises(InputSpikeError, match="2 entries but 'time' has 1"):
        read_spikes(tmp_path / "s.json")
    (tmp_path / "s.h5").write_text("not hdf5")
    with pytest.raises(InputSpikeError, match="cannot read NIR graph data"):
        read_spikes(tmp_path / "s.h5")
