"""RMSprop (Hinton's lecture 6e): divide the gradient by a running root mean square."""
from .. import backend
from .optimizer import Optimizer, check_one_element, count_step, state_like, step_count


class RMSprop(Optimizer):
    """p <- p - lr * g / (sqrt(v) + eps), with v = alpha * v + (1 - alpha) * g^2.

    `centered` subtracts the squared running mean of g from v (an estimate of the
    variance); `momentum` accumulates the normalized steps in a buffer first."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        # PyTorch's checks, word for word (alpha above 1 is let through, as there)
        check_one_element(lr, "lr")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update(self, group, p, g):
        # in place on the arrays, with NumPy (or CuPy) operations: one launch each on a GPU
        lr, alpha, eps = float(group["lr"]), group["alpha"], group["eps"]
        momentum, decay = group["momentum"], group["weight_decay"]
        state = self.state[p]
        if not state:
            state["step"] = step_count()
            state["square_avg"] = state_like(p)
            if momentum > 0:
                state["momentum_buffer"] = state_like(p)
            if group["centered"]:
                state["grad_avg"] = state_like(p)
        count_step(state)
        sqrt = backend.array_module(p.data).sqrt

        if decay != 0:
            g = g + decay * p.data                 # g = g + wd p
        v = state["square_avg"].data
        v *= alpha
        v += (1 - alpha) * g * g                   # v = alpha v + (1 - alpha) g^2
        if group["centered"]:
            mean = state["grad_avg"].data
            mean += (1 - alpha) * (g - mean)       # mean = alpha mean + (1 - alpha) g
            avg = sqrt(v - mean * mean) + eps      # sqrt(v - mean^2) + eps
        else:
            avg = sqrt(v) + eps
        if momentum > 0:
            buf = state["momentum_buffer"].data
            buf *= momentum
            buf += g / avg                         # b = momentum b + g / avg
            p.data -= lr * buf                     # p = p - lr b
        else:
            p.data -= lr * (g / avg)               # p = p - lr g / avg
