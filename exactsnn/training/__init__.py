"""Training spiking classifiers with exact gradients: datasets, Adam, the training loop, figures.

    from exactsnn.training import config_for, train, train_to_folder, load
    result = train(config_for("yinyang", epochs=50, seed=1))
    result.test_accuracy, result.metrics()
    train_to_folder(config_for("xor", epochs=20), "runs/xor")   # metrics, weights, checkpoints
    model = load("runs/xor")                                    # every trained block, the recipe
    model.evaluate("test").accuracy
    train(config_for("memory"))                                 # recurrent hidden layer (TrainConfig.recurrent)
"""

from .datasets import Dataset, digits, iris, xor, yinyang
from .memory_task import memory
from .trainer import TASKS, TrainConfig, TrainResult, Trainer, config_for, predict, train


def __getattr__(name):
    # the saving/loading modules import lazily (they are not needed to train in memory)
    if name in ("load", "TrainedModel", "save_model"):
        from . import saved

        return getattr(saved, name)
    if name == "train_to_folder":
        from .command import train_to_folder

        return train_to_folder
    if name == "resume":
        from .checkpoint import resume

        return resume
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Dataset", "digits", "iris", "memory", "xor", "yinyang", "TASKS", "TrainConfig", "TrainResult", "Trainer", "config_for",
           "predict", "train", "train_to_folder", "load", "TrainedModel", "save_model", "resume"]
