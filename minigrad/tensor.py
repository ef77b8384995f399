"""The Tensor: an array, plus what autograd needs to know about it.

A tensor holds its values in `.data` (a NumPy array, or a CuPy array on "cuda"). If it
was computed from tensors that require gradients, `.grad_fn` is the record of the
operation that made it; `backward()` follows those records to fill `.grad` of leaves.
"""
import functools
import math
import numbers
import operator

import numpy as np

from . import autograd, backend, dtypes as _dt
from .errors import broadcast_mismatch, shape_error
from .ops import elementwise, linalg, nn as nn_ops, reduce as reductions, shape as shaping
from .ops.util import normalize_dims


class Tensor:
    # _vc: the version counter of the memory (autograd.VersionCounter, shared by views;
    # None until needed); _view: autograd.ViewInfo if this tensor is a view, else None;
    # _rebases: the grad_fns in-place ops replaced (see autograd.rebase), else None
    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_hooks", "_vc", "_view",
                 "_rebases", "__weakref__")
    __array_priority__ = 1000   # so that `ndarray + tensor` defers to Tensor.__radd__

    def _set_data(self, value):
        # `p.data = p.data - lr * p.grad` (PyTorch code does it) computes a Tensor: keep
        # its array, or the tensor would end up holding a tensor
        self._data = value.data if isinstance(value, Tensor) else value

    data = property(operator.attrgetter("_data"), _set_data,
                    doc="The array that holds the values.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy meeting a tensor. `array -= tensor` (as in `p.data -= lr * p.grad`)
        writes into the array; `array + tensor` is the tensor op, as with a number;
        anything else (np.exp(t)) works on the tensor's values and gives an array."""
        arrays = tuple(x.data if isinstance(x, Tensor) else x for x in inputs)
        out = kwargs.get("out")
        if out is not None:
            if any(isinstance(o, Tensor) for o in out):
                return NotImplemented
            return getattr(ufunc, method)(*arrays, **kwargs)
        reflected = _REFLECTED.get(ufunc.__name__)
        if method == "__call__" and len(inputs) == 2 and inputs[1] is self and reflected:
            return getattr(self, reflected)(inputs[0])
        return getattr(ufunc, method)(*arrays, **kwargs)

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            autograd.escaped(data, "making a new tensor from it")
            data = data.data
        self.data = as_array(data)
        self.grad = None
        self.grad_fn = None
        self._hooks = self._vc = self._view = self._rebases = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)
        autograd.created(self)

    @classmethod
    def _make(cls, data, requires_grad, grad_fn):
        """Wrap an array the engine just computed (no checks, no copy)."""
        t = object.__new__(Tensor)
        t._data, t.requires_grad, t.grad, t.grad_fn = data, requires_grad, None, grad_fn
        t._hooks = t._vc = t._view = t._rebases = None
        return t

    # ------------------------------------------------------------------ properties

    @property
    def shape(self):
        return Size(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return _dt.from_numpy_dtype(self.data.dtype)

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_cuda(self):
        return type(self.data) is not np.ndarray

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def _version(self):
        """How many in-place changes this tensor's memory has seen (shared with views)."""
        return 0 if self._vc is None else self._vc.value

    @property
    def _base(self):
        """The tensor whose memory this view shares, or None if this is not a view."""
        return None if self._view is None else self._view.base

    @property
    def T(self):
        return self.permute(*range(self.ndim - 1, -1, -1))

    def size(self, dim=None):
        return Size(self.data.shape) if dim is None else self.data.shape[dim]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        # PyTorch iterates with unbind(), whose views may not be changed in place while
        # a graph is recorded
        for i in range(len(self)):
            row = self[i]
            if row._view is not None:
                row._view.one_of_many = True
            yield row

    # ------------------------------------------------------------- conversions

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("numpy(): this tensor requires grad, and the NumPy array "
                               "would not be part of the graph. Call tensor.detach().numpy().")
        autograd.escaped(self, "numpy()")
        return backend.move(self.data, "cpu")

    def __array__(self, dtype=None, copy=None):
        data = backend.move(self.data, "cpu")
        return data if dtype is None else data.astype(dtype)

    def item(self):
        if self.data.size != 1:
            raise RuntimeError(f"item(): a tensor with {self.data.size} elements cannot be "
                               "converted to a Python number; only one-element tensors can")
        autograd.escaped(self, "item() (or float(), int())")
        return self.data.item()

    def tolist(self):
        autograd.escaped(self, "tolist()")
        return backend.move(self.data, "cpu").tolist()

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def _scalar(self, what):
        if self.data.size != 1:
            raise ValueError(f"{what}(): only one element tensors can be converted to Python "
                             f"scalars, and this one has {self.data.size}")
        return self.item()

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.data.size} elements "
                               "is ambiguous; use .any() or .all()")
        autograd.escaped(self, "bool() (an `if` or `while` on a tensor)")
        return bool(self.data.item())

    def __format__(self, spec):
        if self.data.ndim == 0:        # f"{loss}" and f"{loss:.3f}" format the number
            return format(self.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__: only a "
                            "0-d tensor formats as a number; use t.item() or t.tolist()")
        return repr(self)

    def detach(self):
        """The same values, cut off from the graph. It shares memory and the version
        counter with this tensor, as in PyTorch: changing it in place is seen here."""
        out = Tensor._make(self.data, False, None)
        out._vc = autograd.counter(self)
        return autograd.untracked(_same, (self,), out)

    def detach_(self):
        """Cut this tensor off from the graph in place: it becomes a leaf (PyTorch's
        idiom for carrying an RNN's state from one batch to the next)."""
        if self._view is not None and self.grad_fn is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn, self.requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad=True):
        if bool(requires_grad) != self.requires_grad:
            autograd.refuse_while_tracing(
                "requires_grad_() or a tensor made with requires_grad=True",
                "Make such tensors outside the compiled function and pass them in (or let "
                "it use them, like a model's parameters).")
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(
                f"only tensors of floating point dtype can require gradients; this one is "
                f"{self.dtype}. Create it with dtype=minigrad.float32 (or write the numbers "
                "as floats, e.g. 1.0).")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("you can only change requires_grad of leaf tensors; "
                               "use .detach() to get a tensor without a graph")
        self.requires_grad = bool(requires_grad)
        return self

    def to(self, target=None, dtype=None, copy=False):
        """`to(device)`, `to(dtype)`, `to(device, dtype)` or `to(other_tensor)` (its device
        and dtype), as in PyTorch."""
        if isinstance(target, Tensor):
            target, dtype = target.device, target.dtype
        if isinstance(target, _dt.dtype):
            target, dtype = None, target
        out = self
        if dtype is not None and _dt.to_numpy_dtype(dtype) != self.data.dtype:
            out = elementwise.Cast.apply(out, dtype=_dt.to_numpy_dtype(dtype))
        if target is not None and backend.device(target) != self.device:
            out = _ToDevice.apply(out, target=backend.device(target))
        return out.clone() if copy and out is self else out

    def type_as(self, other):
        return self.to(dtype=other.dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def long(self):
        return self.to(_dt.int64)

    def int(self):
        return self.to(_dt.int32)

    def bool(self):
        return self.to(_dt.bool_)

    def half(self):
        raise TypeError("minigrad has no float16: its arrays are NumPy's float32 or float64")

    def clone(self):
        return elementwise.Cast.apply(self, dtype=self.data.dtype)

    # ---------------------------------------------------------------- autograd

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into `leaf.grad` for every leaf requiring grad, or
        only into the `.grad` of the tensors in `inputs`.

        `gradient` is the upstream gradient (required unless self has one element). The
        graph's saved values are freed afterwards unless `retain_graph=True`.
        `create_graph=True` (gradients you can differentiate again) is not supported.
        """
        if create_graph:
            raise NotImplementedError(f"backward(create_graph=True): {autograd.NO_HIGHER_ORDER}")
        if inputs is not None:
            inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
            if not inputs:
                raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        autograd.backward(self, gradient, bool(retain_graph), inputs)

    def _accumulate(self, grad, owned=False):
        """Add `grad` into `.grad`; `owned` says no other tensor can see that array."""
        if self._hooks:
            grad, owned = autograd.run_hooks(self._hooks, grad), False
        if isinstance(grad, np.generic):      # ops on 0-d arrays give NumPy scalars
            grad, owned = np.asarray(grad), True
        if self.grad is None:
            if not owned or grad.dtype != self.data.dtype:
                grad = grad.astype(self.data.dtype, copy=True)
            self.grad = Tensor._make(grad, False, None)
        else:
            self.grad._data += grad    # .grad's array is never shared, so in place is safe
            autograd.bump_version(self.grad)

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; it may return a
        replacement gradient. Returns a handle with `.remove()`."""
        autograd.refuse_while_tracing("register_hook()", "Register hooks on the tensors the "
                                      "compiled function returns, after the call.")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is not None:
            return self.grad_fn.register_hook(hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return autograd._RemovableHandle(self._hooks, hook)

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward() (leaves always keep it)."""
        autograd.refuse_while_tracing("retain_grad()", "Call it on the tensors the compiled "
                                      "function returns, after the call.")
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self.grad_fn is not None:
            autograd.retain(self.grad_fn, self)

    @property
    def retains_grad(self):
        return self.grad_fn is not None and self.grad_fn._retained is not None

    # ------------------------------------------------------------------ repr

    def __repr__(self):
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return _tensor_repr(backend.move(self.data, "cpu"), extras, _dt.default_float.np)

    __hash__ = object.__hash__

    # ------------------------------------------------------------- arithmetic

    def __add__(self, other):
        return elementwise.Add.apply(*_promote(self, other))

    def __radd__(self, other):
        return elementwise.Add.apply(*_promote(other, self))

    def __sub__(self, other):
        return elementwise.Sub.apply(*_promote(*_no_bool_subtraction(self, other)))

    def __rsub__(self, other):
        return elementwise.Sub.apply(*_promote(*_no_bool_subtraction(other, self)))

    def __mul__(self, other):
        return elementwise.Mul.apply(*_promote(self, other))

    def __rmul__(self, other):
        return elementwise.Mul.apply(*_promote(other, self))

    def __truediv__(self, other):
        return elementwise.Div.apply(*_promote(self, other, true_div=True))

    def __rtruediv__(self, other):
        return elementwise.Div.apply(*_promote(other, self, true_div=True))

    def __pow__(self, other):
        return elementwise.Pow.apply(*_promote(self, other))

    def __rpow__(self, other):
        return elementwise.Pow.apply(*_promote(other, self))

    def __matmul__(self, other):
        return linalg.MatMul.apply(*_matmul_operands(self, other))

    def __rmatmul__(self, other):
        return linalg.MatMul.apply(*_matmul_operands(other, self))

    def __neg__(self):
        if self.data.dtype == np.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        return elementwise.Neg.apply(self)

    def __pos__(self):
        return self

    # ------------------------------------------------------------- in place
    #
    # An in-place op changes the tensor's memory, so it bumps the memory's version counter
    # (shared with every view of it; see autograd.py). With no graph to record (inside
    # no_grad(), or nothing involved requires grad) that is all: NumPy writes into the
    # array. Otherwise the new value is computed out of place, by the ordinary op, from a
    # copy of the old value, then written into the tensor's memory, and the tensor takes
    # that op as its grad_fn: the graph sees `y += 1` as `y = y + 1`. A view writes into
    # its base through CopySlices, which becomes the base's grad_fn.

    def __iadd__(self, other):
        return self._arithmetic_(np.add, Tensor.__add__, other)

    def __isub__(self, other):
        return self._arithmetic_(np.subtract, Tensor.__sub__, other)

    def __imul__(self, other):
        return self._arithmetic_(np.multiply, Tensor.__mul__, other)

    def __itruediv__(self, other):
        return self._arithmetic_(np.divide, Tensor.__truediv__, other)

    def add_(self, other, alpha=1):
        return self.__iadd__(other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return self.__isub__(other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return self.__imul__(other)

    def div_(self, other):
        return self.__itruediv__(other)

    def pow_(self, exponent):
        return self._inplace(Tensor.__pow__, exponent)

    def neg_(self):
        return self._inplace(Tensor.__neg__)

    def exp_(self):
        return self._inplace(Tensor.exp)

    def log_(self):
        return self._inplace(Tensor.log)

    def sqrt_(self):
        return self._inplace(Tensor.sqrt)

    def abs_(self):
        return self._inplace(Tensor.abs)

    def tanh_(self):
        return self._inplace(Tensor.tanh)

    def sigmoid_(self):
        return self._inplace(Tensor.sigmoid)

    def relu_(self):
        return self._inplace(Tensor.relu)

    def clamp_(self, min=None, max=None):  # noqa: A002
        return self._inplace(Tensor.clamp, min, max)

    clip_ = clamp_

    def copy_(self, src):
        """Copy `src` (broadcast to this shape, cast to this dtype) into this tensor."""
        if not isinstance(src, Tensor):
            src = Tensor(as_array(src))
        _check_no_overlap(self.data, src.data)
        return self._inplace(_copy_from, src)

    def fill_(self, value):
        if isinstance(value, Tensor) and value.ndim != 0:
            raise RuntimeError(f"fill_ only supports a 0-dimensional value tensor, but got "
                               f"one with {value.ndim} dimensions")
        return self._inplace(_copy_from, value)

    def zero_(self):
        return self.fill_(0)

    def __setitem__(self, index, value):
        template, index_tensors = _index(index)
        if isinstance(value, Tensor):
            if value.data.dtype != self.data.dtype and not shaping.basic_index(
                    shaping.fill_index(template, [t.data for t in index_tensors])):
                raise RuntimeError(
                    f"Index put requires the source and destination dtypes match, got "
                    f"{self.dtype.name} for the destination and {value.dtype.name} for the "
                    "source: writing through an index tensor, a list or a mask does not "
                    f"convert; use value.to({self.dtype!r})")
            index_now = shaping.fill_index(template, [t.data for t in index_tensors])
            if shaping.basic_index(index_now):
                _check_no_overlap(self.data[index_now], value.data)
        if not self._records_inplace(value):
            try:
                self.data[shaping.fill_index(template, [i.data for i in index_tensors])] = \
                    value.data if isinstance(value, Tensor) else value
            except (ValueError, IndexError) as error:
                raise shaping.CopySlices.explain((self,), {}, error) from None
            autograd.bump_version(self)
            return
        self._check_writable((value,), item=True)
        if isinstance(value, Tensor) and value.data.dtype != self.data.dtype:
            value = elementwise.Cast.apply(value, dtype=self.data.dtype)
        self._store(value, template, index_tensors)

    def _records_inplace(self, *others):
        """Whether an in-place op on this tensor goes through the graph (or a trace)."""
        if autograd.tracing():
            return True
        if not autograd.is_grad_enabled():
            return False
        return self.requires_grad or self._view is not None or any(
            isinstance(o, Tensor) and o.requires_grad for o in others)

    def _check_writable(self, others=(), item=False):
        """PyTorch's rules for changing a tensor in place while gradients are recorded
        (`others`: the op's other operands; `item`: a write into self[index])."""
        if not autograd.is_grad_enabled():
            return
        info = self._view
        if info is None:
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"a {'view of a ' if item else ''}leaf Variable that requires grad is "
                    "being used in an in-place operation. Its .grad is filled by backward() "
                    "from the graph it took part in, which the change would corrupt; update "
                    "it inside `with minigrad.no_grad():` (as optimizers do), or compute a "
                    "new tensor.")
            return
        base = info.base
        if base.requires_grad and base.grad_fn is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation; change it inside `with minigrad.no_grad():`, or compute a new "
                "tensor.")
        recorded = base.requires_grad or any(
            isinstance(o, Tensor) and o.requires_grad for o in others)
        if recorded and not info.made_in_grad_mode:
            raise RuntimeError(
                "A view was created in no_grad mode and is being modified inplace with grad "
                "mode enabled: whether the change belongs in the graph is ambiguous. Make "
                "the view and change it both inside no_grad() (not recorded) or both "
                "outside it (recorded).")
        if recorded and info.one_of_many:
            raise RuntimeError(
                "this view is one of the rows that iterating over a tensor gives (unbind() "
                "in PyTorch), and such views may not be modified inplace while a graph is "
                "recorded; write `y[i] = ...` or `y[i].mul_(2)` with an index instead, or "
                "compute a new tensor.")

    def _arithmetic_(self, ufunc, op, other):
        if ufunc is np.subtract:
            _no_bool_subtraction(self, other)
        if isinstance(other, Tensor):
            _check_no_overlap(self.data, other.data)
        if self._records_inplace(other):
            return self._inplace(op, other)
        try:        # the fast path: no graph to record, NumPy writes into the array
            ufunc(self.data, other.data if isinstance(other, Tensor) else other,
                  out=self.data, casting="same_kind")
        except (TypeError, ValueError) as error:
            raise self._inplace_error(ufunc, other, error) from None
        autograd.bump_version(self)
        return self

    def _inplace(self, op, *args):
        """self <- op(self, *args), in place; `op` computes the new value out of place."""
        if self._records_inplace(*args):
            self._check_writable(args)
            if self._view is not None:
                autograd.refresh_view(self)
            # the old value, in memory of its own: an op that saves its input for
            # backward (mul, pow, ...) must not see the write that follows
            old = Tensor._make(self.data.copy(), self.requires_grad, self.grad_fn)
            autograd.alias(old, self, copy=True)
        else:
            old = Tensor._make(self.data, False, None)
        self._write(op(old, *args))
        return self

    def _write(self, new):
        """Store tensor `new` in this tensor's memory, in place."""
        if new.shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(new.shape)}: an in-place op cannot "
                               "change a tensor's shape")
        made = new          # the op's own result, before any cast to self's dtype
        if new.data.dtype != self.data.dtype:
            if not np.can_cast(new.data.dtype, self.data.dtype, casting="same_kind"):
                raise RuntimeError(
                    f"result type {new.dtype.name} can't be cast to the desired output type "
                    f"{self.dtype.name}: an in-place op keeps the tensor's dtype; compute a "
                    "new tensor instead (x = x + 0.5), or convert x first")
            new = elementwise.Cast.apply(new, dtype=self.data.dtype)
        if self._view is not None:
            self._store(new)
            return
        self.data[...] = new.data
        autograd.bump_version(self)
        if new.requires_grad:
            autograd.rebase(self, new.grad_fn)
            autograd.moved_output(made.grad_fn, made.data, self)
        autograd.wrote(self, new)

    def _store(self, value, index=None, index_tensors=()):
        """Write `value` into this tensor, or into self[index], through the base's memory:
        the base takes CopySlices as its grad_fn, and a view's grad_fn is made again."""
        info = self._view
        base, steps = (self, ()) if info is None else (info.base, info.steps)
        old = Tensor._make(base.data, base.requires_grad, base.grad_fn)
        old._vc = base._vc
        autograd.alias(old, base)
        out = shaping.CopySlices.apply(old, value, *index_tensors, steps=steps, index=index)
        autograd.bump_version(base)
        if autograd.is_grad_enabled():  # else base stays, for gradients, what it was
            autograd.alias(base, out)
        if out.requires_grad:
            autograd.rebase(base, out.grad_fn)
        if base is not self:
            autograd.refresh_view(self)
            if index is None and isinstance(value, Tensor) and value.requires_grad:
                autograd.moved_output(value.grad_fn, value.data, self)

    def _inplace_error(self, ufunc, other, error):
        other_shape = other.shape if isinstance(other, Tensor) else np.shape(other)
        if isinstance(error, TypeError):
            if getattr(error, "from_", None) is None:    # not a casting error
                return RuntimeError(f"in-place op on a {self.dtype.name} tensor: {error}")
            # the dtype PyTorch's promotion gives (NumPy's own may differ)
            result = _promote(self, other, true_div=ufunc is np.divide)[0].data.dtype
            return RuntimeError(
                f"result type {result} can't be cast to the desired output type "
                f"{self.dtype.name}: an in-place op keeps the tensor's dtype; compute a new "
                "tensor instead (x = x + 0.5), or convert x first")
        try:
            wanted = np.broadcast_shapes(self.shape, other_shape)
        except ValueError:
            return shape_error("in-place op", [self.shape, other_shape],
                               broadcast_mismatch([self.shape, other_shape]) or str(error))
        return RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                            f"broadcast shape {list(wanted)}: an in-place op cannot change "
                            "a tensor's shape")

    # ------------------------------------------------------------- comparisons

    def _compare(self, ufunc, other):
        try:
            result = ufunc(self.data, other.data if isinstance(other, Tensor) else other)
        except ValueError:
            shapes = [self.shape, np.shape(other)]
            raise shape_error(ufunc.__name__, shapes, broadcast_mismatch(shapes)
                              or "they do not broadcast") from None
        if isinstance(result, np.generic):     # 0-d inputs give a NumPy scalar
            result = np.asarray(result)
        return autograd.untracked(ufunc, (self, other), Tensor._make(result, False, None))

    def __eq__(self, other):
        return False if other is None else self._compare(np.equal, other)

    def __ne__(self, other):
        return True if other is None else self._compare(np.not_equal, other)

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    def any(self, dim=None, keepdim=False):
        return _plain(_any, self, dim=dim, keepdim=keepdim)

    def all(self, dim=None, keepdim=False):
        return _plain(_all, self, dim=dim, keepdim=keepdim)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def equal(self, other):
        """True if both have the same shape and elements (a Python bool)."""
        return self.shape == other.shape and bool((self == other).all())

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|self - other| <= atol + rtol * |other|, elementwise (a bool tensor)."""
        return _plain(backend.array_module(self.data).isclose, self, other, rtol=rtol,
                      atol=atol, equal_nan=equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """True if isclose holds everywhere (a Python bool)."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def diag(self, diagonal=0):
        """A 1-D tensor's square matrix with it on a diagonal, or a matrix's diagonal."""
        from .creation import arange
        if self.ndim == 1:
            n = self.shape[0] + abs(diagonal)
            out = self.new_zeros(n, n)
            k = arange(self.shape[0])
            out[k + max(-diagonal, 0), k + max(diagonal, 0)] = self   # differentiable
            return out
        if self.ndim != 2:
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        rows, cols = self.shape
        length = max(0, min(rows + min(diagonal, 0), cols - max(diagonal, 0)))
        k = arange(length)
        return self[k + max(-diagonal, 0), k + max(diagonal, 0)]

    def trace(self):
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diag().sum()

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with numbers drawn uniformly from [a, b), in place."""
        from .creation import generator as numbers
        return self._fill_random(numbers(generator).uniform(a, b, self.shape))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with numbers drawn from N(mean, std^2), in place."""
        from .creation import generator as numbers
        if not std >= 0.0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        return self._fill_random(numbers(generator).normal(mean, std, self.shape))

    def _fill_random(self, values):
        if self.data.dtype.kind != "f":
            raise NotImplementedError(f"random fills of {self.dtype} tensors are not "
                                      "supported by minigrad; fill a float tensor")
        values = backend.move(values.astype(self.data.dtype), self.device)
        return self.copy_(Tensor._make(values, False, None))   # a leaf's check, a version

    def type(self, dtype=None):
        """The type's name (`minigrad.FloatTensor`), or a copy converted to `dtype`."""
        if dtype is None:
            name = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                    "bool": "Bool"}[self.data.dtype.name]
            return f"minigrad.{name}Tensor"
        return self.to(dtype=dtype)

    def logical_and(self, other):
        return _plain(np.logical_and, self, other)

    def logical_or(self, other):
        return _plain(np.logical_or, self, other)

    def logical_xor(self, other):
        return _plain(np.logical_xor, self, other)

    def logical_not(self):
        return _plain(np.logical_not, self)

    def isnan(self):
        return _plain(np.isnan, self)

    def isinf(self):
        return _plain(np.isinf, self)

    def isfinite(self):
        return _plain(np.isfinite, self)

    def _bitwise(self, ufunc, other):
        floats = (_dt.float32, _dt.float64)
        if self.data.dtype.kind == "f" or getattr(other, "dtype", None) in floats:
            raise NotImplementedError(f"{ufunc.__name__} is only defined for integer and "
                                      f"bool tensors, not {self.dtype.name}")
        return _plain(ufunc, self, other)

    def __and__(self, other):
        return self._bitwise(np.bitwise_and, other)

    def __or__(self, other):
        return self._bitwise(np.bitwise_or, other)

    def __xor__(self, other):
        return self._bitwise(np.bitwise_xor, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        if self.data.dtype.kind == "f":
            raise TypeError("~ (operator.invert) is only implemented on integer and bool "
                            "tensors")
        return _plain(np.invert, self)

    def __floordiv__(self, other):
        return _plain(np.floor_divide, *_no_integer_zero(*_promote(self, other)))

    def __rfloordiv__(self, other):
        return _plain(np.floor_divide, *_no_integer_zero(*_promote(other, self)))

    def __mod__(self, other):
        return elementwise.Remainder.apply(*_no_integer_zero(*_promote(self, other)))

    def __rmod__(self, other):
        return elementwise.Remainder.apply(*_no_integer_zero(*_promote(other, self)))

    floor_divide = __floordiv__
    remainder = __mod__

    # ---------------------------------------------------------- element-wise

    def exp(self):
        return elementwise.Exp.apply(self._floating())

    def log(self):
        return elementwise.Log.apply(self._floating())

    def sqrt(self):
        return elementwise.Sqrt.apply(self._floating())

    def abs(self):
        return elementwise.Abs.apply(self)

    def tanh(self):
        return elementwise.Tanh.apply(self._floating())

    def sigmoid(self):
        return elementwise.Sigmoid.apply(self._floating())

    def relu(self):
        if self.data.dtype == np.bool_:
            raise RuntimeError("Boolean inputs not supported for relu")
        return elementwise.ReLU.apply(self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of min and max must be given")
        x = self._floating() if isinstance(min, float) or isinstance(max, float) else self
        return elementwise.Clamp.apply(x, min=min, max=max)

    clip = clamp

    def clamp_min(self, min):  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max):  # noqa: A002
        return self.clamp(max=max)

    def pow(self, exponent):
        return self ** exponent

    def square(self):
        return self * self

    def neg(self):
        return -self

    negative = neg

    def sin(self):
        return elementwise.Sin.apply(self._floating())

    def cos(self):
        return elementwise.Cos.apply(self._floating())

    def log1p(self):
        return elementwise.Log1p.apply(self._floating())

    def expm1(self):
        return elementwise.Expm1.apply(self._floating())

    def log2(self):
        return elementwise.Log2.apply(self._floating())

    def rsqrt(self):
        return elementwise.Rsqrt.apply(self._floating())

    def reciprocal(self):
        return elementwise.Reciprocal.apply(self._floating())

    def erf(self):
        return elementwise.Erf.apply(self._floating())

    def floor(self):
        return self.clone() if self.data.dtype.kind in "iub" else elementwise.Floor.apply(self)

    def ceil(self):
        return self.clone() if self.data.dtype.kind in "iub" else elementwise.Ceil.apply(self)

    def trunc(self):
        return self.clone() if self.data.dtype.kind in "iub" else elementwise.Trunc.apply(self)

    def round(self, decimals=0):
        if self.data.dtype.kind in "iub" and decimals == 0:
            return self.clone()
        return elementwise.Round.apply(self, decimals=decimals)

    def sign(self):
        return elementwise.Sign.apply(self)

    def maximum(self, other):
        return maximum(self, other)

    def minimum(self, other):
        return minimum(self, other)

    def lerp(self, end, weight):
        return lerp(self, end, weight)

    def matmul(self, other):
        return self @ other

    def _floating(self):
        """This tensor, or a float32 copy if it holds integers (as PyTorch promotes)."""
        return self if self.data.dtype.kind == "f" else self.to(dtype=_dt.default_float)

    def _float_only(self, op, error=RuntimeError):
        """This tensor, if it holds floats: ops that PyTorch refuses on integers."""
        if self.data.dtype.kind != "f":
            raise error(f"{op}(): expected a floating point tensor, got {self.dtype}; "
                               "convert it first with .float()")
        return self

    def _as(self, dtype):
        """This tensor converted to `dtype` first (the dtype= of sum, cumsum, softmax)."""
        return self if dtype is None else self.to(dtype=dtype)

    # ------------------------------------------------------------ reductions

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return reductions.Sum.apply(self._as(dtype), dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        self = self._as(dtype)
        if self.data.dtype.kind != "f":
            raise RuntimeError(f"mean(): needs a floating point tensor, got {self.dtype}; "
                               "convert it with .float() first")
        return reductions.Mean.apply(self, dim=dim, keepdim=keepdim)

    def amax(self, dim=(), keepdim=False):
        return reductions.Amax.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False):
        """max() is the largest element; max(dim) gives (values, indices) as in PyTorch;
        max(other) is maximum(self, other)."""
        return self._extreme(reductions.Amax, reductions.MaxDim, _argmax, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return self._extreme(reductions.Amin, reductions.MinDim, _argmin, dim, keepdim)

    def _extreme(self, whole, along, arg, dim, keepdim):
        if isinstance(dim, Tensor):
            return (maximum if whole is reductions.Amax else minimum)(self, dim)
        if dim is None:
            return whole.apply(self)
        # the gradient goes to the element `indices` names, not shared among ties as
        # amax shares it
        return ValuesAndIndices(along.apply(self, dim=dim, keepdim=keepdim),
                                _plain(arg, self, dim=dim, keepdim=keepdim))

    def amin(self, dim=(), keepdim=False):
        return reductions.Amin.apply(self, dim=dim, keepdim=keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _plain(_argmin, self, dim=dim, keepdim=keepdim)

    def prod(self, dim=None, keepdim=False):
        if dim is not None and not isinstance(dim, int):
            raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__} "
                            "(PyTorch's prod reduces one dimension at a time)")
        return reductions.Prod.apply(self, dim=dim, keepdim=keepdim)

    def var_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return (self.var(dim, unbiased, keepdim, correction=correction),
                self.mean(dim, keepdim=keepdim))

    def std_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return (self.std(dim, unbiased, keepdim, correction=correction),
                self.mean(dim, keepdim=keepdim))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return reductions.Var.apply(self._float_only("var"), dim=dim, keepdim=keepdim,
                                    correction=_correction(unbiased, correction))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return reductions.Std.apply(self._float_only("std"), dim=dim, keepdim=keepdim,
                                    correction=_correction(unbiased, correction))

    def norm(self, p="fro", dim=None, keepdim=False):
        p = 2 if p == "fro" else p
        return reductions.Norm.apply(self._float_only("norm"), p=p, dim=dim, keepdim=keepdim)

    def logsumexp(self, dim, keepdim=False):
        return reductions.LogSumExp.apply(self._floating(), dim=dim, keepdim=keepdim)

    def cumsum(self, dim, *, dtype=None):
        return reductions.CumSum.apply(self._as(dtype), dim=dim)

    def cumprod(self, dim, *, dtype=None):
        return reductions.CumProd.apply(self._as(dtype), dim=dim)

    def sort(self, dim=-1, descending=False, stable=False):
        indices = self.argsort(dim, descending)
        return ValuesAndIndices(reductions.TakeAlongDim.apply(self, indices, dim=dim), indices)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _plain(_argsort, self, dim=dim, descending=descending)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        if not 0 <= k <= (self.shape[dim] if self.ndim else 1):
            raise RuntimeError(f"topk: k ({k}) is out of range for a dimension of size "
                               f"{self.shape[dim] if self.ndim else 1}")
        indices = _plain(_topk, self, k=k, dim=dim, largest=largest)
        return ValuesAndIndices(reductions.TakeAlongDim.apply(self, indices, dim=dim), indices)

    def gather(self, dim, index):
        return reductions.TakeAlongDim.apply(self, index, dim=dim)

    def argmax(self, dim=None, keepdim=False):
        result = Tensor._make(_argmax(self.data, dim, keepdim), False, None)
        return autograd.untracked(_argmax, (self, dim, keepdim), result)

    def softmax(self, dim, dtype=None):
        x = self._as(dtype)._float_only("softmax", NotImplementedError)
        return nn_ops.Softmax.apply(x, dim=dim)

    def log_softmax(self, dim, dtype=None):
        x = self._as(dtype)._float_only("log_softmax", NotImplementedError)
        return nn_ops.LogSoftmax.apply(x, dim=dim)

    # ---------------------------------------------------------------- shapes

    def reshape(self, *shape):
        return shaping.Reshape.apply(self, shape=_shape_arg(shape))

    def view(self, *shape):
        return shaping.View.apply(self, shape=_shape_arg(shape))

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self.data.shape
        if not shape:
            return shaping.Flatten.apply(self, shape=(1,))
        start = normalize_dims(start_dim, len(shape))[0]
        end = normalize_dims(end_dim, len(shape))[0]
        if start == end:
            return self        # nothing to merge: PyTorch returns the tensor itself
        new = shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]
        return shaping.Flatten.apply(self, shape=new)

    def unsqueeze(self, dim):
        shape = list(self.data.shape)
        shape.insert(normalize_dims(dim, len(shape) + 1)[0], 1)
        return shaping.Unsqueeze.apply(self, shape=tuple(shape))

    def squeeze(self, dim=None):
        shape = self.data.shape
        dims = range(len(shape)) if dim is None else normalize_dims(dim, len(shape))
        drop = {d for d in dims if shape and shape[d] == 1}
        kept = tuple(n for i, n in enumerate(shape) if i not in drop)
        return shaping.Squeeze.apply(self, shape=kept)

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute: {dims} is not a permutation of the "
                               f"{self.ndim} dimensions of a tensor of shape {self.shape}")
        return shaping.Permute.apply(self, dims=tuple(d % max(self.ndim, 1) for d in dims))

    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        (dim0,), (dim1,) = normalize_dims(dim0, self.ndim), normalize_dims(dim1, self.ndim)
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return shaping.Transpose.apply(self, dims=tuple(dims))

    def __getitem__(self, index):
        template, tensors = _index(index)
        return shaping.GetItem.apply(self, *tensors, index=template)

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D; use transpose(dim0, dim1) or mT")
        return self.transpose(0, 1) if self.ndim == 2 else self

    swapaxes = swapdims = transpose

    def movedim(self, source, destination):
        source, destination = _shape_arg((source,)), _shape_arg((destination,))
        src = [normalize_dims(d, self.ndim)[0] for d in source]
        dst = [normalize_dims(d, self.ndim)[0] for d in destination]
        order = [d for d in range(self.ndim) if d not in src]
        for d, s_ in sorted(zip(dst, src)):
            order.insert(d, s_)
        return self.permute(*order)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                               f"greater or equal to the number of dimensions in the tensor "
                               f"({self.ndim})")
        lead = len(sizes) - self.ndim
        shape = tuple(n if n != -1 else self.shape[i - lead] for i, n in enumerate(sizes))
        return shaping.Expand.apply(self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *times):
        times = _shape_arg(times)
        if len(times) < self.ndim:
            raise RuntimeError("repeat: the number of repeats must be at least the number of "
                               f"dimensions ({self.ndim}), got {len(times)}")
        return shaping.Repeat.apply(self, times=times)

    def flip(self, *dims, **kwargs):
        dims = kwargs.pop("dims") if "dims" in kwargs and not dims else dims  # flip(x, dims=)
        if kwargs:
            raise TypeError(f"flip() got an unexpected keyword argument '{next(iter(kwargs))}'")
        return shaping.Flip.apply(self, dims=normalize_dims(_shape_arg(dims), self.ndim))

    def roll(self, shifts, dims=None):
        return shaping.Roll.apply(self, shifts=shifts, dims=dims)

    def tril(self, diagonal=0):
        return shaping.Tril.apply(self, diagonal=diagonal)

    def triu(self, diagonal=0):
        return shaping.Triu.apply(self, diagonal=diagonal)

    def contiguous(self):
        return self if self.data.flags.c_contiguous else shaping.Contiguous.apply(self)

    def is_contiguous(self):
        return bool(self.data.flags.c_contiguous)

    def stride(self, dim=None):
        strides = tuple(s // self.data.itemsize for s in self.data.strides)
        return strides if dim is None else strides[dim]

    def narrow(self, dim, start, length):
        (dim,) = normalize_dims(dim, self.ndim)
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    def unbind(self, dim=0):
        (dim,) = normalize_dims(dim, self.ndim)
        return tuple(self[(slice(None),) * dim + (i,)] for i in range(self.shape[dim]))

    def split(self, split_size_or_sections, dim=0):
        (dim,) = normalize_dims(dim, self.ndim)
        n = self.shape[dim]
        if isinstance(split_size_or_sections, int):
            step = split_size_or_sections
            sizes = [min(step, n - start) for start in range(0, n, step)] if n else [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                                   f"{n} (input tensor's size at dimension {dim}), but got "
                                   f"split_sizes={sizes}")
        starts = np.cumsum([0] + sizes[:-1])
        return tuple(self.narrow(dim, int(a), size) for a, size in zip(starts, sizes))

    def chunk(self, chunks, dim=0):
        (dim,) = normalize_dims(dim, self.ndim)
        step = -(-self.shape[dim] // chunks) if chunks > 0 else 0
        if step <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        return self.split(step, dim)

    def unflatten(self, dim, sizes):
        (dim,) = normalize_dims(dim, self.ndim)
        sizes = list(sizes)
        if -1 in sizes:
            known = int(np.prod([n for n in sizes if n != -1]))
            sizes[sizes.index(-1)] = self.shape[dim] // known if known else 0
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1:])

    def index_select(self, dim, index):
        if index.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        index = index.reshape(-1) if index.ndim == 0 else index
        return shaping.IndexSelect.apply(self, index, dim=dim)

    def scatter(self, dim, index, src=None, value=None):
        src = src if value is None else value
        _same_dtype_for("scatter", self, src)
        return shaping.Scatter.apply(self, index, src, dim=dim)

    def scatter_add(self, dim, index, src):
        _same_dtype_for("scatter_add", self, src)
        return shaping.Scatter.apply(self, index, src, dim=dim, add=True)

    def masked_fill(self, mask, value):
        if isinstance(mask, Tensor) and mask.data.dtype != np.bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with "
                               f"dtype {mask.dtype.name}")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, "
                               f"but got tensor with {value.ndim} dimension(s)")
        return shaping.MaskedFill.apply(self, mask, value)

    def masked_fill_(self, mask, value):
        return self._inplace(Tensor.masked_fill, mask, value)

    def scatter_(self, dim, index, src=None, value=None):
        return self._inplace(Tensor.scatter, dim, index, src, value)

    def scatter_add_(self, dim, index, src):
        return self._inplace(Tensor.scatter_add, dim, index, src)

    def nonzero(self, as_tuple=False):
        found = _plain(np.argwhere, self)
        return found.unbind(1) if as_tuple else found

    def mm(self, other):
        if self.ndim != 2 or other.ndim != 2:
            raise RuntimeError(f"mm: both arguments must be matrices (2-D), got "
                               f"{self.ndim}-D and {other.ndim}-D; use matmul for others")
        return self @ other

    def bmm(self, other):
        if self.ndim != 3 or other.ndim != 3 or self.shape[0] != other.shape[0]:
            raise RuntimeError(f"bmm: expects two batches of matrices (3-D, the same batch "
                               f"size), got shapes {self.shape} and {other.shape}")
        return self @ other

    def dot(self, other):
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D "
                               "tensors")
        return self @ other

    def outer(self, other):
        return self[:, None] * other[None, :]

    def new_zeros(self, *size, dtype=None):
        return Tensor(backend.array_module(self.data).zeros(
            _shape_arg(size), _dt.to_numpy_dtype(dtype or self.dtype)))

    def new_ones(self, *size, dtype=None):
        return Tensor(backend.array_module(self.data).ones(
            _shape_arg(size), _dt.to_numpy_dtype(dtype or self.dtype)))

    def new_full(self, size, fill_value, dtype=None):
        return Tensor(backend.array_module(self.data).full(
            tuple(size), fill_value, _dt.to_numpy_dtype(dtype or self.dtype)))

    def new_tensor(self, data, dtype=None):
        return Tensor(as_array(data, dtype or self.dtype))

    def element_size(self):
        return self.data.itemsize

    def is_floating_point(self):
        return self.data.dtype.kind == "f"

    # --------------------------------------------------- more of PyTorch's API
    #
    # Functions that PyTorch code uses often and that the ops above already express.
    # Each is differentiable through the ops it is built from, unless it returns
    # integers or counts.

    def add(self, other, *, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("floor", "trunc"):
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or "
                             f"'floor' but found '{rounding_mode}'")
        a, b = _no_integer_zero(*_promote(self, other))
        if (a if isinstance(a, Tensor) else b).data.dtype.kind != "f":
            return _plain(np.floor_divide if rounding_mode == "floor" else _trunc_divide, a, b)
        return elementwise.DivFloor.apply(a, b) if rounding_mode == "floor" else (a / b).trunc()

    subtract, multiply, divide, true_divide = sub, mul, div, __truediv__

    def fmod(self, other):
        return elementwise.Fmod.apply(*_no_integer_zero(*_promote(self, other)))

    def __abs__(self):
        return self.abs()

    absolute = abs

    def tan(self):
        return elementwise.Tan.apply(self._floating())

    def asin(self):
        return elementwise.Asin.apply(self._floating())

    def acos(self):
        return elementwise.Acos.apply(self._floating())

    def atan(self):
        return elementwise.Atan.apply(self._floating())

    def sinh(self):
        return elementwise.Sinh.apply(self._floating())

    def cosh(self):
        return elementwise.Cosh.apply(self._floating())

    def asinh(self):
        return elementwise.Asinh.apply(self._floating())

    def acosh(self):
        return elementwise.Acosh.apply(self._floating())

    def atanh(self):
        return elementwise.Atanh.apply(self._floating())

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def atan2(self, other):
        y, x = _promote(self._floating(), other)
        return elementwise.Atan2.apply(y, x)

    arctan2 = atan2

    def log10(self):
        return self.log2() * math.log10(2.0)     # log10 x = log2 x * log10 2

    def exp2(self):
        return 2.0 ** self._floating()

    def frac(self):
        return self - self.trunc()

    def sgn(self):
        return self.sign()

    def hypot(self, other):
        return (self * self + other * other).sqrt()

    def logaddexp(self, other):
        # log(e^a + e^b) = max(a, b) + log1p(e^-|a - b|), which never overflows
        return maximum(self, other) + (-(self - other).abs()).exp().log1p()

    def logit(self, eps=None):
        x = self._floating() if eps is None else self._floating().clamp(eps, 1 - eps)
        return (x / (1 - x)).log()

    def xlogy(self, other):
        return where(self == 0, 0.0, self * _promote(self._floating(), other)[1].log())

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        if self.data.dtype.kind != "f":
            return self.clone()
        info = np.finfo(self.data.dtype)
        x = self.masked_fill(self.isnan(), nan)
        x = x.masked_fill(self == math.inf, info.max if posinf is None else posinf)
        return x.masked_fill(self == -math.inf, info.min if neginf is None else neginf)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return self + value * tensor1 * tensor2

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return self + value * tensor1 / tensor2

    def fmax(self, other):
        """maximum() that ignores NaN: the other value where one is NaN."""
        return where(other.isnan(), self, where(self.isnan(), other, maximum(self, other)))

    def fmin(self, other):
        return where(other.isnan(), self, where(self.isnan(), other, minimum(self, other)))

    def isposinf(self):
        return self == math.inf

    def isneginf(self):
        return self == -math.inf

    def isreal(self):
        return _plain(backend.array_module(self.data).ones_like, self, dtype=bool)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return self.masked_fill(self.isnan(), 0).sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        x = self._as(dtype)._float_only("nanmean")
        count = (~x.isnan()).sum(dim, keepdim)
        return x.nansum(dim, keepdim) / count

    def count_nonzero(self, dim=None):
        return (self != 0).sum(dim)

    def aminmax(self, *, dim=None, keepdim=False):
        dim = () if dim is None else dim
        return MinMax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        x = self
        if prepend is not None or append is not None:
            parts = [p for p in (prepend, self, append) if p is not None]
            x = cat(parts, dim=dim)
        for _ in range(n):
            length = x.shape[dim] - 1
            later, earlier = x.narrow(dim, 1, length), x.narrow(dim, 0, length)
            x = later ^ earlier if x.data.dtype == np.bool_ else later - earlier
        return x

    def median(self, dim=None, keepdim=False):
        """The lower of the two middle values (PyTorch does not average them); NaN if
        there is one. With `dim`: (values, indices)."""
        if dim is None:
            flat = self.reshape(-1)
            return flat.median(0).values if flat.numel() else flat.sum() * math.nan
        order = self.argsort(dim)          # NaN sorts last
        n = self.shape[dim]
        pick = order.narrow(dim, (n - 1) // 2, 1)
        if self.data.dtype.kind == "f":    # a row with NaN gives its first NaN
            nan = self.isnan()
            pick = _plain(np.where, nan.any(dim, keepdim=True), nan.int().argmax(dim, True), pick)
        values = self.gather(dim, pick)
        if not keepdim:
            values, pick = values.squeeze(dim), pick.squeeze(dim)
        return ValuesAndIndices(values, pick)

    def kthvalue(self, k, dim=-1, keepdim=False):
        """The k-th smallest value along `dim` (k counts from 1), and its index."""
        order = self.argsort(dim, stable=True)
        pick = order.narrow(dim, k - 1, 1)
        values = self.gather(dim, pick)
        if not keepdim:
            values, pick = values.squeeze(dim), pick.squeeze(dim)
        return ValuesAndIndices(values, pick)

    def msort(self):
        return self.sort(0).values

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values in ascending order (PyTorch sorts them even with
        sorted=False), optionally with where each element went and how often each
        occurs. Not differentiable."""
        xp = backend.array_module(self.data)
        values, inverse, counts = xp.unique(self.data, return_inverse=True,
                                            return_counts=True, axis=dim)
        if dim is None:
            inverse = inverse.reshape(self.shape)
        out = (Tensor._make(values, False, None),)
        if return_inverse:
            out += (Tensor._make(inverse.reshape(-1).astype(np.int64) if dim is not None
                                 else inverse.astype(np.int64), False, None),)
        if return_counts:
            out += (Tensor._make(counts.astype(np.int64), False, None),)
        return out[0] if len(out) == 1 else out

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        if dim is not None:
            raise NotImplementedError("unique_consecutive(dim=...) is not supported by "
                                      "minigrad; only the flattened form is")
        xp = backend.array_module(self.data)
        flat = self.data.reshape(-1)
        starts = xp.concatenate([xp.ones(min(flat.size, 1), bool), flat[1:] != flat[:-1]])
        out = (Tensor._make(flat[starts], False, None),)
        if return_inverse:
            out += (Tensor._make(xp.cumsum(starts).reshape(self.shape) - 1, False, None),)
        if return_counts:
            edges = xp.concatenate([xp.flatnonzero(starts), xp.asarray([flat.size])])
            out += (Tensor._make(xp.diff(edges).astype(np.int64), False, None),)
        return out[0] if len(out) == 1 else out

    def bincount(self, weights=None, minlength=0):
        """How often each value 0, 1, ... occurs (summing `weights` instead of ones)."""
        if self.data.dtype.kind not in "iu":
            raise NotImplementedError(f"bincount counts integers, not {self.dtype.name}")
        if self.ndim != 1 or (
                self.numel() and int(self.data.min()) < 0):
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        xp = backend.array_module(self.data)
        w = None if weights is None else weights.data
        counts = xp.bincount(self.data, weights=w, minlength=minlength)
        if w is not None and w.dtype != np.float32:
            counts = counts.astype(np.float64)       # integer weights count in float64
        elif w is not None:
            counts = counts.astype(np.float32)
        return Tensor._make(counts, False, None)

    def histc(self, bins=100, min=0, max=0):  # noqa: A002
        """A histogram of `bins` equal bins over [min, max] (the data's range when both
        are 0); values outside are left out."""
        x = self._float_only("histc", NotImplementedError).data
        lo, hi = float(min), float(max)
        if lo == hi and x.size:
            lo, hi = float(x.min()), float(x.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        counts, _ = backend.array_module(x).histogram(x, bins=bins, range=(lo, hi))
        return Tensor._make(counts.astype(x.dtype), False, None)

    def argwhere(self):
        return self.nonzero()

    def isin(self, test_elements, *, invert=False):
        values = test_elements.data if isinstance(test_elements, Tensor) else test_elements
        return _plain(backend.array_module(self.data).isin, self, values, invert=invert)

    def moveaxis(self, source, destination):
        return self.movedim(source, destination)

    def repeat_interleave(self, repeats, dim=None):
        """Each element (or slice along `dim`) repeated `repeats` times in a row."""
        from .creation import tensor
        x = self.reshape(-1) if dim is None else self
        dim = 0 if dim is None else dim
        counts = backend.move(repeats.data, "cpu") if isinstance(repeats, Tensor) else repeats
        picks = np.repeat(np.arange(x.shape[dim]), counts)
        return x.index_select(dim, tensor(picks, dtype=_dt.int64, device=x.device))

    def tile(self, dims):
        dims = tuple(dims)
        return self.repeat(*((1,) * (self.ndim - len(dims)) + dims))

    def masked_select(self, mask):
        shape = np.broadcast_shapes(self.shape, mask.shape)
        return self.expand(shape)[mask.expand(shape)]

    def take(self, index):
        return self.reshape(-1)[index]

    def index_add(self, dim, index, source, *, alpha=1):
        """A copy with source's slices added at `index` along `dim` (repeats add up)."""
        dim = normalize_dims(dim, self.ndim)[0]
        shape = [1] * source.ndim
        shape[dim] = -1
        where = index.reshape(*shape).expand(*source.shape)
        return self.scatter_add(dim, where, source if alpha == 1 else source * alpha)

    def index_fill(self, dim, index, value):
        dim = normalize_dims(dim, self.ndim)[0]
        mask = np.zeros(self.shape[dim], bool)
        mask[backend.move(index.data, "cpu")] = True
        shape = [1] * self.ndim
        shape[dim] = -1
        return self.masked_fill(Tensor(backend.move(mask.reshape(shape), self.device)), value)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._inplace(lambda x, i, src: x.index_add(dim, i, src, alpha=alpha),
                             index, source)

    def tril_(self, diagonal=0):
        return self._inplace(Tensor.tril, diagonal)

    def triu_(self, diagonal=0):
        return self._inplace(Tensor.triu, diagonal)

    def fill_diagonal_(self, fill_value, wrap=False):
        """Write `fill_value` on the main diagonal of a matrix, in place."""
        if self.ndim != 2 or wrap:
            raise NotImplementedError("fill_diagonal_ in minigrad supports matrices only "
                                      "(and wrap=False)")
        mask = backend.move(np.eye(*self.shape, dtype=bool), self.device)
        return self._inplace(Tensor.masked_fill, Tensor(mask), fill_value)

    def floor_(self):
        return self._inplace(Tensor.floor)

    def ceil_(self):
        return self._inplace(Tensor.ceil)

    def round_(self, decimals=0):
        return self._inplace(Tensor.round, decimals)

    def trunc_(self):
        return self._inplace(Tensor.trunc)

    def sin_(self):
        return self._inplace(Tensor.sin)

    def cos_(self):
        return self._inplace(Tensor.cos)

    def square_(self):
        return self._inplace(Tensor.square)

    def reciprocal_(self):
        return self._inplace(Tensor.reciprocal)

    def __ifloordiv__(self, other):
        return self._inplace(Tensor.__floordiv__, other)

    def __imod__(self, other):
        return self._inplace(Tensor.__mod__, other)

    def __ipow__(self, other):
        return self._inplace(Tensor.__pow__, other)

    def __iand__(self, other):
        return self._inplace(Tensor.__and__, other)

    def __ior__(self, other):
        return self._inplace(Tensor.__or__, other)

    def __ixor__(self, other):
        return self._inplace(Tensor.__xor__, other)

    def new_empty(self, *size, dtype=None):
        return self.new_zeros(*size, dtype=dtype)


class Size(tuple):
    """A shape, as `torch.Size`. minigrad's shapes are plain tuples, which compare equal
    to it and index and unpack the same way."""

    def numel(self):
        return int(np.prod(self))

    def __repr__(self):
        return f"minigrad.Size({list(self)})"


class ValuesAndIndices(tuple):
    """`(values, indices)`, as max(dim), min(dim), sort and topk return them, with
    PyTorch's field names."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


# NumPy's ufunc for `array <op> tensor`, and the tensor method that computes it
_REFLECTED = {"add": "__radd__", "subtract": "__rsub__", "multiply": "__rmul__",
              "divide": "__rtruediv__", "true_divide": "__rtruediv__", "power": "__rpow__",
              "matmul": "__rmatmul__", "floor_divide": "__rfloordiv__",
              "remainder": "__rmod__", "equal": "__eq__", "not_equal": "__ne__",
              "less": "__gt__", "less_equal": "__ge__", "greater": "__lt__",
              "greater_equal": "__le__", "bitwise_and": "__rand__", "bitwise_or": "__ror__",
              "bitwise_xor": "__rxor__"}


class MinMax(tuple):
    """`(min, max)`, as aminmax returns them."""

    def __new__(cls, min, max):  # noqa: A002
        return super().__new__(cls, (min, max))

    min = property(lambda self: self[0])
    max = property(lambda self: self[1])


class _ToDevice(autograd.Op):
    op = "to"

    @staticmethod
    def forward(ctx, x, target):
        ctx.source = backend.device_of(x)
        return backend.move(x, target)

    @staticmethod
    def backward(ctx, grad):
        return backend.move(grad, ctx.source)


# ------------------------------------------------------------------ helpers


def _matmul_operands(a, b):
    """Matrix products do not promote in PyTorch: two tensors must have one dtype."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return _promote(a, b)
    if a.data.dtype != b.data.dtype:
        raise RuntimeError(f"matmul: expected both operands to have the same dtype, but got "
                           f"{a.data.dtype} and {b.data.dtype}; convert one, e.g. b.to(a.dtype)")
    return a, b


def as_array(data, dtype=None):
    """Convert nested lists, numbers, NumPy arrays or tensors to an array minigrad stores."""
    if isinstance(data, Tensor):
        data = data.data
    elif hasattr(data, "detach") and hasattr(data, "numpy"):           # a PyTorch tensor
        data = data.detach().cpu().numpy()
    elif hasattr(data, "numpy") and not isinstance(data, np.ndarray):  # a TensorFlow tensor
        data = data.numpy()
    if isinstance(data, (np.ndarray, np.generic)) or hasattr(data, "__cuda_array_interface__"):
        np_dtype = (_dt.to_numpy_dtype(dtype) if dtype is not None
                    else _dt.supported_numpy_dtype(data.dtype))
        return backend.array_module(data).asarray(data, dtype=np_dtype)
    array = np.asarray(data)                                  # numbers and nested lists
    if dtype is not None:
        return array.astype(_dt.to_numpy_dtype(dtype))
    kind = array.dtype.kind
    if kind == "b":
        return array
    if kind in "iu":
        return array.astype(np.int64, copy=False)
    if kind == "f":
        return array.astype(_dt.default_float.np, copy=False)
    raise TypeError(f"cannot make a tensor from {type(data).__name__} data "
                    f"(NumPy reads it as {array.dtype})")


def _promote(a, b, true_div=False):
    """Bring two operands to one dtype with PyTorch's rules (NumPy's differ for ints)."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        da, db = a.data.dtype, b.data.dtype
        if type(a.data) is not type(b.data):
            raise RuntimeError(f"expected all tensors to be on the same device, but found "
                               f"{a.device} and {b.device}; move one with .to()")
        if da == db and (da.kind == "f" or not true_div):
            return a, b
        target = _result_dtype(da, db, true_div)
        if (a.data.ndim == 0) != (b.data.ndim == 0):
            # PyTorch's rule for a 0-d tensor with one that has dimensions: the 0-d one
            # decides the dtype only when it is of a higher kind (bool < int < float),
            # so float32 + a 0-d float64 tensor stays float32
            with_dims, zero_d = (db, da) if a.data.ndim == 0 else (da, db)
            if _KINDS.index(with_dims.kind) >= _KINDS.index(zero_d.kind):
                target = with_dims if with_dims.kind == "f" or not true_div \
                    else _dt.default_float.np
        return _promoted(a, target), _promoted(b, target)

    t, other = (a, b) if ta else (b, a)
    if isinstance(other, np.generic):        # a NumPy scalar counts as a Python number
        other = other.item()
    elif not isinstance(other, numbers.Number):
        other = Tensor(other)                # a list or an array: make it a tensor
        return _promote(*((t, other) if ta else (other, t)), true_div=true_div)
    kind = t.data.dtype.kind
    if kind == "b" and isinstance(other, bool) and not true_div:
        return (t, other) if ta else (other, t)
    if not (kind == "f" or (not true_div and isinstance(other, numbers.Integral) and kind != "b")):
        float_result = true_div or isinstance(other, float)
        t = t.to(dtype=_dt.default_float.np if float_result else np.dtype(np.int64))
    return (t, other) if ta else (other, t)


_KINDS = "bif"     # NumPy's dtype kinds: bool, signed integer, floating point


def _no_bool_subtraction(a, b):
    bools = [x for x in (a, b) if isinstance(x, bool) or (
        isinstance(x, Tensor) and x.data.dtype == np.bool_)]
    if bools:
        two = "two bool tensors" if len(bools) == 2 else "a bool tensor"
        raise RuntimeError(f"Subtraction, the `-` operator, with {two} is not supported (as in "
                           "PyTorch). To invert a mask use `~mask` or `mask == 0`; for "
                           "arithmetic, convert it first with .float() or .long().")
    return a, b


def _promoted(t, dtype):
    """`t` in `dtype` for an operation. A converted copy keeps `t`'s version counter, so an
    op that saves it still notices when `t` itself is changed in place (PyTorch saves `t`)."""
    if t.data.dtype == dtype:
        return t
    out = t.to(dtype=dtype)
    out._vc = autograd.counter(t)
    return out


def clear_grads(params, set_to_none=True):
    """zero_grad() of optimizers and modules: drop each .grad, or zero it in place."""
    for p in params:
        if set_to_none:
            p.grad = None
        elif p.grad is not None:
            p.grad.zero_()


def _result_dtype(da, db, true_div):
    """PyTorch's promotion of two dtypes of tensors with dimensions. (NumPy's differs:
    there int64 with float32 gives float64.)"""
    floats = [d for d in (da, db) if d.kind == "f"]
    if floats:
        return max(floats, key=lambda d: d.itemsize)
    if true_div:
        return _dt.default_float.np
    return np.promote_types(da, db)          # bool < int32 < int64


def _argmax(x, dim, keepdim):
    xp = backend.array_module(x)
    if dim is None:
        return xp.asarray(x.argmax(), np.int64)
    return xp.asarray(x.argmax(axis=dim, keepdims=keepdim), np.int64)  # 0-d stays an array


def _same(x):
    return x


def _plain(fn, *inputs, **options):
    """fn on the inputs' arrays, as a tensor outside the graph: comparisons, logical ops,
    indices. (A running minigrad.compile trace still records it.)"""
    result = fn(*[x.data if isinstance(x, Tensor) else x for x in inputs], **options)
    if isinstance(result, np.generic):
        result = np.asarray(result)
    return autograd.untracked(fn, inputs, Tensor._make(result, False, None), **options)


def _argmin(x, dim, keepdim):
    xp = backend.array_module(x)
    if dim is None:
        return xp.asarray(x.argmin(), np.int64)
    return xp.asarray(x.argmin(axis=dim, keepdims=keepdim), np.int64)


def _argsort(x, dim, descending):
    xp = backend.array_module(x)
    keys = -x.astype(np.int64 if x.dtype == np.bool_ else x.dtype) if descending else x
    order = xp.argsort(keys, axis=dim, kind="stable").astype(np.int64)
    if descending and x.dtype.kind == "f":
        # NaN counts as the largest value in PyTorch: first when descending (NumPy puts
        # it last either way); a second stable sort moves it to the front
        nan_last = ~xp.isnan(xp.take_along_axis(x, order, axis=dim))
        order = xp.take_along_axis(order, xp.argsort(nan_last, axis=dim, kind="stable"), dim)
    return order


def _topk(x, k, dim, largest):
    order = _argsort(x, dim, descending=largest)
    return backend.array_module(x).take(order, np.arange(k), axis=dim)


def _same_dtype_for(op, x, src):
    if isinstance(src, Tensor) and src.data.dtype != x.data.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (got "
                           f"{x.dtype.name} and {src.dtype.name}); convert src with .to()")


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 0 if unbiased is False else 1


def maximum(input, other):
    return elementwise.Maximum.apply(*_promote(*_tensors("maximum", input, other)))


def minimum(input, other):
    return elementwise.Minimum.apply(*_promote(*_tensors("minimum", input, other)))


def _tensors(op, *inputs):
    for x in inputs:
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}(): arguments must be tensors, not {type(x).__name__}; "
                            f"use clamp() with a number")
    return inputs


def lerp(input, end, weight):
    start, end = _promote(input, end)
    if isinstance(weight, Tensor):
        start, weight = _promote(start, weight)
        end, weight = _promote(end, weight)
    return elementwise.Lerp.apply(start, end, weight)


def where(condition, input=None, other=None):
    """Elements of `input` where `condition` holds, else of `other` (broadcasting);
    where(condition) alone is condition.nonzero(as_tuple=True)."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if not isinstance(condition, Tensor):
        from .creation import tensor
        condition = tensor(condition)
    if condition.dtype is not _dt.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {condition.dtype.name}")
    if isinstance(input, Tensor) or isinstance(other, Tensor):
        input, other = _promote(input, other)
    else:  # two Python numbers: float32 if either is a float, as in PyTorch
        input, other = _to_one_dtype([input, other])
    return elementwise.Where.apply(condition, input, other)


