"""The fused operations neural networks are made of.

Each of these could be written with the basic ops, but fused they are faster (one node
instead of several) and numerically safer (softmax never overflows).
"""
import math

import numpy as np

from ..autograd import Op
from ..backend import array_module
from ..errors import shape_error
from ..kernels import ElementwiseKernel
from .elementwise import _sigmoid, erf


class Linear(Op):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if (x.dtype is not weight.dtype and x.dtype != weight.dtype) or (
                bias is not None and bias.dtype != weight.dtype):
            raise RuntimeError(f"linear: the input ({x.dtype}), weight ({weight.dtype}) and "
                               "bias must have the same dtype; convert the input with "
                               ".to(weight.dtype), or the layer with .double()/.float()")
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


class Softmax(Op):
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


class LogSoftmax(Op):
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


class CrossEntropy(Op):
    """Mean (or sum, or per-sample) of -log softmax(logits)[target], leaving out the
    targets equal to ignore_index (which must be outside 0..C-1 here)."""
    op = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, target, reduction="mean", ignore_index=-100):
        n, n_classes = logits.shape
        # One pass finds targets below 0 and at or above n_classes: read as unsigned
        # integers, negative ones are huge. (Checked here, not before the call, so that a
        # minigrad.compile replay checks each new target too.)
        unsigned = target.view(np.uint64) if target.dtype.itemsize == 8 else \
            target.astype(np.uint64)
        kept = None                     # None: every target counts (the usual case)
        if target.size and unsigned.max() >= n_classes:
            kept = target != ignore_index
            if kept.any() and unsigned[kept].max() >= n_classes:
                raise IndexError(f"a target is outside the classes 0..{n_classes - 1} "
                                 f"(targets range from {target[kept].min()} to "
                                 f"{target[kept].max()})")
            target = target * kept      # any class will do for the ignored rows
        # A C-contiguous copy, for the kernel and for backward: PyTorch saves log-softmax
        # values of its own here, so changing the logits in place afterwards is allowed
        logits = logits.copy()     # C-contiguous, as ndarray.copy() always is
        losses, row_max, total = cross_entropy_fwd(logits, target, n_classes)
        count = n
        if kept is not None:
            losses *= kept
            count = kept.sum().astype(logits.dtype)   # 0 if all are ignored: the mean is NaN
        ctx.save_for_backward(logits, row_max, total, target, kept)
        ctx.reduction, ctx.count = reduction, count
        if reduction == "mean":
            if kept is None:
                return losses.sum() / count
            with np.errstate(invalid="ignore"):      # 0 / 0 when every target is ignored
                return losses.sum() / count
        return losses.sum() if reduction == "sum" else losses

    @staticmethod
    def backward(ctx, grad):
        logits, row_max, total, target, kept = ctx.saved_tensors
        n, n_classes = logits.shape
        # the upstream gradient: one number (mean, sum) or one per row (reduction="none")
        xp = array_module(logits)
        # all targets ignored: every gradient is 0 (as in PyTorch), not 0 * (g / 0) = NaN
        count = ctx.count if kept is None else xp.maximum(ctx.count, 1)
        scale = xp.asarray(grad / count if ctx.reduction == "mean" else grad, logits.dtype)
        if kept is not None:            # ignored rows get no gradient
            scale = (xp.broadcast_to(scale, (n,)) * kept).astype(logits.dtype)
        return cross_entropy_bwd(logits, row_max, total, target, n_classes, scale,
                                 int(scale.ndim == 1)), None


class MSELoss(Op):
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


class Dropout(Op):
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


# ------------------------------------------------------------- activations


