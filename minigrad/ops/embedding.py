"""Embedding: pick rows of a weight matrix by index (a lookup table that learns)."""
from ..autograd import Op
from ..backend import array_module


class Embedding(Op):
    """weight[indices]: one row of `weight` (num_embeddings, dim) per index."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        # Checked here, not before the call, so that a minigrad.compile replay checks
        # each new batch of indices too
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            raise IndexError(f"index out of range in self: indices range from "
                             f"{indices.min()} to {indices.max()}, the weight has "
                             f"{weight.shape[0]} rows")
        ctx.rows, ctx.padding_idx, ctx.scale = weight.shape[0], padding_idx, scale_grad_by_freq
        ctx.save_for_backward(indices)
        return array_module(weight).take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, grad):
        indices, = ctx.saved_tensors
        xp = array_module(grad)
        flat = indices.reshape(-1)
        grad = grad.reshape(flat.size, -1)
        if ctx.scale:        # each row's gradient divided by how often the batch uses it
            counts = xp.bincount(flat, minlength=ctx.rows)
            grad = grad / counts[flat, None].astype(grad.dtype)
        # a row picked k times gets the sum of its k gradients: scatter-add the rows
        dw = xp.zeros((ctx.rows, grad.shape[1]), grad.dtype)
        xp.add.at(dw, flat, grad)
        if ctx.padding_idx is not None:     # the padding row never learns
            dw[ctx.padding_idx] = 0
        return dw, None

    @classmethod
    def explain(cls, inputs, options, error):
        if isinstance(error, IndexError):
            return error
        return super().explain(inputs, options, error)

