"""Convolution and pooling on (N, C, H, W) arrays, with no per-pixel loops.

Two views of the (padded) input do the work, and neither copies data:
- `windows(x)`, shape (N, C, OH, OW, KH, KW): entry [n, c, i, j] is the KH x KW patch
  under output pixel (i, j), its taps `dilation` apart. The convolution is then one
  tensordot with the weights (per group of channels).
- `cells(x)`: for each of the KH * KW kernel positions (a, b), the strided slab of x
  holding position (a, b) of every window. Pooling and the backward passes loop over
  these few positions, each step handling every window at once.

The options arrive normalised by `nn.functional`: stride and dilation as (h, w) pairs,
padding as ((top, bottom), (left, right)). The 1-D ops run the 2-D code on (N, C, 1, L).
"""
import math

import numpy as np

from ..autograd import Op
from ..backend import array_module
from ..errors import shape_error

NO_PADDING = ((0, 0), (0, 0))


def _pad(x, padding, value=0):
    if padding == NO_PADDING:
        return x
    if value == -np.inf and x.dtype.kind != "f":
        value = np.iinfo(x.dtype).min                  # integers have no -inf
    return array_module(x).pad(x, ((0, 0), (0, 0)) + tuple(padding), constant_values=value)


def _unpad(dxp, padding):
    """The gradient of _pad: the padded border is cut off again."""
    (top, bottom), (left, right) = padding
    return dxp[:, :, top:dxp.shape[2] - bottom, left:dxp.shape[3] - right]


def _output_size(x, kernel, stride, dilation):
    h, w = x.shape[2:]
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]      # what one window covers
    if span[0] > h or span[1] > w:
        raise ValueError(f"the kernel covers {span[0]}x{span[1]} with dilation, which does "
                         f"not fit in the {h}x{w} (padded) input")
    return (h - span[0]) // stride[0] + 1, (w - span[1]) // stride[1] + 1


def windows(x, kernel, stride, dilation=(1, 1)):
    """View x (N, C, H, W) as sliding windows (N, C, OH, OW, KH, KW)."""
    oh, ow = _output_size(x, kernel, stride, dilation)
    (n, c), (sh, sw), (dh, dw), s = x.shape[:2], stride, dilation, x.strides
    shape = (n, c, oh, ow) + tuple(kernel)
    strides = (s[0], s[1], s[2] * sh, s[3] * sw, s[2] * dh, s[3] * dw)
    if type(x) is np.ndarray:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return array_module(x).lib.stride_tricks.as_strided(x, shape, strides)  # CuPy's own


def cells(x, kernel, stride, dilation=(1, 1)):
    """For each kernel position (a, b), in row-major order: the view of x (N, C, OH, OW)
    holding that position of every window. Writing into a view writes into x."""
    oh, ow = _output_size(x, kernel, stride, dilation)
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    for a in range(kh):
        for b in range(kw):
            top, left = a * dh, b * dw
            yield x[:, :, top:top + sh * (oh - 1) + 1:sh, left:left + sw * (ow - 1) + 1:sw]


def _check_positive(op, **values):
    for name, value in values.items():
        if min(value) <= 0:
            raise RuntimeError(f"{op}: non-positive {name} is not supported (got {name}="
                               f"{tuple(value)})")


