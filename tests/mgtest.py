"""Shared helpers for the minigrad tests: compare with PyTorch, check gradients numerically.

    from mgtest import compare, gradcheck

(`tests/` is on pytest's import path, see `pythonpath` in pyproject.toml.)

``compare(fn, *inputs)`` calls ``fn(lib, *tensors)`` once with ``lib=minigrad``
and once with ``lib=torch``; since minigrad mirrors PyTorch's names, one lambda
such as ``lambda T, a, b: T.maximum(a, b)`` or ``lambda T, x: x.sum(dim=1)``
serves both. Pass ``torch_fn=`` when the two sides must differ; then
``fn(*tensors)`` is the minigrad side and ``torch_fn(*tensors)`` the torch side.

Floating-point NumPy inputs become leaf tensors with ``requires_grad=True``;
any other NumPy input (integer or bool arrays) becomes a plain tensor.
"""

from __future__ import annotations

import numpy as np
import torch

import minigrad as mg

# Default tolerances per dtype: (atol, rtol).
TOLS = {
    "float64": (1e-10, 1e-8),
    "float32": (1e-5, 1e-5),
}

SEED = 1234


# --------------------------------------------------------------------------- utils
def tensor_class():
    """The minigrad Tensor class (found through the public factory)."""
    return type(mg.tensor(0.0))


