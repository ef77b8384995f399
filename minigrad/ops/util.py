"""Small helpers shared by the ops."""


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`, undoing NumPy broadcasting.

    If x of shape (3, 1) was broadcast to (2, 3, 4) in the forward pass, each element of
    x was used 2 * 4 times, so its gradient is the sum over the broadcast dimensions.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and grad.shape[extra + i] != 1)
    # keepdims + reshape always gives an array (a full sum would give a NumPy scalar)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def normalize_dims(dim, ndim):
    """`dim` (None, an int or a tuple, negatives allowed) as a sorted tuple of axes."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dim {d} is out of range for a tensor with {ndim} dimensions "
                             f"(expected a value in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
        out.append(d % max(ndim, 1))
    return tuple(sorted(set(out)))
