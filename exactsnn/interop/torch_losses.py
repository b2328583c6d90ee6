"""exactsnn's first-spike losses (``exactsnn.losses.Loss`` kinds) as single torch autograd nodes.

A loss written in torch (``log_softmax``, indexing, ``exp``, ``mean``) is 7-12 autograd nodes; each costs
tens of microseconds right after a simulation has evicted the caches. Here the loss of a whole batch is
ONE ``autograd.Function``: its forward computes every row's loss and ``dL/dt`` in one numba call of the
same ``loss_and_grad`` that ``batch_loss_grad`` runs (so the per-row values and derivatives are
``batch_loss_grad``'s and ``loss_value_and_dt``'s bit for bit), its backward only scales them.

For first spike times ``t`` (B, n_out), labels ``k`` and a silent mask ``s``:

- ``first_spike_sum``:     ``L_b = sum_o t_bo``,  ``dL_b/dt_bo = 1``
- ``ttfs_cross_entropy``:  ``L_b = -log softmax(-t_b / tau0)[k_b] + gamma (exp(t_bk_b / tau1) - 1)``,
  ``dL_b/dt_bo = (delta_ok_b - softmax(-t_b / tau0)_o) / tau0 + delta_ok_b gamma exp(t_bk_b / tau1) / tau1``

and ``dL_b/dt_bo = 0`` where ``s_bo`` (a silent output reports ``t_max`` and passes no gradient: exactsnn's
convention; the value still counts ``t_max``). Reduction ``"mean"`` (default) returns ``mean_b L_b``, what
``exactsnn train`` reports and descends (``Trainer.step`` averages the per-sample gradients of
``batch_loss_grad``); ``"sum"`` and ``"none"`` (the (B,) losses) as in torch's losses. The trainer's step
also zeroes samples whose label output is silent and optionally clips per-sample gradients: those are
training policies, not part of the loss.
"""

from __future__ import annotations

import numpy as np
import torch
from numba import njit

from ..errors import InvalidInputError
from ..losses import KINDS, Loss
from ..numeric.losses_nb import LOSS_TTFS_CROSS_ENTROPY, loss_and_grad
from .torch import _numpy, _plain, check_tensor

REDUCTIONS = ("mean", "sum", "none")
_INTEGER = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


OK, BAD_TIME, BAD_LABEL, OVERFLOW = 0, 1, 2, 3  # _rows' status codes


@njit(cache=True)
def _rows(kind, t, silent, labels, tau0, tau1, gamma, scale, losses, dl_dt):
    """``losses[b] = loss_and_grad(row b)``, ``dl_dt[b] = dL_b/dt_b / scale``; a status code (``OK``, or
    ``BAD_TIME`` for a non-finite time, ``BAD_LABEL`` for a label outside [0, n_out), ``OVERFLOW``)."""
    n_out = t.shape[1]
    for b in range(t.shape[0]):
        for o in range(n_out):
            if not abs(t[b, o]) <= 1.7976931348623157e308:
                return BAD_TIME
        if kind == LOSS_TTFS_CROSS_ENTROPY and not 0 <= labels[b] < n_out:
            return BAD_LABEL
    for b in range(t.shape[0]):
        losses[b] = loss_and_grad(kind, t[b], silent[b], labels[b], tau0, tau1, gamma, dl_dt[b])
        if not abs(losses[b]) <= 1.7976931348623157e308:
            return OVERFLOW
        for o in range(n_out):
            if scale != 1.0:
                dl_dt[b, o] /= scale
            if not abs(dl_dt[b, o]) <= 1.7976931348623157e308:
                return OVERFLOW
    return OK


class ExactLossFunction(torch.autograd.Function):
    """One node: the loss of a batch forward (``value``, computed with ``dl_dt = dL/dt`` by ``_rows`` in
    numba before the node is made), ``dL/dt`` times the incoming gradient backward.

    Call through ``ttfs_cross_entropy``, ``first_spike_sum`` or ``spike_loss`` (they check the arguments).
    """

    @staticmethod
    def forward(ctx, t_first, value, dl_dt, like):
        ctx.dl_dt, ctx.like = dl_dt, like
        out = torch.from_numpy(value)  # (B,) losses or their 0-d mean or sum
        return out if like is None else out.to(like[0])

    @staticmethod
    def backward(ctx, g):
        dl_dt = ctx.dl_dt
        if g.dim() == 0:
            gv = float(g)
            grad = torch.from_numpy(dl_dt if gv == 1.0 else dl_dt * gv)
        else:  # reduction "none": one incoming gradient per row
            grad = torch.from_numpy(dl_dt * _numpy(g)[:, None])
        if ctx.like is not None:
            grad = grad.to(dtype=ctx.like[0], device=ctx.like[1])
        return grad, None, None, None


