"""Module and Parameter: how layers own their weights, as in `torch.nn`."""
from collections import OrderedDict

from .. import autograd
from ..tensor import Tensor, as_array, clear_grads


class Parameter(Tensor):
    """A tensor that a Module registers as one of its weights (requires grad by default)."""
    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(as_array(data), requires_grad=requires_grad)
        if isinstance(data, Tensor):      # the same memory, so the same version counter
            self._vc = autograd.counter(data)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models.

    Assigning a Parameter or a Module to an attribute registers it, so `parameters()`
    and `state_dict()` find it; names follow PyTorch (e.g. "0.weight", "fc1.bias").
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("call super().__init__() before assigning attributes "
                                 "in a Module's __init__")
        # PyTorch's rules: a name that holds a parameter takes only a Parameter or None
        # (a plain tensor would silently stop being trained), a submodule's name only a
        # Module or None
        if name in self._parameters and not (value is None or isinstance(value, Parameter)):
            raise TypeError(f"cannot assign '{_type_name(value)}' as parameter '{name}' "
                            "(minigrad.nn.Parameter or None expected); wrap it: "
                            f"nn.Parameter(tensor), or copy values in with "
                            f"`with no_grad(): module.{name}.copy_(tensor)`")
        if name in self._modules and not (value is None or isinstance(value, Module)):
            raise TypeError(f"cannot assign '{_type_name(value)}' as child module '{name}' "
                            "(minigrad.nn.Module or None expected)")
        autograd.module_changed()
        if isinstance(value, Parameter) or (value is None and name in self._parameters):
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module) or (value is None and name in self._modules):
            self._parameters.pop(name, None)
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        autograd.module_changed()
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if autograd._state.tracer is not None:    # minigrad.compile is tracing
            autograd.module_called(self)
        return self.forward(*args, **kwargs)

    # ---------------------------------------------------------- traversal

    def named_children(self):
        return ((name, m) for name, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_parameters(self, prefix=""):
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self):
        return (p for _, p in self.named_parameters())

    # ---------------------------------------------------------- state

    def zero_grad(self, set_to_none=True):
        clear_grads(self.parameters(), set_to_none)

    def train(self, mode=True):
        autograd.module_changed()
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, device=None, dtype=None):
        """Move (or cast) every parameter in place; returns the module, as PyTorch does."""
        for p in self.parameters():
            moved = Tensor(p.data).to(device, dtype=dtype)
            p.data = moved.data
            if p.grad is not None:
                p.grad = p.grad.to(device, dtype=dtype)
        return self

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def state_dict(self):
        """Name -> detached tensor, with PyTorch's names and weight layouts."""
        return OrderedDict((name, p.detach()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        """Copy weights in from a dict of minigrad tensors, PyTorch tensors or arrays."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"load_state_dict for {type(self).__name__}: missing keys "
                               f"{missing}, unexpected keys {unexpected}")
        for name, p in own.items():
            if name not in state_dict:
                continue
            value = as_array(state_dict[name])
            if value.shape != p.data.shape:
                raise RuntimeError(
                    f"load_state_dict for {type(self).__name__}: {name} has shape "
                    f"{tuple(value.shape)} in the state dict but {p.shape} in the model")
            with autograd.no_grad():
                p.copy_(Tensor(value))
        return _IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------- display

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _type_name(value):
    if isinstance(value, Tensor):
        return f"minigrad.Tensor ({value.dtype.name})"
    return type(value).__name__


class _IncompatibleKeys(tuple):
    def __new__(cls, missing, unexpected):
        return super().__new__(cls, (missing, unexpected))

    missing_keys = property(lambda self: self[0])
    unexpected_keys = property(lambda self: self[1])
