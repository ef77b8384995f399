"""The fused operations neural networks are made of.

Each of these could be written with the basic ops, but fused they are faster (one node
instead of several) and numerically safer (softmax never overflows).
"""
import numpy as np

from ..autograd import Function
from ..errors import shape_error


class Linear(Function):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
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
            grad, x = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
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


class CrossEntropy(Function):
    """Mean (or sum, or per-sample) of -log softmax(logits)[target]."""
    op = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, target, reduction="mean"):
        n = logits.shape[0]
        # -log softmax(x)[t] = log(sum(e^(x - max))) - (x[t] - max): shifted by the
        # row max so that exp() cannot overflow, and only the N target entries needed
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        losses = np.log(total[:, 0]) - shifted[rows, target]
        ctx.save_for_backward(e, total, target)
        ctx.reduction = reduction
        if reduction == "mean":
            return losses.sum() / n
        return losses.sum() if reduction == "sum" else losses

    @staticmethod
    def backward(ctx, grad):
        e, total, target = ctx.saved_tensors
        n = e.shape[0]
        # d(-log softmax(x)[t])/dx = softmax(x) - onehot(t)
        d = e / total
        d[np.arange(n), target] -= 1
        if ctx.reduction == "mean":
            d *= grad / n
        elif ctx.reduction == "sum":
            d *= grad
        else:
            d *= grad[:, None]
        return d, None


class MSELoss(Function):
    op = "mse_loss"

    @staticmethod
    def forward(ctx, x, target, reduction="mean"):
        diff = x - target
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        squares = diff * diff
        if reduction == "mean":
            return squares.sum() / squares.size
        return squares.sum() if reduction == "sum" else squares

    @staticmethod
    def backward(ctx, grad):
        diff, = ctx.saved_tensors
        d = 2 * diff * grad            # d(x - t)^2/dx = 2 (x - t)
        if ctx.reduction == "mean":
            d = d / diff.size
        return d, -d


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, mask, scale):
        # mask is drawn by the caller (from minigrad's seeded generator)
        ctx.save_for_backward(mask)
        ctx.scale = scale
        return x * mask * scale

    @staticmethod
    def backward(ctx, grad):
        mask, = ctx.saved_tensors
        return grad * mask * ctx.scale, None, None