class Conv2d(Op):
    op = "conv2d"

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=NO_PADDING,
                dilation=(1, 1), groups=1):
        _check_positive(ctx.op, stride=stride, dilation=dilation)
        if min(min(p) for p in padding) < 0:
            raise RuntimeError(f"{ctx.op}: negative padding is not supported (got padding="
                               f"{padding})")
        if groups <= 0:
            raise RuntimeError(f"{ctx.op}: non-positive groups is not supported")
        if x.ndim != 4 or weight.ndim != 4:
            raise ValueError("expected input (N, C, H, W) and weight (O, C / groups, KH, KW)")
        if weight.shape[0] % groups:
            raise ValueError(f"the weight's out_channels ({weight.shape[0]}) must be "
                             f"divisible by groups={groups}")
        if x.shape[1] != weight.shape[1] * groups:
            raise ValueError("channels differ")            # explain() says how
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"expected a bias of shape ({weight.shape[0]},)")
        if x.dtype != weight.dtype or (bias is not None and bias.dtype != x.dtype):
            raise RuntimeError(f"{ctx.op}: input ({x.dtype}), weight ({weight.dtype}) and "
                               "bias must have the same dtype")
        xp = array_module(x)
        padded = _pad(x, padding)
        cols = windows(padded, weight.shape[2:], stride, dilation)  # (N, C, OH, OW, KH, KW)
        # out[n, o, i, j] = sum over c, a, b of cols[n, c, i, j, a, b] * w[o, c, a, b],
        # where group g's outputs see only group g's channels
        out = _cat(xp, [xp.tensordot(cols[:, c], weight[o], axes=([1, 4, 5], [1, 2, 3]))
                        for c, o in _groups(weight, groups)], axis=3)
        out = out.transpose(0, 3, 1, 2)                             # (N, O, OH, OW)
        if bias is not None:
            out = out + bias[None, :, None, None]
        # x is saved too, unused: as in PyTorch, changing the input in place before
        # backward must fail, even where cols (a padded copy) still holds the old values
        ctx.save_for_backward(cols, weight, x)
        ctx.stride, ctx.padding, ctx.dilation = stride, padding, dilation
        ctx.groups, ctx.padded_shape = groups, padded.shape
        return xp.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        cols, weight, _ = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        xp, groups = array_module(grad), _groups(weight, ctx.groups)
        dx = dw = db = None
        # dL/dw[o, c, a, b] = sum over n, i, j of grad[n, o, i, j] * cols[n, c, i, j, a, b]
        if needs_w:
            dw = _cat(xp, [xp.tensordot(grad[:, o], cols[:, c], axes=([0, 2, 3], [0, 2, 3]))
                           for c, o in groups], axis=0)
        if needs_b:   # dL/db[o] = sum over n, i, j of grad[n, o, i, j]
            db = grad.sum(axis=(0, 2, 3))
        # dL/dcols[n, c, i, j, a, b] = sum over o of grad[n, o, i, j] * w[o, c, a, b]
        if needs_x:
            dcols = _cat(xp, [xp.tensordot(grad[:, o], weight[o], axes=([1], [0]))
                              for c, o in groups], axis=3)          # (N, OH, OW, C, KH, KW)
            dcols = dcols.transpose(0, 3, 1, 2, 4, 5)
            # windows overlap where stride < kernel span, so their gradients add up
            dxp = xp.zeros(ctx.padded_shape, grad.dtype)
            kernel = weight.shape[2:]
            for (a, b), cell in zip(np.ndindex(*kernel),
                                    cells(dxp, kernel, ctx.stride, ctx.dilation)):
                cell += dcols[..., a, b]
            dx = _unpad(dxp, ctx.padding)
        return dx, dw, db

    @classmethod
    def explain(cls, inputs, options, error):
        x, w = tuple(inputs[0].shape), tuple(inputs[1].shape)
        groups = options.get("groups", 1)
        if str(error) == "channels differ":
            reason = (f"the input has {x[1]} channels but the weight expects "
                      f"{w[1]} x groups={groups} = {w[1] * groups} (dimension 1 of both)")
        else:
            reason = str(error)
        shapes = [x, w] + ([tuple(inputs[2].shape)] if inputs[2] is not None else [])
        return shape_error(cls.op, shapes, reason)


def _groups(weight, groups):
    """(input channels, output channels) of each group, as slices: group g's outputs see
    only group g's inputs."""
    c, o = weight.shape[1], weight.shape[0] // groups
    return [(slice(g * c, (g + 1) * c), slice(g * o, (g + 1) * o)) for g in range(groups)]


