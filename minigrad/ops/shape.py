"""Operations that move elements around without changing them.

Their backward moves the gradient back to where each element came from.
"""
import numpy as np

from ..autograd import Function
from ..backend import array_module
from ..errors import shape_error
from .util import normalize_dims


class Reshape(Function):
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


# The same operation under the names PyTorch gives it, so graphs read like the code.
class View(Reshape):
    pass


class Flatten(Reshape):
    pass


class Squeeze(Reshape):
    pass


class Unsqueeze(Reshape):
    pass


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort(ctx.dims))  # the inverse permutation


class Transpose(Permute):
    pass


class GetItem(Function):
    op = "index"

    @staticmethod
    def forward(ctx, x, index):
        xp = array_module(x)
        if xp is not np:      # index arrays go where the data is
            index = tuple(xp.asarray(i) if isinstance(i, np.ndarray) else i for i in index)
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        # Integer-array indices may pick the same element twice; its gradient then
        # has to be the sum of both uses, which plain assignment would lose.
        ctx.repeats = any(getattr(i, "ndim", 0) > 0 for i in index)
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        dx = xp.zeros(ctx.shape, ctx.dtype)
        if ctx.repeats:
            xp.add.at(dx, ctx.index, grad)
        else:
            dx[ctx.index] = grad
        return dx


class Cat(Function):
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


class Stack(Function):
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
