"""Loss functions: each op gives the loss of every element (reduction="none");
`minigrad.nn.functional` sums or averages it. NLLLoss reduces itself, because its mean
divides by the total weight of the targets it did not ignore.

Like PyTorch, the ops compute every element's loss even where it is infinite or NaN;
`np.errstate` only keeps NumPy from warning about it.
"""
import numpy as np

from ..autograd import Op
from ..backend import array_module
from .util import unbroadcast


class L1Loss(Op):
    op = "l1_loss"

    @staticmethod
    def forward(ctx, x, target):
        diff = x - target
        ctx.save_for_backward(diff)
        return np.abs(diff)

    @staticmethod
    def backward(ctx, grad):
        diff, = ctx.saved_tensors
        d = grad * np.sign(diff)                     # d|x - t|/dx = sign(x - t)
        return d, -d


class SmoothL1Loss(Op):
    """0.5 (x - t)^2 / beta where |x - t| < beta, else |x - t| - 0.5 beta."""
    op = "smooth_l1_loss"

    @staticmethod
    def forward(ctx, x, target, beta=1.0):
        diff = x - target
        ctx.save_for_backward(diff)
        ctx.beta = beta
        small = np.abs(diff) < beta
        return np.where(small, 0.5 * diff * diff / (beta if beta else 1),
                        np.abs(diff) - 0.5 * beta).astype(diff.dtype)

    @staticmethod
    def backward(ctx, grad):
        diff, = ctx.saved_tensors
        beta = ctx.beta
        # (x - t) / beta inside the quadratic zone, sign(x - t) outside it
        d = grad * np.where(np.abs(diff) < beta, diff / (beta if beta else 1), np.sign(diff))
        return d, -d


class HuberLoss(Op):
    """0.5 (x - t)^2 where |x - t| < delta, else delta (|x - t| - 0.5 delta)."""
    op = "huber_loss"

    @staticmethod
    def forward(ctx, x, target, delta=1.0):
        diff = x - target
        ctx.save_for_backward(diff)
        ctx.delta = delta
        size = np.abs(diff)
        return np.where(size < delta, 0.5 * diff * diff,
                        delta * (size - 0.5 * delta)).astype(diff.dtype)

    @staticmethod
    def backward(ctx, grad):
        diff, = ctx.saved_tensors
        d = grad * np.clip(diff, -ctx.delta, ctx.delta)   # x - t, capped at +-delta
        return d, -d


class BinaryCrossEntropy(Op):
    """-(t log x + (1 - t) log(1 - x)) for probabilities x; each log is kept >= -100 so
    that x = 0 or 1 gives a finite loss, as in PyTorch."""
    op = "binary_cross_entropy"

    @staticmethod
    def forward(ctx, x, target):
        # checked here, not before the call, so that a minigrad.compile replay checks
        # every new input too
        if not ((x >= 0) & (x <= 1)).all():
            raise RuntimeError("binary_cross_entropy: all elements of input should be "
                               "between 0 and 1")
        if not ((target >= 0) & (target <= 1)).all():
            raise RuntimeError("binary_cross_entropy: all elements of target should be "
                               "between 0 and 1")
        ctx.save_for_backward(x, target)
        with np.errstate(divide="ignore"):
            log_x, log_1mx = np.maximum(np.log(x), -100), np.maximum(np.log1p(-x), -100)
        return -(target * log_x + (1 - target) * log_1mx)

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        # dL/dx = (x - t) / (x (1 - x)), the denominator kept >= 1e-12 as in PyTorch
        dx = grad * (x - target) / np.maximum((1 - x) * x, 1e-12)
        dt = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                dt = grad * (np.log1p(-x) - np.log(x))       # dL/dt = log(1 - x) - log(x)
        return dx, dt


class BinaryCrossEntropyWithLogits(Op):
    """BCE of sigmoid(x), computed from x directly: (1 - t) x - l log sigmoid(x), with
    l = 1 + (pos_weight - 1) t weighing the positive term."""
    op = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx, x, target, pos_weight=None):
        xp = array_module(x)
        # log sigmoid(x) = min(x, 0) - log(1 + e^-|x|): exp() never overflows
        log_sig = np.minimum(x, 0) - xp.log1p(np.exp(-np.abs(x)))
        ctx.save_for_backward(x, target, pos_weight, log_sig)
        log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
        return ((1 - target) * x - log_weight * log_sig).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, target, pos_weight, log_sig = ctx.saved_tensors
        p = 1 if pos_weight is None else pos_weight
        log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
        # dL/dx = sigmoid(x) l - p t ;  dL/dt = -x - (p - 1) log sigmoid(x)
        dx = grad * (np.exp(log_sig) * log_weight - p * target)
        dt = grad * (-x - (p - 1) * log_sig) if ctx.needs_input_grad[1] else None
        return dx, dt, None


