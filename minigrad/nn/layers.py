"""The layers of `minigrad.nn`, initialised the way PyTorch initialises them."""
import math

from .. import autograd, creation
from . import functional as F
from .module import Module, Parameter


def _uniform(shape, bound, device=None, dtype=None):
    """U(-bound, bound): PyTorch's default for Linear, with bound = 1/sqrt(fan_in).
    Like PyTorch, the parameter is made and then filled in place (its _version is 1)."""
    p = Parameter(creation.zeros(*shape, device=device, dtype=dtype))
    with autograd.no_grad():
        p.copy_((creation.rand(*shape, device=device, dtype=dtype) * 2 - 1) * bound)
    return p


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, "
                             f"out_features={out_features}")
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = _uniform((out_features, in_features), bound, device, dtype)
        self.bias = _uniform((out_features,), bound, device, dtype) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
