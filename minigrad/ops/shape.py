"""Operations that move elements around without changing them.

Their backward moves the gradient back to where each element came from. The ops marked
`view = True` return a view when they can, as PyTorch's do: the result shares the
input's memory (and version counter), so writing into one changes the other.
"""
import numpy as np

from ..autograd import Op, follow_views
from ..backend import array_module, move
from ..errors import ShapeError, shape_error
from .reduce import positions
from .util import normalize_dims, unbroadcast


class Reshape(Op):
    """A view when the input's strides allow it (NumPy's rule is PyTorch's), else a copy."""
    view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)

    @classmethod
    def explain(cls, inputs, options, error):
        (x,) = inputs
        size = int(np.prod(x.shape))
        return shape_error(cls.op, [tuple(x.shape), tuple(options["shape"])],
                           f"the tensor has {size} elements, which cannot be arranged "
                           f"as {tuple(options['shape'])}")


class View(Reshape):
    """Always a view: where the memory layout does not allow one, it refuses (as PyTorch
    does) rather than copy, since writes through the result would be lost."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        out = x.reshape(shape)
        if out.size and not array_module(x).may_share_memory(out, x):
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (at least "
                f"one dimension spans across two contiguous subspaces): a tensor of shape "
                f"{tuple(x.shape)} laid out with strides {_element_strides(x)} cannot be "
                f"seen as {tuple(out.shape)} without copying. Use .reshape(...) instead "
                "(it copies when it must), or .contiguous() first.")
        return out


def _element_strides(x):
    return tuple(s // x.itemsize for s in x.strides)


# The same operation under the names PyTorch gives it, so graphs read like the code.


class Flatten(Reshape):
    pass


class Squeeze(Reshape):
    pass


class Unsqueeze(Reshape):
    pass


class Permute(Op):
    view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort(ctx.dims))  # the inverse permutation


class Transpose(Permute):
    pass


class _IndexTensor:
    """Stands in an index template for a tensor, which the op gets as an input."""
    __slots__ = ()

    def __repr__(self):
        return "<tensor>"


INDEX_TENSOR = _IndexTensor()


def fill_index(template, arrays):
    """The index for NumPy: `template` with the index arrays in the tensors' places."""
    if not arrays:
        return template
    arrays = iter(arrays)
    return tuple(next(arrays) if i is INDEX_TENSOR else i for i in template)


_PLAIN = {int, slice, type(None), type(Ellipsis)}


def _as_ints(index):
    """The index with its one-number integer arrays read as Python ints."""
    return tuple(int(i) if type(i) not in _PLAIN and i.dtype.kind in "iu" else i
                 for i in index)


def basic_index(index):
    """Whether NumPy (and PyTorch) index with this by slicing: a view, no copy."""
    for i in index:
        if type(i) not in _PLAIN and getattr(i, "ndim", 0) != 0:
            return False
    return True


class GetItem(Op):
    """x[index]. Ints, slices, None and Ellipsis give a view, as in PyTorch; integer
    arrays and boolean masks (`index_arrays`, from tensors in the index) give a copy."""
    op = "index"
    view = True

    @staticmethod
    def forward(ctx, x, *index_arrays, index):
        xp = array_module(x)
        if xp is not np:      # index arrays go where the data is
            index = tuple(xp.asarray(i) if isinstance(i, np.ndarray) else i for i in index)
            index_arrays = tuple(xp.asarray(i) for i in index_arrays)
        if index_arrays:
            index = fill_index(index, index_arrays)
        if basic_index(index):
            if index_arrays:  # a one-number integer tensor indexes like an int: a view
                index = _as_ints(index)
                index_arrays = ()
            if Ellipsis not in index:         # (only plain values here, so `in` is safe)
                index = index + (Ellipsis,)   # so x[0] of a vector is a 0-d view, not a number
        ctx.save_for_backward(*index_arrays)    # so backward checks they are unchanged
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        # Integer-array indices may pick the same element twice; its gradient then
        # has to be the sum of both uses, which plain assignment would lose.
        ctx.repeats = not basic_index(index)
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        n_index_arrays = len(ctx.saved_tensors)
        xp = array_module(grad)
        dx = xp.zeros(ctx.shape, ctx.dtype)
        if ctx.repeats:
            xp.add.at(dx, ctx.index, grad)
        else:
            dx[ctx.index] = grad
        return (dx,) + (None,) * n_index_arrays

    @classmethod
    def view_step(cls, inputs, options):
        # a view indexed by a one-number tensor keeps the number it had: changing the
        # index tensor later does not move the view (as in PyTorch)
        if len(inputs) == 1:
            return cls, (), options
        index = fill_index(options["index"], [x.data for x in inputs[1:]])
        return cls, (), {**options, "index": _as_ints(index)}

    @classmethod
    def explain(cls, inputs, options, error):
        where = f"(indexing a tensor of shape {tuple(inputs[0].shape)})"
        if isinstance(error, IndexError):
            return IndexError(f"index: {error} {where}")
        return ShapeError(f"index: {error} {where}")


