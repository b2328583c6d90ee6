"""A wall-clock bound on symbolic work that could otherwise hang (SymPy limits and simplification of a
user's formula).

Uses ``SIGALRM`` (POSIX, main thread only). Elsewhere, or inside another active bound, the block
runs unbounded: the bound is a guard against a hang on hostile input, not a scheduler.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from .errors import ModelError


@contextmanager
def time_bound(seconds: float, what: str):
    """Raise ``ModelError`` naming ``what`` if the block runs longer than ``seconds``."""
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def expired(signum, frame):
        raise ModelError(f"{what} took longer than {seconds:g} s and was stopped; simplify the formula "
                         "(SymPy could not decide it in time)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