def _cat(xp, parts, axis):
    return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=axis)


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling output length. With ceil_mode a last, partial window counts,
    unless it would start in the right padding."""
    span = dilation * (kernel - 1) + 1
    steps = (size + 2 * padding - span) / stride
    out = (math.ceil(steps) if ceil_mode else math.floor(steps)) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pool_padding(op, x, kernel, stride, padding, dilation, ceil_mode):
    """((top, bottom), (left, right)) padding that makes the windows of `cells` the output
    windows: ceil_mode adds to the bottom and right what the last window needs."""
    _check_positive(op, stride=stride, dilation=dilation)
    if any(p < 0 or 2 * p > k for p, k in zip(padding, kernel)):
        # a window could then hold nothing but padding
        raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but "
                           f"got pad={tuple(padding)}, kernel_size={tuple(kernel)} and "
                           f"dilation={tuple(dilation)}")
    pads = []
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        out = pool_output_size(size, k, s, p, d, ceil_mode)
        if out <= 0:
            raise ValueError(f"{op}: the output would be empty (input size {size}, kernel "
                             f"{k}, stride {s}, padding {p}, dilation {d})")
        pads.append((p, max(p, (out - 1) * s + d * (k - 1) + 1 - size - p)))
    return tuple(pads)


def max_windows(padded, kernel, stride, dilation):
    """The maximum of each window, and which kernel position (row-major) held it."""
    out = arg = None
    xp = array_module(padded)
    for k, cell in enumerate(cells(padded, kernel, stride, dilation)):
        if out is None:
            out = cell.copy()
            arg = xp.zeros(cell.shape, np.int8 if kernel[0] * kernel[1] < 128 else np.int32)
        else:
            # strictly larger wins, so on ties the first cell does; a NaN always
            # wins and is passed on, as in PyTorch (max hides nothing)
            better = (cell > out) | (cell != cell)
            xp.copyto(out, cell, where=better)
            xp.copyto(arg, k, where=better)
    return out, arg


def max_pool_indices(x, kernel_size, stride, padding, dilation, ceil_mode):
    """PyTorch's return_indices: where in its (H, W) plane, flattened, each maximum lies."""
    pads = _pool_padding("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    _, arg = max_windows(_pad(x, pads, -np.inf), kernel_size, stride, dilation)
    xp = array_module(x)
    oh, ow = arg.shape[2:]
    a, b = xp.divmod(arg.astype(np.int64), kernel_size[1])    # the kernel position's row, column
    rows = xp.arange(oh)[:, None] * stride[0] + a * dilation[0] - padding[0]
    columns = xp.arange(ow) * stride[1] + b * dilation[1] - padding[1]
    return rows * x.shape[3] + columns


class MaxPool2d(Op):
    op = "max_pool2d"

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0), dilation=(1, 1),
                ceil_mode=False):
        pads = _pool_padding(ctx.op, x, kernel_size, stride, padding, dilation, ceil_mode)
        out, arg = max_windows(_pad(x, pads, -np.inf), kernel_size, stride, dilation)
        ctx.save_for_backward(arg, x)   # x unused: saved for the version check, as PyTorch does
        ctx.kernel, ctx.stride, ctx.dilation, ctx.pads = kernel_size, stride, dilation, pads
        ctx.padded_shape = x.shape[:2] + tuple(n + a + b for n, (a, b) in zip(x.shape[2:], pads))
        return out

    @staticmethod
    def backward(ctx, grad):
        arg, _ = ctx.saved_tensors
        dxp = array_module(grad).zeros(ctx.padded_shape, grad.dtype)
        # only the winning cell of each window moved the output: it gets the gradient
        for k, cell in enumerate(cells(dxp, ctx.kernel, ctx.stride, ctx.dilation)):
            cell += grad * (arg == k)
        return _unpad(dxp, ctx.pads)


def _avg_divisor(xp, dtype, x, kernel, stride, padding, out_shape, count_include_pad):
    """How many elements each window averages: those inside input + padding, or (without
    count_include_pad) inside the input only. The ceil_mode overhang never counts."""
    sizes = []
    for size, k, s, p, n in zip(x.shape[2:], kernel, stride, padding, out_shape):
        start = np.arange(n) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        sizes.append(end - start)
    return xp.asarray(np.outer(*sizes), dtype=dtype)


def _check_floating(op, x):
    if x.dtype.kind != "f":
        raise NotImplementedError(f"{op}: minigrad averages floating point tensors only, not "
                                  f"{x.dtype}; convert with .float()")


class AvgPool2d(Op):
    op = "avg_pool2d"

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0), ceil_mode=False,
                count_include_pad=True, divisor_override=None):
        _check_floating(ctx.op, x)
        if divisor_override is not None and divisor_override == 0:
            raise RuntimeError(f"{ctx.op}: divisor must be not zero")
        pads = _pool_padding(ctx.op, x, kernel_size, stride, padding, (1, 1), ceil_mode)
        padded = _pad(x, pads)
        xp = array_module(x)
        out = sum(cells(padded, kernel_size, stride), start=xp.zeros((), x.dtype))
        if divisor_override is not None:
            divisor = xp.asarray(divisor_override, x.dtype)
        else:
            divisor = _avg_divisor(xp, x.dtype, x, kernel_size, stride, padding,
                                   out.shape[2:], count_include_pad)
        ctx.save_for_backward(x)        # unused: saved for the version check, as PyTorch does
        ctx.divisor, ctx.kernel, ctx.stride, ctx.pads = divisor, kernel_size, stride, pads
        ctx.padded_shape = padded.shape
        return out / divisor

    @staticmethod
    def backward(ctx, grad):
        dxp = array_module(grad).zeros(ctx.padded_shape, grad.dtype)
        share = grad / ctx.divisor     # d(mean of a window)/d(each element) = 1 / divisor
        for cell in cells(dxp, ctx.kernel, ctx.stride):
            cell += share
        return _unpad(dxp, ctx.pads)


