"""Optimizers that update parameters in place from their `.grad`, as `torch.optim` does.

The update rules follow PyTorch's documentation exactly, so from the same weights and
gradients minigrad and PyTorch take the same steps.
"""
import math

import numpy as np

from . import autograd
from .autograd import bump_version
from .kernels import ElementwiseKernel
from .tensor import Tensor, clear_grads


class Optimizer:
    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        for group in params:
            group = {**defaults, **group, "params": list(group["params"])}
            for p in group["params"]:
                # as in PyTorch: frozen parameters (requires_grad=False) are accepted and
                # skipped, since they never get a .grad; results of ops cannot be updated
                if not isinstance(p, Tensor) or not p.is_leaf:
                    raise ValueError("can't optimize a non-leaf tensor: optimizers update "
                                     "parameters (leaf tensors) in place")
            self.param_groups.append(group)
        self.state = {}

    def zero_grad(self, set_to_none=True):
        clear_grads([p for group in self.param_groups for p in group["params"]], set_to_none)

    def _with_grads(self):
        """(group, parameter, gradient array) for every parameter that has a gradient.
        Each is about to be changed in place, so its version counter moves on now: a
        graph that saved it refuses to backpropagate through the old values."""
        autograd.refuse_while_tracing(
            "an optimizer step", "Return the loss from the compiled function and call "
            "loss.backward() and optimizer.step() outside it.")
        found = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    found.append((group, p, p.grad.data))
                    bump_version(p)
        return found


def _decayed(g, decay, p):
    return g + decay * p if decay else g


def _sgd_update(g, lr, decay, p):
    p -= lr * _decayed(g, decay, p)
    return p


def _sgd_momentum_update(g, lr, momentum, decay, first, p, velocity):
    g = _decayed(g, decay, p)
    if first:
        velocity[...] = g                          # the first step uses g itself
    else:
        velocity *= momentum
        velocity += g
    p -= lr * velocity
    return p, velocity


# One launch per parameter tensor updates it (and its velocity) in place. Weight decay
# is skipped when it is 0, as in PyTorch, so that an infinite weight does not become NaN.
sgd_update = ElementwiseKernel(
    "T g, T lr, T decay", "T p",
    "p -= lr * (decay != 0 ? g + decay * p : g)",
    "sgd_update",
    reference=_sgd_update)

sgd_momentum_update = ElementwiseKernel(
    "T g, T lr, T momentum, T decay, bool first", "T p, T velocity",
    """const T d = decay != 0 ? g + decay * p : g;
    velocity = first ? d : momentum * velocity + d;
    p -= lr * velocity""",
    "sgd_momentum_update",
    reference=_sgd_momentum_update)


class SGD(Optimizer):
    """p <- p - lr * v, with v = momentum * v + g and g = grad + weight_decay * p."""

    def __init__(self, params, lr=1e-3, momentum=0, weight_decay=0):
        # PyTorch's checks, word for word (it lets a NaN learning rate through for SGD)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def step(self):
        for group, p, g in self._with_grads():
            lr, momentum, decay = float(group["lr"]), group["momentum"], group["weight_decay"]
            if not momentum:
                sgd_update(g, lr, decay, p.data)
                continue
            velocity = self.state.get(p)
            first = velocity is None
            if first:
                velocity = self.state[p] = np.zeros_like(p.data)
            sgd_momentum_update(g, lr, momentum, decay, first, p.data, velocity)


def _adam_update(g, step_size, beta1, beta2, eps, decay, bias2_sqrt, p, m, v):
    g = _decayed(g, decay, p)
    m *= beta1
    m += (1 - beta1) * g                           # m = b1 m + (1 - b1) g
    v *= beta2
    v += (1 - beta2) * (g * g)                     # v = b2 v + (1 - b2) g^2
    denom = np.sqrt(v) / bias2_sqrt + eps
    p -= step_size * (m / denom)
    return p, m, v


# One launch per parameter tensor: the moments and the parameter, updated in place.
adam_update = ElementwiseKernel(
    "T g, T step_size, T beta1, T beta2, T eps, T decay, T bias2_sqrt", "T p, T m, T v",
    """const T d = decay != 0 ? g + decay * p : g;
    m = beta1 * m + (1 - beta1) * d;
    v = beta2 * v + (1 - beta2) * d * d;
    p -= step_size * (m / (sqrt(v) / bias2_sqrt + eps))""",
    "adam_update",
    reference=_adam_update)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected first and second moments."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        # PyTorch's checks, word for word; written `not 0 <= x` so that NaN fails them
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for k in (0, 1):
            if not 0.0 <= betas[k] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {k}: {betas[k]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def step(self):
        for group, p, g in self._with_grads():
            (beta1, beta2), lr, eps = group["betas"], float(group["lr"]), group["eps"]
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {"step": 0, "m": np.zeros_like(p.data),
                                         "v": np.zeros_like(p.data)}
            state["step"] += 1
            t = state["step"]
            adam_update(g, lr / (1 - beta1 ** t), beta1, beta2, eps, group["weight_decay"],
                        math.sqrt(1 - beta2 ** t), p.data, state["m"], state["v"])
