"""A NIR graph plus a spike file as an exactsnn ``Case``: what the CLI runs for ``CASE.nir --inputs FILE``."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CaseFormatError, NIRError


def case_from_nir(graph_path, inputs_path, t_max=None, loss=None, spike_area: float = 1.0):
    """``Case`` (model, parameters, network, inputs, t_max, loss) from a ``.nir`` file and a spike file.

    Parameters
    ----------
    graph_path : path of a ``.nir`` file
    inputs_path : path of a spike file (``exactsnn.interop.spike_data`` formats)
    t_max : float, optional
        End of the window; default: the spike file's ``t_max``.
    loss : dict, JSON text or path, optional
        A case-format loss object.
    spike_area : float
        As in ``from_nir``.
    """
    from ..io.case import Case, parse_loss
    from ..network import validate_t_max
    from .nir_import import from_nir
    from .spike_data import read_spikes

    imp = from_nir(graph_path, spike_area=spike_area)
    if imp.populations is not None:
        raise NIRError(f"{graph_path}: its neurons have {int(imp.populations.max()) + 1} different parameter sets; "
                       f"a case holds one. Use the Python API: exactsnn.interop.from_nir(path).simulate(...)")
    data = read_spikes(inputs_path, n_channels=imp.network.n_inputs)
    if t_max is None and data.t_max is None:
        raise CaseFormatError(f"{inputs_path} gives no t_max; pass --t-max")
    t_max = validate_t_max(data.t_max if t_max is None else t_max)
    try:
        loss_obj = parse_loss(_loss_doc(loss)) if loss is not None else None
        if loss_obj is not None:
            loss_obj.check_outputs(imp.network.outputs.size)
    except CaseFormatError:
        raise
    except ValueError as exc:  # Loss validation
        raise CaseFormatError(str(exc)) from None
    return Case(imp.model, dict(imp.params), imp.network, [s.tolist() for s in data.spikes], t_max, loss_obj, {})


def _loss_doc(loss):
    if isinstance(loss, dict):
        return loss
    text = str(loss)
    if not text.lstrip().startswith("{"):
        try:
            text = Path(text).read_text()
        except OSError as exc:
            raise CaseFormatError(f"cannot read loss file {loss}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFormatError(f"loss is not valid JSON: {exc}") from None
