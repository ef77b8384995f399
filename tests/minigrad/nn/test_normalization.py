"""Normalization layers (minigrad/nn/normalization.py, batchnorm.py) and their functional
forms against torch.nn: forward, backward, running statistics, reprs, state_dicts."""
import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_close, randn

DTYPES = {"float64": (torch.float64, mg.float64), "float32": (torch.float32, mg.float32)}


def _pair(make, dtype, seed=0):
    """The same layer in both frameworks, in `dtype`, with random weights and buffers."""
    tdt, mdt = DTYPES[dtype]
    torch.manual_seed(seed)
    t = make(torch.nn).to(tdt)
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.randn_like(p))
    m = make(mg.nn).to(mdt)
    m.load_state_dict(t.state_dict())
    return t, m


def _run(t, m, x, seed=1, tol=None):
    """Forward, then backward with a random upstream gradient; compare output and the
    gradients of the input and of every parameter."""
    xt = torch.tensor(x, requires_grad=True)
    xm = mg.tensor(x, requires_grad=True)
    yt, ym = t(xt), m(xm)
    dtype = str(x.dtype)
    atol = tol or (1e-10 if dtype == "float64" else 2e-5)
    assert ym.dtype == DTYPES[dtype][1]
    assert_close(ym, yt, atol=atol, rtol=atol, what="output")
    r = randn(*yt.shape, seed=seed, dtype=x.dtype)
    yt.backward(torch.tensor(r))
    ym.backward(mg.tensor(r))
    assert_close(xm.grad, xt.grad, atol=atol, rtol=atol, what="input grad")
    mp = dict(m.named_parameters())
    assert list(mp) == [n for n, _ in t.named_parameters()]
    for name, p in t.named_parameters():
        assert_close(mp[name].grad, p.grad, atol=atol, rtol=atol, what=f"{name} grad")


def _same_state(t, m, atol=None):
    ts, ms = t.state_dict(), m.state_dict()
    assert list(ts) == list(ms)
    for k in ts:
        assert str(ms[k].numpy().dtype) == str(ts[k].numpy().dtype), k
        assert_close(ms[k], ts[k], atol=atol, rtol=atol, what=k)


# ------------------------------------------------------------------------ LayerNorm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,normalized", [((4, 8), 8), ((2, 3, 5), (5,)),
                                              ((2, 3, 4, 5), (4, 5)), ((6,), 6)])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layer_norm_matches_torch(dtype, shape, normalized, affine, bias):
    t, m = _pair(lambda nn: nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias),
                 dtype)
    _run(t, m, randn(*shape, seed=3, dtype=dtype) * 3 + 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_functional_and_eps(dtype):
    x = randn(3, 4, 6, seed=4, dtype=dtype)
    w, b = randn(6, seed=5, dtype=dtype), randn(6, seed=6, dtype=dtype)
    yt = torch.nn.functional.layer_norm(torch.tensor(x), (6,), torch.tensor(w),
                                        torch.tensor(b), eps=0.5)
    ym = mg.nn.functional.layer_norm(mg.tensor(x), [6], mg.tensor(w), mg.tensor(b), eps=0.5)
    assert_close(ym, yt, atol=2e-6, rtol=2e-6)


def test_layer_norm_gradcheck():
    from mgtest import gradcheck
    gradcheck(lambda T, x, w, b: T.nn.functional.layer_norm(x, (3, 4), w, b),
              randn(2, 3, 4, seed=7), randn(3, 4, seed=8), randn(3, 4, seed=9))


def test_layer_norm_defaults_repr_state_dict():
    for args, kw in [((8,), {}), (((3, 4),), {"elementwise_affine": False}),
                     ((8,), {"bias": False, "eps": 1e-3})]:
        t, m = torch.nn.LayerNorm(*args, **kw), mg.nn.LayerNorm(*args, **kw)
        assert repr(m) == repr(t)
        assert m.normalized_shape == t.normalized_shape
        _same_state(t, m)
        assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]


@pytest.mark.parametrize("call", [
    lambda T: T.nn.LayerNorm(4)(T.ones(2, 5)),
    lambda T: T.nn.LayerNorm((2, 4))(T.ones(4)),
    lambda T: T.nn.functional.layer_norm(T.ones(2, 4), (4,), T.ones(3)),
    lambda T: T.nn.LayerNorm(4)(T.ones(2, 4, dtype=T.float64)),
])
def test_layer_norm_errors(call):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError):
        call(mg)


# ------------------------------------------------------------------------ GroupNorm, RMSNorm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,groups,affine", [
    ((4, 6), 2, True), ((2, 6, 5), 3, True), ((2, 4, 3, 3), 4, False), ((3, 4, 2, 5), 1, True)])