class CopySlices(Op):
    """base[...] = value through a view of base: `steps` are the view ops that lead from
    base to the view written (none when base itself is written), `index` the index of a
    `view[index] = value` (None for all of it). PyTorch calls this node CopySlices.

    This is the one op whose forward changes its input: it writes into base's memory
    and returns it, and the in-place machinery bumps base's version counter."""
    op = "copy_slices"

    @staticmethod
    def forward(ctx, base, value, *index_arrays, steps, index=None):
        target = follow_views(base, steps)
        if index is None:
            target[...] = value
        else:
            target[fill_index(index, index_arrays)] = value
        ctx.save_for_backward(*index_arrays)
        ctx.steps, ctx.index, ctx.base_shape = steps, index, base.shape
        ctx.value_shape, ctx.value_dtype = np.shape(value), getattr(value, "dtype", None)
        return base

    @staticmethod
    def backward(ctx, grad):
        # Which elements of base were written: follow the same views on an array of
        # positions 0, 1, 2, ... of base's shape.
        xp = array_module(grad)
        size = int(np.prod(ctx.base_shape))
        written = follow_views(xp.arange(size).reshape(ctx.base_shape), ctx.steps, exact=False)
        if ctx.index is not None:
            written = written[fill_index(ctx.index, ctx.saved_tensors)]
        flat = xp.array(grad).reshape(-1)            # a copy: base's gradient is edited
        d_value = None
        if ctx.needs_input_grad[1]:
            d_value = _sum_to(flat[written].astype(ctx.value_dtype), ctx.value_shape)
        flat[written] = 0              # what was overwritten gets no gradient
        return (flat.reshape(ctx.base_shape), d_value) + (None,) * len(ctx.saved_tensors)

    def name(self):
        return "CopySlices"

    @classmethod
    def explain(cls, inputs, options, error):
        return ShapeError(f"x[...] = value: {error} (writing into a tensor of shape "
                          f"{tuple(inputs[0].shape)})")


class Copy(Op):
    """The value x.copy_(src) and x.fill_(value) write: src broadcast to x's shape and
    cast to its dtype. The overwritten x is an input and gets a zero gradient."""

    @staticmethod
    def forward(ctx, old, src, shape, dtype):
        xp = array_module(old)
        if xp is np and hasattr(src, "__cuda_array_interface__"):
            src = move(src, "cpu")
        src = xp.asarray(src)
        ctx.src_shape, ctx.src_dtype = src.shape, src.dtype
        return xp.array(xp.broadcast_to(src, shape), dtype)

    @staticmethod
    def backward(ctx, grad):
        # cast first, then add up, in the source's precision (as PyTorch does)
        d_src = _sum_to(grad.astype(ctx.src_dtype), ctx.src_shape) \
            if ctx.needs_input_grad[1] else None
        return array_module(grad).zeros_like(grad), d_src


def _sum_to(grad, shape):
    """`grad` summed down to `shape` (undoing broadcasting), with extra leading 1s."""
    if grad.ndim < len(shape):
        return grad.reshape(shape)
    return unbroadcast(grad, tuple(shape))


class Cat(Op):
    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim = normalize_dims(dim, xs[0].ndim)[0]
        ctx.splits = np.cumsum([x.shape[ctx.dim] for x in xs])[:-1]
        return np.concatenate(xs, axis=ctx.dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.splits, axis=ctx.dim))

    @classmethod
    def explain(cls, inputs, options, error):
        if isinstance(error, IndexError):
            return super().explain(inputs, options, error)
        shapes = [tuple(x.shape) for x in inputs]
        return shape_error(cls.op, shapes, f"{cls.op} needs every dimension except "
                           f"dim={options.get('dim', 0)} to match ({cls.op} does not broadcast)")


class Stack(Op):
    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim = normalize_dims(dim, xs[0].ndim + 1)[0]
        return np.stack(xs, axis=ctx.dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.dim, 0))

    @classmethod
    def explain(cls, inputs, options, error):
        if isinstance(error, IndexError):
            return super().explain(inputs, options, error)
        shapes = [tuple(x.shape) for x in inputs]
        return shape_error(cls.op, shapes, "stack needs all tensors to have the same shape")