class KLDiv(Op):
    """t (log t - x), the pointwise KL divergence for log-probabilities x; with
    log_target the target is given as log t too: e^t (t - x)."""
    op = "kl_div"

    @staticmethod
    def forward(ctx, x, target, log_target=False):
        ctx.save_for_backward(x, target)
        ctx.log_target = log_target
        if log_target:
            return np.exp(target) * (target - x)
        xp = array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            # t log t is 0 at t = 0 (its limit), as torch.xlogy gives it
            t_log_t = xp.where(target == 0, 0, target * np.log(target))
        return (t_log_t - target * x).astype(np.result_type(x, target), copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        xp = array_module(x)
        weight = np.exp(target) if ctx.log_target else target
        dx = unbroadcast(-grad * weight, x.shape)           # dL/dx = -t
        dt = None
        if ctx.needs_input_grad[1]:
            if ctx.log_target:
                dt = grad * weight * (target - x + 1)        # d(e^t (t - x))/dt
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    # d(t log t - t x)/dt = log t + 1 - x, NaN for t <= 0 as in PyTorch
                    dt = grad * xp.where(target > 0, np.log(target) + 1 - x, np.nan)
            dt = unbroadcast(dt.astype(target.dtype, copy=False), target.shape)
        return dx, dt


class NLLLoss(Op):
    """-w[t] logp[t] for each sample (logp of shape (N, C, d1, ...), target (N, d1, ...)),
    with targets equal to ignore_index left out. With label_smoothing e, the loss is
    (1 - e) of that plus e/C of the loss against every class, -sum_c w[c] logp[c],
    which is what cross_entropy does with it."""
    op = "nll_loss"

    @staticmethod
    def forward(ctx, logp, target, weight=None, reduction="mean", ignore_index=-100,
                label_smoothing=0.0):
        xp = array_module(logp)
        n_classes = logp.shape[1]
        kept = target != ignore_index
        safe = xp.where(kept, target, 0)    # any class will do for the ignored ones
        wrong = (safe < 0) | (safe >= n_classes)
        if wrong.any():
            raise IndexError(f"Target {int(safe[wrong].ravel()[0])} is out of "
                             f"bounds (the classes are 0..{n_classes - 1})")
        w = xp.ones(n_classes, logp.dtype) if weight is None else weight
        w_target = w[safe] * kept                         # 0 for the ignored targets
        picked = xp.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
        loss = -(1 - label_smoothing) * w_target * picked
        w_classes = w.reshape((1, n_classes) + (1,) * (logp.ndim - 2))
        if label_smoothing:
            loss -= label_smoothing / n_classes * (logp * w_classes).sum(axis=1) * kept
        total = w_target.sum()
        ctx.save_for_backward(safe, w_target, w_classes, kept, total)
        ctx.options = reduction, label_smoothing, logp.shape
        if reduction == "none":
            return loss.astype(logp.dtype, copy=False)
        with np.errstate(invalid="ignore"):     # all ignored: 0 / 0 is NaN, as in PyTorch
            return loss.sum() / total if reduction == "mean" else loss.sum()

    @staticmethod
    def backward(ctx, grad):
        safe, w_target, w_classes, kept, total = ctx.saved_tensors
        reduction, smoothing, shape = ctx.options
        xp = array_module(w_target)
        if reduction == "mean":
            # all targets ignored: total is 0 and so is every w[t]; the gradient is 0 (as in
            # PyTorch), not 0 * (g / 0) = NaN
            grad = grad / xp.where(total == 0, 1, total)
        if reduction != "none":
            grad = xp.broadcast_to(grad, safe.shape)
        n_classes = shape[1]
        classes = xp.arange(n_classes).reshape((1, n_classes) + (1,) * (len(shape) - 2))
        # dL/dlogp[c] = -(1 - e) w[t] [c == t] - e/C w[c]
        d = (classes == safe[:, None]) * (-(1 - smoothing) * w_target * grad)[:, None]
        if smoothing:
            d = d - smoothing / n_classes * w_classes * (grad * kept)[:, None]
        return d.astype(w_classes.dtype, copy=False), None, None
