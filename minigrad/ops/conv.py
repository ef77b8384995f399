"""2-D convolution and max pooling on (N, C, H, W) arrays.

Both read their input through a strided *window view*: an array of shape
(N, C, OH, OW, KH, KW) whose [n, c, i, j] entry is the KH x KW patch under output pixel
(i, j). No data is copied to build it, and the convolution becomes one tensordot.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function
from ..errors import shape_error


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _pad(x, padding, value=0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def windows(x, kernel, stride):
    """View x (N, C, H, W) as sliding windows (N, C, OH, OW, KH, KW); nothing is copied."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw) = kernel, stride
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(f"a {kh}x{kw} kernel does not fit in a {h}x{w} (padded) input")
    s = x.strides
    return as_strided(x, (n, c, oh, ow, kh, kw),
                      (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]), writeable=False)


def _scatter_windows(dwin, shape, stride):
    """Sum window gradients (N, C, OH, OW, KH, KW) back onto an (N, C, H, W) array.

    Overlapping windows share input pixels, so their gradients add. The loop runs over
    the KH * KW kernel offsets only; each step moves a whole strided slab at once.
    """
    dx = np.zeros(shape, dwin.dtype)
    _, _, oh, ow, kh, kw = dwin.shape
    sh, sw = stride
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += dwin[:, :, :, :, i, j]
    return dx


class Conv2d(Function):
    op = "conv2d"

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0):
        if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
            raise ValueError("conv2d expects input (N, C, H, W) and weight (O, C, KH, KW)")
        stride, padding = _pair(stride), _pair(padding)
        xp = _pad(x, padding)
        cols = windows(xp, weight.shape[2:], stride)               # (N, C, OH, OW, KH, KW)
        # out[n, o, i, j] = sum over c, kh, kw of cols[n, c, i, j, kh, kw] * w[o, c, kh, kw]
        out = np.tensordot(cols, weight, axes=([1, 4, 5], [1, 2, 3]))  # (N, OH, OW, O)
        out = out.transpose(0, 3, 1, 2)
        if bias is not None:
            out = out + bias[None, :, None, None]
        ctx.save_for_backward(cols, weight)
        ctx.stride, ctx.padding, ctx.padded_shape = stride, padding, xp.shape
        return np.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        cols, weight = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        if needs_w:
            dw = np.tensordot(grad, cols, axes=([0, 2, 3], [0, 2, 3]))     # (O, C, KH, KW)
        if needs_b:
            db = grad.sum(axis=(0, 2, 3))
        if needs_x:
            dcols = np.tensordot(grad, weight, axes=([1], [0]))         # (N, OH, OW, C, KH, KW)
            dcols = dcols.transpose(0, 3, 1, 2, 4, 5)
            dxp = _scatter_windows(dcols, ctx.padded_shape, ctx.stride)
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


class MaxPool2d(Function):
    op = "max_pool2d"

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0):
        if x.ndim != 4:
            raise ValueError("max_pool2d expects input of shape (N, C, H, W)")
        kernel = _pair(kernel_size)
        stride = kernel if stride is None else _pair(stride)
        padding = _pair(padding)
        xp = _pad(x, padding, value=-np.inf)
        win = windows(xp, kernel, stride)
        n, c, oh, ow, kh, kw = win.shape
        flat = win.reshape(n, c, oh, ow, kh * kw)
        arg = flat.argmax(axis=-1)                                  # which cell of each window
        out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        ctx.save_for_backward(arg)
        ctx.kernel, ctx.stride, ctx.padding, ctx.padded_shape = kernel, stride, padding, xp.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        arg, = ctx.saved_tensors
        n, c, oh, ow = arg.shape
        kh, kw = ctx.kernel
        # only the maximum of each window received the gradient (the first one on ties)
        dwin = np.zeros((n, c, oh, ow, kh * kw), grad.dtype)
        np.put_along_axis(dwin, arg[..., None], grad[..., None], axis=-1)
        dxp = _scatter_windows(dwin.reshape(n, c, oh, ow, kh, kw), ctx.padded_shape, ctx.stride)
        ph, pw = ctx.padding
        return dxp[:, :, ph:dxp.shape[2] - ph, pw:dxp.shape[3] - pw]
