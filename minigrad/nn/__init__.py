"""`minigrad.nn`: layers and models, with the names and weight layouts of `torch.nn`."""
from . import functional, init, utils
from .layers import (Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential,
                     Sigmoid, Tanh)
from .module import Module, Parameter

__all__ = ["functional", "init", "utils", "Module", "Parameter", "Linear", "Conv2d", "MaxPool2d", "ReLU",
           "Tanh", "Sigmoid", "Flatten", "Dropout", "Sequential"]
