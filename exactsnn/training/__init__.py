"""Training spiking classifiers with exact gradients: datasets, Adam, the training loop, figures.

    from exactsnn.training import config_for, train
    result = train(config_for("yinyang", epochs=50, seed=1))
    result.test_accuracy, result.metrics()
"""

from .datasets import Dataset, iris, xor, yinyang
from .trainer import TASKS, TrainConfig, TrainResult, Trainer, config_for, predict, train

__all__ = ["Dataset", "iris", "xor", "yinyang", "TASKS", "TrainConfig", "TrainResult", "Trainer", "config_for",
           "predict", "train"]