def test_group_norm_matches_torch(dtype, shape, groups, affine):
    t, m = _pair(lambda nn: nn.GroupNorm(groups, shape[1], affine=affine), dtype)
    _run(t, m, randn(*shape, seed=10, dtype=dtype) * 2 - 1)


def test_group_norm_repr_and_errors():
    for args, kw in [((2, 4), {}), ((1, 6), {"eps": 1e-3, "affine": False}),
                     ((2, 4), {"bias": False})]:
        t, m = torch.nn.GroupNorm(*args, **kw), mg.nn.GroupNorm(*args, **kw)
        assert repr(m) == repr(t)
        _same_state(t, m)
    for lib in (torch, mg):
        with pytest.raises(ValueError):
            lib.nn.GroupNorm(3, 4)
        with pytest.raises(RuntimeError):
            lib.nn.GroupNorm(2, 4)(lib.ones(2, 6, 3))
        with pytest.raises(RuntimeError):
            lib.nn.GroupNorm(2, 4)(lib.ones(4))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [None, 1e-3])
@pytest.mark.parametrize("affine", [True, False])
def test_rms_norm_matches_torch(dtype, eps, affine):
    t, m = _pair(lambda nn: nn.RMSNorm((3, 5), eps=eps, elementwise_affine=affine), dtype)
    assert repr(m) == repr(t)
    _run(t, m, randn(2, 3, 5, seed=11, dtype=dtype))


# ------------------------------------------------------------------------ BatchNorm
BN_CASES = [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (4, 3, 5, 2))]


def _bn(kind, **kw):
    return lambda nn: getattr(nn, kind)(3, **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,shape", BN_CASES)
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"bias": False}, {"momentum": None},
                                {"track_running_stats": False}, {"momentum": 0.3, "eps": 1e-3}],
                         ids=str)
def test_batch_norm_training_steps(dtype, kind, shape, kw):
    """Forward and backward in training mode, and the buffers after several batches."""
    t, m = _pair(_bn(kind, **kw), dtype)
    for step in range(4):
        _run(t, m, randn(*shape, seed=20 + step, dtype=dtype) * (step + 1) + step, seed=step)
        _same_state(t, m, atol=1e-10 if dtype == "float64" else 1e-6)
    if m.num_batches_tracked is not None:
        assert int(m.num_batches_tracked) == 4
        assert m.num_batches_tracked.dtype == mg.int64


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,shape", BN_CASES)
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"track_running_stats": False}],
                         ids=str)
def test_batch_norm_eval_mode(dtype, kind, shape, kw):
    t, m = _pair(_bn(kind, **kw), dtype)
    if t.running_mean is not None:      # running statistics that are not the defaults
        with torch.no_grad():
            t.running_mean.copy_(torch.randn(3))
            t.running_var.copy_(torch.rand(3) + 0.5)
        m.load_state_dict(t.state_dict())
    t.eval(), m.eval()
    _run(t, m, randn(*shape, seed=30, dtype=dtype) * 2 + 1)
    _same_state(t, m)                   # evaluation leaves the buffers as they were


