"""Matrix multiplication, with PyTorch's rules for 1-D and batched operands."""
import numpy as np

from ..autograd import Op
from ..backend import array_module
from ..errors import shape_error
from .util import unbroadcast


class MatMul(Op):
    op = "matmul"

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("both arguments to matmul need at least 1 dimension")
        # dA needs B and dB needs A: each is saved only if the other needs a gradient
        needs_a, needs_b = ctx.needs_input_grad
        ctx.save_for_backward(a if needs_b else None, b if needs_a else None)
        ctx.shapes = a.shape, b.shape
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        # A 1-D operand acts as a row (on the left) or a column (on the right); give
        # it and the gradient that dimension back so one formula covers every case.
        a2_shape = (1,) + a_shape if len(a_shape) == 1 else a_shape
        b2_shape = b_shape + (1,) if len(b_shape) == 1 else b_shape
        g = grad
        if len(b_shape) == 1:
            g = g[..., None]
        if len(a_shape) == 1:
            g = np.expand_dims(g, -2)
        da = db = None
        if ctx.needs_input_grad[0]:
            b2 = b.reshape(b2_shape)
            da = unbroadcast(g @ np.swapaxes(b2, -1, -2), a2_shape)  # dL/dA = G B^T
            da = da.reshape(a_shape)
        if ctx.needs_input_grad[1]:
            a2 = a.reshape(a2_shape)
            db = unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2_shape)  # dL/dB = A^T G
            db = db.reshape(b_shape)
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


class Einsum(Op):
    """einsum("ij,jk->ik", a, b) and every other contraction NumPy's einsum reads.

    The gradient of one operand is itself an einsum: the output's gradient contracted
    with the other operands, written out to that operand's letters. Letters that appear
    only in that operand were summed away, so the gradient is broadcast back along them.
    A letter repeated within one operand (a diagonal, "ii->i") is refused in backward."""

    @staticmethod
    def forward(ctx, *operands, equation):
        if len({x.dtype for x in operands}) > 1:     # no promotion, as in PyTorch
            raise RuntimeError(f"einsum: expected all operands to have the same dtype, but "
                               f"got {', '.join(str(x.dtype) for x in operands)}")
        ctx.inputs_letters, ctx.output_letters = _parse_einsum(equation, operands)
        ctx.save_for_backward(*operands)
        return array_module(operands[0]).einsum(equation, *operands)

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        xp = array_module(grad)
        grads = []
        for k, (letters, x) in enumerate(zip(ctx.inputs_letters, operands)):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            if len(set(letters)) != len(letters):
                raise NotImplementedError(
                    f"einsum: the gradient of an operand with a repeated letter ({letters}) "
                    "is not implemented; take the diagonal with other ops first")
            others = [(ls, o) for j, (ls, o) in enumerate(zip(ctx.inputs_letters, operands))
                      if j != k]
            known = set(ctx.output_letters).union(*[set(ls) for ls, _ in others])
            kept = "".join(c for c in letters if c in known)
            terms = ",".join([ctx.output_letters] + [ls for ls, _ in others])
            g = xp.einsum(f"{terms}->{kept}", grad, *[o for _, o in others])
            # put back the letters that were summed away, as dimensions of size 1 ...
            g = g.reshape([g.shape[kept.index(c)] if c in known else 1 for c in letters])
            # ... and add up along "..." dimensions this operand had only once (size 1)
            summed = tuple(i for i, (a, b) in enumerate(zip(g.shape, x.shape)) if a != b == 1)
            g = g.sum(axis=summed, keepdims=True) if summed else g
            grads.append(xp.broadcast_to(g, x.shape).astype(x.dtype))
        return tuple(grads)


def _parse_einsum(equation, operands):
    """The letters of each operand and of the output, with "..." spelled out."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: the equation {equation!r} has {len(inputs)} operand(s) but "
                         f"{len(operands)} tensor(s) were given")
    spare = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation)
    widest = max((x.ndim - (len(t) - 3) for t, x in zip(inputs, operands) if "..." in t),
                 default=0)
    batch = "".join(next(spare) for _ in range(widest))
    spelled = [t.replace("...", batch[len(batch) - (x.ndim - (len(t) - 3)):])
               for t, x in zip(inputs, operands)]
    if not arrow:        # implicit output: the letters that appear once, in order
        counts = "".join(spelled)
        output = batch + "".join(sorted(c for c in set(counts) if counts.count(c) == 1
                                        and c not in batch))
    else:
        output = output.replace("...", batch)
    for t, x in zip(spelled, operands):
        if len(t) != x.ndim:
            raise ValueError(f"einsum: {t!r} names {len(t)} dimensions but the operand has "
                             f"{x.ndim} (shape {tuple(x.shape)})")
    return spelled, output


# A tiled matrix multiply, for reading rather than for speed: minigrad's matmul calls
# cuBLAS through CuPy's `@`, which is several times faster. Each block of TILE x TILE
# threads computes one TILE x TILE tile of C. It walks along the shared dimension one
# tile at a time: every thread loads one element of A's tile and one of B's into shared
# memory, the block waits (__syncthreads) until both tiles are complete, and every
# thread adds TILE products to its own element of C. Each element of A and B is thus
# read from global memory N / TILE times instead of N times.
TILE = 16
matmul_tiled_source = r"""
extern "C" __global__
void matmul_tiled(const float *A, const float *B, float *C, int n, int k, int m) {
    __shared__ float a_tile[TILE][TILE];
    __shared__ float b_tile[TILE][TILE];
    const int row = blockIdx.y * TILE + threadIdx.y;     // the element of C this thread owns
    const int col = blockIdx.x * TILE + threadIdx.x;
    float acc = 0;
    for (int t = 0; t < k; t += TILE) {
        // load one tile of A and of B; threads off the edge load zeros
        a_tile[threadIdx.y][threadIdx.x] =
            (row < n && t + threadIdx.x < k) ? A[row * k + t + threadIdx.x] : 0.0f;
        b_tile[threadIdx.y][threadIdx.x] =
            (t + threadIdx.y < k && col < m) ? B[(t + threadIdx.y) * m + col] : 0.0f;
        __syncthreads();                                  // both tiles are loaded
        for (int j = 0; j < TILE; ++j)
            acc += a_tile[threadIdx.y][j] * b_tile[j][threadIdx.x];
        __syncthreads();                                  // done reading them
    }
    if (row < n && col < m)
        C[row * m + col] = acc;
}
""".replace("TILE", str(TILE))
_matmul_tiled = None


def matmul_tiled(a, b):
    """C = A @ B for 2-D float32 arrays with the kernel above (NumPy's @ on the CPU)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise shape_error("matmul_tiled", [a.shape, b.shape],
                          "it takes two matrices (n, k) and (k, m)")
    xp = array_module(a)
    if xp is np:
        return a @ b
    global _matmul_tiled
    if _matmul_tiled is None:
        _matmul_tiled = xp.RawKernel(matmul_tiled_source, "matmul_tiled")
    a = xp.ascontiguousarray(a, dtype=xp.float32)
    b = xp.ascontiguousarray(b, dtype=xp.float32)
    (n, k), m = a.shape, b.shape[1]
    c = xp.empty((n, m), dtype=xp.float32)
    grid = ((m + TILE - 1) // TILE, (n + TILE - 1) // TILE)
    _matmul_tiled(grid, (TILE, TILE), (a, b, c, np.int32(n), np.int32(k), np.int32(m)))
    return c