def to_numpy(x):
    """NumPy copy of a minigrad tensor, torch tensor, array or Python number."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return np.asarray(x.detach().numpy())
    return np.asarray(x)


def np_dtype_name(x) -> str:
    """'float32', 'float64', 'int64', 'bool', ... for either framework."""
    return str(to_numpy(x).dtype)


def mg_dtype(name: str):
    return {"float32": mg.float32, "float64": mg.float64, "int64": mg.int64, "bool": mg.bool}[name]


def assert_close(actual, expected, atol=None, rtol=None, what="value", dtype=None):
    a = to_numpy(actual)
    e = to_numpy(expected)
    if dtype is None:
        dtype = str(e.dtype)
    d_atol, d_rtol = TOLS.get(dtype, (0.0, 0.0))
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    assert tuple(a.shape) == tuple(e.shape), (
        f"{what}: shape {tuple(a.shape)} != expected {tuple(e.shape)}"
    )
    np.testing.assert_allclose(
        a.astype(np.float64) if a.dtype != bool else a,
        e.astype(np.float64) if e.dtype != bool else e,
        atol=atol,
        rtol=rtol,
        err_msg=f"{what} differs",
    )


def rng(seed=SEED):
    return np.random.default_rng(seed)


def randn(*shape, seed=SEED, dtype=np.float64):
    return np.asarray(rng(seed).standard_normal(shape), dtype=dtype)


def positive(*shape, seed=SEED, low=0.5, high=2.0, dtype=np.float64):
    return np.asarray(rng(seed).uniform(low, high, size=shape), dtype=dtype)


def away_from_zero(*shape, seed=SEED, low=0.2, high=2.0, dtype=np.float64):
    """Random values with |x| in [low, high] and random sign."""
    r = rng(seed)
    mag = r.uniform(low, high, size=shape)
    sign = np.where(r.random(size=shape) < 0.5, -1.0, 1.0)
    return np.asarray(mag * sign, dtype=dtype)


def distinct(*shape, seed=SEED, dtype=np.float64):
    """Random values, pairwise at least ~0.05 apart (no ties for max/argmax)."""
    n = int(np.prod(shape)) if shape else 1
    vals = (np.arange(n) - n / 2) * 0.1 + 0.05
    vals = rng(seed).permutation(vals)
    return np.asarray(vals.reshape(shape), dtype=dtype)


def _is_float_array(x):
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def _make(lib, arr, requires_grad):
    if lib is torch:
        return torch.tensor(arr, requires_grad=requires_grad)
    return mg.tensor(arr, requires_grad=requires_grad)


# --------------------------------------------------------------------------- compare
def compare(
    fn,
    *inputs,
    torch_fn=None,
    upstream=("random", "sum"),
    dtypes=("float64", "float32"),
    atol=None,
    rtol=None,
    grad_atol=None,
    grad_rtol=None,
    backward=True,
    seed=SEED,
):
    """Run ``fn`` in minigrad and torch on the same inputs; compare forward and backward.

    For every dtype in ``dtypes`` (float inputs are cast to it) and every upstream
    mode in ``upstream``:
      * "random": ``out.backward(R)`` with a seeded random R of the output's shape;
      * "sum":    ``out.sum().backward()``;
    fresh leaf tensors are built on both sides, the outputs are compared (shape,
    dtype, values) and then every floating input's gradient is compared with
    torch's (shape, dtype, values).
    """
    if torch_fn is None:
        mg_call = lambda *xs: fn(mg, *xs)  # noqa: E731
        t_call = lambda *xs: fn(torch, *xs)  # noqa: E731
    else:
        mg_call, t_call = fn, torch_fn

    inputs = [np.asarray(x) if isinstance(x, np.generic) else x for x in inputs]
    results = []
    for dt in dtypes:
        np_dt = np.dtype(dt)
        arrs = [x.astype(np_dt) if _is_float_array(x) else x for x in inputs]
        grads_wanted = [_is_float_array(x) for x in arrs]
        modes = upstream if backward else (None,)
        for mode in modes:
            mg_in = [
                _make(mg, a, g) if isinstance(a, np.ndarray) else a
                for a, g in zip(arrs, grads_wanted)
            ]
            t_in = [
                _make(torch, a, g) if isinstance(a, np.ndarray) else a
                for a, g in zip(arrs, grads_wanted)
            ]
            out_t = t_call(*t_in)
            out_m = mg_call(*mg_in)
            tag = f"[{dt}, upstream={mode}]"

            # ---- forward
            assert isinstance(out_m, tensor_class()), (
                f"{tag} minigrad returned {type(out_m)!r}, not a Tensor"
            )
            assert tuple(out_m.shape) == tuple(out_t.shape), (
                f"{tag} output shape: minigrad {tuple(out_m.shape)} vs torch {tuple(out_t.shape)}"
            )
            assert np_dtype_name(out_m) == np_dtype_name(out_t), (
                f"{tag} output dtype: minigrad {np_dtype_name(out_m)} "
                f"vs torch {np_dtype_name(out_t)}"
            )
            assert_close(out_m, out_t, atol=atol, rtol=rtol, what=f"{tag} forward output")

            assert bool(out_m.requires_grad) == bool(out_t.requires_grad), (
                f"{tag} requires_grad: minigrad {out_m.requires_grad} "
                f"vs torch {out_t.requires_grad}"
            )
            if mode is None or not out_t.requires_grad:
                results.append((out_m, out_t))
                continue
            assert out_m.requires_grad, f"{tag} output should require grad"

            # ---- backward
            if mode == "random":
                R = np.asarray(
                    np.random.default_rng(seed + 7).standard_normal(tuple(out_t.shape)), dtype=np_dt
                )
                out_t.backward(torch.tensor(R))
                out_m.backward(mg.tensor(R))
            elif mode == "sum":
                out_t.sum().backward()
                out_m.sum().backward()
            else:  # pragma: no cover
                raise ValueError(mode)

            for i, (xm, xt, g) in enumerate(zip(mg_in, t_in, grads_wanted)):
                if not g:
                    continue
                gt = xt.grad
                gm = xm.grad
                if gt is None:
                    assert gm is None or np.all(to_numpy(gm) == 0), (
                        f"{tag} input {i}: torch grad is None"
                    )
                    continue
                assert gm is not None, (
                    f"{tag} input {i}: minigrad .grad is None (torch: {to_numpy(gt)})"
                )
                assert isinstance(gm, tensor_class()), (
                    f"{tag} input {i}: .grad is {type(gm)!r}, not a Tensor"
                )
                assert tuple(gm.shape) == tuple(gt.shape), (
                    f"{tag} input {i} grad shape: minigrad {tuple(gm.shape)} "
                    f"vs torch {tuple(gt.shape)}"
                )
                assert np_dtype_name(gm) == np_dtype_name(gt), (
                    f"{tag} input {i} grad dtype: minigrad {np_dtype_name(gm)} "
                    f"vs torch {np_dtype_name(gt)}"
                )
                assert_close(
                    gm,
                    gt,
                    atol=grad_atol if grad_atol is not None else atol,
                    rtol=grad_rtol if grad_rtol is not None else rtol,
                    what=f"{tag} grad of input {i}",
                )
            results.append((out_m, out_t))
    return results


# --------------------------------------------------------------------------- gradcheck
def gradcheck(fn, *inputs, eps=1e-6, atol=1e-6, rtol=1e-5, seed=SEED):
    """Central-difference check of minigrad's gradients, in float64, done in NumPy.

    ``fn(minigrad, *tensors)`` must return a float tensor. The analytical gradient
    of ``(out * R).sum()`` (R random, fixed) is compared with
    ``(f(x + eps e_j) - f(x - eps e_j)) / (2 eps)`` for every element j of every
    input, where ``f(x) = sum(fn(x) * R)`` is evaluated in NumPy from the forward
    values.
    """
    arrs = [np.array(x, dtype=np.float64) for x in inputs]
    leaves = [mg.tensor(a, requires_grad=True) for a in arrs]
    out = fn(mg, *leaves)
    R = np.random.default_rng(seed + 11).standard_normal(tuple(out.shape))
    (out * mg.tensor(R)).sum().backward()
    analytic = []
    for i, t in enumerate(leaves):
        assert t.grad is not None, f"input {i}: .grad is None after backward"
        analytic.append(to_numpy(t.grad).astype(np.float64))

    def f(vals):
        o = fn(mg, *[mg.tensor(v) for v in vals])
        return float(np.sum(to_numpy(o).astype(np.float64) * R))

    for i, a in enumerate(arrs):
        numeric = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [v.copy() for v in arrs]
            minus = [v.copy() for v in arrs]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            numeric[idx] = (f(plus) - f(minus)) / (2 * eps)
        assert analytic[i].shape == a.shape, (
            f"input {i}: grad shape {analytic[i].shape} != {a.shape}"
        )
        np.testing.assert_allclose(
            analytic[i],
            numeric,
            atol=atol,
            rtol=rtol,
            err_msg=f"gradcheck: input {i} analytic vs numeric",
        )


# --------------------------------------------------------------------------- misc
def message_has_shape(msg: str, shape) -> bool:
    """True if ``msg`` writes ``shape`` as a Python tuple, e.g. '(2, 3)' or '(4,)'."""
    return str(tuple(shape)) in msg


# --------------------------------------------------------------------------- programs
# A *program* is a function of the library, ``program(T)``, written once with
# PyTorch's names: ``T`` is ``torch`` on one run and ``minigrad`` on the other. It
# returns what it wants compared (tensors, numbers, strings, lists and tuples of them).
# The two runs must agree, or both raise an exception of the same kind.

ERROR_KINDS = (IndexError, TypeError, ValueError, NotImplementedError, RuntimeError)


def outcome(program, T):
    """``("ok", value)`` or ``("raised", exception)`` for one run of ``program``."""
    try:
        return "ok", program(T)
    except Exception as error:  # noqa: BLE001 -- which exception is what we compare
        return "raised", error


def error_kind(error):
    return next((k for k in ERROR_KINDS if isinstance(error, k)), Exception)


def assert_same_outcome(program, atol=None, rtol=None):
    """Run ``program`` under PyTorch and under minigrad: the results agree (values,
    shapes, dtypes), or both raise, and with the same kind of exception."""
    t_kind, t_value = outcome(program, torch)
    m_kind, m_value = outcome(program, mg)
    if t_kind == "raised":
        assert m_kind == "raised", (
            f"PyTorch raises {type(t_value).__name__}: {t_value}\n"
            f"but minigrad returns {m_value!r}")
        assert isinstance(m_value, error_kind(t_value)), (
            f"PyTorch raises {type(t_value).__name__} ({t_value}), minigrad "
            f"{type(m_value).__name__} ({m_value})")
        return t_value, m_value
    if m_kind == "raised":
        raise AssertionError(f"minigrad raises {type(m_value).__name__}: {m_value}\n"
                             f"where PyTorch returns {t_value!r}") from m_value
    assert_same_value(m_value, t_value, atol=atol, rtol=rtol)
    return t_value, m_value


def assert_same_value(m, t, where="result", atol=None, rtol=None):
    """minigrad's value ``m`` equals PyTorch's ``t``, recursively."""
    if isinstance(t, torch.Tensor):
        assert isinstance(m, tensor_class()), (
            f"{where}: minigrad gives {type(m).__name__}, not a tensor"
        )
        assert np_dtype_name(m) == np_dtype_name(t), (
            f"{where}: dtype {np_dtype_name(m)} vs PyTorch's {np_dtype_name(t)}")
        kind = to_numpy(t).dtype.kind
        if kind == "f":
            np.testing.assert_allclose(to_numpy(m), to_numpy(t), equal_nan=True, err_msg=where,
                                       atol=TOLS[np_dtype_name(t)][0] if atol is None else atol,
                                       rtol=TOLS[np_dtype_name(t)][1] if rtol is None else rtol)
        else:
            np.testing.assert_array_equal(to_numpy(m), to_numpy(t), err_msg=where)
    elif isinstance(t, torch.dtype):
        assert str(m).split(".")[-1] == str(t).split(".")[-1], f"{where}: {m} vs {t}"
    elif isinstance(t, (list, tuple)):
        assert isinstance(m, (list, tuple)) and len(m) == len(t), f"{where}: {m!r} vs {t!r}"
        for k, (a, b) in enumerate(zip(m, t)):
            assert_same_value(a, b, f"{where}[{k}]", atol, rtol)
    elif isinstance(t, float):
        assert isinstance(m, (int, float)), f"{where}: {m!r} vs {t!r}"
        np.testing.assert_allclose(m, t, rtol=1e-6, equal_nan=True, err_msg=where)
    else:
        assert m == t, f"{where}: minigrad {m!r} vs PyTorch {t!r}"
