"""Reductions (sum, mean, extremes, products, variance, norms, cumulative sums) and the
gathers they share. Their backward spreads the gradient back out."""
import numpy as np

from ..autograd import Op
from ..backend import array_module
from .util import normalize_dims


def _expand_back(grad, dims, keepdim, shape):
    """Give `grad` the reduced dims back (as size 1), so it broadcasts to `shape`."""
    if not keepdim:
        grad = np.expand_dims(grad, dims)
    return np.broadcast_to(grad, shape)


class Sum(Op):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dims = normalize_dims(dim, x.ndim)
        ctx.keepdim, ctx.shape = keepdim, x.shape
        return np.sum(x, axis=ctx.dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        # every input element contributes once to its sum: d(sum)/dx_i = 1
        return _expand_back(grad, ctx.dims, ctx.keepdim, ctx.shape)


class Mean(Op):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dims = normalize_dims(dim, x.ndim)
        ctx.keepdim, ctx.shape = keepdim, x.shape
        ctx.count = int(np.prod([x.shape[d] for d in ctx.dims])) if x.ndim else 1
        return np.mean(x, axis=ctx.dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad / ctx.count, ctx.dims, ctx.keepdim, ctx.shape)


class Amax(Op):
    """The largest element (over `dim`); tied maxima share the gradient equally."""
    pick = staticmethod(np.amax)

    @classmethod
    def forward(cls, ctx, x, dim=None, keepdim=False):
        if x.size == 0:
            raise ValueError(f"cannot take the {cls.op} of an empty tensor")
        ctx.dims = normalize_dims(dim, x.ndim)
        ctx.keepdim = keepdim
        out = cls.pick(x, axis=ctx.dims, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            out, grad = np.expand_dims(out, ctx.dims), np.expand_dims(grad, ctx.dims)
        # only the extreme elements moved the output; ties share the gradient
        winners = x == out
        return winners * (grad / winners.sum(axis=ctx.dims, keepdims=True))


class Amin(Amax):
    pick = staticmethod(np.amin)


class MaxDim(Op):
    """The values of max(dim); the indices are taken as PyTorch takes them (the first
    largest element, or the first NaN), and only that element gets the gradient."""
    op = "max"
    arg = staticmethod(np.argmax)

    @classmethod
    def forward(cls, ctx, x, dim, keepdim=False):
        if x.size == 0:
            raise ValueError(f"cannot take the {cls.op} of an empty tensor")
        (dim,) = normalize_dims(dim, x.ndim)
        indices = np.expand_dims(cls.arg(x, axis=dim), dim)   # NaN counts as the extreme
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


class MinDim(MaxDim):
    op = "min"
    arg = staticmethod(np.argmin)


class Prod(Op):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.save_for_backward(x)
        ctx.dims, ctx.keepdim = normalize_dims(dim, x.ndim), keepdim
        return np.prod(x, axis=ctx.dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not ctx.keepdim:
            grad = np.expand_dims(grad, ctx.dims)
        # d(prod)/dx_i is the product of all the others. Written as the products before
        # and after i (cumulative, along the reduced elements laid out in a row), it needs
        # no division, so a zero among the inputs is no problem.
        xp = array_module(x)
        moved = xp.moveaxis(x, ctx.dims, tuple(range(-len(ctx.dims), 0)))
        row = moved.reshape(moved.shape[:moved.ndim - len(ctx.dims)] + (-1,))
        ones = xp.ones(row.shape[:-1] + (1,), x.dtype)
        before = xp.cumprod(xp.concatenate([ones, row[..., :-1]], -1), -1)
        after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([row[..., 1:], ones], -1), -1), -1), -1)
        others = xp.moveaxis((before * after).reshape(moved.shape),
                             tuple(range(-len(ctx.dims), 0)), ctx.dims)
        return grad * others


