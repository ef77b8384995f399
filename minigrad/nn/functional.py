"""`minigrad.nn.functional`: the stateless building blocks of the layers in `minigrad.nn`."""
import numpy as np

from ..ops import conv, elementwise, nn as ops
from ..errors import shape_error
from ..tensor import Tensor


def linear(input, weight, bias=None):
    """input @ weight.T + bias, with weight of shape (out_features, in_features)."""
    return ops.Linear.apply(input, weight, bias)


def relu(input):
    return elementwise.ReLU.apply(input)


def tanh(input):
    return elementwise.Tanh.apply(input)


def sigmoid(input):
    return elementwise.Sigmoid.apply(input)


def softmax(input, dim):
    return ops.Softmax.apply(input, dim=dim)


def log_softmax(input, dim):
    return ops.LogSoftmax.apply(input, dim=dim)


def cross_entropy(input, target, reduction="mean"):
    """Softmax + negative log-likelihood of the target classes, computed stably.

    input: logits of shape (N, C); target: class indices of shape (N,), int64.
    """
    _check_reduction(reduction)
    target = _indices(target)
    if input.ndim != 2 or target.shape != (input.shape[0],):
        raise shape_error("cross_entropy", [input.shape, target.shape],
                          "expected logits of shape (N, C) and class indices of shape (N,)")
    if target.data.dtype.kind not in "iu":
        raise RuntimeError(f"cross_entropy: targets must be class indices of dtype int64, "
                           f"not {target.dtype}; convert them with .long()")
    return ops.CrossEntropy.apply(input, target, reduction=reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean (or sum, or each) of the squared differences; input and target of one shape."""
    _check_reduction(reduction)
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, input.data.dtype))
    if input.shape != target.shape:
        raise shape_error("mse_loss", [input.shape, target.shape],
                          "input and target must have the same shape")
    return ops.MSELoss.apply(input, target, reduction=reduction)


def conv2d(input, weight, bias=None, stride=1, padding=0):
    return conv.Conv2d.apply(input, weight, bias, stride=stride, padding=padding)


def max_pool2d(input, kernel_size, stride=None, padding=0):
    return conv.MaxPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding)


def dropout(input, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (in training)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    return ops.Dropout.apply(input, p)


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _indices(target):
    if isinstance(target, Tensor):
        return target
    return Tensor(np.asarray(target))
