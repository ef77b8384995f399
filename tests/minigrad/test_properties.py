"""Property-based tests (Hypothesis): random shapes, broadcasting, dims and
permutations, each compared with torch forward + backward in float64."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from mgtest import compare

seeds = st.integers(0, 2**31 - 1)


def arr(shape, seed, kind="normal"):
    return np.asarray(_arr(tuple(shape), seed, kind), dtype=np.float64)


def _arr(shape, seed, kind):
    r = np.random.default_rng(seed)
    if kind == "normal":
        return r.standard_normal(shape)
    if kind == "positive":
        return r.uniform(0.5, 2.0, size=shape)
    if kind == "nonzero":
        return r.uniform(0.5, 2.0, size=shape) * np.where(r.random(shape) < 0.5, -1, 1)
    if kind == "distinct":
        n = int(np.prod(shape))
        return r.permutation((np.arange(n) - n / 2) * 0.1 + 0.05).reshape(shape)
    raise ValueError(kind)


BINARY = {
    "add": (lambda T, a, b: a + b, "normal", "normal"),
    "sub": (lambda T, a, b: a - b, "normal", "normal"),
    "mul": (lambda T, a, b: a * b, "normal", "normal"),
    "div": (lambda T, a, b: a / b, "normal", "nonzero"),
    "pow": (lambda T, a, b: a**b, "positive", "normal"),
    "maximum": (lambda T, a, b: T.maximum(a, b), "normal", "normal"),
    "where": (lambda T, a, b: T.where(a > b, a * 2, b), "normal", "normal"),
}

pair_shapes = mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4
)


@pytest.mark.parametrize("name", list(BINARY))
@given(shapes=pair_shapes, seed=seeds)
def test_binary_broadcast_property(name, shapes, seed):
    fn, ka, kb = BINARY[name]
    sa, sb = shapes.input_shapes
    a, b = arr(sa, seed, ka), arr(sb, seed + 1, kb)
    compare(fn, a, b, dtypes=("float64",), upstream=("random",), seed=seed % 1000)


@given(
    shapes=mutually_broadcastable_shapes(
        signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4, max_side=4
    ),
    seed=seeds,
)
def test_matmul_property(shapes, seed):
    sa, sb = shapes.input_shapes
    compare(
        lambda T, a, b: a @ b,
        arr(sa, seed),
        arr(sb, seed + 1),
        dtypes=("float64",),
        upstream=("random",),
    )


@st.composite
def shape_and_dims(draw, min_dims=1, max_dims=4):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=min_dims, max_size=max_dims)))
    nd = len(shape)
    chosen = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
    neg = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    dims = tuple(d - nd if n else d for d, n in zip(chosen, neg))
    as_int = len(dims) == 1 and draw(st.booleans())
    return shape, (dims[0] if as_int else dims)


@pytest.mark.parametrize("name", ["sum", "mean", "amax"])
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=seeds)
def test_reduction_property(name, sd, keepdim, seed):
    shape, dim = sd
    x = arr(shape, seed, "distinct" if name == "amax" else "normal")
    compare(
        lambda T, t: getattr(t, name)(dim=dim, keepdim=keepdim),
        x,
        dtypes=("float64",),
        upstream=("random",),
    )


@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple), seed=seeds,
       ties=st.booleans())
def test_max_full_property(shape, seed, ties):
    x = arr(shape, seed, "distinct")
    if ties:
        x = np.round(x)  # creates ties
    compare(lambda T, t: t.max(), x, dtypes=("float64",), upstream=("random",))
    compare(lambda T, t: t.amax(dim=0), x, dtypes=("float64",), upstream=("random",))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(sd=shape_and_dims(), seed=seeds, scale=st.sampled_from([1.0, 10.0, 300.0]))
def test_softmax_property(name, sd, seed, scale):
    shape, dims = sd
    dim = dims if isinstance(dims, int) else dims[0]
    x = arr(shape, seed) * scale
    compare(lambda T, t: getattr(t, name)(dim), x, dtypes=("float64",), upstream=("random",),
            atol=1e-9, rtol=1e-7)


@st.composite
def shape_and_perm(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return shape, perm


@given(sp=shape_and_perm(), seed=seeds)
def test_permute_property(sp, seed):
    shape, perm = sp
    compare(
        lambda T, t: t.permute(*perm) * 1.5,
        arr(shape, seed),
        dtypes=("float64",),
        upstream=("random",),
    )


@given(sp=shape_and_perm(), d=st.data(), seed=seeds)
def test_transpose_property(sp, d, seed):
    shape, _ = sp
    nd = len(shape)
    d0 = d.draw(st.integers(-nd, nd - 1))
    d1 = d.draw(st.integers(-nd, nd - 1))
    compare(
        lambda T, t: t.transpose(d0, d1),
        arr(shape, seed),
        dtypes=("float64",),
        upstream=("random",),
    )


@given(sp=shape_and_perm(), seed=seeds)
def test_reshape_after_permute_property(sp, seed):
    shape, perm = sp
    target = tuple(reversed(shape))
    compare(lambda T, t: t.permute(*perm).reshape(*target).reshape(-1), arr(shape, seed),
            dtypes=("float64",), upstream=("random",))


@st.composite
def basic_index(draw):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    idx = []
    for size in shape:
        kind = draw(st.sampled_from(["int", "slice", "full"]))
        if kind == "int":
            idx.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            start = draw(st.none() | st.integers(-size - 1, size + 1))
            stop = draw(st.none() | st.integers(-size - 1, size + 1))
            step = draw(st.none() | st.integers(1, 3))
            idx.append(slice(start, stop, step))
        else:
            idx.append(slice(None))
    if draw(st.booleans()):
        idx.insert(draw(st.integers(0, len(idx))), None)
    return shape, tuple(idx)


@given(si=basic_index(), seed=seeds)
def test_basic_indexing_property(si, seed):
    shape, idx = si
    compare(lambda T, t: t[idx], arr(shape, seed), dtypes=("float64",), upstream=("random",))


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       idx=st.lists(st.integers(0, 10**6), min_size=1, max_size=8), seed=seeds)
def test_advanced_indexing_property(shape, idx, seed):
    ids = [i % shape[0] for i in idx]  # repeats are likely
    compare(
        lambda T, t: t[T.tensor(ids)], arr(shape, seed), dtypes=("float64",), upstream=("random",)
    )


@given(d=st.data(), seed=seeds)
def test_cat_stack_property(d, seed):
    nd = d.draw(st.integers(1, 3))
    base = d.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd))
    dim = d.draw(st.integers(-nd, nd - 1))
    n = d.draw(st.integers(1, 3))
    shapes = []
    for i in range(n):
        s = list(base)
        s[dim] = d.draw(st.integers(1, 3))
        shapes.append(tuple(s))
    xs = [arr(s, seed + i) for i, s in enumerate(shapes)]
    compare(lambda T, *ts: T.cat(list(ts), dim=dim), *xs, dtypes=("float64",), upstream=("random",))
    sdim = d.draw(st.integers(-nd - 1, nd))
    ys = [arr(tuple(base), seed + 10 + i) for i in range(n)]
    compare(
        lambda T, *ts: T.stack(list(ts), dim=sdim), *ys, dtypes=("float64",), upstream=("random",)
    )


@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), seed=seeds,
       op=st.sampled_from(["exp", "tanh", "sigmoid", "relu", "abs", "log", "sqrt", "neg", "clamp"]))
def test_unary_property(shape, seed, op):
    kind = "positive" if op in ("log", "sqrt") else "nonzero" if op in ("relu", "abs") else "normal"
    x = arr(shape, seed, kind)
    if op == "clamp":
        x = np.where(np.abs(np.abs(x) - 0.5) < 1e-3, 0.0, x)
        fn = lambda T, t: t.clamp(min=-0.5, max=0.5)  # noqa: E731
    elif op == "neg":
        fn = lambda T, t: -t  # noqa: E731
    else:
        fn = lambda T, t: getattr(t, op)()  # noqa: E731
    compare(fn, x, dtypes=("float64",), upstream=("random",))
