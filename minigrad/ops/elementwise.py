"""Element-wise operations and their derivatives.

Binary ops broadcast like NumPy; their backward sums the gradient back down to each
input's shape (`unbroadcast`). Either input may be a Python number, in which case
backward returns None for it.
"""
import math

import numpy as np

from ..autograd import Op
from ..backend import array_module
from ..kernels import ElementwiseKernel
from .util import unbroadcast


def _shape(x):
    return np.shape(x)


class Add(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return a + b

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return unbroadcast(grad, sa), unbroadcast(grad, sb)  # d(a+b)/da = d(a+b)/db = 1


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return a - b

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return unbroadcast(grad, sa), unbroadcast(-grad, sb)


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        # each input's gradient needs only the other one, so (as PyTorch does) an input
        # is saved only when the other needs a gradient
        needs_a, needs_b = ctx.needs_input_grad
        ctx.save_for_backward(a if needs_b else None, b if needs_a else None)
        ctx.shapes = _shape(a), _shape(b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        da = unbroadcast(grad * b, sa) if ctx.needs_input_grad[0] else None
        db = unbroadcast(grad * a, sb) if ctx.needs_input_grad[1] else None
        return da, db


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        ctx.shapes = _shape(a), _shape(b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        da = unbroadcast(grad / b, sa) if ctx.needs_input_grad[0] else None
        # d(a/b)/db = -a / b^2
        db = unbroadcast(-grad * a / (b * b), sb) if ctx.needs_input_grad[1] else None
        return da, db


class Pow(Op):
    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        # the output is needed only for the exponent's gradient; PyTorch keeps it
        # whenever the exponent is a tensor, and so the version check sees it then
        ctx.save_for_backward(a, b, None if isinstance(b, (int, float)) else out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        da = db = None
        if ctx.needs_input_grad[0]:
            # d(a^b)/da = b * a^(b-1); written with a^(b-1), not out / a, so a = 0 works.
            # Where b = 0 it is 0: the formula would give 0 * inf = nan at a = 0.
            with np.errstate(divide="ignore", invalid="ignore"):
                local = np.where(b == 0, 0, b * a ** (b - 1))
            da = unbroadcast(grad * local, _shape(a))
        if ctx.needs_input_grad[1]:
            # d(a^b)/db = a^b * log(a); PyTorch defines it as 0 where a = 0.
            # A Python-number base stays a Python float, so float32 stays float32.
            if isinstance(a, (int, float)):
                log_a = math.log(a) if a != 0 else 0.0
            else:
                log_a = np.log(np.where(a == 0, 1, a))
            db = unbroadcast(grad * out * log_a, _shape(b))
        return da, db


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Op):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * y  # d(e^x)/dx = e^x


class Log(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / x  # d(log x)/dx = 1/x


class Sqrt(Op):
    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad / (2 * y)  # d(sqrt x)/dx = 1 / (2 sqrt x)


class Abs(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * np.sign(x)  # d|x|/dx = sign(x), taken as 0 at x = 0


tanh_bwd = ElementwiseKernel(
    "T grad, T y", "T dx",
    "dx = grad * (1 - y * y)",                     # d(tanh x)/dx = 1 - tanh(x)^2
    "tanh_bwd",
    reference=lambda grad, y: grad * (1 - y * y))


class Tanh(Op):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return tanh_bwd(grad, y)


def _sigmoid(x):
    # 1 / (1 + e^-x) overflows e^-x for very negative x; this form never does
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


sigmoid_fwd = ElementwiseKernel(
    "T x", "T y",
    """T e = exp(-fabs(x));
    y = x >= 0 ? 1 / (1 + e) : e / (1 + e)""",
    "sigmoid_fwd",
    reference=_sigmoid)

sigmoid_bwd = ElementwiseKernel(
    "T grad, T y", "T dx",
    "dx = grad * y * (1 - y)",                     # d(sigmoid x)/dx = sigmoid(x) (1 - sigmoid(x))
    "sigmoid_bwd",
    reference=lambda grad, y: grad * y * (1 - y))


class Sigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        y = sigmoid_fwd(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return sigmoid_bwd(grad, y)


relu_fwd = ElementwiseKernel(
    "T x", "T y",
    "y = x < 0 ? (T)0 : x",                        # written so that NaN passes through
    "relu_fwd",
    reference=lambda x: np.maximum(x, 0))

# A product with the mask rather than a select: NumPy's where() is three times slower.
# (So an infinite gradient at an inactive unit gives NaN, where PyTorch gives 0.)
relu_bwd = ElementwiseKernel(
    "T grad, T y", "T dx",
    "dx = grad * (T)(y > 0)",                      # d(relu x)/dx = 1 where x > 0, else 0
    "relu_bwd",
    reference=lambda grad, y: grad * (y > 0))


class ReLU(Op):
    op = "relu"

    @staticmethod
    def forward(ctx, x):
        y = relu_fwd(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return relu_bwd(grad, y)


class Clamp(Op):
    @staticmethod
    def forward(ctx, x, min=None, max=None):
        ctx.save_for_backward(x)
        ctx.bounds = min, max
        return np.clip(x, min, max)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        lo, hi = ctx.bounds
        inside = np.ones(x.shape, dtype=bool)  # the gradient passes where x was not clipped
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        return grad * inside


class Maximum(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # the larger input gets the gradient; on a tie each gets half, as in PyTorch
        share_a = (a > b) + (a == b) * grad.dtype.type(0.5)
        da = unbroadcast(grad * share_a, _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(grad * (1 - share_a), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Where(Op):
    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.save_for_backward(condition)
        ctx.shapes = _shape(x), _shape(y)
        return np.where(condition, x, y)

    @staticmethod
    def backward(ctx, grad):
        condition, = ctx.saved_tensors
        sx, sy = ctx.shapes
        zero = np.zeros((), grad.dtype)
        dx = unbroadcast(np.where(condition, grad, zero), sx) if ctx.needs_input_grad[1] else None
        dy = unbroadcast(np.where(condition, zero, grad), sy) if ctx.needs_input_grad[2] else None
        return None, dx, dy


class Cast(Op):
    """A change of dtype; the gradient goes back in the input's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype)


# ----------------------------------------------------------------- more math


def erf(x):
    """The error function, exactly (NumPy has none; Python's math.erf, element by
    element, or CuPy's own on a GPU)."""
    if array_module(x) is not np:
        import cupyx.scipy.special
        return cupyx.scipy.special.erf(x)
    return np.asarray(_erf(x), dtype=x.dtype) if np.ndim(x) else np.asarray(math.erf(x), x.dtype)


_erf = np.frompyfunc(math.erf, 1, 1)


class Sin(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * np.cos(x)  # d(sin x)/dx = cos x


class Cos(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return -grad * np.sin(x)  # d(cos x)/dx = -sin x


class Log1p(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)       # log(1 + x), exact for small x where 1 + x rounds to 1

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / (1 + x)    # d log(1 + x)/dx = 1 / (1 + x)


class Expm1(Op):
    @staticmethod
    def forward(ctx, x):
        y = np.expm1(x)          # e^x - 1, exact for small x
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (y + 1)    # d(e^x - 1)/dx = e^x


class Log2(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log2(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / (x * math.log(2))  # d log2(x)/dx = 1 / (x ln 2)


class Rsqrt(Op):
    @staticmethod
    def forward(ctx, x):
        y = 1 / np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * -0.5 * y * y * y  # d x^(-1/2)/dx = -x^(-3/2) / 2


class Reciprocal(Op):
    @staticmethod
    def forward(ctx, x):
        y = 1 / x
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return -grad * y * y     # d(1/x)/dx = -1/x^2


class Erf(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (2 / math.sqrt(math.pi)) * np.exp(-x * x)  # d erf(x)/dx = 2/sqrt(pi) e^(-x^2)


class PiecewiseConstant(Op):
    """floor, ceil, round, trunc, sign: flat between jumps, so their derivative is 0
    wherever it exists; PyTorch's backward gives zeros (not "no gradient"), and so
    does this."""
    function = None

    @classmethod
    def forward(cls, ctx, x, **options):
        return cls.function(x, **options)

    @staticmethod
    def backward(ctx, grad):
        return array_module(grad).zeros_like(grad)


class Floor(PiecewiseConstant):
    function = staticmethod(np.floor)


class Ceil(PiecewiseConstant):
    function = staticmethod(np.ceil)


class Round(PiecewiseConstant):
    function = staticmethod(np.round)    # halves go to the even neighbour, as in PyTorch


class Trunc(PiecewiseConstant):
    function = staticmethod(np.trunc)


class Sign(PiecewiseConstant):
    # sign(nan) is 0 in PyTorch (NumPy says nan)
    function = staticmethod(lambda x: np.where(x != x, x.dtype.type(0), np.sign(x)))


class Minimum(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # the smaller input gets the gradient; on a tie each gets half, as in PyTorch
        share_a = (a < b) + (a == b) * grad.dtype.type(0.5)
        da = unbroadcast(grad * share_a, _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(grad * (1 - share_a), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Lerp(Op):
    """start + weight * (end - start), computed as PyTorch computes it (from the nearer
    end), so that float32 results agree to the last bit."""

    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.save_for_backward(start, end, weight)
        diff = end - start
        return np.where(np.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))

    @staticmethod
    def backward(ctx, grad):
        start, end, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        d_start = unbroadcast(grad * (1 - weight), _shape(start)) if needs[0] else None
        d_end = unbroadcast(grad * weight, _shape(end)) if needs[1] else None
        d_weight = unbroadcast(grad * (end - start), _shape(weight)) if needs[2] else None
        return d_start, d_end, d_weight


class Remainder(Op):
    """a % b with the sign of b (Python's and PyTorch's rule, not C's fmod)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        ctx.shapes = _shape(a), _shape(b)
        return np.remainder(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        # a % b = a - b floor(a / b): d/da = 1, d/db = -floor(a / b)
        da = unbroadcast(grad, sa) if ctx.needs_input_grad[0] else None
        db = unbroadcast(-grad * np.floor_divide(a, b), sb) if ctx.needs_input_grad[1] else None
        return da, db


class _Unary(Op):
    """An op y = f(x) whose derivative needs only x: `function` and `derivative`."""
    function = derivative = None

    @classmethod
    def forward(cls, ctx, x):
        ctx.save_for_backward(x)
        return cls.function(x)

    @classmethod
    def backward(cls, ctx, grad):
        x, = ctx.saved_tensors
        return grad * cls.derivative(x)


class Tan(_Unary):
    function = staticmethod(np.tan)
    derivative = staticmethod(lambda x: 1 + np.tan(x) ** 2)       # d tan x/dx = 1 + tan^2 x


class Asin(_Unary):
    function = staticmethod(np.arcsin)
    derivative = staticmethod(lambda x: 1 / np.sqrt(1 - x * x))   # 1 / sqrt(1 - x^2)


class Acos(_Unary):
    function = staticmethod(np.arccos)
    derivative = staticmethod(lambda x: -1 / np.sqrt(1 - x * x))  # -1 / sqrt(1 - x^2)


class Atan(_Unary):
    function = staticmethod(np.arctan)
    derivative = staticmethod(lambda x: 1 / (1 + x * x))          # 1 / (1 + x^2)


class Sinh(_Unary):
    function = staticmethod(np.sinh)
    derivative = staticmethod(np.cosh)                            # d sinh x/dx = cosh x


class Cosh(_Unary):
    function = staticmethod(np.cosh)
    derivative = staticmethod(np.sinh)                            # d cosh x/dx = sinh x


class Asinh(_Unary):
    function = staticmethod(np.arcsinh)
    derivative = staticmethod(lambda x: 1 / np.sqrt(x * x + 1))   # 1 / sqrt(x^2 + 1)


class Acosh(_Unary):
    function = staticmethod(np.arccosh)
    derivative = staticmethod(lambda x: 1 / np.sqrt(x * x - 1))   # 1 / sqrt(x^2 - 1)


class Atanh(_Unary):
    function = staticmethod(np.arctanh)
    derivative = staticmethod(lambda x: 1 / (1 - x * x))          # 1 / (1 - x^2)


class Atan2(Op):
    """The angle of the point (x, y): atan2(y, x)."""

    @staticmethod
    def forward(ctx, y, x):
        ctx.save_for_backward(y, x)
        return np.arctan2(y, x)

    @staticmethod
    def backward(ctx, grad):
        y, x = ctx.saved_tensors
        r2 = x * x + y * y
        # d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2)
        dy = unbroadcast(grad * x / r2, _shape(y)) if ctx.needs_input_grad[0] else None
        dx = unbroadcast(-grad * y / r2, _shape(x)) if ctx.needs_input_grad[1] else None
        return dy, dx


class Fmod(Op):
    """a fmod b: the remainder with the sign of a (C's fmod; `%` takes b's sign)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.fmod(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # fmod(a, b) = a - b trunc(a / b): d/da = 1, d/db = -trunc(a / b)
        da = unbroadcast(grad, _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(-grad * np.trunc(a / b), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class DivFloor(Op):
    """div(a, b, rounding_mode="floor") of floats: floor(a / b), rounded as Python's //
    rounds. It is flat between jumps, so its gradient is zero (as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return np.floor_divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        zeros = array_module(grad).zeros_like(grad)
        return unbroadcast(zeros, ctx.shapes[0]), unbroadcast(zeros, ctx.shapes[1])
