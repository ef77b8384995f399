"""Optimizers that update parameters in place from their `.grad`, as `torch.optim` does.

The update rules follow PyTorch's documentation exactly, so from the same weights and
gradients minigrad and PyTorch take the same steps.
"""
import math

import numpy as np

from .tensor import Tensor


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
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = Tensor(np.zeros_like(p.data))

    def _with_grads(self):
        """(group, parameter, gradient array) for every parameter that has a gradient."""
        return [(group, p, p.grad.data) for group in self.param_groups
                for p in group["params"] if p.grad is not None]


class SGD(Optimizer):
    """p <- p - lr * v, with v = momentum * v + g and g = grad + weight_decay * p."""

    def __init__(self, params, lr, momentum=0, weight_decay=0):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD needs lr, momentum and weight_decay >= 0, got "
                             f"{lr}, {momentum}, {weight_decay}")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def step(self):
        for group, p, g in self._with_grads():
            lr, momentum, decay = float(group["lr"]), group["momentum"], group["weight_decay"]
            if decay:
                g = g + decay * p.data
            if momentum:
                velocity = self.state.get(p)
                if velocity is None:
                    velocity = self.state[p] = g.copy()    # the first step uses g itself
                else:
                    velocity *= momentum
                    velocity += g
                g = velocity
            p.data -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected first and second moments."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Adam needs lr >= 0, eps >= 0 and betas in [0, 1), got "
                             f"lr={lr}, betas={betas}, eps={eps}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def step(self):
        for group, p, g in self._with_grads():
            (beta1, beta2), lr, eps = group["betas"], float(group["lr"]), group["eps"]
            if group["weight_decay"]:
                g = g + group["weight_decay"] * p.data
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {"step": 0, "m": np.zeros_like(p.data),
                                         "v": np.zeros_like(p.data)}
            state["step"] += 1
            t, m, v = state["step"], state["m"], state["v"]
            m *= beta1
            m += (1 - beta1) * g                       # m = b1 m + (1 - b1) g
            v *= beta2
            v += (1 - beta2) * (g * g)                 # v = b2 v + (1 - b2) g^2
            step_size = lr / (1 - beta1 ** t)
            denom = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
            p.data -= step_size * (m / denom)
