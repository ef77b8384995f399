"""2-D convolution and max pooling on (N, C, H, W) arrays, with no per-pixel loops.

Two views of the input do the work, and neither copies data:
- `windows(x)`, shape (N, C, OH, OW, KH, KW): entry [n, c, i, j] is the KH x KW patch
  under output pixel (i, j). The convolution is then one tensordot with the weights.
- `cells(x)`: for each of the KH * KW kernel positions (a, b), the strided slab of x
  holding position (a, b) of every window. Max pooling and both backward passes loop
  over these few positions, each step handling every window at once.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Op
from ..backend import array_module
from ..errors import shape_error


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _pad(x, padding, value=0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _output_size(x, kernel, stride):
    (h, w), (kh, kw), (sh, sw) = x.shape[2:], kernel, stride
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(f"a {kh}x{kw} window does not fit in a {h}x{w} (padded) input")
    return oh, ow


def windows(x, kernel, stride):
    """View x (N, C, H, W) as sliding windows (N, C, OH, OW, KH, KW)."""
    oh, ow = _output_size(x, kernel, stride)
    (n, c), (kh, kw), (sh, sw), s = x.shape[:2], kernel, stride, x.strides
    shape, strides = (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3])
    if type(x) is not np.ndarray:                       # CuPy has its own as_strided
        return array_module(x).lib.stride_tricks.as_strided(x, shape, strides)
    return as_strided(x, shape, strides, writeable=False)


def cells(x, kernel, stride):
    """For each kernel position (a, b), in row-major order: the view of x (N, C, OH, OW)
    holding that position of every window. Writing into a view writes into x."""
    oh, ow = _output_size(x, kernel, stride)
    (kh, kw), (sh, sw) = kernel, stride
    for a in range(kh):
        for b in range(kw):
            yield x[:, :, a:a + sh * oh:sh, b:b + sw * ow:sw]


class Conv2d(Op):
    op = "conv2d"

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0):
        if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
            raise ValueError("conv2d expects input (N, C, H, W) and weight (O, C, KH, KW)")
        stride, padding = _pair(stride), _pair(padding)
        if min(stride) <= 0:
            raise RuntimeError(f"conv2d: non-positive stride is not supported (got stride="
                               f"{stride}); a stride of 1 visits every position")
        if min(padding) < 0:
            raise RuntimeError(f"conv2d: negative padding is not supported (got padding="
                               f"{padding})")
        padded = _pad(x, padding)
        cols = windows(padded, weight.shape[2:], stride)               # (N, C, OH, OW, KH, KW)
        # out[n, o, i, j] = sum over c, kh, kw of cols[n, c, i, j, kh, kw] * w[o, c, kh, kw]
        out = np.tensordot(cols, weight, axes=([1, 4, 5], [1, 2, 3]))  # (N, OH, OW, O)
        out = out.transpose(0, 3, 1, 2)
        if bias is not None:
            out = out + bias[None, :, None, None]
        # x is saved too, unused: as in PyTorch, changing the input in place before
        # backward must fail, even where cols (a padded copy) still holds the old values
        ctx.save_for_backward(cols, weight, x)
        ctx.stride, ctx.padding, ctx.padded_shape = stride, padding, padded.shape
        return np.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        cols, weight, _ = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        if needs_w:
            dw = np.tensordot(grad, cols, axes=([0, 2, 3], [0, 2, 3]))     # (O, C, KH, KW)
        if needs_b:
            db = grad.sum(axis=(0, 2, 3))
        if needs_x:
            dcols = np.tensordot(grad, weight, axes=([1], [0]))         # (N, OH, OW, C, KH, KW)
            dcols = dcols.transpose(0, 3, 1, 2, 4, 5)
            # windows overlap where stride < kernel, so their gradients add up
            dxp = array_module(grad).zeros(ctx.padded_shape, grad.dtype)
            kernel = weight.shape[2:]
            for (a, b), cell in zip(np.ndindex(*kernel), cells(dxp, kernel, ctx.stride)):
                cell += dcols[..., a, b]
            ph, pw = ctx.padding
            dx = dxp[:, :, ph:dxp.shape[2] - ph, pw:dxp.shape[3] - pw]
        return dx, dw, db

    @classmethod
    def explain(cls, inputs, options, error):
        x, w = tuple(inputs[0].shape), tuple(inputs[1].shape)
        if len(x) == 4 and len(w) == 4 and x[1] != w[1]:
            reason = (f"the input has {x[1]} channels but the weight expects {w[1]} "
                      "(in_channels, dimension 1 of both)")
        else:
            reason = str(error)
        return shape_error("conv2d", [x, w], reason)


class MaxPool2d(Op):
    op = "max_pool2d"

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0):
        if x.ndim != 4:
            raise ValueError("max_pool2d expects input of shape (N, C, H, W)")
        kernel = _pair(kernel_size)
        stride = kernel if stride is None else _pair(stride)
        padding = _pair(padding)
        if min(stride) <= 0:
            raise RuntimeError(f"max_pool2d: stride should be greater than zero, but got "
                               f"stride={stride}")
        if any(p < 0 or 2 * p > k for p, k in zip(padding, kernel)):
            # a window could then hold nothing but padding, and give -inf
            raise RuntimeError(f"max_pool2d: pad should be at most half of effective kernel "
                               f"size, but got pad={padding}, kernel_size={kernel} and "
                               "dilation=1")
        padded = _pad(x, padding, value=-np.inf)
        # Visit the kernel positions one at a time, each for every window at once,
        # keeping the running maximum and which position gave it.
        out = arg = None
        for k, cell in enumerate(cells(padded, kernel, stride)):
            if out is None:
                out, arg = cell.copy(), np.zeros_like(cell, dtype=np.int8)
            else:
                # strictly larger wins, so on ties the first cell does; a NaN always
                # wins and is passed on, as in PyTorch (max hides nothing)
                better = (cell > out) | (cell != cell)
                np.copyto(out, cell, where=better)
                np.copyto(arg, k, where=better)
        ctx.save_for_backward(arg, x)   # x unused: saved for the version check, as PyTorch does
        ctx.kernel, ctx.stride, ctx.padding = kernel, stride, padding
        ctx.padded_shape = padded.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        arg, _ = ctx.saved_tensors
        dxp = array_module(grad).zeros(ctx.padded_shape, grad.dtype)
        # only the winning cell of each window moved the output: it gets the gradient
        for k, cell in enumerate(cells(dxp, ctx.kernel, ctx.stride)):
            cell += grad * (arg == k)
        ph, pw = ctx.padding
        return dxp[:, :, ph:dxp.shape[2] - ph, pw:dxp.shape[3] - pw]

