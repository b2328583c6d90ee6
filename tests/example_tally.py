"""Counts of hypothesis examples that really reached their assertions (not assumed away).

A property test whose strategy mostly produces degenerate cases (silent networks, ill-conditioned
spikes) passes without checking anything. Each property test here is an outer pytest function that runs
an inner ``@given`` function and then calls ``TALLY.require(name, minimum)``: the inner function calls
``TALLY.generated(name)`` first and ``TALLY.checked(name)`` after its assertions; ``hypothesis.assume``
in between discards an example (which then counts as generated, not checked).
"""

from collections import Counter


class Tally:
    """Per-test counters: examples generated, and examples checked."""

    def __init__(self):
        self.n_generated = Counter()
        self.n_checked = Counter()

    def reset(self, name):
        self.n_generated[name] = self.n_checked[name] = 0

    def generated(self, name):
        self.n_generated[name] += 1

    def checked(self, name):
        self.n_checked[name] += 1

    def require(self, name, minimum):
        """Fail unless at least ``minimum`` (a share in [0, 1]) of the generated examples were checked."""
        g, c = self.n_generated[name], self.n_checked[name]
        assert g > 0, f"{name}: no example was generated"
        print(f"\n{name}: {c} of {g} generated examples checked ({c / g:.0%}; minimum {minimum:.0%})")
        assert c / g >= minimum, (f"{name}: only {c} of {g} generated examples were checked ({c / g:.0%} < "
                                  f"{minimum:.0%}): the strategy mostly produces cases the test assumes away")


TALLY = Tally()
