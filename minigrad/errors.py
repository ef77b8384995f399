"""Error messages a learner can act on: they name the operation and the full shapes."""


class ShapeError(RuntimeError):
    """Operands whose shapes do not fit the operation (a RuntimeError, as in PyTorch)."""


class CompileError(RuntimeError):
    """minigrad.compile was asked to trace something a replay could not do faithfully."""


def broadcast_mismatch(shapes):
    """Say which dimension stops `shapes` from broadcasting, or None if they broadcast."""
    ndim = max(len(s) for s in shapes)
    for back in range(1, ndim + 1):
        sizes = {s[-back] for s in shapes if len(s) >= back} - {1}
        if len(sizes) > 1:
            where = {1: "last dimension", 2: "second-to-last dimension"}.get(
                back, f"dimension {-back}"
            )
            listed = " vs ".join(str(s[-back]) for s in shapes if len(s) >= back)
            return (f"lined up from the right, their {where} has sizes {listed}; "
                    "sizes must be equal, or 1 to broadcast")
    return None


def shape_error(op, shapes, reason):
    listed = " and ".join(str(tuple(s)) for s in shapes)
    return ShapeError(f"{op}: shapes {listed} do not fit: {reason}")
