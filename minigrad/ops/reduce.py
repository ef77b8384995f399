"""Reductions: sum, mean, amax/max. Their backward spreads the gradient back out."""
import numpy as np

from ..autograd import Function
from ..backend import array_module
from .util import normalize_dims


def _expand_back(grad, dims, keepdim, shape):
    """Give `grad` the reduced dims back (as size 1), so it broadcasts to `shape`."""
    if not keepdim:
        grad = np.expand_dims(grad, dims)
    return np.broadcast_to(grad, shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dims = normalize_dims(dim, x.ndim)
        ctx.keepdim, ctx.shape = keepdim, x.shape
        return np.sum(x, axis=ctx.dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        # every input element contributes once to its sum: d(sum)/dx_i = 1
        return _expand_back(grad, ctx.dims, ctx.keepdim, ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dims = normalize_dims(dim, x.ndim)
        ctx.keepdim, ctx.shape = keepdim, x.shape
        ctx.count = int(np.prod([x.shape[d] for d in ctx.dims])) if x.ndim else 1
        return np.mean(x, axis=ctx.dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad / ctx.count, ctx.dims, ctx.keepdim, ctx.shape)


class Amax(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        if x.size == 0:
            raise ValueError("cannot take the maximum of an empty tensor")
        ctx.dims = normalize_dims(dim, x.ndim)
        ctx.keepdim = keepdim
        out = np.amax(x, axis=ctx.dims, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            out, grad = np.expand_dims(out, ctx.dims), np.expand_dims(grad, ctx.dims)
        # only the maximal elements moved the output; tied maxima share the gradient
        winners = x == out
        return winners * (grad / winners.sum(axis=ctx.dims, keepdims=True))


class MaxDim(Function):
    """The values of max(dim); the indices are taken as PyTorch takes them (the first
    largest element, or the first NaN), and only that element gets the gradient."""
    op = "max"

    @staticmethod
    def forward(ctx, x, dim, keepdim=False):
        if x.size == 0:
            raise ValueError("cannot take the maximum of an empty tensor")
        (dim,) = normalize_dims(dim, x.ndim)
        indices = np.expand_dims(np.argmax(x, axis=dim), dim)   # NaN counts as largest
        values = np.take_along_axis(x, indices, axis=dim)
        ctx.dim, ctx.keepdim, ctx.shape = dim, keepdim, x.shape
        ctx.save_for_backward(indices if keepdim else np.squeeze(indices, dim))
        return values if keepdim else np.squeeze(values, dim)

    @staticmethod
    def backward(ctx, grad):
        indices, = ctx.saved_tensors
        if not ctx.keepdim:
            indices, grad = np.expand_dims(indices, ctx.dim), np.expand_dims(grad, ctx.dim)
        xp = array_module(grad)
        along = xp.arange(ctx.shape[ctx.dim]).reshape(
            [-1 if d == ctx.dim else 1 for d in range(len(ctx.shape))])
        return xp.where(along == indices, grad, xp.zeros((), grad.dtype))
