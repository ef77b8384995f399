"""Gradient checks: an analytic gradient compared with central differences (NumPy only).

    grad = numerical_gradient(f, x)          # f: float64 array -> scalar
    relative_error(analytic_grad, grad)      # ~1e-10 when right, ~1 when wrong

The derivative of f along coordinate i is estimated as

    (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),

whose error shrinks like eps**2 (a one-sided difference only like eps). The check needs
float64: in float32 the rounding of f, about 1e-7 relative, divided by 2 eps swamps the
estimate for any eps small enough to be accurate.
"""

from __future__ import annotations

import numpy as np

__all__ = ["numerical_gradient", "relative_error"]


def numerical_gradient(f, x, eps=1e-6):
    """The gradient of the scalar function `f` at `x` (a float64 array), by central
    differences, one coordinate at a time. `x` is restored before returning."""
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {x.dtype}: in lower "
                        "precision, rounding errors swamp the finite difference")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        up = f(x)
        x[i] = saved - eps
        down = f(x)
        x[i] = saved
        if np.ndim(up) != 0 or np.ndim(down) != 0:
            raise ValueError(f"f must return a scalar, got an array of shape {np.shape(up)}")
        grad[i] = (float(up) - float(down)) / (2 * eps)
    return grad


def relative_error(a, b, tiny=1e-12):
    """max |a - b| / max(max |a|, max |b|): scale-free, 0 for identical arrays."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), tiny)
    return float(np.abs(a - b).max(initial=0.0) / scale)
