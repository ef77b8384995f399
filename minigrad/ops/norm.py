"""Normalization: x minus its mean, divided by its standard deviation, over some axes.

LayerNorm, BatchNorm (in training) and GroupNorm differ only in the axes the mean and
variance are taken over, so one Op does all three. Fused, forward keeps a single array
of x's size for backward (x_hat) instead of the half-dozen intermediates that
mean/sub/mul/rsqrt ops would each save, and backward is three passes over the data.
"""
from ..autograd import Op
from ..backend import array_module
from .util import unbroadcast


class Normalize(Op):
    """y = x_hat * weight + bias, x_hat = (x - mean) / sqrt(var + eps).

    mean and var (biased, divided by n) are taken over `axes`; weight and bias (or None)
    broadcast against x, and their gradients are summed back to their own shapes."""

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, axes=(-1,), eps=1e-5):
        xp = array_module(x)
        mean = x.mean(axis=axes, keepdims=True)
        x_hat = x - mean
        var = (x_hat * x_hat).mean(axis=axes, keepdims=True)
        rstd = 1 / xp.sqrt(var + eps)
        x_hat *= rstd
        ctx.axes, ctx.bias_shape = axes, None if bias is None else bias.shape
        ctx.save_for_backward(x_hat, rstd, weight)
        y = x_hat
        if weight is not None:
            y = y * weight
        if bias is not None:
            y = y + bias
        return y

    @staticmethod
    def backward(ctx, grad):
        x_hat, rstd, weight = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad
        axes = ctx.axes
        dw = unbroadcast(grad * x_hat, weight.shape) if needs_w else None   # dy/dw = x_hat
        db = unbroadcast(grad, ctx.bias_shape) if needs_b else None      # dy/db = 1
        dx = None
        if needs_x:
            g = grad * weight if weight is not None else grad             # dL/dx_hat
            # x_hat = (x - mean) * rstd, where mean and rstd depend on every x of the group:
            # dL/dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat))
            dx = g - g.mean(axis=axes, keepdims=True)
            dx -= x_hat * (g * x_hat).mean(axis=axes, keepdims=True)
            dx *= rstd
        return dx, dw, db


class LayerNorm(Normalize):
    """Normalize over the last len(normalized_shape) axes of each sample."""
    op = "layer_norm"


class BatchNorm(Normalize):
    """Normalize each channel (axis 1) over the batch and every spatial position."""
    op = "batch_norm"


class GroupNorm(Normalize):
    """Normalize each group of channels of each sample (x reshaped to (N, groups, -1))."""
    op = "group_norm"