def cat(tensors, dim=0):
    """Join tensors along an existing dimension."""
    if not len(tensors):
        raise ValueError("cat(): expected a non-empty list of tensors")
    return shaping.Cat.apply(*_to_one_dtype(tensors), dim=dim)


def stack(tensors, dim=0):
    """Join tensors along a new dimension."""
    if not len(tensors):
        raise RuntimeError("stack expects a non-empty list of tensors")
    return shaping.Stack.apply(*_to_one_dtype(tensors), dim=dim)


def _to_one_dtype(values):
    """Tensors of one dtype, promoted as PyTorch does (ints + floats give floats)."""
    from .creation import tensor  # on the default device, as torch.tensor(v) would be
    ts = [v if isinstance(v, Tensor) else tensor(v) for v in values]
    dtypes = {t.data.dtype for t in ts}
    if len(dtypes) > 1:
        target = functools.reduce(lambda a, b: _result_dtype(a, b, False), dtypes)
        ts = [t if t.data.dtype == target else t.to(dtype=target) for t in ts]
    return ts


def _any(x, dim=None, keepdim=False):
    return backend.array_module(x).asarray(x.any(axis=dim, keepdims=keepdim))


def _all(x, dim=None, keepdim=False):
    return backend.array_module(x).asarray(x.all(axis=dim, keepdims=keepdim))


