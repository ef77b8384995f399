"""`minigrad.nn.functional`: the stateless building blocks of the layers in `minigrad.nn`."""
import math
import warnings

import numpy as np

from ..autograd import is_grad_enabled
from ..backend import array_module
from ..errors import ShapeError, shape_error
from ..ops import conv, elementwise, loss as loss_ops, nn as ops
from ..tensor import Tensor


def linear(input, weight, bias=None):
    """input @ weight.T + bias, with weight of shape (out_features, in_features)."""
    return ops.Linear.apply(input, weight, bias)


def relu(input, inplace=False):
    if inplace:
        return input.relu_()
    return elementwise.ReLU.apply(input)


def relu6(input, inplace=False):
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def tanh(input):
    return elementwise.Tanh.apply(input)


def sigmoid(input):
    return elementwise.Sigmoid.apply(input)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmax", input.ndim, _stacklevel)
    if dtype is not None:       # PyTorch casts first, then computes in that dtype
        input = input.to(dtype)
    return ops.Softmax.apply(input, dim=dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.ndim, _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return ops.LogSoftmax.apply(input, dim=dim)


def _get_softmax_dim(name, ndim, stacklevel):
    """PyTorch's legacy rule for softmax without dim: 0 for 0-, 1- and 3-d input, else 1."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                  "Change the call to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _maybe_inplace(input, inplace, op, **options):
    """op(input), or, when inplace, the same written into input (input.op_() in PyTorch):
    the tensor's memory changes, its version counter is bumped and autograd records it."""
    if inplace:
        return input._inplace(lambda old: op.apply(old, **options))
    return op.apply(input, **options)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Softmax + negative log-likelihood of the targets, computed stably.

    input: logits of shape (N, C), (N, C, d1, ...) or (C,). target: class indices (int64)
    of shape (N,), (N, d1, ...) or (), or class probabilities of the input's shape.
    weight: one per class; targets equal to ignore_index are left out; label_smoothing e
    replaces the target distribution t by (1 - e) t + e / C.
    """
    reduction = _loss_reduction(size_average, reduce, reduction)
    target = _indices(target)
    shape, target_data = input.data.shape, target.data    # arrays' shapes: plain tuples
    if (len(shape) == 2 and target_data.shape == shape[:1] and weight is None
            and target_data.dtype.type is np.int64 and label_smoothing <= 0.0
            and not 0 <= ignore_index < shape[1]):
        # the usual case: one fused op, with its own GPU kernels (it checks the targets'
        # range; a negative label_smoothing is ignored, as PyTorch does)
        return ops.CrossEntropy.apply(input, target, reduction=reduction,
                                      ignore_index=ignore_index)
    if label_smoothing > 1.0:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. "
                           f"Got: {label_smoothing}")
    if shape and target_data.shape == shape:
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction,
                                            label_smoothing)
    _check_class_target("cross_entropy", input, target)
    weight = _class_weight("cross_entropy", weight, input)
    smoothing = max(label_smoothing, 0.0)     # PyTorch ignores a negative one
    logp = log_softmax(input, 1 if input.ndim > 1 else 0)
    return _nll(logp, target, weight, reduction, ignore_index, smoothing)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean (or sum, or each) of the squared differences, times weight if given (then
    the mean divides by the sum of the weights); input and target of one shape."""
    reduction = _loss_reduction(size_average, reduce, reduction)
    target = _loss_target("mse_loss", input, target)
    if weight is not None:
        return _weighted(ops.MSELoss.apply(input, target, reduction="none"), weight, input,
                         reduction, by_weight=True)
    return ops.MSELoss.apply(input, target, reduction=reduction)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (in training)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input.mul_(0) if inplace else input * 0
    if inplace:
        return input._inplace(lambda old: ops.Dropout.apply(old, p))
    return ops.Dropout.apply(input, p)


def _indices(target):
    if isinstance(target, Tensor):
        return target
    return Tensor(np.asarray(target))


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, "
                           f"got {approximate!r}")
    return ops.GELU.apply(input, approximate=approximate)


def silu(input, inplace=False):
    return _maybe_inplace(input, inplace, ops.SiLU)


