"""``import exactsnn.torch``: the PyTorch bridge; everything is defined in ``exactsnn/interop/torch.py``."""
from .interop.torch import *  # noqa: F401,F403
from .interop.torch import __all__  # noqa: F401
