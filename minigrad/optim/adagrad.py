"""Adagrad (Duchi et al., 2011): each weight's step shrinks with its summed squared gradients."""
import numpy as np

from ..kernels import ElementwiseKernel
from .optimizer import Optimizer, check_one_element, count_step, state_like, step_count
from .sgd import _decayed


def _adagrad_update(g, clr, eps, decay, p, state_sum):
    g = _decayed(g, decay, p)
    state_sum += g * g                             # s = s + g^2
    p -= clr * (g / (np.sqrt(state_sum) + eps))      # p = p - clr g / (sqrt(s) + eps)
    return p, state_sum


# One launch per parameter tensor: the sum of squares and the parameter, in place.
adagrad_update = ElementwiseKernel(
    "T g, T clr, T eps, T decay", "T p, T state_sum",
    """const T d = decay != 0 ? g + decay * p : g;
    state_sum += d * d;
    p -= clr * (d / (sqrt(state_sum) + eps))""",
    "adagrad_update",
    reference=_adagrad_update)


class Adagrad(Optimizer):
    """p <- p - clr * g / (sqrt(s) + eps), s = the sum of every g^2 so far (starting at
    initial_accumulator_value), clr = lr / (1 + (t - 1) * lr_decay) at step t."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, *, maximize=False):
        # PyTorch's checks, word for word
        check_one_element(lr, "lr")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      maximize=maximize))
        # Unlike the others, Adagrad makes its state at once. As in PyTorch, every group
        # starts from the constructor's initial_accumulator_value (a group's own is not
        # read), and so do groups added later.
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = step_count()
        state["sum"] = state_like(p, self.defaults["initial_accumulator_value"])
        return state

    def _update(self, group, p, g):
        state = self.state[p]
        if not state:                      # p is in a group added after construction
            state = self._init_state(p)
        t = count_step(state)
        clr = float(group["lr"] / (1 + (t - 1) * group["lr_decay"]))   # the decayed lr
        # s = s + g^2; p = p - clr g / (sqrt(s) + eps)
        adagrad_update(g, clr, group["eps"], group["weight_decay"], p.data,
                       state["sum"].data)
