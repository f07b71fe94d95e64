"""Training end to end: the loop, metrics, history, checkpoints and exact resume."""
from .history import EpochRecord, plot_history, save_history
from .trainer import (TrainConfig, Trainer, evaluate, load_dataset, make_loss, make_optimizer)

__all__ = ["EpochRecord", "TrainConfig", "Trainer", "evaluate", "load_dataset", "make_loss",
           "make_optimizer", "plot_history", "save_history"]
