"""Training progress with ``tqdm``: a bar per batch on a terminal, one plain line per epoch otherwise.

On a terminal the bar counts batches over the whole run and shows the last epoch's numbers
(``loss``, ``train``/``val``/``test`` accuracy); redirected to a file, each epoch prints one line
``train yinyang epoch 12/60 loss 0.4100 train 91.2% val 90.8% 0:42``.
"""

from __future__ import annotations

import sys
import time


def _fmt(values: dict) -> str:
    parts = []
    for name, v in values.items():
        if v is not None:
            parts.append(f"{name} {100 * v:.1f}%" if name in ("train", "val", "test") else f"{name} {v:.4f}")
    return " ".join(parts)


class Progress:
    """Progress of ``epochs`` epochs of ``batches`` batches each; ``done`` epochs already trained (resume)."""

    def __init__(self, epochs: int, batches: int, label: str, enabled: bool = True, stream=None, done: int = 0):
        self.epochs, self.label, self.enabled = epochs, label, enabled
        self.stream = sys.stderr if stream is None else stream
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()
        self.bar = None
        if enabled and self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=epochs * batches, initial=done * batches, desc=f"{label} epoch {done}/{epochs}",
                            unit="batch", file=self.stream, dynamic_ncols=True)

    def batch(self):
        """One batch done."""
        if self.bar is not None:
            self.bar.update(1)

    def epoch(self, done: int, **values):
        """Epoch ``done`` (1-based) finished with ``values`` (loss, accuracies)."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_description(f"{self.label} epoch {done}/{self.epochs}", refresh=False)
            self.bar.set_postfix_str(_fmt(values))
            return
        secs = int(time.perf_counter() - self.t0)
        self.stream.write(f"{self.label} epoch {done}/{self.epochs} {_fmt(values)} {secs // 60}:{secs % 60:02d}\n")
        self.stream.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
