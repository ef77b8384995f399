"""The Tensor: an array, plus what autograd needs to know about it.

A tensor holds its values in `.data` (a NumPy array, or a CuPy array on "cuda"). If it
was computed from tensors that require gradients, `.grad_fn` is the record of the
operation that made it; `backward()` follows those records to fill `.grad` of leaves.
"""
import numbers

import numpy as np

from . import autograd, backend
from . import dtypes as _dt
from .ops import elementwise as E, linalg, nn as N, reduce as R, shape as S
from .errors import broadcast_mismatch, shape_error
from .ops.util import normalize_dims


class Tensor:
    # _vc: the version counter of the memory (autograd.VersionCounter, shared by views;
    # None until needed); _view: autograd.ViewInfo if this tensor is a view, else None;
    # _rebases: the grad_fns in-place ops replaced (see autograd.rebase), else None
    __slots__ = ("data", "requires_grad", "grad", "grad_fn", "_hooks", "_vc", "_view",
                 "_rebases", "__weakref__")
    __array_priority__ = 1000   # so that `ndarray + tensor` defers to Tensor.__radd__

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
        t.data, t.requires_grad, t.grad, t.grad_fn = data, requires_grad, None, grad_fn
        t._hooks = t._vc = t._view = t._rebases = None
        return t

    # ------------------------------------------------------------------ properties

    @property
    def shape(self):
        return self.data.shape

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
        return self.data.shape if dim is None else self.data.shape[dim]

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
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.data.size} elements "
                               "is ambiguous; use .any() or .all()")
        autograd.escaped(self, "bool() (an `if` or `while` on a tensor)")
        return bool(self.data.item())

    def __format__(self, spec):
        if self.data.size == 1 and spec:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def detach(self):
        """The same values, cut off from the graph. It shares memory and the version
        counter with this tensor, as in PyTorch: changing it in place is seen here."""
        out = Tensor._make(self.data, False, None)
        out._vc = autograd.counter(self)
        return autograd.untracked(_same, (self,), out)

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
            out = E.Cast.apply(out, dtype=_dt.to_numpy_dtype(dtype))
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
        return E.Cast.apply(self, dtype=self.data.dtype)

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
            self.grad.data += grad     # .grad's array is never shared, so in place is safe
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
        data = backend.move(self.data, "cpu")
        options = {"separator": ", ", "prefix": "tensor("}
        if data.dtype.kind == "f" and data.size and np.all(np.isfinite(data)) \
                and not np.all(data == np.round(data)):
            options.update(precision=4, floatmode="fixed")
        body = np.array2string(data, **options)
        extras = []
        if data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    __hash__ = object.__hash__

    # ------------------------------------------------------------- arithmetic

    def __add__(self, other):
        return E.Add.apply(*_promote(self, other))

    def __radd__(self, other):
        return E.Add.apply(*_promote(other, self))

    def __sub__(self, other):
        return E.Sub.apply(*_promote(*_no_bool_subtraction(self, other)))

    def __rsub__(self, other):
        return E.Sub.apply(*_promote(*_no_bool_subtraction(other, self)))

    def __mul__(self, other):
        return E.Mul.apply(*_promote(self, other))

    def __rmul__(self, other):
        return E.Mul.apply(*_promote(other, self))

    def __truediv__(self, other):
        return E.Div.apply(*_promote(self, other, true_div=True))

    def __rtruediv__(self, other):
        return E.Div.apply(*_promote(other, self, true_div=True))

    def __pow__(self, other):
        return E.Pow.apply(*_promote(self, other))

    def __rpow__(self, other):
        return E.Pow.apply(*_promote(other, self))

    def __matmul__(self, other):
        return linalg.MatMul.apply(*_matmul_operands(self, other))

    def __rmatmul__(self, other):
        return linalg.MatMul.apply(*_matmul_operands(other, self))

    def __neg__(self):
        return E.Neg.apply(self)

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
            if value.data.dtype != self.data.dtype and not S.basic_index(
                    S.fill_index(template, [t.data for t in index_tensors])):
                raise RuntimeError(
                    f"Index put requires the source and destination dtypes match, got "
                    f"{self.dtype.name} for the destination and {value.dtype.name} for the "
                    "source: writing through an index tensor, a list or a mask does not "
                    f"convert; use value.to({self.dtype!r})")
            index_now = S.fill_index(template, [t.data for t in index_tensors])
            if S.basic_index(index_now):
                _check_no_overlap(self.data[index_now], value.data)
        if not self._records_inplace(value):
            try:
                self.data[S.fill_index(template, [i.data for i in index_tensors])] = \
                    value.data if isinstance(value, Tensor) else value
            except (ValueError, IndexError) as error:
                raise S.CopySlices.explain((self,), {}, error) from None
            autograd.bump_version(self)
            return
        self._check_writable((value,), item=True)
        if isinstance(value, Tensor) and value.data.dtype != self.data.dtype:
            value = E.Cast.apply(value, dtype=self.data.dtype)
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
            new = E.Cast.apply(new, dtype=self.data.dtype)
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
        out = S.CopySlices.apply(old, value, *index_tensors, steps=steps, index=index)
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
        return self._compare(np.equal, other)

    def __ne__(self, other):
        return self._compare(np.not_equal, other)

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
        if self.data.dtype.kind == "f" or getattr(other, "dtype", None) in (_dt.float32, _dt.float64):
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
        return _plain(np.floor_divide, *_promote(self, other))

    def __rfloordiv__(self, other):
        return _plain(np.floor_divide, *_promote(other, self))

    def __mod__(self, other):
        return E.Remainder.apply(*_promote(self, other))

    def __rmod__(self, other):
        return E.Remainder.apply(*_promote(other, self))

    floor_divide = __floordiv__
    remainder = __mod__

    # ---------------------------------------------------------- element-wise

    def exp(self):
        return E.Exp.apply(self._floating())

    def log(self):
        return E.Log.apply(self._floating())

    def sqrt(self):
        return E.Sqrt.apply(self._floating())

    def abs(self):
        return E.Abs.apply(self)

    def tanh(self):
        return E.Tanh.apply(self._floating())

    def sigmoid(self):
        return E.Sigmoid.apply(self._floating())

    def relu(self):
        return E.ReLU.apply(self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of min and max must be given")
        x = self._floating() if isinstance(min, float) or isinstance(max, float) else self
        return E.Clamp.apply(x, min=min, max=max)

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
        return E.Sin.apply(self._floating())

    def cos(self):
        return E.Cos.apply(self._floating())

    def log1p(self):
        return E.Log1p.apply(self._floating())

    def expm1(self):
        return E.Expm1.apply(self._floating())

    def log2(self):
        return E.Log2.apply(self._floating())

    def rsqrt(self):
        return E.Rsqrt.apply(self._floating())

    def reciprocal(self):
        return E.Reciprocal.apply(self._floating())

    def erf(self):
        return E.Erf.apply(self._floating())

    def floor(self):
        return self if self.data.dtype.kind in "iub" else E.Floor.apply(self)

    def ceil(self):
        return self if self.data.dtype.kind in "iub" else E.Ceil.apply(self)

    def trunc(self):
        return self if self.data.dtype.kind in "iub" else E.Trunc.apply(self)

    def round(self, decimals=0):
        if self.data.dtype.kind in "iub" and decimals == 0:
            return self
        return E.Round.apply(self, decimals=decimals)

    def sign(self):
        return E.Sign.apply(self)

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

    # ------------------------------------------------------------ reductions

    def sum(self, dim=None, keepdim=False):
        return R.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        if self.data.dtype.kind != "f":
            raise RuntimeError(f"mean(): needs a floating point tensor, got {self.dtype}; "
                               "convert it with .float() first")
        return R.Mean.apply(self, dim=dim, keepdim=keepdim)

    def amax(self, dim=(), keepdim=False):
        return R.Amax.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False):
        """max() is the largest element; max(dim) gives (values, indices) as in PyTorch;
        max(other) is maximum(self, other)."""
        return self._extreme(R.Amax, R.MaxDim, _argmax, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return self._extreme(R.Amin, R.MinDim, _argmin, dim, keepdim)

    def _extreme(self, whole, along, arg, dim, keepdim):
        if isinstance(dim, Tensor):
            return (maximum if whole is R.Amax else minimum)(self, dim)
        if dim is None:
            return whole.apply(self)
        # the gradient goes to the element `indices` names, not shared among ties as
        # amax shares it
        return ValuesAndIndices(along.apply(self, dim=dim, keepdim=keepdim),
                                _plain(arg, self, dim=dim, keepdim=keepdim))

    def amin(self, dim=(), keepdim=False):
        return R.Amin.apply(self, dim=dim, keepdim=keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _plain(_argmin, self, dim=dim, keepdim=keepdim)

    def prod(self, dim=None, keepdim=False):
        if dim is not None and not isinstance(dim, int):
            raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__} "
                            "(PyTorch's prod reduces one dimension at a time)")
        return R.Prod.apply(self, dim=dim, keepdim=keepdim)

    def var_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return (self.var(dim, unbiased, keepdim, correction=correction),
                self.mean(dim, keepdim=keepdim))

    def std_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return (self.std(dim, unbiased, keepdim, correction=correction),
                self.mean(dim, keepdim=keepdim))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return R.Var.apply(self._floating(), dim=dim, keepdim=keepdim,
                           correction=_correction(unbiased, correction))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return R.Std.apply(self._floating(), dim=dim, keepdim=keepdim,
                           correction=_correction(unbiased, correction))

    def norm(self, p="fro", dim=None, keepdim=False):
        p = 2 if p == "fro" else p
        return R.Norm.apply(self._floating(), p=p, dim=dim, keepdim=keepdim)

    def logsumexp(self, dim, keepdim=False):
        return R.LogSumExp.apply(self._floating(), dim=dim, keepdim=keepdim)

    def cumsum(self, dim):
        return R.CumSum.apply(self, dim=dim)

    def cumprod(self, dim):
        return R.CumProd.apply(self, dim=dim)

    def sort(self, dim=-1, descending=False, stable=False):
        indices = self.argsort(dim, descending)
        return ValuesAndIndices(R.TakeAlongDim.apply(self, indices, dim=dim), indices)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _plain(_argsort, self, dim=dim, descending=descending)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        if not 0 <= k <= (self.shape[dim] if self.ndim else 1):
            raise RuntimeError(f"topk: k ({k}) is out of range for a dimension of size "
                               f"{self.shape[dim] if self.ndim else 1}")
        indices = _plain(_topk, self, k=k, dim=dim, largest=largest)
        return ValuesAndIndices(R.TakeAlongDim.apply(self, indices, dim=dim), indices)

    def gather(self, dim, index):
        return R.TakeAlongDim.apply(self, index, dim=dim)

    def argmax(self, dim=None, keepdim=False):
        result = Tensor._make(_argmax(self.data, dim, keepdim), False, None)
        return autograd.untracked(_argmax, (self, dim, keepdim), result)

    def softmax(self, dim):
        return N.Softmax.apply(self, dim=dim)

    def log_softmax(self, dim):
        return N.LogSoftmax.apply(self, dim=dim)

    # ---------------------------------------------------------------- shapes

    def reshape(self, *shape):
        return S.Reshape.apply(self, shape=_shape_arg(shape))

    def view(self, *shape):
        return S.View.apply(self, shape=_shape_arg(shape))

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self.data.shape
        if not shape:
            return S.Flatten.apply(self, shape=(1,))
        start, end = normalize_dims(start_dim, len(shape))[0], normalize_dims(end_dim, len(shape))[0]
        if start == end:
            return self        # nothing to merge: PyTorch returns the tensor itself
        new = shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]
        return S.Flatten.apply(self, shape=new)

    def unsqueeze(self, dim):
        shape = list(self.data.shape)
        shape.insert(normalize_dims(dim, len(shape) + 1)[0], 1)
        return S.Unsqueeze.apply(self, shape=tuple(shape))

    def squeeze(self, dim=None):
        shape = self.data.shape
        dims = range(len(shape)) if dim is None else normalize_dims(dim, len(shape))
        drop = {d for d in dims if shape and shape[d] == 1}
        return S.Squeeze.apply(self, shape=tuple(n for i, n in enumerate(shape) if i not in drop))

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute: {dims} is not a permutation of the "
                               f"{self.ndim} dimensions of a tensor of shape {self.shape}")
        return S.Permute.apply(self, dims=tuple(d % max(self.ndim, 1) for d in dims))

    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        (dim0,), (dim1,) = normalize_dims(dim0, self.ndim), normalize_dims(dim1, self.ndim)
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return S.Transpose.apply(self, dims=tuple(dims))

    def __getitem__(self, index):
        template, tensors = _index(index)
        return S.GetItem.apply(self, *tensors, index=template)

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
        return S.Expand.apply(self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *times):
        times = _shape_arg(times)
        if len(times) < self.ndim:
            raise RuntimeError("repeat: the number of repeats must be at least the number of "
                               f"dimensions ({self.ndim}), got {len(times)}")
        return S.Repeat.apply(self, times=times)

    def flip(self, *dims):
        return S.Flip.apply(self, dims=normalize_dims(_shape_arg(dims), self.ndim))

    def roll(self, shifts, dims=None):
        return S.Roll.apply(self, shifts=shifts, dims=dims)

    def tril(self, diagonal=0):
        return S.Tril.apply(self, diagonal=diagonal)

    def triu(self, diagonal=0):
        return S.Triu.apply(self, diagonal=diagonal)

    def contiguous(self):
        return self if self.data.flags.c_contiguous else S.Contiguous.apply(self)

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
        return S.IndexSelect.apply(self, index.reshape(-1) if index.ndim == 0 else index,
                                   dim=dim)

    def scatter(self, dim, index, src=None, value=None):
        src = src if value is None else value
        _same_dtype_for("scatter", self, src)
        return S.Scatter.apply(self, index, src, dim=dim)

    def scatter_add(self, dim, index, src):
        _same_dtype_for("scatter_add", self, src)
        return S.Scatter.apply(self, index, src, dim=dim, add=True)

    def masked_fill(self, mask, value):
        if isinstance(mask, Tensor) and mask.data.dtype != np.bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with "
                               f"dtype {mask.dtype.name}")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, "
                               f"but got tensor with {value.ndim} dimension(s)")
        return S.MaskedFill.apply(self, mask, value)

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
    keys = -x.astype(np.int64 if x.dtype == np.bool_ else x.dtype) if descending else x
    return backend.array_module(x).argsort(keys, axis=dim, kind="stable").astype(np.int64)


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
    return E.Maximum.apply(*_promote(input, other))


def minimum(input, other):
    return E.Minimum.apply(*_promote(input, other))


def lerp(input, end, weight):
    start, end = _promote(input, end)
    if isinstance(weight, Tensor):
        start, weight = _promote(start, weight)
        end, weight = _promote(end, weight)
    return E.Lerp.apply(start, end, weight)


def _any(x, dim=None, keepdim=False):
    return backend.array_module(x).asarray(x.any(axis=dim, keepdims=keepdim))


def _all(x, dim=None, keepdim=False):
    return backend.array_module(x).asarray(x.all(axis=dim, keepdims=keepdim))


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
            i = S.INDEX_TENSOR
        elif isinstance(i, list):
            i = np.asarray(i)
            if i.dtype.kind == "u":
                i = i.astype(np.int64)
        template.append(i)
    return tuple(template), tuple(tensors)


def _copy_from(old, src):
    """The value copy_() and fill_() write: `src` broadcast to the tensor's shape, in its
    dtype (`old`, the value overwritten, is an input so that it gets a zero gradient)."""
    return S.Copy.apply(old, src, shape=old.shape, dtype=old.data.dtype)


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