class Var(Op):
    """Variance with Bessel's `correction` (1 by default, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, dim=None, correction=1, keepdim=False):
        ctx.save_for_backward(x)
        ctx.dims, ctx.keepdim, ctx.correction = normalize_dims(dim, x.ndim), keepdim, correction
        ctx.count = int(np.prod([x.shape[d] for d in ctx.dims])) if x.ndim else 1
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.var(x, axis=ctx.dims, ddof=correction, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not ctx.keepdim:
            grad = np.expand_dims(grad, ctx.dims)
        centered = x - x.mean(axis=ctx.dims, keepdims=True)
        # d var/dx_i = 2 (x_i - mean) / (N - correction)
        return grad * 2 * centered / (ctx.count - ctx.correction)


class Std(Var):
    @staticmethod
    def forward(ctx, x, dim=None, correction=1, keepdim=False):
        out = np.sqrt(Var.forward(ctx, x, dim, correction, keepdim))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            out, grad = np.expand_dims(out, ctx.dims), np.expand_dims(grad, ctx.dims)
        centered = x - x.mean(axis=ctx.dims, keepdims=True)
        # d sqrt(var)/dx_i = (x_i - mean) / ((N - correction) std); 0 where std = 0, as
        # PyTorch has it (the formula would give 0/0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(out == 0, 0, grad / (out * (ctx.count - ctx.correction)))
        return scale * centered


class Norm(Op):
    """The p-norm (sum |x|^p)^(1/p) over `dim`; p may be inf or -inf (largest or
    smallest |x|)."""

    @staticmethod
    def forward(ctx, x, p=2, dim=None, keepdim=False):
        ctx.dims, ctx.keepdim, ctx.p = normalize_dims(dim, x.ndim), keepdim, p
        a = np.abs(x)
        if p == np.inf or p == -np.inf:
            out = (np.amax if p > 0 else np.amin)(a, axis=ctx.dims, keepdims=keepdim)
        elif p == 0:
            out = (a != 0).sum(axis=ctx.dims, keepdims=keepdim).astype(x.dtype)
        else:
            out = (a ** p).sum(axis=ctx.dims, keepdims=keepdim) ** (1 / p)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            out, grad = np.expand_dims(out, ctx.dims), np.expand_dims(grad, ctx.dims)
        p, a = ctx.p, np.abs(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                return np.zeros_like(x)
            if p == np.inf or p == -np.inf:   # the extreme elements share the gradient
                winners = a == out
                local = np.sign(x) * winners / winners.sum(axis=ctx.dims, keepdims=True)
            elif p == 1:
                local = np.sign(x)             # d|x|/dx
            else:
                # d norm/dx_i = x_i |x_i|^(p-2) / norm^(p-1); 0 where the norm is 0
                local = np.where(out == 0, 0, x * a ** (p - 2) / out ** (p - 1))
        return grad * local


class LogSumExp(Op):
    @staticmethod
    def forward(ctx, x, dim, keepdim=False):
        ctx.dims, ctx.keepdim = normalize_dims(dim, x.ndim), keepdim
        # log sum e^x = m + log sum e^(x - m) with m the max, so nothing overflows;
        # an all -inf row keeps -inf (m would make it nan)
        m = np.amax(x, axis=ctx.dims, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # log 0 = -inf is the answer, not a mistake
            out = m + np.log(np.exp(x - m).sum(axis=ctx.dims, keepdims=True))
        ctx.save_for_backward(x, out)
        return out if keepdim else np.squeeze(out, ctx.dims)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            grad = np.expand_dims(grad, ctx.dims)
        return grad * np.exp(x - out)   # d logsumexp/dx_i = softmax(x)_i


class CumSum(Op):
    @staticmethod
    def forward(ctx, x, dim):
        (ctx.dim,) = normalize_dims(dim, x.ndim)
        return np.cumsum(x, axis=ctx.dim)

    @staticmethod
    def backward(ctx, grad):
        # x_i counts in every later partial sum: d/dx_i = sum of grad from i on
        return np.flip(np.cumsum(np.flip(grad, ctx.dim), axis=ctx.dim), ctx.dim)


class CumProd(Op):
    @staticmethod
    def forward(ctx, x, dim):
        (ctx.dim,) = normalize_dims(dim, x.ndim)
        out = np.cumprod(x, axis=ctx.dim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dim = ctx.dim
        if np.all(x != 0):
            # y_j = prod_{k <= j} x_k, so d/dx_i = sum_{j >= i} g_j y_j / x_i
            total = np.flip(np.cumsum(np.flip(grad * out, dim), axis=dim), dim)
            return total / x
        # with zeros, divide by nothing: d/dx_i = sum_{j >= i} g_j prod_{k <= j, k != i} x_k
        xm, gm = np.moveaxis(x, dim, -1), np.moveaxis(grad, dim, -1)
        dx = np.zeros_like(xm)
        for i in range(xm.shape[-1]):
            others = xm.copy()
            others[..., i] = 1
            dx[..., i] = (gm[..., i:] * np.cumprod(others, -1)[..., i:]).sum(-1)
        return np.moveaxis(dx, -1, dim)


class TakeAlongDim(Op):
    """x's elements at `indices` along `dim` (gather, and sort's and topk's values):
    each index picks one element, which gets that position's gradient (added up when
    an element is picked twice)."""
    op = "gather"

    @staticmethod
    def forward(ctx, x, indices, dim):
        (ctx.dim,) = normalize_dims(dim, x.ndim)
        ctx.shape = x.shape
        ctx.save_for_backward(indices)
        return np.take_along_axis(x, indices, axis=ctx.dim)

    @staticmethod
    def backward(ctx, grad):
        indices, = ctx.saved_tensors
        xp = array_module(grad)
        dx = xp.zeros(ctx.shape, grad.dtype)
        xp.add.at(dx, positions(indices, ctx.dim), grad)
        return dx, None


def positions(indices, dim):
    """The full index (i0, i1, ..., indices, ...) that `indices` along `dim` stands for."""
    xp = array_module(indices)
    grids = list(xp.indices(indices.shape, sparse=True))
    grids[dim] = indices
    return tuple(grids)
