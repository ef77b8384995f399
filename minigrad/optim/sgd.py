"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""
from ..kernels import ElementwiseKernel
from .optimizer import Optimizer, check_one_element, state_like


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


def _sgd_momentum_full_update(g, lr, momentum, dampening, decay, nesterov, first, p, velocity):
    g = _decayed(g, decay, p)
    if first:
        velocity[...] = g                          # undampened, as in PyTorch
    else:
        velocity *= momentum
        velocity += (1 - dampening) * g            # v = mu v + (1 - dampening) g
    p -= lr * (g + momentum * velocity if nesterov else velocity)
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

# PyTorch's whole momentum rule; the kernel above is its common case (no dampening, no
# Nesterov) and stays the one most steps run.
sgd_momentum_full_update = ElementwiseKernel(
    "T g, T lr, T momentum, T dampening, T decay, bool nesterov, bool first",
    "T p, T velocity",
    """const T d = decay != 0 ? g + decay * p : g;
    velocity = first ? d : momentum * velocity + (1 - dampening) * d;
    p -= lr * (nesterov ? d + momentum * velocity : velocity)""",
    "sgd_momentum_full_update",
    reference=_sgd_momentum_full_update)


class SGD(Optimizer):
    """p <- p - lr * v, with v = momentum * v + (1 - dampening) * g and
    g = grad + weight_decay * p; Nesterov steps along g + momentum * v instead."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        # PyTorch's checks, word for word (it lets a NaN learning rate through for SGD)
        check_one_element(lr, "lr")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update(self, group, p, g):
        lr, momentum, decay = float(group["lr"]), group["momentum"], group["weight_decay"]
        if not momentum:
            sgd_update(g, lr, decay, p.data)                     # p = p - lr g
            return
        state = self.state[p]
        first = "momentum_buffer" not in state
        if first:
            state["momentum_buffer"] = state_like(p)
        velocity = state["momentum_buffer"].data
        if group["dampening"] or group["nesterov"]:
            # v = mu v + (1 - dampening) g; p = p - lr (g + mu v) with Nesterov, else p - lr v
            sgd_momentum_full_update(g, lr, momentum, group["dampening"], decay,
                                     group["nesterov"], first, p.data, velocity)
        else:
            sgd_momentum_update(g, lr, momentum, decay, first, p.data, velocity)  # v = mu v + g

