"""`minigrad.nn.functional`: the stateless building blocks of the layers in `minigrad.nn`."""
import math

import numpy as np

from ..backend import array_module
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


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return ops.GELU.apply(input, approximate=approximate)


def silu(input):
    return ops.SiLU.apply(input)


def softplus(input, beta=1.0, threshold=20.0):
    return ops.Softplus.apply(input, beta=beta, threshold=threshold)


def leaky_relu(input, negative_slope=0.01):
    return ops.LeakyReLU.apply(input, negative_slope=negative_slope)


def elu(input, alpha=1.0):
    return ops.ELU.apply(input, alpha=alpha)


def mish(input):
    return ops.Mish.apply(input)


def hardtanh(input, min_val=-1.0, max_val=1.0):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return ops.Hardtanh.apply(input, min_val=min_val, max_val=max_val)


def one_hot(tensor, num_classes=-1):
    """Class indices (int64) as rows of 0s with a 1 at the class (int64, like PyTorch)."""
    if tensor.data.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor")
    labels = tensor.data
    if labels.size and labels.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and labels.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor(array_module(labels).eye(num_classes, dtype=np.int64)[labels])


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad) // 2 dimensions: pad = (left, right, top, bottom, ...)."""
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding length must be even and at most twice the number of "
                         f"dimensions ({input.ndim}), got {len(pad)}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not one of constant, reflect, "
                                  "replicate, circular")
    padded = len(pad) // 2
    if mode != "constant" and input.ndim not in (padded + 1, padded + 2):
        # PyTorch's rule: these modes pad the last 1-3 dimensions of a (batch of) image(s)
        raise NotImplementedError(
            f"pad: padding size {len(pad)} is not supported for {input.ndim}D input in mode "
            f"{mode!r}; it pads the last {padded} dimension(s) of a {padded + 1}D or "
            f"{padded + 2}D input")
    return ops.Pad.apply(input, pad=tuple(pad), mode=mode, value=0.0 if value is None else value)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps), as PyTorch writes it."""
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T / sqrt(d) + mask) V, written with ordinary ops so that every step of
    attention is a node of the graph (GraphView draws them).

    attn_mask: a bool mask (True: may attend) or a float mask added to the scores;
    is_causal: position i attends to positions <= i only."""
    d = query.shape[-1]
    scores = query @ key.transpose(-2, -1) * (1 / math.sqrt(d) if scale is None else scale)
    L, S = query.shape[-2], key.shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: give attn_mask or is_causal, "
                               "not both")
        xp = array_module(query.data)
        attn_mask = Tensor(xp.tril(xp.ones((L, S), dtype=bool)))
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = scores.softmax(-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ value
