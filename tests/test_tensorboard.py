"""`exactsnn train --tensorboard DIR` writes one TensorBoard scalar per metric and epoch, equal to metrics.csv."""

import csv
import struct

import numpy as np
import pytest

event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")

from exactsnn.cli import main  # noqa: E402
from exactsnn.training.tensorboard import TAGS  # noqa: E402


def read_scalars(folder):
    """{tag: {step: value}} from the TFRecord event files in ``folder`` (length, crc, event proto, crc)."""
    out = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + n])
            pos += 12 + n + 4
            for v in event.summary.value:
                out.setdefault(v.tag, {})[event.step] = v.simple_value
    return out


def test_train_writes_tensorboard_scalars_equal_to_metrics_csv(tmp_path):
    board = tmp_path / "tb"
    status = main(["train", "xor", "--epochs", "4", "--hidden", "6", "--no-figures", "--quiet",
                   "--out", str(tmp_path / "run"), "--tensorboard", str(board)])
    assert status == 0
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    scalars = read_scalars(board)
    assert len(rows) == 4 and set(scalars) == {t for k, t in TAGS.items() if rows[0][k] != ""}
    for key, tag in TAGS.items():
        expected = {int(r["epoch"]): float(r[key]) for r in rows if r[key] != ""}
        got = scalars.get(tag, {})
        assert sorted(got) == sorted(expected), tag
        np.testing.assert_allclose([got[e] for e in sorted(got)], [expected[e] for e in sorted(expected)],
                                   rtol=1e-7, err_msg=tag)  # stored as float32


def test_tensorboard_without_tensorboardx_is_a_clear_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tbx(name, *args, **kwargs):
        if name.startswith("tensorboardX"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tbx)
    from exactsnn.errors import InvalidInputError
    from exactsnn.training.tensorboard import TensorBoardLog

    with pytest.raises(InvalidInputError, match="tensorboardX"):
        TensorBoardLog(tmp_path)
