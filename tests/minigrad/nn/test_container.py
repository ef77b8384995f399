"""Containers and pass-through layers (minigrad/nn/container.py): Sequential, ModuleList,
ModuleDict, ParameterList, ParameterDict, Identity, Flatten, Unflatten against torch.nn.

Most tests are programs written once with `T` as the framework (see mgtest): both runs
must give the same names, reprs and values, or raise the same kind of error."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_same_outcome, compare, randn


def fill(T, model, seed=0):
    """Give every parameter fixed values, the same in both frameworks."""
    with T.no_grad():
        for k, p in enumerate(model.parameters()):
            p.copy_(T.tensor(randn(*p.shape, seed=seed + k)))
    return model


def names(module):
    return [n for n, _ in module.named_parameters()]


def children(module):
    return [(n, repr(m)) for n, m in module.named_children()]


def seq(T):
    nn = T.nn
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 5), nn.Tanh(),
                         nn.Linear(5, 2))


def named_seq(T):
    nn = T.nn
    return nn.Sequential(OrderedDict([("fc1", nn.Linear(3, 4)), ("act", nn.ReLU()),
                                      ("fc2", nn.Linear(4, 2)), ("out", nn.Sigmoid())]))


# ------------------------------------------------------------------ Sequential

@pytest.mark.parametrize("build", [seq, named_seq])
def test_sequential_forward_backward_match_torch(build):
    x = randn(6, 3, seed=1)
    compare(lambda T, x: fill(T, build(T).double())(x), x, dtypes=("float64",))
    compare(lambda T, x: fill(T, build(T))(x), x.astype(np.float32), dtypes=("float32",))


@pytest.mark.parametrize("build", [seq, named_seq])
def test_sequential_parameter_gradients_match_torch(build):
    grads = {}
    for T in (torch, mg):
        model = fill(T, build(T).double())
        out = model(T.tensor(randn(6, 3, seed=2)))
        out.backward(T.tensor(randn(*out.shape, seed=3)))
        grads[T.__name__] = [(n, p.grad.numpy()) for n, p in model.named_parameters()]
    assert [n for n, _ in grads["minigrad"]] == [n for n, _ in grads["torch"]]
    for (n, gm), (_, gt) in zip(grads["minigrad"], grads["torch"]):
        np.testing.assert_allclose(gm, gt, rtol=1e-10, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("build", [seq, named_seq])
def test_sequential_repr_state_dict_and_names_match_torch(build):
    assert_same_outcome(lambda T: (repr(build(T)), list(build(T).state_dict()),
                                   names(build(T)), children(build(T))))


@pytest.mark.parametrize("index", [0, 2, -1, -5, 5, -6])
def test_sequential_indexing_like_torch(index):
    assert_same_outcome(lambda T: repr(seq(T)[index]))


@pytest.mark.parametrize("index", ["0", 1.0, None])
def test_sequential_index_type_errors_like_torch(index):
    assert_same_outcome(lambda T: repr(seq(T)[index]))


@pytest.mark.parametrize("s", [slice(1, None), slice(None, -2), slice(None, None, 2),
                               slice(3, 1), slice(None, None, -1)], ids=str)
@pytest.mark.parametrize("build", [seq, named_seq])
def test_sequential_slice_keeps_names_like_torch(build, s):
    def program(T):
        model = build(T)
        part = model[s]
        shared = all(any(m is n for n in model) for m in part)
        return type(part).__name__, repr(part), list(part.state_dict()), shared, len(part)

    assert_same_outcome(program)


def test_sequential_append_insert_extend_like_torch():
    def program(T):
        nn = T.nn
        model = seq(T)
        out = [model.append(nn.Sigmoid()) is model]
        model.insert(0, nn.Identity())
        model.insert(-1, nn.Linear(2, 2))
        model.insert(len(model), nn.Softmax(dim=1))
        out.append(model.extend([nn.ReLU(), nn.Linear(2, 3)]) is model)
        out.append(model.extend(nn.Sequential(nn.Tanh())) is model)
        return out, repr(model), list(model.state_dict()), len(model)

    assert_same_outcome(program)


@pytest.mark.parametrize("index", [6, -7])
def test_sequential_insert_out_of_range_like_torch(index):
    assert_same_outcome(lambda T: seq(T).insert(index, T.nn.ReLU()))


def test_sequential_insert_non_module_raises_like_torch():
    for T in (torch, mg):
        with pytest.raises(AssertionError):
            seq(T).insert(0, "relu")


@pytest.mark.parametrize("build", [seq, named_seq])
@pytest.mark.parametrize("key", [0, -1, 2, slice(1, 3), slice(None, None, 2), 9])
def test_sequential_delitem_and_pop_renumber_like_torch(build, key):
    def program(T):
        model = build(T)
        popped = model.pop(key)
        again = build(T)
        del again[key]
        attributes = [getattr(model, name) is m for name, m in model.named_children()]
        return repr(popped), repr(model), list(model.state_dict()), repr(again), attributes

    assert_same_outcome(program)


def test_sequential_setitem_like_torch():
    def program(T):
        model = seq(T)
        model[1] = T.nn.GELU()
        model[-1] = T.nn.Linear(5, 7)
        return repr(model), list(model.state_dict()), repr(model[1]), repr(model[4])

    assert_same_outcome(program)
    assert_same_outcome(lambda T: seq(T).__setitem__(7, T.nn.ReLU()))
    assert_same_outcome(lambda T: seq(T).__setitem__(0, 3.0))


def test_sequential_add_mul_like_torch():
    def program(T):
        nn = T.nn
        a, b = seq(T), nn.Sequential(nn.ReLU(), nn.Linear(2, 2))
        c = a + b
        a += nn.Sequential(nn.Tanh())
        d = nn.Sequential(nn.Linear(1, 1), nn.ReLU()) * 2
        e = 2 * nn.Sequential(nn.ReLU())
        f = nn.Sequential(nn.ReLU(), nn.Tanh())
        f *= 3
        return [repr(x) for x in (c, a, d, e, f)], len(c), len(list(d.parameters()))

    assert_same_outcome(program)


@pytest.mark.parametrize("program", [
    lambda T: seq(T) + [T.nn.ReLU()],
    lambda T: seq(T).__iadd__(T.nn.ModuleList()),
    lambda T: seq(T) * 0,
    lambda T: seq(T) * 1.5,
])
def test_sequential_operator_errors_like_torch(program):
    assert_same_outcome(program)


def test_sequential_len_iter_dir_and_empty_like_torch():
    def program(T):
        model, empty = seq(T), T.nn.Sequential()
        x = T.tensor(randn(2, 3))
        return (len(model), [type(m).__name__ for m in model], repr(empty), len(empty),
                empty(x), "0" in dir(model), "append" in dir(model))

    assert_same_outcome(program)


# ------------------------------------------------------------------ ModuleList

def mlist(T):
    nn = T.nn
    return nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(),
                          nn.Linear(2, 3), nn.ReLU(), nn.ReLU()])


def test_modulelist_repr_collapses_repeats_like_torch():
    def program(T):
        nn = T.nn
        nested = nn.ModuleList([nn.Sequential(nn.Linear(2, 2), nn.ReLU()) for _ in range(3)])
        holder = nn.Sequential(nn.ModuleList([nn.Tanh(), nn.Tanh()]), nn.Linear(1, 1))
        alternating = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.ReLU()])
        return [repr(m) for m in (mlist(T), nested, holder, alternating, nn.ModuleList())]

    t, _ = assert_same_outcome(program)
    assert "(0-2): 3 x Linear(in_features=2, out_features=2, bias=True)" in t[0]


def test_modulelist_registers_parameters_like_torch():
    assert_same_outcome(lambda T: (names(mlist(T)), list(mlist(T).state_dict()),
                                   len(list(mlist(T).parameters()))))


@pytest.mark.parametrize("index", [0, 3, -1, -7, 7, -8])
def test_modulelist_indexing_like_torch(index):
    assert_same_outcome(lambda T: repr(mlist(T)[index]))


@pytest.mark.parametrize("s", [slice(1, 4), slice(None, None, 2), slice(-2, None)], ids=str)
def test_modulelist_slicing_like_torch(s):
    def program(T):
        ml = mlist(T)
        part = ml[s]
        return type(part).__name__, repr(part), names(part), part[0] is ml[s][0]

    assert_same_outcome(program)


def test_modulelist_mutation_like_torch():
    def program(T):
        nn = T.nn
        ml = nn.ModuleList()
        out = [ml.append(nn.Linear(1, 2)) is ml, ml.extend([nn.ReLU(), nn.Tanh()]) is ml]
        ml += [nn.Linear(2, 2)]
        ml.insert(1, nn.Sigmoid())
        ml.insert(0, nn.Identity())
        ml.insert(len(ml), nn.GELU())
        ml[2] = nn.Linear(3, 3)
        popped = ml.pop(-2)
        del ml[0]
        del ml[1:3]
        both = ml + nn.ModuleList([nn.ReLU()])
        attrs = [getattr(ml, n) is m for n, m in ml.named_children()]
        return (out, repr(popped), repr(ml), names(ml), len(ml), [type(m).__name__ for m in ml],
                type(both).__name__, repr(both), attrs)

    assert_same_outcome(program)


@pytest.mark.parametrize("program", [
    lambda T: T.nn.ModuleList().extend(5),
    lambda T: T.nn.ModuleList([T.nn.ReLU(), 3]),
    lambda T: T.nn.ModuleList([T.nn.ReLU()])["0"],
    lambda T: T.nn.ModuleList([T.nn.ReLU()]).__setitem__(0, "x"),
])
def test_modulelist_errors_like_torch(program):
    assert_same_outcome(program)


def test_modulelist_forward_is_missing_like_torch():
    assert_same_outcome(lambda T: T.nn.ModuleList([T.nn.ReLU()])(T.ones(2)))


# ------------------------------------------------------------------ ModuleDict

def mdict(T):
    nn = T.nn
    return nn.ModuleDict({"fc": nn.Linear(2, 3), "act": nn.ReLU(), "b": nn.Linear(3, 1)})


def test_moduledict_dict_interface_like_torch():
    def program(T):
        nn = T.nn
        md = mdict(T)
        out = [list(md.keys()), [type(m).__name__ for m in md.values()],
               [k for k, _ in md.items()], list(md), len(md), "fc" in md, "zz" in md]
        md["new"] = nn.Tanh()
        md.update({"z": nn.Linear(1, 1), "a": nn.Sigmoid()})
        md.update([("pair", nn.GELU())])
        md.update(OrderedDict([("od", nn.Identity())]))
        md.update(nn.ModuleDict({"inner": nn.Linear(2, 2)}))
        popped = md.pop("act")
        del md["b"]
        out += [repr(popped), list(md), names(md), repr(md), list(md.state_dict())]
        md["fc"] = nn.Linear(5, 5)      # a key that exists keeps its place
        out += [list(md), repr(md["fc"])]
        md.clear()
        return out + [len(md), names(md), repr(md)]

    assert_same_outcome(program)


@pytest.mark.parametrize("program", [
    lambda T: mdict(T)["missing"],
    lambda T: mdict(T).pop("missing"),
    lambda T: mdict(T).__delitem__("missing"),
    lambda T: mdict(T).update(3),
    lambda T: mdict(T).update([("a", T.nn.ReLU(), 1)]),
    lambda T: mdict(T).update([3]),
    lambda T: mdict(T).__setitem__("x.y", T.nn.ReLU()),
    lambda T: mdict(T).__setitem__("x", 4),
    lambda T: mdict(T).__setitem__("keys", T.nn.ReLU()),
])
def test_moduledict_errors_like_torch(program):
    t_kind, m_kind = (None, None)
    for T in (torch, mg):
        try:
            program(T)
        except Exception as error:  # noqa: BLE001 -- which exception is what we compare
            if T is torch:
                t_kind = type(error)
            else:
                m_kind = type(error)
    assert t_kind is not None and m_kind is not None
    assert issubclass(m_kind, t_kind) or issubclass(t_kind, m_kind), (t_kind, m_kind)


# ------------------------------------------------------------------ ParameterList / Dict

def plist(T):
    return T.nn.ParameterList([T.nn.Parameter(T.ones(2, 3)), T.zeros(4, dtype=T.float64)])


def same_repr(build):
    """repr of the minigrad and torch containers, with torch's names for minigrad's."""
    return repr(build(mg)).replace("minigrad.", "torch."), repr(build(torch))


def test_parameterlist_like_torch():
    def program(T):
        pl = plist(T)
        pl.append(T.full((2,), 3.0))
        pl.extend([T.ones(1)])
        pl += [T.nn.Parameter(T.ones(5))]
        pl[1] = T.ones(2, 2)
        part = pl[1:4]
        return ([type(p).__name__ for p in pl], [p.requires_grad for p in pl], names(pl),
                len(pl), list(pl.state_dict()), pl[-1], pl[1], type(part).__name__,
                names(part), part[0] is pl[1], "0" in dir(pl))

    assert_same_outcome(program)
    m, t = same_repr(plist)
    assert m == t


@pytest.mark.parametrize("program", [
    lambda T: plist(T)[2],
    lambda T: plist(T)[-3],
    lambda T: plist(T)(T.ones(2)),
    lambda T: plist(T).extend(T.ones(3)),
])
def test_parameterlist_errors_like_torch(program):
    assert_same_outcome(program)


def pdict(T):
    return T.nn.ParameterDict({"w": T.nn.Parameter(T.ones(2, 3)), "b": T.zeros(3),
                               "a": T.ones(1, dtype=T.float64)})


def test_parameterdict_like_torch():
    def program(T):
        pd = pdict(T)
        out = [list(pd), list(pd.keys()), names(pd), [type(v).__name__ for v in pd.values()]]
        pd["z"] = T.ones(2)
        pd.update(OrderedDict([("y", T.ones(1)), ("x", T.zeros(1))]))
        pd.update([("pair", T.ones(3))])
        out += [pd.pop("b"), pd.get("nope", 5), pd.get("a"), "a" in pd, len(pd)]
        out += [pd.setdefault("w").shape, pd.setdefault("s", T.ones(1)).requires_grad]
        key, value = pd.popitem()
        out += [key, value, list(pd), list(pd.state_dict()), [k for k, _ in pd.items()]]
        both = pd | T.nn.ParameterDict({"extra": T.ones(1)})
        out += [list(both), list(reversed(pd)), list(pd.copy()),
                list(pd.fromkeys(["p", "q"], T.ones(1)))]
        pd.clear()
        return out + [len(pd), names(pd)]

    assert_same_outcome(program)
    m, t = same_repr(pdict)
    assert m == t


@pytest.mark.parametrize("program", [
    lambda T: pdict(T)[1],
    lambda T: pdict(T).__setitem__(1, T.ones(1)),
    lambda T: pdict(T)(T.ones(2)),
    lambda T: pdict(T).update(7),
    lambda T: pdict(T).update([("a", T.ones(1), 3)]),
    lambda T: pdict(T).pop("nope"),
])
def test_parameterdict_errors_like_torch(program):
    assert_same_outcome(program)


def test_parameterdict_missing_key_raises_attribute_error_like_torch():
    for T in (torch, mg):
        with pytest.raises(AttributeError):
            pdict(T)["nope"]


# ------------------------------------------------------------------ Identity, Flatten, Unflatten

def test_identity_like_torch():
    def program(T):
        layer = T.nn.Identity(54, unused="argument")
        x = T.ones(2, 3)
        return repr(layer), layer(x) is x, names(layer)

    assert_same_outcome(program)


@pytest.mark.parametrize("args", [(), (0,), (2, 3), (-3, -2), (1, 2)], ids=str)
def test_flatten_matches_torch(args):
    compare(lambda T, x: T.nn.Flatten(*args)(x), randn(2, 3, 4, 2, seed=1))
    assert repr(mg.nn.Flatten(*args)) == repr(torch.nn.Flatten(*args))


@pytest.mark.parametrize("dim,sizes", [(1, (3, 4)), (-1, (2, 1)), (1, [2, -1]), (0, (2, 1))])
def test_unflatten_matches_torch(dim, sizes):
    compare(lambda T, x: T.nn.Unflatten(dim, sizes)(x), randn(2, 12, 2, seed=2))
    assert repr(mg.nn.Unflatten(dim, sizes)) == repr(torch.nn.Unflatten(dim, sizes))


@pytest.mark.parametrize("program", [
    lambda T: T.nn.Unflatten(1, 6),
    lambda T: T.nn.Unflatten(1, (2.0, 3)),
    lambda T: T.nn.Unflatten(1, "23"),
])
def test_unflatten_argument_errors_like_torch(program):
    assert_same_outcome(program)


# ------------------------------------------------------------------ a model of containers

def container_model(T):
    nn = T.nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(4, 4), nn.Tanh())
                                         for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 2)})
            self.scales = nn.ParameterList([nn.Parameter(T.ones(2)) for _ in range(2)])
            self.offsets = nn.ParameterDict({"a": T.zeros(2), "b": T.zeros(2)})
            self.tail = nn.Sequential(nn.Flatten(0), nn.Unflatten(0, (-1, 2)), nn.Identity())

        def forward(self, x):
            for block in self.blocks:
                x = block(x) + x
            out = 0
            for (key, head), scale in zip(self.heads.items(), self.scales):
                out = out + head(x) * scale + self.offsets[key]
            return self.tail(out)

    return Model()


def test_model_of_containers_repr_and_names_match_torch():
    assert_same_outcome(lambda T: (names(container_model(T)),
                                   list(container_model(T).state_dict())))
    m, t = same_repr(container_model)
    assert m == t


def test_model_of_containers_trains_like_torch():
    """Ten SGD steps: the same loss at every step."""
    X, Y = randn(8, 4, seed=5), randn(8, 2, seed=6)
    losses = {}
    for T in (torch, mg):
        model = fill(T, container_model(T).double(), seed=20)
        opt = T.optim.SGD(model.parameters(), lr=0.05)
        losses[T.__name__] = []
        for _ in range(10):
            opt.zero_grad()
            loss = ((model(T.tensor(X)) - T.tensor(Y)) ** 2).mean()
            loss.backward()
            opt.step()
            losses[T.__name__].append(loss.item())
    np.testing.assert_allclose(losses["minigrad"], losses["torch"], rtol=1e-10)
