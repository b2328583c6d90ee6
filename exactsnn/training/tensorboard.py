"""TensorBoard scalars of a training run (``exactsnn train ... --tensorboard DIR``; optional: tensorboardX).

One event per epoch and metric, at step = epoch: ``loss/train``, ``loss/validation``, ``loss/test``,
``accuracy/train``, ``accuracy/validation``, ``accuracy/test`` (fractions in [0, 1]), ``lr`` and ``bumps`` (silent
neurons bumped so far), the same numbers as the run's ``metrics.csv`` row. Epochs without evaluation have no
validation/test points. View with ``tensorboard --logdir DIR``.
"""

from __future__ import annotations

from ..errors import InvalidInputError

#: metrics.csv column -> TensorBoard tag
TAGS = {"train_loss": "loss/train", "validation_loss": "loss/validation", "test_loss": "loss/test",
        "train_accuracy": "accuracy/train", "validation_accuracy": "accuracy/validation",
        "test_accuracy": "accuracy/test", "lr": "lr", "bumps": "bumps"}


class TensorBoardLog:
    """Writes each epoch's row of the training history as TensorBoard scalars into ``log_dir``."""

    def __init__(self, log_dir):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise InvalidInputError(f"--tensorboard {log_dir}: TensorBoard logging needs tensorboardX "
                                    "(pip install 'exactsnn[tensorboard]' or pip install tensorboardX)") from None
        self.writer = SummaryWriter(logdir=str(log_dir))

    def epoch(self, row: dict):
        """Add the row's metrics at step ``row['epoch']`` and flush, so the file is current as the run goes."""
        for key, tag in TAGS.items():
            value = row.get(key)
            if value is not None:
                self.writer.add_scalar(tag, float(value), int(row["epoch"]))
        self.writer.flush()

    def close(self):
        self.writer.close()