def softplus(input, beta=1.0, threshold=20.0):
    return ops.Softplus.apply(input, beta=beta, threshold=threshold)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _maybe_inplace(input, inplace, ops.LeakyReLU, negative_slope=negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return _maybe_inplace(input, inplace, ops.ELU, alpha=alpha)


def mish(input, inplace=False):
    return _maybe_inplace(input, inplace, ops.Mish)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, inplace, ops.Hardtanh, min_val=min_val, max_val=max_val)


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
    if attn_mask is not None:
        # as PyTorch: a query that may attend to no key gets zeros (not NaN), grads included
        dead = (scores == float("-inf")).all(-1, keepdim=True)
        weights = scores.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)
    else:
        weights = scores.softmax(-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ value


# ------------------------------------------------------------ normalization and embedding

def _norm_ops():
    from ..ops import embedding, norm
    return norm, embedding


def _same_dtype(op, input, *tensors):
    """PyTorch's normalizations refuse a weight or buffer of another dtype than the input."""
    if any(t is not None and t.dtype != input.dtype for t in tensors):
        dtypes = ", ".join(t.dtype.name for t in (input,) + tensors if t is not None)
        raise RuntimeError(f"{op}: mixed dtype: all inputs must share same datatype "
                           f"(got {dtypes}); convert the input or the module (.double())")


def _normalized_shape(input, normalized_shape, weight=None):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(normalized_shape)
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight.shape)} and normalized_shape = "
                           f"{list(shape)}")
    return tuple(range(input.ndim - len(shape), input.ndim))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize each sample over its last dimensions (normalized_shape), then scale by
    weight and shift by bias (both of shape normalized_shape)."""
    axes = _normalized_shape(input, normalized_shape, weight)
    if bias is not None and bias.shape != input.shape[axes[0]:]:
        raise RuntimeError(f"Expected bias to be of same shape as normalized_shape, but got "
                           f"bias of shape {list(bias.shape)} and normalized_shape = "
                           f"{list(input.shape[axes[0]:])}")
    _same_dtype("layer_norm", input, weight, bias)
    return _norm_ops()[0].LayerNorm.apply(input, weight, bias, axes=axes, eps=eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """input / sqrt(mean(input^2) + eps) over the last dimensions, times weight; eps=None
    is the machine epsilon of input's dtype, as in PyTorch."""
    axes = _normalized_shape(input, normalized_shape, weight)
    if eps is None:
        eps = float(np.finfo(input.data.dtype).eps)
    y = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dimension 1) over the batch and all positions.

    training: with the batch's mean and (biased) variance, and running_mean/running_var,
    if given, move towards the batch's mean and unbiased variance in place:
    running = (1 - momentum) * running + momentum * batch. Else with the running ones."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got "
                         f"{list(input.shape)}")
    c = input.shape[1]
    if training and input.numel() // c == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {list(input.shape)}")
    if eps < 0 or (training and eps == 0):
        raise ValueError(f"batch_norm eps must be {'positive' if training else 'non-negative'}"
                         f"{' during training' if training else ''}, but got {eps}")
    named = (("running_mean", running_mean), ("running_var", running_var),
             ("weight", weight), ("bias", bias))
    for name, t in named:
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    _same_dtype("batch_norm", input, *(t for _, t in named))
    shape = (c,) + (1,) * (input.ndim - 2)        # one value per channel, broadcast over x
    axes = (0,) + tuple(range(2, input.ndim))
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        # (x - mean) / sqrt(var + eps) * w + b as one scale and one shift per channel
        scale = (running_var + eps).rsqrt()
        if weight is not None:
            scale = scale * weight
        shift = -running_mean * scale if bias is None else bias - running_mean * scale
        return input * scale.reshape(shape) + shift.reshape(shape)
    if running_mean is not None or running_var is not None:
        from ..autograd import no_grad
        with no_grad():   # in place, so that the module's buffers (and a trace) see it
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(input.mean(axes) * momentum)
            if running_var is not None:     # unbiased (n - 1) here, biased to normalize
                running_var.mul_(1 - momentum).add_(input.var(axes, correction=1) * momentum)
    return _norm_ops()[0].BatchNorm.apply(
        input, None if weight is None else weight.reshape(shape),
        None if bias is None else bias.reshape(shape), axes=axes, eps=eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the channels of each sample into num_groups groups and normalize each group,
    then scale and shift each channel by weight and bias (of shape (C,))."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number "
                               f"of channels in input, but got {name} of shape "
                               f"{list(t.shape)} and input of shape {list(input.shape)}")
    _same_dtype("group_norm", input, weight, bias)
    grouped = input.reshape(n, num_groups, -1 if input.numel() else 0)
    y = _norm_ops()[0].GroupNorm.apply(grouped, None, None, axes=(2,), eps=eps)
    y = y.reshape(input.shape)
    shape = (c,) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    return y if bias is None else y + bias.reshape(shape)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Row input[i] of weight for every index: output shape input.shape + (dim,).
    The row padding_idx gets no gradient."""
    input = _indices(input)
    if input.data.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype} "
                           "instead (while checking arguments for embedding)")
    if sparse:
        raise NotImplementedError("embedding: minigrad has no sparse tensors, so sparse=True "
                                  "(a sparse gradient) is not supported; use sparse=False")
    padding_idx = _padding_index(padding_idx, weight.shape[0])
    if max_norm is not None:
        _embedding_renorm(weight, input, max_norm, norm_type)
    return _norm_ops()[1].Embedding.apply(weight, input, padding_idx=padding_idx,
                                          scale_grad_by_freq=scale_grad_by_freq)


def _padding_index(padding_idx, rows):
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % rows


def _embedding_renorm(weight, input, max_norm, norm_type):
    """Scale, in place, each row that input uses and whose norm exceeds max_norm down to
    norm max_norm (PyTorch's embedding_renorm_). Written with fixed-shape tensor ops, so
    that minigrad.compile replays it."""
    from .. import autograd, creation, dtypes
    with autograd.no_grad():
        used = creation.zeros(weight.shape[0], dtype=dtypes.bool_, device=weight.device)
        used[input.reshape(-1)] = True
        norms = weight.norm(norm_type, dim=1)
        scale = (max_norm / (norms + 1e-7)).masked_fill((norms <= max_norm) | ~used, 1.0)
        weight.mul_(scale.unsqueeze(1))


# ------------------------------------------------------------------ convolution and pooling
# The ops work on batched 2-D arrays; here the arguments take PyTorch's forms (an int or a
# tuple per spatial dimension), unbatched inputs get a batch of one, and 1-D calls become
# 2-D ones of height 1.


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlate (N, C_in, L) with weight (C_out, C_in / groups, K)."""
    return _conv(conv.Conv1d, 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlate (N, C_in, H, W) with weight (C_out, C_in / groups, KH, KW)."""
    return _conv(conv.Conv2d, 2, input, weight, bias, stride, padding, dilation, groups)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    if input.data.dtype.kind != "f":
        raise NotImplementedError("max_pool1d: pooling integers in 1-D is not implemented (nor "
                                  "in PyTorch); convert with .float()")
    return _max_pool(conv.MaxPool1d, 1, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(conv.MaxPool2d, 2, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return _avg_pool(conv.AvgPool1d, 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    if input.ndim == 2:   # PyTorch's own error here: it looks for the channel dim at -3
        raise IndexError(f"avg_pool2d expects (N, C, H, W) or (C, H, W) input, not "
                         f"{tuple(input.shape)}: dimension -3 is out of range")
    return _avg_pool(conv.AvgPool2d, 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def adaptive_avg_pool1d(input, output_size):
    return _adaptive(conv.AdaptiveAvgPool1d, 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    return _adaptive(conv.AdaptiveAvgPool2d, 2, input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive(conv.AdaptiveMaxPool1d, 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive(conv.AdaptiveMaxPool2d, 2, input, output_size, return_indices)


def _ints(value, n, name, op):
    """An int, or n ints, as a tuple of n ints (PyTorch's _single and _pair)."""
    values = (value,) * n if isinstance(value, int) else tuple(value)
    if len(values) == 1:
        values *= n
    if len(values) != n or not all(isinstance(v, int) for v in values):
        raise RuntimeError(f"{op}: expected {name} to be a single integer value or a list of "
                           f"{n} values to match the {n}-D input, but got {name}={value}")
    return values


def _as_2d(values, fill):
    """1-D options as 2-D ones of a height-1 image: (fill, value)."""
    return values if len(values) == 2 else (fill,) + values


def _batched(op, dims, input, apply):
    """`apply` on (N, C, ...) input; an unbatched (C, ...) input as a batch of one."""
    if input.ndim == dims + 2:
        return apply(input)
    if input.ndim == dims + 1:
        out = apply(input.unsqueeze(0))
        return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
    raise RuntimeError(f"{op}: expected {dims + 1}D (unbatched) or {dims + 2}D (batched) "
                       f"input, but got input of shape {tuple(input.shape)}")


def _conv(op, dims, input, weight, bias, stride, padding, dilation, groups):
    stride = _ints(stride, dims, "stride", op.op)
    dilation = _ints(dilation, dims, "dilation", op.op)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise RuntimeError(f"{op.op}: invalid padding string {padding!r}, should be "
                               "'same' or 'valid'")
        if padding == "same" and any(s != 1 for s in stride):
            raise RuntimeError(f"{op.op}: padding='same' is not supported for strided "
                               "convolutions")
        # 'same': the output keeps the input's size; an odd total puts the extra at the end
        totals = [d * (k - 1) if padding == "same" else 0
                  for d, k in zip(dilation, weight.shape[2:])]
        pads = tuple((t // 2, t - t // 2) for t in totals)
    else:
        pads = tuple((p, p) for p in _ints(padding, dims, "padding", op.op))
    options = dict(stride=_as_2d(stride, 1), padding=_as_2d(pads, (0, 0)),
                   dilation=_as_2d(dilation, 1), groups=groups)
    return _batched(op.op, dims, input, lambda x: op.apply(x, weight, bias, **options))


def _pool_options(op, dims, kernel_size, stride, padding):
    kernel = _ints(kernel_size, dims, "kernel_size", op.op)
    if min(kernel) <= 0:
        raise RuntimeError(f"{op.op}: kernel size should be greater than zero, but got "
                           f"kernel_size={kernel_size}")
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        stride = kernel                              # PyTorch's default: the kernel size
    else:
        stride = _ints(stride, dims, "stride", op.op)
    padding = _ints(padding, dims, "padding", op.op)
    return dict(kernel_size=_as_2d(kernel, 1), stride=_as_2d(stride, 1),
                padding=_as_2d(padding, 0))


def _max_pool(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    options = _pool_options(op, dims, kernel_size, stride, padding)
    options.update(dilation=_as_2d(_ints(dilation, dims, "dilation", op.op), 1),
                   ceil_mode=ceil_mode)

    def apply(x):
        out = op.apply(x, **options)
        if not return_indices:
            return out
        plane = x.data if dims == 2 else x.data[:, :, None]
        return out, Tensor(conv.max_pool_indices(plane, **options).reshape(out.shape))

    return _batched(op.op, dims, input, apply)


def _avg_pool(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    options = _pool_options(op, dims, kernel_size, stride, padding)
    options.update(ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                   divisor_override=divisor_override)
    return _batched(op.op, dims, input, lambda x: op.apply(x, **options))


def _adaptive(op, dims, input, output_size, return_indices=False):
    if dims == 1 and not isinstance(output_size, int):
        if output_size is None or len(output_size) != 1 or output_size[0] is None:
            raise TypeError(f"{op.op}(): output_size must be an int or a tuple of one int, "
                            f"not {output_size!r}")
    sizes = (output_size,) * dims if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != dims:
        raise RuntimeError(f"{op.op}: output_size must have {dims} elements, got {output_size}")
    # None keeps the input's size in that dimension
    sizes = tuple(input.shape[k - dims] if s is None else s for k, s in enumerate(sizes))
    if min(sizes) < 0:
        raise RuntimeError(f"{op.op}: output_size must not be negative, got {output_size}")

    def apply(x):
        out = op.apply(x, output_size=_as_2d(sizes, 1))
        if not return_indices:
            return out
        plane = x.data if dims == 2 else x.data[:, :, None]
        return out, Tensor(conv.adaptive_max(plane, _as_2d(sizes, 1))[1].reshape(out.shape))

    return _batched(op.op, dims, input, apply)


# ------------------------------------------------------------------------- losses
# (cross_entropy and mse_loss are above; the loss modules are in minigrad/nn/loss.py)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean (or sum, or each) of |input - target|, times weight if given (then the mean
    divides by the sum of the weights)."""
    reduction = _loss_reduction(size_average, reduce, reduction)
    loss = loss_ops.L1Loss.apply(input, _loss_target("l1_loss", input, target))
    if weight is not None:
        return _weighted(loss, weight, input, reduction, by_weight=True)
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, for d = input - target."""
    reduction = _loss_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    target = _loss_target("smooth_l1_loss", input, target)
    return _reduce(loss_ops.SmoothL1Loss.apply(input, target, beta=beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), for d = input - target;
    times weight if given."""
    reduction = _loss_reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    target = _loss_target("huber_loss", input, target)
    loss = loss_ops.HuberLoss.apply(input, target, delta=delta)
    if weight is not None:
        return _weighted(loss, weight, input, reduction, by_weight=False)
    return _reduce(loss, reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """-weight[t] input[t] for log-probabilities input (N, C, d1, ...) or (C,) and class
    indices t; the mean divides by the sum of the targets' weights."""
    reduction = _loss_reduction(size_average, reduce, reduction)
    target = _indices(target)
    if input.ndim == 0:
        raise ValueError("nll_loss: Expected 1 or more dimensions (got 0)")
    _check_class_target("nll_loss", input, target)
    weight = _class_weight("nll_loss", weight, input)
    return _nll(input, target, weight, reduction, ignore_index)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-(t log x + (1 - t) log(1 - x)) for probabilities x in [0, 1], times weight."""
    name = "binary_cross_entropy"
    reduction = _loss_reduction(size_average, reduce, reduction)
    target = _as_target(target, input)
    if target.shape != input.shape:
        raise ValueError(f"{name}: Using a target size ({tuple(target.shape)}) that is "
                         f"different to the input size ({tuple(input.shape)}) is deprecated. "
                         "Please ensure they have the same size.")
    if target.dtype != input.dtype:
        raise RuntimeError(f"{name}: Found dtype {target.dtype} (target) but expected "
                           f"{input.dtype} (the input's)")
    loss = loss_ops.BinaryCrossEntropy.apply(input, target)
    return _reduce(_times_weight(name, loss, weight, input), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits;
    pos_weight (broadcast along the last dimension: one per class) weighs the positives."""
    name = "binary_cross_entropy_with_logits"
    reduction = _loss_reduction(size_average, reduce, reduction)
    target = _as_target(target, input)
    if target.shape != input.shape:
        raise ValueError(f"{name}: Target size ({tuple(target.shape)}) must be the same as "
                         f"input size ({tuple(input.shape)})")
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"{name}: the target must be a floating point tensor (0. or 1., "
                           f"or a probability), not {target.dtype}")
    if pos_weight is not None:
        _check_weight_shape(name, pos_weight, input, "pos_weight")
        pos_weight = pos_weight.to(input.dtype)
    loss = loss_ops.BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    return _reduce(_times_weight(name, loss, weight, input), reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence, pointwise: target (log target - input) for log-probabilities input
    (log_target: the target is given as log-probabilities too). reduction="batchmean"
    divides the sum by the batch size, which is the KL divergence of the distributions."""
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                      "the support size.'batchmean' divides only by the batch size, and aligns "
                      "with the KL div math definition.'mean' will be changed to behave the "
                      "same as 'batchmean' in the next major release.", stacklevel=2)
    reduction = _loss_reduction(size_average, reduce, reduction, batchmean=True)
    loss = loss_ops.KLDiv.apply(input, _as_target(target, input), log_target=log_target)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


class _BatchSizeError(ShapeError, ValueError):
    """Input and target batch sizes differ: PyTorch raises a ValueError, minigrad's shape
    errors are RuntimeErrors; this one is both."""


def _loss_reduction(size_average, reduce, reduction, batchmean=False):
    """The reduction to use, from PyTorch's legacy size_average/reduce flags if given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", stacklevel=3)
    if reduction not in ("none", "mean", "sum") + (("batchmean",) if batchmean else ()):
        raise ValueError(f"{reduction} is not a valid value for reduction (use 'none', "
                         f"'mean', 'sum'{' or batchmean' if batchmean else ''})")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _as_target(target, input):
    return target if isinstance(target, Tensor) else Tensor(np.asarray(target, input.data.dtype))


def _loss_target(name, input, target):
    """The target of a regression loss: the input's shape, a floating dtype."""
    target = _as_target(target, input)
    if target.shape != input.shape:
        # PyTorch broadcasts here, with a warning that the result is likely wrong
        raise shape_error(name, [input.shape, target.shape],
                          "input and target must have the same shape")
    return target if target.dtype.is_floating_point else target.to(input.dtype)


def _weighted(loss, weight, input, reduction, by_weight):
    """loss * weight, an elementwise weight; the mean divides by sum(weight) if by_weight."""
    if weight.shape != input.shape:
        raise ValueError(f"Weights and input must have the same size (weight "
                         f"{tuple(weight.shape)}, input {tuple(input.shape)}).")
    loss = loss * weight
    if reduction == "mean" and by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def _not_differentiable(name, weight, what):
    if weight.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{name} is not differentiable with respect to {what} (as in "
                           "PyTorch): this input cannot have requires_grad=True")


def _check_weight_shape(name, weight, input, what):
    """An elementwise weight must broadcast to the input's shape, without growing it."""
    _not_differentiable(name, weight, what)
    try:
        fits = np.broadcast_shapes(tuple(weight.shape), tuple(input.shape)) == input.shape
    except ValueError:
        fits = False
    if not fits:
        raise shape_error(name, [input.shape, weight.shape],
                          f"the {what} must broadcast to the input's shape")


def _times_weight(name, loss, weight, input):
    if weight is None:
        return loss
    _check_weight_shape(name, weight, input, "weight")
    return loss * weight.to(input.dtype)


def _check_class_target(name, input, target):
    """Class indices: int64 (or uint8), of the input's shape without its class dimension."""
    if target.data.dtype.type not in (np.int64, np.uint8):
        raise RuntimeError(f"{name}: expected target dtype to be Long or Byte (int64 or "
                           f"uint8: class indices), but got {target.dtype}; convert "
                           "the targets with .long()")
    shape = input.data.shape
    expected = shape[:1] + shape[2:] if len(shape) > 1 else ()
    if target.data.shape != expected:
        shapes = [input.shape, target.shape]
        if input.ndim > 1 and target.ndim and target.shape[0] != input.shape[0]:
            raise _BatchSizeError(str(shape_error(
                name, shapes, f"expected input batch_size ({input.shape[0]}) to match target "
                f"batch_size ({target.shape[0]})")))
        raise shape_error(name, shapes, f"expected class indices of shape {expected}")


def _class_weight(name, weight, input):
    """One weight per class (the input's dimension 1, or 0 when unbatched), or None."""
    if weight is None:
        return None
    _not_differentiable(name, weight, "weight")
    n_classes = input.shape[1 if input.ndim > 1 else 0]
    if weight.shape != (n_classes,):
        raise RuntimeError(f"{name}: weight tensor should be defined either for all "
                           f"{n_classes} classes or no classes but got weight tensor of "
                           f"shape: {tuple(weight.shape)}")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"{name}: expected a weight of dtype {input.dtype} (the input's), "
                           f"but got {weight.dtype}")
    return weight


def _nll(logp, target, weight, reduction, ignore_index, label_smoothing=0.0):
    unbatched = logp.ndim == 1
    if unbatched:                       # one sample: a batch of one
        logp, target = logp.reshape(1, -1), target.reshape(1)
    if target.data.dtype != np.int64:
        target = target.long()
    loss = loss_ops.NLLLoss.apply(logp, target, weight, reduction=reduction,
                                  ignore_index=ignore_index, label_smoothing=label_smoothing)
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, smoothing):
    """cross_entropy against a distribution over the classes for each sample."""
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"cross_entropy: expected floating point type for target with "
                           f"class probabilities (a target of the input's shape "
                           f"{tuple(input.shape)}), got {target.dtype}")
    if ignore_index != -100:
        raise RuntimeError("cross_entropy: ignore_index is not supported for floating point "
                           "target")
    weight = _class_weight("cross_entropy", weight, input)
    dim = 1 if input.ndim > 1 else 0
    n_classes = input.shape[dim]
    if smoothing > 0:
        target = target * (1 - smoothing) + smoothing / n_classes
    logp = log_softmax(input, dim)
    if weight is not None:
        logp = logp * weight.reshape((n_classes,) + (1,) * (input.ndim - dim - 1))
    return _reduce(-(logp * target).sum(dim), reduction)


# ---------------------------------------------------- similarity helpers and gated units


def logsigmoid(input):
    """log(sigmoid(x)) as -softplus(-x); softplus's logaddexp keeps large |x| exact."""
    return -softplus(-input, threshold=math.inf)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1·x2 / (max(|x1|, eps) · max(|x2|, eps)) along `dim`, broadcasting x1 and x2."""
    shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))   # norms of the broadcast
    x1, x2 = x1.expand(shape), x2.expand(shape)
    n1, n2 = x1.norm(dim=dim, keepdim=True), x2.norm(dim=dim, keepdim=True)
    # PyTorch clamps the norms outside autograd: the gradient is the unclamped norm's
    n1 = n1 + (n1.clamp_min(eps) - n1).detach()
    n2 = n2 + (n2.clamp_min(eps) - n2).detach()
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of x1 - x2 + eps along the last dimension."""
    return (x1 - x2 + eps).norm(p=p, dim=-1, keepdim=keepdim)


def glu(input, dim=-1):
    """The gated linear unit: the first half of `dim` times the sigmoid of the second."""
    if input.shape[dim] % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()
