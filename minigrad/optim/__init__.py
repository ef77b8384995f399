"""Optimizers that update parameters in place from their `.grad`, as `torch.optim` does.

The update rules follow PyTorch's documentation exactly, so from the same weights and
gradients minigrad and PyTorch take the same steps. One file per rule; each keeps its
GPU kernels (`ElementwiseKernel`s with a NumPy reference) next to the optimizer they
serve. `lr_scheduler` changes the learning rates of an optimizer's groups as it trains.
"""
from . import lr_scheduler
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_amsgrad_update, adam_update
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD, sgd_momentum_full_update, sgd_momentum_update, sgd_update

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler",
           # the fused update kernels behind the optimizers (lesson 11 times and emulates them)
           "sgd_update", "sgd_momentum_update", "sgd_momentum_full_update", "adam_update",
           "adam_amsgrad_update", "adagrad_update"]
