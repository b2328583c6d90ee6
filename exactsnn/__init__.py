"""exactsnn: exact gradients of spiking neural networks."""

__version__ = "0.1.0"
