"""The fused operations neural networks are made of.

Each of these could be written with the basic ops, but fused they are faster (one node
instead of several) and numerically safer (softmax never overflows).
"""
import numpy as np

from ..autograd import Function
from ..backend import array_module
from ..errors import shape_error
from ..kernels import ElementwiseKernel


class Linear(Function):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        # dx needs W and dW needs x: each is saved only if the other needs a gradient
        needs = ctx.needs_input_grad
        ctx.save_for_backward(x if needs[1] else None, weight if needs[0] else None)
        y = x @ weight.T
        if bias is not None:
            y += bias
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad
        dx = grad @ weight if needs_x else None                   # dL/dx = G W
        if grad.ndim != 2:           # (..., out): every leading index is one more sample
            grad = grad.reshape(-1, grad.shape[-1])
            x = x.reshape(-1, x.shape[-1]) if needs_w else None
        dw = grad.T @ x if needs_w else None                        # dL/dW = G^T x
        db = grad.sum(axis=0) if needs_b else None                  # dL/db = sum of G's rows
        return dx, dw, db

    @classmethod
    def explain(cls, inputs, options, error):
        x, w = tuple(inputs[0].shape), tuple(inputs[1].shape)
        return shape_error("linear", [x, w],
                           f"the input has {x[-1] if x else 0} features in its last dimension "
                           f"but the weight of shape {w} expects {w[-1]} (in_features)")


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        # softmax(x) = softmax(x - max x): subtracting the max keeps exp() from overflowing
        e = np.exp(x - x.max(axis=dim, keepdims=True))
        y = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        # dL/dx = y * (g - sum(g * y)): the Jacobian diag(y) - y y^T applied to g
        return y * (grad - (grad * y).sum(axis=ctx.dim, keepdims=True))


def _log_softmax(x, dim):
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


class LogSoftmax(Function):
    op = "log_softmax"

    @staticmethod
    def forward(ctx, x, dim):
        y = _log_softmax(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        # dL/dx = g - softmax(x) * sum(g)
        return grad - np.exp(y) * grad.sum(axis=ctx.dim, keepdims=True)


def _cross_entropy_rows(logits, target, n_classes):
    # -log softmax(x)[t] = log(sum(e^(x - max))) - (x[t] - max): shifted by the row max
    # so that exp() cannot overflow, and only the N target entries needed
    row_max = logits.max(axis=1)
    shifted = logits - row_max[:, None]
    total = np.exp(shifted).sum(axis=1)
    losses = np.log(total) - shifted[np.arange(len(target)), target]
    return losses, row_max, total


# One thread per row (sample): fine for the tens or hundreds of classes of the lessons'
# models; a vocabulary of 50 000 classes would want a block per row instead.
cross_entropy_fwd = ElementwiseKernel(
    "raw T logits, int64 target, int64 n_classes", "T loss, T row_max, T total",
    """const T *row = &logits[i * n_classes];      // logits is C-contiguous (N, C)
    T m = row[0];
    for (long long j = 1; j < n_classes; ++j) m = max(m, row[j]);
    T s = 0;
    for (long long j = 0; j < n_classes; ++j) s += exp(row[j] - m);
    row_max = m;
    total = s;
    loss = log(s) - (row[target] - m)""",
    "cross_entropy_fwd",
    reference=_cross_entropy_rows)


def _cross_entropy_grad(logits, row_max, total, target, n_classes, scale):
    d = np.exp(logits - row_max[:, None])
    d /= total[:, None]
    d[np.arange(len(target)), target] -= 1
    d *= scale if np.ndim(scale) == 0 else scale[:, None]
    return d


# d(-log softmax(x)[t])/dx = softmax(x) - onehot(t), times the upstream gradient `scale`
cross_entropy_bwd = ElementwiseKernel(
    "T x, raw T row_max, raw T total, raw int64 target, int64 n_classes, raw T scale, "
    "int64 scale_per_row",
    "T dx",
    """const long long row = i / n_classes, col = i % n_classes;
    const T p = exp(x - row_max[row]) / total[row];
    dx = (p - (col == target[row] ? 1 : 0)) * scale[scale_per_row ? row : 0]""",
    "cross_entropy_bwd",
    reference=lambda x, row_max, total, target, n_classes, scale, per_row:
        _cross_entropy_grad(x, row_max, total, target, n_classes, scale))


class CrossEntropy(Function):
    """Mean (or sum, or per-sample) of -log softmax(logits)[target]."""
    op = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, target, reduction="mean"):
        n, n_classes = logits.shape
        # One pass finds targets below 0 and at or above n_classes: read as unsigned
        # integers, negative ones are huge. (Checked here, not before the call, so that a
        # minigrad.compile replay checks each new target too.)
        unsigned = target.view(np.uint64) if target.dtype.itemsize == 8 else \
            target.astype(np.uint64)
        if target.size and unsigned.max() >= n_classes:
            raise IndexError(f"a target is outside the classes 0..{n_classes - 1} (targets "
                             f"range from {target.min()} to {target.max()})")
        # A C-contiguous copy, for the kernel and for backward: PyTorch saves log-softmax
        # values of its own here, so changing the logits in place afterwards is allowed
        logits = logits.copy()     # C-contiguous, as ndarray.copy() always is
        losses, row_max, total = cross_entropy_fwd(logits, target, n_classes)
        ctx.save_for_backward(logits, row_max, total, target)
        ctx.reduction = reduction
        if reduction == "mean":
            return losses.sum() / n
        return losses.sum() if reduction == "sum" else losses

    @staticmethod
    def backward(ctx, grad):
        logits, row_max, total, target = ctx.saved_tensors
        n, n_classes = logits.shape
        # the upstream gradient: one number (mean, sum) or one per row (reduction="none")
        scale = array_module(logits).asarray(grad / n if ctx.reduction == "mean" else grad,
                                             logits.dtype)
        return cross_entropy_bwd(logits, row_max, total, target, n_classes, scale,
                                 int(scale.ndim == 1)), None


class MSELoss(Function):
    op = "mse_loss"

    @staticmethod
    def forward(ctx, x, target, reduction="mean"):
        ctx.save_for_backward(x, target)
        ctx.reduction = reduction
        diff = x - target
        squares = diff * diff
        if reduction == "mean":
            return squares.sum() / squares.size
        return squares.sum() if reduction == "sum" else squares

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        diff = x - target
        d = 2 * diff * grad            # d(x - t)^2/dx = 2 (x - t)
        if ctx.reduction == "mean":
            d = d / diff.size
        return d, -d


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, p):
        # The mask is drawn here, in forward, from minigrad's seeded generator, so a
        # minigrad.compile replay draws a new one every time instead of freezing it.
        from ..creation import generator
        keep = generator().random(x.shape) >= p
        mask = array_module(x).asarray(keep.astype(x.dtype))
        ctx.save_for_backward(mask)
        ctx.scale = 1 / (1 - p)
        return x * mask * ctx.scale

    @staticmethod
    def backward(ctx, grad):
        mask, = ctx.saved_tensors
        return grad * mask * ctx.scale, None
