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
from .ops.util import normalize_dims


class Tensor:
    __slots__ = ("data", "requires_grad", "grad", "grad_fn", "_hooks", "__weakref__")
    __array_priority__ = 1000   # so that `ndarray + tensor` defers to Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = as_array(data)
        self.grad = None
        self.grad_fn = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, requires_grad, grad_fn):
        """Wrap an array the engine just computed (no checks, no copy)."""
        t = object.__new__(Tensor)
        t.data, t.requires_grad, t.grad, t.grad_fn, t._hooks = data, requires_grad, None, grad_fn, None
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
    def is_leaf(self):
        return self.grad_fn is None

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
        return (self[i] for i in range(len(self)))

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
        """The same values, cut off from the graph (shares memory, like PyTorch)."""
        return autograd.untracked(_same, (self,), Tensor._make(self.data, False, None))

    def requires_grad_(self, requires_grad=True):
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

    def to(self, target=None, dtype=None):
        """`to(device)`, `to(dtype)` or `to(device, dtype)`, as in PyTorch."""
        if isinstance(target, _dt.dtype):
            target, dtype = None, target
        out = self
        if dtype is not None and _dt.to_numpy_dtype(dtype) != self.data.dtype:
            out = E.Cast.apply(out, dtype=_dt.to_numpy_dtype(dtype))
        if target is not None and backend.device(target) != self.device:
            out = _ToDevice.apply(out, target=backend.device(target))
        return out

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

    def clone(self):
        return E.Cast.apply(self, dtype=self.data.dtype)

    # ---------------------------------------------------------------- autograd

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into `leaf.grad` for every leaf requiring grad.

        `gradient` is the upstream gradient (required unless self has one element). The
        graph's saved values are freed afterwards unless `retain_graph=True`.
        `create_graph=True` (gradients you can differentiate again) is not supported.
        """
        if create_graph:
            raise NotImplementedError(
                "backward(create_graph=True): minigrad's backward functions compute with "
                "NumPy arrays, not tensors, so no graph of the gradient is recorded and "
                "higher-order gradients are not available; PyTorch's backward functions "
                "are themselves differentiable ops, which is what create_graph needs")
        autograd.backward(self, gradient, bool(retain_graph))

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

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; it may return a
        replacement gradient. Returns a handle with `.remove()`."""
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
        return E.Sub.apply(*_promote(self, other))

    def __rsub__(self, other):
        return E.Sub.apply(*_promote(other, self))

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
        return linalg.MatMul.apply(*_promote(self, other))

    def __rmatmul__(self, other):
        return linalg.MatMul.apply(*_promote(other, self))

    def __neg__(self):
        return E.Neg.apply(self)

    def __pos__(self):
        return self

    # in-place updates, for `with no_grad(): w -= lr * w.grad`
    def _check_inplace(self):
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(
                "a tensor that requires grad is being changed in place, which would "
                "invalidate the graph; do the update inside `with minigrad.no_grad():`")

    def _inplace(self, ufunc, other):
        self._check_inplace()
        other = other.data if isinstance(other, Tensor) else other
        ufunc(self.data, other, out=self.data, casting="same_kind")
        return self

    def __iadd__(self, other):
        return self._inplace(np.add, other)

    def __isub__(self, other):
        return self._inplace(np.subtract, other)

    def __imul__(self, other):
        return self._inplace(np.multiply, other)

    def __itruediv__(self, other):
        return self._inplace(np.divide, other)

    def fill_(self, value):
        self._check_inplace()
        self.data[...] = value.data if isinstance(value, Tensor) else value
        return self

    def zero_(self):
        return self.fill_(0)

    def copy_(self, source):
        return self.fill_(as_array(source))

    def __setitem__(self, index, value):
        self._check_inplace()
        self.data[_index(index)] = value.data if isinstance(value, Tensor) else value

    # ------------------------------------------------------------- comparisons

    def _compare(self, ufunc, other):
        result = ufunc(self.data, other.data if isinstance(other, Tensor) else other)
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

    def any(self):
        return autograd.untracked(_any, (self,), Tensor._make(_any(self.data), False, None))

    def all(self):
        return autograd.untracked(_all, (self,), Tensor._make(_all(self.data), False, None))

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

    def pow(self, exponent):
        return self ** exponent

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
        """max() is the largest element; max(dim) gives (values, indices) as in PyTorch."""
        if dim is None:
            return R.Amax.apply(self)
        return MaxResult(self.amax(dim, keepdim), self.argmax(dim, keepdim))

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
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return S.Transpose.apply(self, dims=tuple(dims))

    def __getitem__(self, index):
        return S.GetItem.apply(self, index=_index(index))


class MaxResult(tuple):
    """`(values, indices)` returned by `Tensor.max(dim)`, with PyTorch's field names."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


class _ToDevice(autograd.Function):
    op = "to"

    @staticmethod
    def forward(ctx, x, target):
        ctx.source = backend.device_of(x)
        return backend.move(x, target)

    @staticmethod
    def backward(ctx, grad):
        return backend.move(grad, ctx.source)


# ------------------------------------------------------------------ helpers


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
        return (a if da == target else a.to(dtype=target),
                b if db == target else b.to(dtype=target))

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


def _result_dtype(da, db, true_div):
    if np.float64 in (da, db):
        return np.dtype(np.float64)
    if da.kind == "f" or db.kind == "f" or true_div:
        return _dt.default_float.np
    return np.dtype(np.int64)


def _argmax(x, dim, keepdim):
    xp = backend.array_module(x)
    if dim is None:
        return xp.asarray(x.argmax(), np.int64)
    return x.argmax(axis=dim, keepdims=keepdim).astype(np.int64)


def _same(x):
    return x


def _any(x):
    return backend.array_module(x).asarray(x.any())


def _all(x):
    return backend.array_module(x).asarray(x.all())


def _shape_arg(shape):
    """Accept both f(2, 3) and f((2, 3)), as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _index(index):
    """Turn tensors and lists inside an index into NumPy integer arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
        elif isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype.kind == "u":
            i = i.astype(np.int64)
        out.append(i)
    return tuple(out)