class GELU(Op):
    """x * P(X <= x) for X standard normal; approximate="tanh" is the tanh formula of
    Hendrycks & Gimpel (2016), as PyTorch computes both."""
    op = "gelu"

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = _GELU_K * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + np.tanh(inner))
        # erf has no NumPy ufunc and costs more than the rest of the op: keep the
        # cumulative probability for backward instead of computing it twice
        ctx.cdf = 0.5 * (1 + erf(x * _SQRT_HALF))
        return x * ctx.cdf

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = np.tanh(_GELU_K * (x + 0.044715 * x * x * x))
            # d/dx of 0.5 x (1 + tanh(u)), u = k (x + 0.044715 x^3)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_K
                           * (1 + 3 * 0.044715 * x * x))
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad * (ctx.cdf + x * pdf)        # d(x Phi(x))/dx = Phi(x) + x phi(x)


_SQRT_HALF = math.sqrt(0.5)
_GELU_K = math.sqrt(2 / math.pi)


class SiLU(Op):
    op = "silu"

    @staticmethod
    def forward(ctx, x):
        s = _sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return grad * s * (1 + x * (1 - s))  # d(x s(x))/dx = s + x s (1 - s)


class Softplus(Op):
    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * beta
        # log(1 + e^(bx)) / b, and x itself where bx > threshold (as PyTorch, for speed
        # and to avoid overflow)
        return np.where(bx > threshold, x, np.logaddexp(0, bx) / beta).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        bx = x * ctx.beta
        return grad * np.where(bx > ctx.threshold, 1, _sigmoid(bx))  # d/dx = sigmoid(bx)


class LeakyReLU(Op):
    op = "leaky_relu"

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * np.where(x > 0, 1, ctx.slope).astype(grad.dtype)


class ELU(Op):
    op = "elu"

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        # 1 for x > 0, else d(alpha (e^x - 1))/dx = alpha e^x
        return grad * np.where(x > 0, 1, ctx.alpha * np.exp(np.minimum(x, 0))).astype(grad.dtype)


class Mish(Op):
    @staticmethod
    def forward(ctx, x):
        t = np.tanh(np.logaddexp(0, x)).astype(x.dtype)       # tanh(softplus(x))
        ctx.save_for_backward(x, t)
        return x * t

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        # d(x tanh(sp(x)))/dx = tanh(sp(x)) + x (1 - tanh^2(sp(x))) sigmoid(x)
        return grad * (t + x * (1 - t * t) * _sigmoid(x))


class Hardtanh(Op):
    @staticmethod
    def forward(ctx, x, min_val=-1.0, max_val=1.0):
        ctx.save_for_backward(x)
        ctx.bounds = min_val, max_val
        return np.clip(x, min_val, max_val)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        lo, hi = ctx.bounds
        # strictly inside only: at the bounds PyTorch's hardtanh gives 0 (clamp gives 1)
        return grad * ((x > lo) & (x < hi))


class Pad(Op):
    """F.pad: `pad` lists (before, after) amounts from the last dimension backwards;
    negative amounts cut. Every element of the result is an element of the input (or
    the constant): `where` holds, for each, the input's flat position (or -1)."""

    @staticmethod
    def forward(ctx, x, pad, mode="constant", value=0.0):
        xp = array_module(x)
        where = xp.arange(x.size).reshape(x.shape)
        widths = [(0, 0)] * x.ndim
        for k in range(len(pad) // 2):
            widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
        cut = tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(widths, x.shape))
        where = where[cut]
        widths = [(max(a, 0), max(b, 0)) for a, b in widths]
        if mode == "constant":
            where = xp.pad(where, widths, constant_values=-1)
        else:
            for (a, b), n in zip(widths, where.shape):
                if mode == "reflect" and max(a, b) >= n:
                    raise ValueError(f"padding size should be less than the corresponding input "
                                     f"dimension for reflect padding, but got pad ({a}, {b}) "
                                     f"for a dimension of size {n}")
            where = xp.pad(where, widths, mode=_PAD_MODES[mode])
        ctx.where, ctx.shape = where, x.shape
        out = x.reshape(-1)[where]
        if mode == "constant":
            out[where < 0] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        dx = xp.zeros(int(np.prod(ctx.shape)), grad.dtype)
        inside = ctx.where >= 0
        xp.add.at(dx, ctx.where[inside], grad[inside])  # a repeated element adds its gradients
        return dx.reshape(ctx.shape)


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
