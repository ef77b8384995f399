"""Module and Parameter: how layers own their weights and buffers, as in `torch.nn`."""
from collections import OrderedDict

from .. import autograd
from ..tensor import Tensor, as_array, clear_grads


class Parameter(Tensor):
    """A tensor that a Module registers as one of its weights (requires grad by default)."""
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:            # nn.Parameter() is an empty float tensor, as in PyTorch
            from ..creation import empty
            data = empty(0)
        super().__init__(as_array(data), requires_grad=requires_grad)
        if isinstance(data, Tensor):      # the same memory, so the same version counter
            self._vc = autograd.counter(data)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models.

    Assigning a Parameter or a Module to an attribute registers it, so `parameters()`
    and `state_dict()` find it; `register_buffer` does the same for tensors that are
    state but not weights (BatchNorm's running statistics). Names follow PyTorch
    ("0.weight", "fc1.bias", "bn.running_mean").
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {'parameters' if isinstance(value, Parameter) else 'module'}"
                    " before Module.__init__() call: call super().__init__() first")
            object.__setattr__(self, name, value)       # plain values may come first
            return
        # PyTorch's rules: a name that holds a parameter takes only a Parameter or None
        # (a plain tensor would silently stop being trained), a submodule's name only a
        # Module or None, a buffer's name only a tensor or None
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
            self._forget(name, keep=self._parameters)    # a replaced name keeps its place
            self._parameters[name] = value
        elif isinstance(value, Module) or (value is None and name in self._modules):
            self._forget(name, keep=self._modules)
            self._modules[name] = value
        elif name in self._buffers:
            if not (value is None or isinstance(value, Tensor)):
                raise TypeError(f"cannot assign '{_type_name(value)}' as buffer '{name}' "
                                "(minigrad.Tensor or None expected)")
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        for registry in (self._parameters, self._modules, self._buffers):
            if registry is not keep:
                registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __delattr__(self, name):
        autograd.module_changed()
        self._forget(name)
        object.__delattr__(self, name)

    # ---------------------------------------------------------- registering

    def _check_name(self, name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in (self._parameters if kind == "parameter" else
                                                self._buffers if kind == "buffer" else
                                                self._modules):
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name, tensor, persistent=True):
        """Keep `tensor` as state of this module: it moves with `to()` and is saved in
        `state_dict()` (unless persistent=False), but it is not a parameter."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_type_name(tensor)}' object to buffer "
                            f"'{name}' (minigrad.Tensor or None required)")
        autograd.module_changed()
        self._forget(name, keep=self._buffers)  # a replaced name keeps its place
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_type_name(param)}' object to parameter "
                            f"'{name}' (minigrad.nn.Parameter or None required)")
        autograd.module_changed()
        self._forget(name, keep=self._parameters)  # a replaced name keeps its place
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def add_module(self, name, module):
        if not (module is None or isinstance(module, Module)):
            raise TypeError(f"{_type_name(module)} is not a Module subclass")
        self._check_name(name, "module")
        autograd.module_changed()
        self._forget(name, keep=self._modules)  # a replaced name keeps its place
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    # ---------------------------------------------------------- calling

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        if autograd.tracing():    # minigrad.compile is tracing
            autograd.module_called(self)
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            changed = hook(self, args)
            if changed is not None:               # a hook may replace the inputs
                args = changed if isinstance(changed, tuple) else (changed,)
        result = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            changed = hook(self, args, result)
            if changed is not None:               # or the output
                result = changed
        return result

    def register_forward_pre_hook(self, hook):
        """Run `hook(module, args)` before each forward; a value it returns replaces args."""
        return _HookHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
        """Run `hook(module, args, output)` after each forward; a value it returns
        replaces the output."""
        return _HookHandle(self._forward_hooks, hook)

    # ---------------------------------------------------------- traversal

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        return (m for _, m in self.named_children())

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every module inside it, depth first; a
        module reachable twice is listed once, as in PyTorch."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self):
        return (m for _, m in self.named_modules())

    def _named_members(self, table, prefix, recurse, remove_duplicate):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def get_submodule(self, target):
        """The module at dotted path `target` ("" is this module)."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target):
        module, name = self._owner_of(target)
        if not isinstance(getattr(module, name), Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return getattr(module, name)

    def get_buffer(self, target):
        module, name = self._owner_of(target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return module._buffers[name]

    def _owner_of(self, target):
        """(module, attribute name) for the dotted path of a parameter or buffer."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        return module, name

    def apply(self, fn):
        """Call fn(m) on every submodule, then on this module (to initialise weights:
        `model.apply(init_fn)`); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---------------------------------------------------------- state

    def zero_grad(self, set_to_none=True):
        clear_grads(self.parameters(), set_to_none)

    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        autograd.module_changed()
        object.__setattr__(self, "training", mode)
        for child in self.children():      # through train(), which a subclass may override
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, *args, **kwargs):
        """Move (or cast) every parameter and buffer in place; returns the module, as
        PyTorch does. Accepts to(device), to(dtype), to(device, dtype), to(tensor)."""
        device, dtype = _to_arguments(args, kwargs)
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError("nn.Module.to only accepts floating point dtypes, but got "
                            f"desired dtype={dtype}")
        for p in self.parameters():
            cast = dtype if p.is_floating_point() else None
            moved = Tensor(p.data).to(device, dtype=cast)
            p.data = moved.data
            if p.grad is not None:
                p.grad = p.grad.to(device, dtype=cast)
        for module in self.modules():
            for name, b in module._buffers.items():
                if b is not None:
                    cast = dtype if b.is_floating_point() else None
                    module._buffers[name] = b.to(device, dtype=cast)
                    object.__setattr__(module, name, module._buffers[name])
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda")

    def float(self):
        return self.to(dtype=_dtypes().float32)

    def double(self):
        return self.to(dtype=_dtypes().float64)

    def half(self):
        raise NotImplementedError("minigrad has no float16: half() is not supported; use "
                                  "float() (float32) or double() (float64)")

    bfloat16 = half

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """Name -> tensor for every parameter and persistent buffer, this module's own
        first, then each submodule's under its name; PyTorch's names and layouts. The
        tensors share memory with the module's (detached unless keep_vars=True)."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=destination, prefix=f"{prefix}{name}.",
                                 keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers in from a dict of minigrad tensors, PyTorch tensors
        or arrays. Reports missing and unexpected keys as PyTorch does: an error when
        strict, else in the returned (missing_keys, unexpected_keys)."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = self._unexpected_keys(state_dict, own)
        errors = []
        if strict:      # PyTorch's order: missing, unexpected, then size mismatches
            if missing:
                errors.append("Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        updates = []
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = as_array(state_dict[name])
            if tuple(value.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {name}: copying a param with shape "
                              f"{_size(value.shape)} from checkpoint, the shape in current "
                              f"model is {_size(target.shape)}.")
                continue
            updates.append((target, value))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:"
                               "\n\t" + "\n\t".join(errors))
        with autograd.no_grad():
            for target, value in updates:
                if assign:
                    target.data = value.copy()
                else:
                    target.copy_(Tensor(value))
        return _IncompatibleKeys(missing, unexpected)

    def _unexpected_keys(self, state_dict, own):
        """The keys of state_dict that name nothing in this model, in PyTorch's order:
        grouped by the module they fall under, modules taken depth first."""
        order = {name: i for i, (name, _) in
                 enumerate(self.named_modules(remove_duplicate=False))}

        def owner(key):
            module, parts = self, key.split(".")
            for i, part in enumerate(parts[:-1]):
                if module._modules.get(part) is None:
                    return order[".".join(parts[:i])]
                module = module._modules[part]
            return order[".".join(parts[:-1])]

        return sorted((k for k in state_dict if k not in own), key=owner)

    # ---------------------------------------------------------- display

    def extra_repr(self):
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + repr(m).replace("\n", "\n  ")
                    for name, m in self._modules.items()]
        if len(lines) == 1 and not children:
            return f"{self._get_name()}({lines[0]})"
        if not lines and not children:
            return f"{self._get_name()}()"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines + children) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


def _type_name(value):
    if isinstance(value, Tensor):
        return f"minigrad.Tensor ({value.dtype.name})"
    return type(value).__name__


def _size(shape):
    return f"torch.Size([{', '.join(str(n) for n in shape)}])"


def _dtypes():
    from .. import dtypes
    return dtypes


def _to_arguments(args, kwargs):
    """(device, dtype) from Module.to's forms: to(device), to(dtype), to(device, dtype),
    to(tensor), with keywords device=, dtype=."""
    dtypes = _dtypes()
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, dtypes.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif a is not None:
            device = a
    return device, dtype


class _IncompatibleKeys(tuple):
    """(missing_keys, unexpected_keys), as load_state_dict returns them."""

    def __new__(cls, missing, unexpected):
        return super().__new__(cls, (missing, unexpected))

    missing_keys = property(lambda self: self[0])
    unexpected_keys = property(lambda self: self[1])

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


class _HookHandle:
    """What register_forward_hook returns: `.remove()` takes the hook away again."""
    _next_id = 0

    def __init__(self, table, hook):
        _HookHandle._next_id += 1
        self.table, self.id = table, _HookHandle._next_id
        table[self.id] = hook

    def remove(self):
        self.table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