def _no_integer_zero(a, b):
    """Integer // and % by zero: PyTorch raises (NumPy warns and gives 0)."""
    kinds = {x.data.dtype.kind if isinstance(x, Tensor) else np.asarray(x).dtype.kind
             for x in (a, b)}
    zero = (b.data if isinstance(b, Tensor) else b) == 0
    if kinds <= set("iub") and bool(zero.any() if hasattr(zero, "any") else zero):
        raise RuntimeError("ZeroDivisionError: integer division or remainder by zero")
    return a, b


def _trunc_divide(a, b):
    """Integer division rounded toward zero (// rounds toward minus infinity)."""
    q = a // b
    return q + ((q < 0) & (q * b != a))


def _shape_arg(shape):
    """Accept both f(2, 3) and f((2, 3)), as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _index(index):
    """Split an index into a template and the tensors in it. Tensors become inputs of the
    op (so minigrad.compile replays them as they are on each call); lists become NumPy
    integer arrays, fixed values like slices and ints."""
    if isinstance(index, list) and any(
            i is None or i is Ellipsis or isinstance(i, (list, tuple, slice, Tensor, np.ndarray))
            for i in index):
        index = tuple(index)   # PyTorch 2.13 reads x[[a, b]] with a sequence inside as x[a, b]
    if not isinstance(index, tuple):
        index = (index,)
    template, tensors = [], []
    for i in index:
        if isinstance(i, slice) and i.step is not None and i.step <= 0:
            raise ValueError("step must be greater than zero: PyTorch has no negative "
                             "strides, so x[::-1] is x.flip(0) there")
        if isinstance(i, Tensor):
            if i.data.dtype.kind not in "biu":
                raise IndexError(f"tensors used as indices must be long, int or bool "
                                 f"tensors, not {i.dtype}")
            tensors.append(i)
            i = shaping.INDEX_TENSOR
        elif isinstance(i, list):
            i = np.asarray(i) if i else np.zeros(0, np.int64)
            if i.dtype.kind == "u":
                i = i.astype(np.int64)
        template.append(i)
    return tuple(template), tuple(tensors)


def _copy_from(old, src):
    """The value copy_() and fill_() write: `src` broadcast to the tensor's shape, in its
    dtype (`old`, the value overwritten, is an input so that it gets a zero gradient)."""
    return shaping.Copy.apply(old, src, shape=old.shape, dtype=old.data.dtype)


def _check_no_overlap(target, source):
    """PyTorch refuses an in-place op whose input shares some, but not all, of the memory
    it writes (x[1:] += x[:-1]): the result would depend on the order of the writes."""
    if target is source or not backend.array_module(target).may_share_memory(target, source):
        return
    same_layout = (target.shape == source.shape and target.strides == source.strides
                   and _address(target) == _address(source))
    if not same_layout and backend.array_module(target).shares_memory(target, source):
        raise RuntimeError("unsupported operation: some elements of the input tensor and the "
                           "written-to tensor refer to a single memory location. Please "
                           "clone() the tensor before performing the operation.")


def _address(array):
    return array.__array_interface__["data"][0] if isinstance(array, np.ndarray) \
        else array.data.ptr


# ------------------------------------------------------- repr, as PyTorch prints
#
# A port of torch/_tensor_str.py (default print options) for NumPy arrays: one width
# for all elements; floats in fixed point with 4 decimals, as integers with a dot when
# all are whole, or in scientific notation when their range is wide; tensors of more
# than 1000 elements summarized with "..." (3 items at each edge).

_PRECISION, _THRESHOLD, _EDGE, _LINEWIDTH = 4, 1000, 3, 80


class _Formatter:
    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            self.width = max([1] + [len(str(v)) for v in flat.tolist()])
            return
        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            return
        magnitude = np.abs(finite.astype(np.float64))
        low, high = magnitude.min(), magnitude.max()
        finite = finite.tolist()
        self.int_mode = all(v == math.ceil(v) for v in finite)
        self.sci_mode = high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4
        if self.sci_mode:
            self.width = max(len(f"{v:.{_PRECISION}e}") for v in finite)
        elif self.int_mode:
            self.width = max(len(f"{v:.0f}") + 1 for v in finite)
        else:
            self.width = max(len(f"{v:.{_PRECISION}f}") for v in finite)

    def format(self, value):
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{_PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{_PRECISION}f}"
        return " " * (self.width - len(text)) + text


def _summarized(values):
    """The elements a summarized print shows (the edges of each dimension)."""
    if values.ndim == 0:
        return values
    if values.ndim == 1:
        return np.concatenate([values[:_EDGE], values[-_EDGE:]]) \
            if len(values) > 2 * _EDGE else values
    rows = list(values[:_EDGE]) + list(values[-_EDGE:]) if len(values) > 2 * _EDGE \
        else list(values)
    return np.stack([_summarized(r) for r in rows])


def _array_str(values, indent, summarize, formatter):
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        per_line = max(1, (_LINEWIDTH - indent) // (formatter.width + 2))
        items = values.tolist()
        if summarize and len(items) > 2 * _EDGE:
            texts = ([formatter.format(v) for v in items[:_EDGE]] + [" ..."]
                     + [formatter.format(v) for v in items[-_EDGE:]])
        else:
            texts = [formatter.format(v) for v in items]
        lines = [", ".join(texts[i:i + per_line]) for i in range(0, len(texts), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(len(values))
    if summarize and len(values) > 2 * _EDGE:
        rows = [*range(_EDGE), None, *range(len(values) - _EDGE, len(values))]
    parts = ["..." if i is None else _array_str(values[i], indent + 1, summarize, formatter)
             for i in rows]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _tensor_repr(values, suffixes, default_float):
    """tensor(...) with `suffixes` (device, grad_fn, ...) for a CPU array."""
    indent = len("tensor(")
    if values.size == 0:
        body = "[]"
        extra = ([] if values.ndim == 1 else [f"size={tuple(values.shape)}"]) + (
            [] if values.dtype == default_float else
            [f"dtype={_dt.from_numpy_dtype(values.dtype)}"])
    else:
        summarize = values.size > _THRESHOLD
        formatter = _Formatter(_summarized(values) if summarize else values)
        body = _array_str(values, indent, summarize, formatter)
        extra = [] if values.dtype in (default_float, np.int64, np.bool_) else \
            [f"dtype={_dt.from_numpy_dtype(values.dtype)}"]
    text = "tensor(" + body
    last_line = len(text) - text.rfind("\n") + 1        # PyTorch's count, kept exactly
    for suffix in extra + suffixes:
        if last_line + len(suffix) + 2 > _LINEWIDTH:
            text += ",\n" + " " * indent + suffix
            last_line = indent + len(suffix)
        else:
            text += ", " + suffix
            last_line += len(suffix) + 2
    return text + ")"