def test_batch_norm_running_var_is_unbiased():
    """Checked by hand too, not only against torch: n / (n - 1) times the batch variance."""
    x = randn(5, 2, seed=40)
    m = mg.nn.BatchNorm1d(2, momentum=1.0).double()
    m(mg.tensor(x))
    np.testing.assert_allclose(m.running_var.numpy(), x.var(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(m.running_mean.numpy(), x.mean(axis=0), rtol=1e-12)


def test_batch_norm_buffers_change_in_place():
    m = mg.nn.BatchNorm2d(3)
    mean, var, count = m.running_mean, m.running_var, m.num_batches_tracked
    versions = (mean._version, var._version, count._version)
    m(mg.randn(2, 3, 4, 4))
    assert m.running_mean is mean and m.running_var is var and m.num_batches_tracked is count
    assert all(b._version > v for b, v in zip((mean, var, count), versions))


def test_batch_norm_functional():
    x = randn(6, 3, 4, seed=41)
    rm, rv = randn(3, seed=42), randn(3, seed=43) ** 2 + 0.5
    w, b = randn(3, seed=44), randn(3, seed=45)
    for training in (True, False):
        t_rm, t_rv = torch.tensor(rm), torch.tensor(rv)
        m_rm, m_rv = mg.tensor(rm), mg.tensor(rv)
        yt = torch.nn.functional.batch_norm(torch.tensor(x), t_rm, t_rv, torch.tensor(w),
                                            torch.tensor(b), training, 0.2, 1e-4)
        ym = mg.nn.functional.batch_norm(mg.tensor(x), m_rm, m_rv, mg.tensor(w),
                                         mg.tensor(b), training, 0.2, 1e-4)
        assert_close(ym, yt)
        assert_close(m_rm, t_rm)
        assert_close(m_rv, t_rv)


def test_batch_norm_repr_state_dict_and_defaults():
    for kind, kw in [("BatchNorm2d", {}), ("BatchNorm1d", {"momentum": None, "affine": False}),
                     ("BatchNorm1d", {"track_running_stats": False, "eps": 1e-3}),
                     ("BatchNorm2d", {"bias": False})]:
        t, m = getattr(torch.nn, kind)(4, **kw), getattr(mg.nn, kind)(4, **kw)
        assert repr(m) == repr(t)
        _same_state(t, m)
        assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
        assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    m = mg.nn.Sequential(mg.nn.Linear(2, 3), mg.nn.BatchNorm1d(3))
    t = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    assert list(m.state_dict()) == list(t.state_dict())
    m.load_state_dict(t.state_dict())


@pytest.mark.parametrize("call,error", [
    (lambda T: T.nn.BatchNorm2d(3)(T.ones(2, 3, 4)), ValueError),
    (lambda T: T.nn.BatchNorm1d(3)(T.ones(2, 3, 2, 2)), ValueError),
    (lambda T: T.nn.BatchNorm2d(3)(T.ones(2, 4, 4, 4)), RuntimeError),
    (lambda T: T.nn.BatchNorm1d(3)(T.ones(1, 3)), ValueError),
    (lambda T: T.nn.BatchNorm1d(3)(T.ones(4, 3, dtype=T.float64)), RuntimeError),
    (lambda T: T.nn.functional.batch_norm(T.ones(4, 3), None, None), RuntimeError),
])
def test_batch_norm_errors(call, error):
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error):
        call(mg)


def test_batch_norm_one_sample_in_eval_mode():
    t, m = _pair(_bn("BatchNorm1d"), "float32")
    t.eval(), m.eval()
    _run(t, m, randn(1, 3, seed=46, dtype=np.float32))


def _model(nn):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 6 * 6, 8), nn.BatchNorm1d(8),
                         nn.Tanh(), nn.Linear(8, 3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_loop_with_batch_norm(dtype):
    """20 SGD steps of a small CNN with BatchNorm: the same loss at every step, the same
    running statistics after, the same outputs in eval mode."""
    tdt, mdt = DTYPES[dtype]
    torch.manual_seed(0)
    t = _model(torch.nn).to(tdt)
    m = _model(mg.nn).to(mdt)
    m.load_state_dict(t.state_dict())
    topt = torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)
    mopt = mg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    x_all = rng.standard_normal((20, 8, 1, 6, 6)).astype(dtype)
    y_all = rng.integers(0, 3, (20, 8))
    tol = 1e-9 if dtype == "float64" else 2e-4
    for step in range(20):
        xt, yt = torch.tensor(x_all[step]), torch.tensor(y_all[step])
        lt = torch.nn.functional.cross_entropy(t(xt), yt)
        topt.zero_grad()
        lt.backward()
        topt.step()
        lm = mg.nn.functional.cross_entropy(m(mg.tensor(x_all[step])), mg.tensor(y_all[step]))
        mopt.zero_grad()
        lm.backward()
        mopt.step()
        assert abs(lm.item() - lt.item()) <= tol * (1 + abs(lt.item())), step
    _same_state(t, m, atol=tol * 10)
    t.eval(), m.eval()
    assert_close(m(mg.tensor(x_all[0])), t(torch.tensor(x_all[0])), atol=tol * 10,
                 rtol=tol * 10)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_compile_batch_norm_training(momentum):
    """A compiled model with BatchNorm in training mode matches eager over 3 calls:
    outputs, gradients and running statistics (or the trace refuses, CompileError)."""
    def make():
        return mg.nn.Sequential(mg.nn.Linear(4, 5), mg.nn.BatchNorm1d(5, momentum=momentum))
    eager, compiled_model = make(), make()
    compiled_model.load_state_dict(eager.state_dict())
    try:
        fn = mg.compile(compiled_model)
        for call in range(3):
            x = randn(6, 4, seed=50 + call, dtype=np.float32)
            ye, yc = eager(mg.tensor(x)), fn(mg.tensor(x))
            assert_close(yc, ye, what=f"call {call} output")
            r = mg.tensor(randn(6, 5, seed=60 + call, dtype=np.float32))
            ye.backward(r), yc.backward(r)
            for (name, pe), pc in zip(eager.named_parameters(), compiled_model.parameters()):
                assert_close(pc.grad, pe.grad, what=f"call {call} {name} grad")
            for (name, be), bc in zip(eager.named_buffers(), compiled_model.buffers()):
                assert_close(bc, be, what=f"call {call} {name}")
    except mg.CompileError:
        pass
    else:
        assert len(fn.traces) == 1, [t.reason for t in fn.traces]
