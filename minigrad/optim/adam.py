"""Adam (Kingma & Ba, 2015), its AMSGrad variant, and AdamW (decoupled weight decay)."""
import numpy as np

from ..kernels import ElementwiseKernel
from ..tensor import Tensor
from .optimizer import Optimizer, check_one_element, count_step, state_like, step_count
from .sgd import _decayed


def _adam_update(g, step_size, beta1, beta2, eps, decay, bias2_sqrt, p, m, v):
    g = _decayed(g, decay, p)
    m *= beta1
    m += (1 - beta1) * g                           # m = b1 m + (1 - b1) g
    v *= beta2
    v += (1 - beta2) * (g * g)                     # v = b2 v + (1 - b2) g^2
    denom = np.sqrt(v) / bias2_sqrt + eps
    p -= step_size * (m / denom)
    return p, m, v


def _adam_amsgrad_update(g, step_size, beta1, beta2, eps, decay, bias2_sqrt, p, m, v, v_max):
    g = _decayed(g, decay, p)
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * (g * g)
    np.maximum(v_max, v, out=v_max)                # v_max = max(v_max, v): never shrinks
    denom = np.sqrt(v_max) / bias2_sqrt + eps      # ... and replaces v in the step
    p -= step_size * (m / denom)
    return p, m, v, v_max


# One launch per parameter tensor: the moments and the parameter, updated in place.
adam_update = ElementwiseKernel(
    "T g, T step_size, T beta1, T beta2, T eps, T decay, T bias2_sqrt", "T p, T m, T v",
    """const T d = decay != 0 ? g + decay * p : g;
    m = beta1 * m + (1 - beta1) * d;
    v = beta2 * v + (1 - beta2) * d * d;
    p -= step_size * (m / (sqrt(v) / bias2_sqrt + eps))""",
    "adam_update",
    reference=_adam_update)

adam_amsgrad_update = ElementwiseKernel(
    "T g, T step_size, T beta1, T beta2, T eps, T decay, T bias2_sqrt",
    "T p, T m, T v, T v_max",
    """const T d = decay != 0 ? g + decay * p : g;
    m = beta1 * m + (1 - beta1) * d;
    v = beta2 * v + (1 - beta2) * d * d;
    v_max = max(v_max, v);
    p -= step_size * (m / (sqrt(v_max) / bias2_sqrt + eps))""",
    "adam_amsgrad_update",
    reference=_adam_amsgrad_update)


class Adam(Optimizer):
    """Adam with bias-corrected first and second moments:
    p <- p - lr * m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).

    `weight_decay` adds weight_decay * p to the gradient (L2), unless
    `decoupled_weight_decay=True`, which shrinks p directly, as AdamW does."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        # PyTorch's checks, word for word; written `not 0 <= x` so that NaN fails them
        check_one_element(lr, "lr")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for k in (0, 1):
            if not 0.0 <= betas[k] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {k}: {betas[k]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (all(isinstance(b, float) for b in betas)
                or all(isinstance(b, Tensor) for b in betas)):
            raise ValueError("betas must be either both floats or both Tensors")
        if isinstance(betas[0], Tensor):
            # PyTorch then computes the moments' weights in the tensors' dtype
            raise NotImplementedError("minigrad's Adam takes betas as floats, not tensors")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, group, p, g):
        # (a tensor lr is used as such, as PyTorch does: its arithmetic is in its dtype)
        (beta1, beta2), lr = group["betas"], group["lr"]
        eps, decay = group["eps"], group["weight_decay"]
        state = self.state[p]
        if not state:
            state["step"] = step_count()
            state["exp_avg"] = state_like(p)       # m, the running mean of g
            state["exp_avg_sq"] = state_like(p)    # v, the running mean of g^2
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = state_like(p)
        t = count_step(state)
        if decay != 0 and group["decoupled_weight_decay"]:
            p.data *= float(1 - lr * decay)        # AdamW: p = p - lr wd p, apart from g
            decay = 0
        step_size = float(lr / (1 - beta1 ** t))   # lr / (1 - b1^t) corrects m's bias
        bias2_sqrt = (1 - beta2 ** t) ** 0.5       # sqrt(1 - b2^t) corrects v's
        m, v = state["exp_avg"].data, state["exp_avg_sq"].data
        # m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
        # p = p - step_size m / (sqrt(v) / bias2_sqrt + eps), with max(v so far) for AMSGrad
        if group["amsgrad"]:
            adam_amsgrad_update(g, step_size, beta1, beta2, eps, decay, bias2_sqrt, p.data,
                                m, v, state["max_exp_avg_sq"].data)
        else:
            adam_update(g, step_size, beta1, beta2, eps, decay, bias2_sqrt, p.data, m, v)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): each step also
    shrinks p by lr * weight_decay * p, outside the moments."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:            # as PyTorch: AdamW stays decoupled
            group["decoupled_weight_decay"] = True