def _labels(labels, n_b: int) -> np.ndarray:
    """Integer class indices (B,) as int64 numpy (their range is checked by ``_rows``), or an error."""
    if not isinstance(labels, torch.Tensor):
        raise InvalidInputError(f"labels must be a torch.Tensor of integer class indices, got {type(labels).__name__}")
    if labels.dtype not in _INTEGER:
        raise InvalidInputError(f"labels has dtype {labels.dtype}; class indices must be an integer tensor "
                                "(torch.int64, as for torch.nn.functional.cross_entropy)")
    if labels.shape != (n_b,):
        raise InvalidInputError(f"labels has shape {tuple(labels.shape)}; expected ({n_b},), one per row of t_first")
    if labels.dtype != torch.int64 or not labels.is_cpu:
        labels = labels.to("cpu", torch.int64)
    return labels.numpy()


def _silent(silent, shape: tuple) -> np.ndarray:
    """The silent mask as bool numpy of ``shape`` (all False when None), or an error naming ``silent``."""
    if silent is None:
        return np.zeros(shape, np.bool_)
    if not isinstance(silent, torch.Tensor) or silent.dtype != torch.bool:
        what = silent.dtype if isinstance(silent, torch.Tensor) else type(silent).__name__
        raise InvalidInputError(f"silent must be a torch.bool tensor (SpikeOutput.silent), got {what}")
    if tuple(silent.shape) != shape:
        raise InvalidInputError(f"silent has shape {tuple(silent.shape)}; expected {shape}, the shape of t_first")
    return silent.numpy() if silent.is_cpu else silent.cpu().numpy()


def _refuse(status, kind, t, lab, tau1, gamma):
    """The error for a status of ``_rows`` that is not ``OK``, naming the argument and the entry."""
    if status == BAD_TIME:
        b, o = np.argwhere(~np.isfinite(t))[0]
        raise InvalidInputError(f"t_first[{b}, {o}] = {float(t[b, o])!r}: first spike times must be finite "
                                "(a silent output reports t_max)")
    if status == BAD_LABEL:
        b = np.flatnonzero((lab < 0) | (lab >= t.shape[1]))[0]
        raise InvalidInputError(f"labels[{b}] = {int(lab[b])}: class indices must be in [0, {t.shape[1]})")
    raise InvalidInputError(f"the {kind} loss overflowed (tau1 = {tau1}, gamma = {gamma}): gamma * exp(t / tau1) "
                            "exceeds float64 for the label's spike time (t_max if silent); raise tau1")


def _loss(kind, t_first, labels, silent, tau0, tau1, gamma, reduction, allow_cast, checked=False) -> torch.Tensor:
    """Check the arguments, compute every row (``_rows``), then one ``ExactLossFunction`` node.

    The mean is numpy's (``np.add.reduce(L) / B``, as ``np.mean``: the trainer's reported loss bit for bit).
    """
    if reduction not in REDUCTIONS:
        raise InvalidInputError(f"reduction = {reduction!r} is unknown; allowed: {list(REDUCTIONS)}")
    if not checked:
        try:  # the same checks and messages as exactsnn's Loss, as an InvalidInputError
            Loss(kind, tau0=tau0, tau1=tau1, gamma=gamma)
        except ValueError as e:
            raise InvalidInputError(str(e)) from None
    plain = _plain(t_first, None)
    if not plain or t_first.dim() != 2:
        check_tensor(t_first, "t_first", (None, None), allow_cast)
    n_b, n_out = t_first.shape
    if n_b < 1 or n_out < 1:
        raise InvalidInputError(f"t_first has shape {tuple(t_first.shape)}; expected (B, n_out) with B, n_out >= 1")
    t = _numpy(t_first)
    lab = np.zeros(n_b, np.int64) if labels is None else _labels(labels, n_b)  # first_spike_sum reads none
    losses, dl_dt = np.empty(n_b), np.empty((n_b, n_out))
    status = _rows(KINDS[kind], t, _silent(silent, (n_b, n_out)), lab, float(tau0), float(tau1), float(gamma),
                   float(n_b) if reduction == "mean" else 1.0, losses, dl_dt)  # dL/dt of the mean: dL_b/dt / B
    if status != OK:
        _refuse(status, kind, t, lab, tau1, gamma)
    if reduction != "none":
        total = np.add.reduce(losses)
        losses = np.asarray(total / n_b if reduction == "mean" else total)
    return ExactLossFunction.apply(t_first, losses, dl_dt, None if plain else (t_first.dtype, t_first.device))


