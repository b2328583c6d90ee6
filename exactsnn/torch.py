"""``import exactsnn.torch``: the PyTorch bridge; defined in ``exactsnn/interop/torch.py`` (the exact layer)
and ``exactsnn/interop/torch_losses.py`` (exactsnn's losses as single autograd nodes)."""
from .interop.torch import *  # noqa: F401,F403
from .interop.torch import __all__ as _layer_all
from .interop.torch_losses import *  # noqa: F401,F403
from .interop.torch_losses import __all__ as _loss_all

__all__ = [*_layer_all, *_loss_all]