class Expand(Op):
    """A view in which dimensions of size 1 are repeated, without copying (stride 0).
    Every element of such a dimension is the same memory: writing into it is refused."""
    view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape)   # each repeat of an element adds its gradient


class Repeat(Op):
    """x.repeat(*times): the whole tensor tiled `times` over (NumPy's tile)."""

    @staticmethod
    def forward(ctx, x, times):
        ctx.shape, ctx.x_shape = (1,) * (len(times) - x.ndim) + x.shape, x.shape
        ctx.times = times
        return array_module(x).tile(x, times)

    @staticmethod
    def backward(ctx, grad):
        # view the result as (times[0], n0, times[1], n1, ...) and add up the copies
        split = [n for pair in zip(ctx.times, ctx.shape) for n in pair]
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return summed.reshape(ctx.x_shape)


class Flip(Op):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return array_module(x).flip(x, dims).copy()   # a copy, as in PyTorch

    @staticmethod
    def backward(ctx, grad):
        return array_module(grad).flip(grad, ctx.dims)


class Roll(Op):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return array_module(x).roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        back = -ctx.shifts if isinstance(ctx.shifts, int) else tuple(-s for s in ctx.shifts)
        return array_module(grad).roll(grad, back, ctx.dims)


class Triangle(Op):
    """tril / triu: the elements on one side of a diagonal of the last two dimensions
    (the rest zeroed); the gradient passes where the elements were kept."""
    op = "tril"
    keep = staticmethod(np.tril)

    @classmethod
    def forward(cls, ctx, x, diagonal=0):
        ctx.diagonal = diagonal
        return cls.keep(x, diagonal)

    @classmethod
    def backward(cls, ctx, grad):
        return cls.keep(grad, ctx.diagonal)


class Tril(Triangle):
    pass


class Triu(Triangle):
    op = "triu"
    keep = staticmethod(np.triu)


class Contiguous(Op):
    @staticmethod
    def forward(ctx, x):
        return array_module(x).ascontiguousarray(x)   # Tensor.contiguous() calls it to copy

    @staticmethod
    def backward(ctx, grad):
        return grad


class IndexSelect(Op):
    op = "index_select"

    @staticmethod
    def forward(ctx, x, index, dim):
        (ctx.dim,) = normalize_dims(dim, x.ndim)
        ctx.shape = x.shape
        ctx.save_for_backward(index)
        return array_module(x).take(x, index, axis=ctx.dim)

    @staticmethod
    def backward(ctx, grad):
        index, = ctx.saved_tensors
        xp = array_module(grad)
        dx = xp.zeros(ctx.shape, grad.dtype)
        where = [slice(None)] * len(ctx.shape)
        where[ctx.dim] = index
        xp.add.at(dx, tuple(where), grad)        # an index picked twice adds its gradients
        return dx, None


class Scatter(Op):
    """x.scatter(dim, index, src): a copy of x with src's elements written at `index`
    along `dim` (add=True: added there, scatter_add)."""

    @staticmethod
    def forward(ctx, x, index, src, dim, add=False):
        (ctx.dim,) = normalize_dims(dim, x.ndim)
        xp = array_module(x)
        where = positions(index, ctx.dim)
        src = xp.broadcast_to(src, index.shape) if np.ndim(src) == 0 else \
            src[tuple(slice(0, n) for n in index.shape)]
        out = x.copy()
        if add:
            xp.add.at(out, where, src)
        else:
            out[where] = src
        ctx.save_for_backward(index)
        ctx.add, ctx.src_shape = add, np.shape(src)
        return out

    @staticmethod
    def backward(ctx, grad):
        index, = ctx.saved_tensors
        where = positions(index, ctx.dim)
        d_src = None
        if ctx.needs_input_grad[2]:                      # each source element went to one place
            d_src = array_module(grad).zeros(ctx.src_shape, grad.dtype)
            d_src[tuple(slice(0, n) for n in index.shape)] = grad[where]
        if ctx.add:
            return grad, None, d_src
        d_x = grad.copy()
        d_x[where] = 0                                  # what was overwritten gets nothing
        return d_x, None, d_src


class MaskedFill(Op):
    op = "masked_fill"

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        ctx.value_shape = np.shape(value)
        return array_module(x).where(mask, value, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        mask, = ctx.saved_tensors
        zero = grad.dtype.type(0)
        d_value = grad[np.broadcast_to(mask, grad.shape)].sum().reshape(ctx.value_shape) \
            if ctx.needs_input_grad[2] else None     # a 0-d value tensor, used everywhere
        return array_module(grad).where(mask, zero, grad), None, d_value
