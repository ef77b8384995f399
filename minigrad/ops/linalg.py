"""Matrix multiplication, with PyTorch's rules for 1-D and batched operands."""
import numpy as np

from ..autograd import Function
from ..errors import shape_error
from .util import unbroadcast


class MatMul(Function):
    op = "matmul"

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("both arguments to matmul need at least 1 dimension")
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # A 1-D operand acts as a row (on the left) or a column (on the right); give
        # it and the gradient that dimension back so one formula covers every case.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape)  # dL/dA = G B^T
            da = da.reshape(a.shape)
        if ctx.needs_input_grad[1]:
            db = unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape)  # dL/dB = A^T G
            db = db.reshape(b.shape)
        return da, db

    @classmethod
    def explain(cls, inputs, options, error):
        a, b = (tuple(x.shape) for x in inputs)
        if not a or not b:
            return shape_error("matmul", [a, b], "both operands need at least 1 dimension")
        inner_a, inner_b = a[-1], (b[-2] if len(b) > 1 else b[0])
        if inner_a != inner_b:
            return shape_error(
                "matmul", [a, b],
                f"the left operand has {inner_a} columns but the right one has {inner_b} "
                "rows; A @ B needs A.shape[-1] == B.shape[-2]")
        return shape_error("matmul", [a, b], f"the batch dimensions do not broadcast ({error})")
