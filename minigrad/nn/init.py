"""`minigrad.nn.init`: fill a weight in place with the numbers training starts from, as
`torch.nn.init` does.

Every function changes the tensor it is given (inside no_grad(), through the tensor's own
in-place ops, so its `_version` moves on as in PyTorch) and returns it. The formulas for
bounds and standard deviations are PyTorch's, digit for digit; the random numbers come
from minigrad's generator (`minigrad.manual_seed`, or a `generator=`), so they repeat from
run to run but differ from PyTorch's.

    w = minigrad.empty(128, 64)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))   # what nn.Linear does to its weight
"""
import math
import warnings

import numpy as np

from .. import autograd, backend, creation
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_"]


def calculate_gain(nonlinearity, param=None):
    """How much `nonlinearity` shrinks the spread of its inputs, to be undone by scaling
    the weights: 1 for linear, conv and sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`, default 0.01), 3/4 for selu."""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            negative_slope = param   # (True is an int to Python, hence the bool test)
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4   # found empirically (PyTorch's pull request 50664)
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


# ------------------------------------------------------------------ distributions


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill `tensor` with numbers drawn uniformly from [a, b)."""
    _check_uniform_bounds(tensor, a, b)
    return _fill(tensor, creation.generator(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill `tensor` with numbers drawn from the normal distribution N(mean, std^2)."""
    _check_floating(tensor, "normal_")
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _fill(tensor, creation.generator(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill `tensor` with numbers from N(mean, std^2) restricted to [a, b]: numbers that
    fall outside are drawn again. Works best when a <= mean <= b."""
    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    _check_floating(tensor, "normal_")
    rng = creation.generator(generator)
    p = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std)   # the mass inside [a, b]
    if p > 0.3:
        # most draws from N(mean, std^2) land in [a, b]: draw again those that do not
        def draw(n):
            return rng.normal(mean, std, n)

        def rejected(x):
            return (x < a) | (x > b)
    else:
        # [a, b] holds little of the bell, so normal draws would seldom land in it: draw
        # uniformly in [a, b] instead and keep x with probability pdf(x) / pdf(mode),
        # which leaves exactly the normal's shape on [a, b]
        _check_uniform_bounds(tensor, a, b)
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2

        def draw(n):
            return rng.uniform(a, b, n)

        def rejected(x):
            return rng.random(x.shape) >= np.exp(-0.5 * ((x - mean) / std) ** 2 - log_peak)

    values = draw(tensor.numel())
    _fill(tensor, values.reshape(tensor.shape))
    redo = np.flatnonzero(rejected(values))
    if redo.size:     # PyTorch writes the corrected numbers with a second in-place op
        while redo.size:
            values[redo] = draw(redo.size)
            redo = redo[rejected(values[redo])]
        _fill(tensor, values.reshape(tensor.shape))
    return tensor


# ------------------------------------------------------------------ constants


def constant_(tensor, val):
    """Fill `tensor` with `val`."""
    with autograd.no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    with autograd.no_grad():
        return tensor.fill_(1.0)


def zeros_(tensor):
    with autograd.no_grad():
        return tensor.zero_()


def eye_(tensor):
    """Fill a 2-d `tensor` with the identity matrix (ones on the diagonal, where the shape
    is not square too), so a Linear layer starts by passing its inputs through."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


# ------------------------------------------------------------------ scaled to the layer


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight laid out as PyTorch lays them out, (out, in, *kernel):
    how many inputs feed each output and how many outputs each input feeds."""
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer "
                         "than 2 dimensions")
    receptive_field_size = 1         # the kernel's size, for a convolution's weight
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    fan_in = tensor.shape[1] * receptive_field_size
    fan_out = tensor.shape[0] * receptive_field_size
    return fan_in, fan_out


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot initialisation: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), which
    keeps the spread of signals about the same forwards and backwards."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std     # U(-a, a) has standard deviation a / sqrt(3)
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot initialisation: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He initialisation: U(-bound, bound) with bound = gain * sqrt(3 / fan), `fan` being
    fan_in (keeps the forward signal's spread) or fan_out (the gradients'), and `gain`
    that of `nonlinearity` (`a`: the negative slope of a leaky_relu).

    nn.Linear and nn.Conv2d start from a=sqrt(5), which makes bound = 1 / sqrt(fan_in)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std     # U(-bound, bound) has standard deviation bound / sqrt(3)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He initialisation: N(0, std^2) with std = gain / sqrt(fan) (see kaiming_uniform_)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    """gain / sqrt(fan) for He initialisation; None (with PyTorch's warning) for a
    tensor without elements, which is left as it is."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def orthogonal_(tensor, gain=1, generator=None):
    """Fill `tensor` with a (semi-)orthogonal matrix times `gain`: its rows are orthonormal
    if it is wide, its columns if it is tall. Dimensions after the first are flattened."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    _check_floating(tensor, "normal_")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flattened = creation.generator(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flattened = flattened.T            # QR gives orthonormal columns: work on the tall side
    q, r = np.linalg.qr(flattened)
    # QR leaves each column's sign to the algorithm; taking it from R's diagonal makes Q
    # uniformly distributed over orthogonal matrices (Mezzadri, arXiv math-ph/0609050)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    _fill(tensor, q.reshape(tensor.shape))
    with autograd.no_grad():
        tensor.mul_(gain)
    return tensor


# ------------------------------------------------------------------ helpers


def _fill(tensor, values):
    """Copy the NumPy array `values` into `tensor`, as one in-place op that no graph
    records (its _version goes up by one)."""
    with autograd.no_grad():
        return tensor.copy_(Tensor(backend.move(values, tensor.device)))


def _check_uniform_bounds(tensor, a, b):
    """PyTorch's checks of the range of uniform_: finite, in order, not too wide."""
    _check_floating(tensor, "uniform_")
    largest = float(np.finfo(tensor.data.dtype).max)
    for name, value in (("from", a), ("to", b)):
        if not -largest <= value <= largest:        # also false for NaN
            raise RuntimeError(f"uniform_: {name}={value} is out of bounds for "
                               f"{tensor.dtype.name}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    if b - a > largest:
        raise RuntimeError(f"uniform_ expects to-from <= {largest} ({tensor.dtype.name}), "
                           f"but found to={b} and from={a}")


def _check_floating(tensor, op):
    if tensor.data.dtype.kind != "f":
        raise NotImplementedError(
            f"{op} is not implemented for {tensor.dtype.name} tensors (nor in PyTorch): "
            "random numbers fill floating point tensors only; make the tensor with "
            "dtype=minigrad.float32")


# PyTorch's other initialisers, and its old names without the trailing underscore
_NOT_HERE = {"dirac_", "sparse_", "uniform", "normal", "constant", "eye", "dirac",
             "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
             "orthogonal", "sparse"}


def __getattr__(name):
    if name in _NOT_HERE:
        instead = (f"; use nn.init.{name}_, the name PyTorch keeps"
                   if name + "_" in __all__ else "")
        raise AttributeError(f"minigrad.nn.init has no {name}: torch.nn.init has it, "
                             f"minigrad does not implement it{instead}")
    raise AttributeError(f"module 'minigrad.nn.init' has no attribute '{name}'")
