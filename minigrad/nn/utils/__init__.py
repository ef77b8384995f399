"""`minigrad.nn.utils`: gradient clipping, as in `torch.nn.utils`, and `rnn`, padding
batches of sequences of different lengths.

Call it between `loss.backward()` and `optimizer.step()`: it changes each parameter's
`.grad` in place (so the gradient's `_version` moves on, as in PyTorch).

    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
"""
import types
import warnings

from ... import autograd, backend, creation
from ...tensor import Tensor
from . import rnn

__all__ = ["rnn", "clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale the gradients of `parameters` (a tensor or an iterable of them) so that, taken
    together as one long vector, their `norm_type`-norm is at most `max_norm`; returns
    that norm as it was before clipping.

    `norm_type` may be float("inf") (or "inf"): the largest absolute value. With
    `error_if_nonfinite=True` a NaN or infinite total norm raises instead of being used.
    `foreach` is accepted for PyTorch's sake; minigrad has one implementation."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)     # a generator could be read only once
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will "
                          "occur.", stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The `norm_type`-norm of `tensors` (a tensor or an iterable of them) as if they were
    one vector: the norm of their norms."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return creation.tensor(0.0)      # in the default float dtype, as PyTorch's
    device = tensors[0].device
    norms = [backend.move(_vector_norm(t.data, norm_type), device) for t in tensors]
    xp = backend.array_module(norms[0])
    total = _vector_norm(xp.stack(norms), norm_type)   # stacking promotes mixed dtypes
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return Tensor(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Multiply each gradient of `parameters` in place by min(max_norm / (total_norm +
    1e-6), 1): gradients are scaled down, never up (they are multiplied by 1.0 then)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    with autograd.no_grad():
        # max_norm / (total_norm + 1e-6), in the total norm's dtype, computed as PyTorch
        # computes `number / tensor`: the reciprocal, then the product (the last bit of
        # the result can differ from one division)
        clip_coef = (1.0 / (total_norm + 1e-6)) * max_norm
        clip_coef_clamped = clip_coef.clamp(max=1.0)
        for g in grads:
            # in the gradient's own dtype, as PyTorch multiplies by a 0-d tensor
            g.mul_(clip_coef_clamped.to(g.device, dtype=g.dtype))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient of `parameters` (a tensor or an iterable) into
    [-clip_value, clip_value], in place."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    with autograd.no_grad():
        for p in parameters:
            if p.grad is not None:
                # two in-place ops, as PyTorch's default path does them (so _version
                # goes up by 2 there too; and a negative clip_value gives -clip_value)
                p.grad.clamp_(min=-clip_value)
                p.grad.clamp_(max=clip_value)


def _vector_norm(array, norm_type):
    """The norm of all the elements of `array`, in its dtype, as a 0-d array."""
    if array.size == 0 and abs(norm_type) == float("inf"):
        raise RuntimeError("cannot compute the infinity norm of an empty gradient, because "
                           "the maximum (or minimum) has no identity")
    xp = backend.array_module(array)
    return xp.asarray(xp.linalg.norm(array.reshape(-1), ord=norm_type))