def adaptive_windows(size, out):
    """PyTorch's adaptive pooling windows: [floor(i * size / out), ceil((i+1) * size / out))."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _averaging_matrix(xp, dtype, size, out):
    """A (out, size): row i averages window i, so A @ v pools a vector v."""
    a = np.zeros((out, size))
    for i, (start, end) in enumerate(adaptive_windows(size, out)):
        a[i, start:end] = 1 / (end - start)
    return xp.asarray(a, dtype=dtype)


class AdaptiveAvgPool2d(Op):
    """A window's average is an average over rows of averages over columns, so the
    pooling is two matrix products: out = Ah @ x @ Aw^T."""
    op = "adaptive_avg_pool2d"

    @staticmethod
    def forward(ctx, x, output_size):
        _check_floating(ctx.op, x)
        xp = array_module(x)
        ctx.save_for_backward(x)        # unused: saved for the version check, as PyTorch does
        ctx.ah, ctx.aw = (_averaging_matrix(xp, x.dtype, n, m)
                          for n, m in zip(x.shape[2:], output_size))
        return xp.matmul(xp.matmul(ctx.ah, x), ctx.aw.T)

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        return xp.matmul(xp.matmul(ctx.ah.T, grad), ctx.aw)    # dL/dx = Ah^T @ grad @ Aw


def adaptive_max(x, output_size):
    """The maximum of each adaptive window, and where in the (H, W) plane, flattened, it
    lies. The windows differ in size, so this loops over the (few) output positions."""
    xp = array_module(x)
    n, c, h, w = x.shape
    where = xp.zeros((n, c) + tuple(output_size), np.int64)
    for i, (top, bottom) in enumerate(adaptive_windows(h, output_size[0])):
        for j, (left, right) in enumerate(adaptive_windows(w, output_size[1])):
            window = x[:, :, top:bottom, left:right].reshape(n, c, -1)
            k = window.argmax(axis=2)    # the first maximum, or the first NaN, as PyTorch
            where[:, :, i, j] = (top + k // (right - left)) * w + left + k % (right - left)
    out = xp.take_along_axis(x.reshape(n, c, -1), where.reshape(n, c, -1), axis=2)
    return out.reshape(where.shape), where


class AdaptiveMaxPool2d(Op):
    op = "adaptive_max_pool2d"

    @staticmethod
    def forward(ctx, x, output_size):
        out, where = adaptive_max(x, output_size)
        ctx.save_for_backward(where, x)  # x unused: saved for the version check
        ctx.shape = x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        where, _ = ctx.saved_tensors
        xp = array_module(grad)
        n, c, h, w = ctx.shape
        dx = xp.zeros((n, c, h * w), grad.dtype)
        # only each window's maximum moved the output; windows may overlap, so add
        planes = xp.arange(n * c).reshape(n, c, 1) * (h * w)
        xp.add.at(dx.reshape(-1), (planes + where.reshape(n, c, -1)).ravel(), grad.ravel())
        return dx.reshape(ctx.shape)


# ------------------------------------------------------------------ 1-D: (N, C, L) as (N, C, 1, L)


class Conv1d(Conv2d):
    op = "conv1d"

    @staticmethod
    def forward(ctx, x, weight, bias=None, **options):
        return Conv2d.forward(ctx, x[:, :, None], weight[:, :, None], bias, **options)[:, :, 0]

    @staticmethod
    def backward(ctx, grad):
        dx, dw, db = Conv2d.backward(ctx, grad[:, :, None])
        return (None if dx is None else dx[:, :, 0]), (None if dw is None else dw[:, :, 0]), db


def _one_d(op2d, name, op):
    """The 1-D form of a pooling op: the same op on (N, C, 1, L)."""
    def forward(ctx, x, **options):
        return op2d.forward(ctx, x[:, :, None], **options)[:, :, 0]

    def backward(ctx, grad):
        return op2d.backward(ctx, grad[:, :, None])[:, :, 0]

    return type(name, (op2d,), {"op": op,
                                "forward": staticmethod(forward),
                                "backward": staticmethod(backward)})


MaxPool1d = _one_d(MaxPool2d, "MaxPool1d", "max_pool1d")
AvgPool1d = _one_d(AvgPool2d, "AvgPool1d", "avg_pool1d")
AdaptiveAvgPool1d = _one_d(AdaptiveAvgPool2d, "AdaptiveAvgPool1d", "adaptive_avg_pool1d")
AdaptiveMaxPool1d = _one_d(AdaptiveMaxPool2d, "AdaptiveMaxPool1d", "adaptive_max_pool1d")
