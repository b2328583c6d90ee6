"""Every status code of the numeric path, once, with its message (the pattern of diffrax's ``RESULTS``).

Jitted code returns these integers (numba folds module-level ints into constants); the Python wrappers
(``simulate``, ``batch_loss_grad``, the bridges) turn a non-zero code into an exception with
:func:`message`, which fills in the context the engine reports (neuron, time, pattern).
"""

OK = 0
SPIKE_BUDGET = 1
ABOVE_AFTER_RESET = 2
UNSUPPORTED = 3
BOX_BUDGET = 4
DOMAIN = 5

#: code -> (name, message template); the template may use {max_spikes}, {neuron}, {time}.
MESSAGES = {
    OK: ("OK", "no error"),
    SPIKE_BUDGET: ("SPIKE_BUDGET", "the network emitted more than max_spikes={max_spikes} spikes (the next: neuron "
                                   "{neuron} at t={time}); raise max_spikes or check for runaway excitation"),
    ABOVE_AFTER_RESET: ("ABOVE_AFTER_RESET", "neuron {neuron} is still at or above threshold right after its spike "
                                             "at t={time}: the reset must bring V below threshold (reset(0+) > 0)"),
    UNSUPPORTED: ("UNSUPPORTED", "the exponential-sum crossing finder met a potential with more than one critical "
                                 "point at neuron {neuron}, t={time} (internal error: the derivation should have "
                                 "chosen the interval strategy)"),
    BOX_BUDGET: ("BOX_BUDGET", "interval root isolation exceeded its box budget for neuron {neuron}, searching for "
                               "its next crossing from t={time} (a near-tangent crossing); perturb the parameters "
                               "slightly"),
    DOMAIN: ("DOMAIN", "a special function was called outside its domain (Lambert W below -1/e) at neuron "
                       "{neuron}, t={time}"),
}


def message(code: int, max_spikes="?", neuron="?", time="?", pattern=None) -> str:
    """The message of status ``code`` with its context; ``pattern`` prefixes a batch run's failing pattern."""
    name, text = MESSAGES.get(int(code), (f"STATUS_{int(code)}", "unknown engine status {code}"))
    shown_time = f"{time!r}" if isinstance(time, float) else str(time)
    body = text.format(max_spikes=max_spikes, neuron=neuron, time=shown_time, code=int(code))
    return (f"pattern {pattern}: " if pattern is not None else "") + f"{body} [{name}]"
