"""Where a campaign's cases come from: a folder of case files, or a seeded generator of random networks.

A source is a list of ``(case_id, text)`` pairs: ``text`` is the case as JSON (``exactsnn-case/1``),
small enough to travel to a worker and to be stored beside its record, so that a flagged case can be
written out for reproduction. The generator never touches the engine: it only draws numbers.

Random networks (``GeneratorSpec``) follow the property tests (tests/test_properties.py): for the
``lif`` model, time constants ``tau_syn ~ U(tau_syn)``, ``tau_mem ~ U(tau_mem)`` (``equal_tau_share``
of the networks get ``tau_syn = tau_mem``), ``threshold ~ U(threshold)``; weights are drawn in units of
``theta / max_s h(s)`` (one such input just reaches threshold), so that silent, single- and multi-spike
neurons all occur. Network ``seed`` is built from ``np.random.default_rng(seed)`` alone, so a case is
the same on every machine and in every run.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError

GENERATOR_MODELS = ("lif",)
NETWORK_KINDS = ("feedforward", "recurrent")


@dataclass(frozen=True)
class GeneratorSpec:
    """Random ``lif`` networks, one per seed in ``seeds`` (feed-forward or recurrent, multi-spike).

    Ranges are ``(low, high)`` of a uniform draw; integer ranges are inclusive.

    Attributes
    ----------
    seeds : tuple of int
        One network per seed (``np.random.default_rng(seed)``); the case id is ``"<model>-<seed>"``.
    kinds : tuple of str
        Network kinds to draw from (``"feedforward"``, ``"recurrent"``).
    n_inputs, n_hidden, n_outputs, n_recurrent : (int, int)
        Sizes: input channels; feed-forward hidden and output layer; recurrent population.
    weight_in, weight_out, weight_rec : (float, float)
        Weights in units of ``theta / max_s h(s)``: into the first layer (or the population), into
        the output layer, and recurrent.
    n_input_spikes : (int, int)
        Spikes per input channel, at times ``~ U(0, input_window)``.
    t_max : (float, float)
    loss : bool
        Attach ``first_spike_sum`` so the adjoint's loss gradient is checked too.
    """

    seeds: tuple = tuple(range(10))
    model: str = "lif"
    kinds: tuple = NETWORK_KINDS
    n_inputs: tuple = (1, 2)
    n_hidden: tuple = (1, 3)
    n_outputs: tuple = (1, 2)
    n_recurrent: tuple = (2, 3)
    weight_in: tuple = (0.0, 2.5)
    weight_out: tuple = (-0.5, 2.5)
    weight_rec: tuple = (-1.0, 0.5)
    n_input_spikes: tuple = (1, 2)
    input_window: float = 1.0
    t_max: tuple = (1.5, 2.5)
    tau_syn: tuple = (0.3, 2.0)
    tau_mem: tuple = (0.5, 2.0)
    threshold: tuple = (0.5, 1.5)
    equal_tau_share: float = 0.2
    loss: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.model not in GENERATOR_MODELS:
            raise InvalidInputError(f"generator model = {self.model!r}; allowed {list(GENERATOR_MODELS)}")
        bad = [k for k in self.kinds if k not in NETWORK_KINDS]
        if bad or not self.kinds:
            raise InvalidInputError(f"generator kinds = {list(self.kinds)!r}; allowed a non-empty subset of "
                                    f"{list(NETWORK_KINDS)}")
        if not self.seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0
                                 for s in self.seeds):
            raise InvalidInputError(f"generator seeds = {list(self.seeds)[:5]!r}...: need non-negative integers")
        for name in ("n_inputs", "n_hidden", "n_outputs", "n_recurrent", "n_input_spikes", "t_max", "tau_syn",
                     "tau_mem", "threshold", "weight_in", "weight_out", "weight_rec"):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise InvalidInputError(f"generator {name} = {(lo, hi)!r}: need finite low <= high")
        if min(self.tau_syn[0], self.tau_mem[0], self.threshold[0], self.t_max[0]) <= 0 or self.n_inputs[0] < 1:
            raise InvalidInputError("generator tau_syn, tau_mem, threshold, t_max and n_inputs must be positive")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def lif_psp_peak(tau_syn: float, tau_mem: float) -> float:
    """``max_s h(s)`` of the lif psp ``h(s) = (e^{-s/ts} - e^{-s/tm}) / (1/tm - 1/ts)`` (``s e^{-s/tau}`` if equal).

    Notes
    -----
    ``h'(s*) = 0`` at ``s* = ln(tm/ts) / (1/ts - 1/tm)``; equal time constants give ``s* = tau``,
    ``h(s*) = tau/e``.
    """
    if tau_syn == tau_mem:
        return tau_mem / math.e
    s = math.log(tau_mem / tau_syn) / (1 / tau_syn - 1 / tau_mem)
    return (math.exp(-s / tau_syn) - math.exp(-s / tau_mem)) / (1 / tau_mem - 1 / tau_syn)


def random_case(spec: GeneratorSpec, seed: int) -> dict:
    """The case document of network ``seed`` of ``spec`` (a dict in the ``exactsnn-case/1`` format)."""
    rng = np.random.default_rng(seed)

    def uni(lo_hi, size=None):
        return rng.uniform(*lo_hi, size)

    def integer(lo_hi):
        return int(rng.integers(lo_hi[0], lo_hi[1] + 1))

    tau_syn, tau_mem, theta = float(uni(spec.tau_syn)), float(uni(spec.tau_mem)), float(uni(spec.threshold))
    if rng.random() < spec.equal_tau_share:
        tau_syn = tau_mem
    unit = theta / lif_psp_peak(tau_syn, tau_mem)
    n_in = integer(spec.n_inputs)
    inputs = [sorted(uni((0.0, spec.input_window), integer(spec.n_input_spikes)).tolist()) for _ in range(n_in)]
    kind = spec.kinds[int(rng.integers(len(spec.kinds)))]
    if kind == "feedforward":
        n_h, n_o = integer(spec.n_hidden), integer(spec.n_outputs)
        network = {"kind": kind, "weights": [(unit * uni(spec.weight_in, (n_in, n_h))).tolist(),
                                             (unit * uni(spec.weight_out, (n_h, n_o))).tolist()]}
    else:
        n = integer(spec.n_recurrent)
        network = {"kind": kind, "input_weights": (unit * uni(spec.weight_in, (n_in, n))).tolist(),
                   "weights": (unit * uni(spec.weight_rec, (n, n))).tolist(), "outputs": [n - 1],
                   "delays": uni((0.05, 0.3), (n, n)).tolist()}  # recurrent delays > 0: no instantaneous loop
    doc = {"format": "exactsnn-case/1",
           "model": {"name": "lif", "tau_syn": tau_syn, "tau_mem": tau_mem, "threshold": theta},
           "network": network, "inputs": inputs, "t_max": float(uni(spec.t_max))}
    if spec.loss:
        doc["loss"] = {"kind": "first_spike_sum"}
    return doc


def generated_cases(spec: GeneratorSpec) -> list:
    """``[(case_id, json_text), ...]``, one per seed, in seed order."""
    return [(f"{spec.model}-{int(s)}", json.dumps(random_case(spec, int(s)))) for s in spec.seeds]


CLAIMED_SUFFIX = ".claimed.json"


def folder_cases(folder) -> list:
    """``[(case_id, text), ...]`` of every ``*.json`` file in ``folder`` (not recursive), id = file stem.

    Files ending in ``.claimed.json`` are another implementation's answers (``claimed_text``), not cases.
    Files are read as text only; parsing happens in the task, so an invalid file becomes a failure
    record rather than stopping the campaign.
    """
    path = Path(folder)
    if not path.is_dir():
        raise InvalidInputError(f"campaign source {str(folder)!r} is not a folder of case files")
    files = sorted(p for p in path.glob("*.json") if p.is_file() and not p.name.endswith(CLAIMED_SUFFIX))
    if not files:
        raise InvalidInputError(f"campaign source {str(folder)!r} holds no *.json case files")
    return [(p.stem, p.read_text()) for p in files]


def claimed_text(folder, case_id: str):
    """The text of ``folder/<case_id>.claimed.json`` (an ``exactsnn-result/1`` document), or None."""
    path = Path(folder) / f"{case_id}{CLAIMED_SUFFIX}"
    return path.read_text() if path.is_file() else None


def model_sources(specs) -> list:
    """``[(case_id, json_text), ...]`` for ``check_model`` campaigns: one per built-in name or model file.

    A file's text travels with the task (workers need not see this file system): the record's case text
    is ``{"builtin": name}`` or ``{"file": name, "suffix": ".toml", "text": ...}``; id = name or file stem.
    """
    from ..compiled import BUILTIN_NAMES

    out = []
    for spec in specs:
        path = Path(str(spec))
        if str(spec) in BUILTIN_NAMES:
            out.append((str(spec), json.dumps({"builtin": str(spec)})))
        elif path.is_file():
            out.append((path.stem, json.dumps({"file": path.name, "suffix": path.suffix, "text": path.read_text()})))
        else:
            raise InvalidInputError(f"model {str(spec)!r} is neither a built-in {list(BUILTIN_NAMES)} nor a file")
    return out


def parse_seeds(text: str) -> tuple:
    """``"0-9"`` -> ``(0, ..., 9)``; ``"3,5,7"`` -> ``(3, 5, 7)``; ``"4"`` -> ``(4,)``; mixed: ``"0-2,7"``."""
    out = []
    try:
        for part in str(text).split(","):
            lo, _, hi = part.strip().partition("-")
            lo_i, hi_i = int(lo), int(hi) if hi else int(lo)
            if lo_i < 0 or hi_i < lo_i:
                raise ValueError
            out.extend(range(lo_i, hi_i + 1))
    except ValueError:
        raise InvalidInputError(f"seeds = {text!r}: expected non-negative integers or ranges like '0-99' or '1,5'")
    return tuple(dict.fromkeys(out))