def ttfs_cross_entropy(t_first, labels, silent=None, *, tau0: float = 0.2, tau1: float = 1.0, gamma: float = 0.005,
                       reduction: str = "mean", allow_cast: bool = False) -> torch.Tensor:
    """Göltz et al.'s TTFS cross-entropy of first spike times, one autograd node.

    ``L_b = -log softmax(-t_b / tau0)[k_b] + gamma (exp(t_{b,k_b} / tau1) - 1)``, equal to exactsnn's
    ``Loss("ttfs_cross_entropy", tau0=tau0, tau1=tau1, gamma=gamma)`` (the defaults are ``Loss``'s; the
    trainer's recipe is ``TrainConfig().loss``: tau0 0.05, tau1 6.4, gamma 0.003).

    Parameters
    ----------
    t_first : (B, n_out) float64 tensor
        First output spike times (``SpikeOutput.t_first``: ``t_max`` where silent); finite.
    labels : (B,) integer tensor
        Class index ``k_b`` in ``[0, n_out)`` per row.
    silent : (B, n_out) bool tensor, optional
        ``SpikeOutput.silent``: those entries get ``dL/dt = 0`` (their values still count). None: none silent.
    tau0, tau1 : float > 0;  gamma : finite float (negative allowed)
    reduction : {"mean", "sum", "none"}
        ``"mean"``: ``mean_b L_b`` (the trainer's), ``"sum"``, or the (B,) losses.
    allow_cast : bool
        Accept a non-float64 or non-CPU ``t_first`` (computed in float64 on the CPU, cast back).

    Returns
    -------
    torch.Tensor
        A 0-dim tensor, or (B,) for ``reduction="none"``; its gradient with respect to ``t_first`` is
        ``dL_b/dt_bo = (delta_{o,k_b} - softmax(-t_b/tau0)_o) / tau0 + delta_{o,k_b} gamma exp(t_{b,k_b}/tau1) / tau1``
        (divided by B for the mean; 0 where silent).
    """
    if labels is None:
        raise InvalidInputError("labels is required by ttfs_cross_entropy: a (B,) integer tensor of class indices")
    return _loss("ttfs_cross_entropy", t_first, labels, silent, tau0, tau1, gamma, reduction, allow_cast)


def first_spike_sum(t_first, silent=None, *, reduction: str = "mean", allow_cast: bool = False) -> torch.Tensor:
    """``L_b = sum_o t_bo``, one autograd node; ``dL_b/dt_bo = 1`` (divided by B for the mean; 0 where silent).

    Equal to exactsnn's ``Loss("first_spike_sum")``. Arguments as in ``ttfs_cross_entropy``.
    """
    return _loss("first_spike_sum", t_first, None, silent, 0.2, 1.0, 0.005, reduction, allow_cast)


def spike_loss(out, loss: Loss, labels=None, *, reduction: str = "mean", allow_cast: bool = False) -> torch.Tensor:
    """exactsnn's ``loss`` (a ``exactsnn.losses.Loss``) of a layer's ``SpikeOutput`` ``out``, one autograd node.

    ``labels`` (B,) override ``loss.label`` as in ``batch_loss_grad``; ``out.silent`` passes no gradient.
    ``spike_loss(layer(x), TrainConfig().loss, labels)`` is the loss ``exactsnn train`` descends.
    """
    if not isinstance(loss, Loss):
        raise InvalidInputError(f"loss must be an exactsnn.losses.Loss, got {type(loss).__name__}")
    if labels is None and loss.kind == "ttfs_cross_entropy":
        labels = torch.full((out.t_first.shape[0],), loss.label, dtype=torch.int64)
    if loss.kind == "first_spike_sum":
        labels = None
    return _loss(loss.kind, out.t_first, labels, out.silent, loss.tau0, loss.tau1, loss.gamma, reduction, allow_cast,
                 checked=True)


__all__ = ["ExactLossFunction", "ttfs_cross_entropy", "first_spike_sum", "spike_loss"]
