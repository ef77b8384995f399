"""minigrad.nn.Module (minigrad/nn/module.py): registration, parameters, state_dict
interchange with torch.nn, train/eval, zero_grad, repr."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_same_outcome, randn, tensor_class


def make_net(T):
    nn = T.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 5)
            self.act = nn.Tanh()
            self.head = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2, bias=False))
            self.scale = nn.Parameter(T.ones(2))
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            return self.head(self.drop(self.act(self.fc1(x)))) * self.scale

    return Net()


def mlp(T):
    nn = T.nn
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))


def cnn(T):
    nn = T.nn
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 5),
        nn.Sigmoid(),
    )


def nested(T):
    nn = T.nn
    return nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.ReLU()), nn.Sequential(nn.Linear(4, 2)))


ARCHS = {"net": make_net, "mlp": mlp, "cnn": cnn, "nested": nested}
INPUTS = {"net": (3, 4), "mlp": (5, 8), "cnn": (2, 1, 8, 8), "nested": (4, 3)}


def torch_to_mg(tmodel, mmodel):
    mmodel.load_state_dict(tmodel.state_dict())


def mg_state_to_torch(mmodel):
    return {k: torch.from_numpy(np.array(v.numpy())) for k, v in mmodel.state_dict().items()}


@pytest.mark.parametrize("arch", list(ARCHS))
def test_parameter_count_names_and_shapes_match_torch(arch):
    t = ARCHS[arch](torch)
    m = ARCHS[arch](mg)
    tn = {k: tuple(v.shape) for k, v in t.named_parameters()}
    mn = {k: tuple(v.shape) for k, v in m.named_parameters()}
    assert mn == tn
    assert len(list(m.parameters())) == len(list(t.parameters()))
    assert sum(int(np.prod(p.shape)) for p in m.parameters()) == sum(
        p.numel() for p in t.parameters()
    )


@pytest.mark.parametrize("arch", list(ARCHS))
def test_state_dict_keys_and_shapes_match_torch(arch):
    t = ARCHS[arch](torch)
    m = ARCHS[arch](mg)
    tsd, msd = t.state_dict(), m.state_dict()
    assert set(msd.keys()) == set(tsd.keys())
    for k in tsd:
        assert tuple(msd[k].shape) == tuple(tsd[k].shape), k


@pytest.mark.parametrize("arch", ["mlp", "cnn", "nested"])
def test_sequential_state_dict_key_order_matches_torch(arch):
    assert list(ARCHS[arch](mg).state_dict().keys()) == list(ARCHS[arch](torch).state_dict().keys())


@pytest.mark.parametrize("arch", list(ARCHS))
def test_load_torch_weights_gives_identical_outputs(arch):
    torch.manual_seed(0)
    t = ARCHS[arch](torch).eval()
    m = ARCHS[arch](mg).eval()
    torch_to_mg(t, m)
    x = randn(*INPUTS[arch], seed=1).astype(np.float32)
    with torch.no_grad():
        expected = t(torch.tensor(x)).numpy()
    out = m(mg.tensor(x))
    assert out.detach().numpy().dtype == np.float32
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_loaded_model_gradients_match_torch(arch):
    torch.manual_seed(1)
    t = ARCHS[arch](torch).eval()
    m = ARCHS[arch](mg).eval()
    torch_to_mg(t, m)
    x = randn(*INPUTS[arch], seed=2).astype(np.float32)
    R = randn(*tuple(t(torch.tensor(x)).shape), seed=3).astype(np.float32)
    (t(torch.tensor(x)) * torch.tensor(R)).sum().backward()
    (m(mg.tensor(x)) * mg.tensor(R)).sum().backward()
    mp = dict(m.named_parameters())
    for name, p in t.named_parameters():
        assert mp[name].grad is not None, name
        np.testing.assert_allclose(
            mp[name].grad.numpy(), p.grad.numpy(), atol=1e-5, rtol=1e-4, err_msg=name
        )


@pytest.mark.parametrize("arch", list(ARCHS))
def test_round_trip_minigrad_to_torch(arch):
    mg.manual_seed(3)
    m = ARCHS[arch](mg).eval()
    t = ARCHS[arch](torch).eval()
    t.load_state_dict(mg_state_to_torch(m))
    for name, p in t.named_parameters():
        np.testing.assert_array_equal(
            p.detach().numpy(), dict(m.named_parameters())[name].detach().numpy()
        )
    x = randn(*INPUTS[arch], seed=4).astype(np.float32)
    with torch.no_grad():
        expected = t(torch.tensor(x)).numpy()
    np.testing.assert_allclose(m(mg.tensor(x)).detach().numpy(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("source", ["torch", "numpy", "minigrad"])
def test_load_state_dict_accepts_several_value_types(source):
    torch.manual_seed(5)
    t = mlp(torch)
    sd = t.state_dict()
    if source == "numpy":
        sd = {k: v.numpy().copy() for k, v in sd.items()}
    elif source == "minigrad":
        sd = {k: mg.tensor(v.numpy().copy()) for k, v in sd.items()}
    m = mlp(mg)
    m.load_state_dict(sd)
    for name, p in t.named_parameters():
        np.testing.assert_array_equal(
            dict(m.named_parameters())[name].detach().numpy(), p.detach().numpy()
        )


def test_state_dict_values_are_detached_tensors():
    m = mlp(mg)
    for k, v in m.state_dict().items():
        assert isinstance(v, tensor_class())
        assert not v.requires_grad
        v.numpy()  # no error: copying a state dict into another framework starts here


def test_load_state_dict_keeps_parameter_objects_and_stays_trainable():
    t = mlp(torch)
    m = mlp(mg)
    before = list(m.parameters())
    opt = mg.optim.SGD(m.parameters(), lr=0.1)
    m.load_state_dict(t.state_dict())
    after = list(m.parameters())
    assert all(a is b for a, b in zip(before, after))
    assert all(p.requires_grad for p in after)
    x = mg.tensor(randn(4, 8, seed=6).astype(np.float32))
    m(x).sum().backward()
    w0 = m.state_dict()["0.weight"].numpy().copy()
    opt.step()
    assert not np.array_equal(m.state_dict()["0.weight"].numpy(), w0), (
        "optimizer must still update the model"
    )


def test_load_state_dict_copies_values():
    a, b = mlp(mg), mlp(mg)
    b.load_state_dict(a.state_dict())
    wb = b.state_dict()["0.weight"].numpy().copy()
    opt = mg.optim.SGD(a.parameters(), lr=1.0)
    a(mg.tensor(randn(2, 8, seed=7).astype(np.float32))).sum().backward()
    opt.step()
    np.testing.assert_array_equal(b.state_dict()["0.weight"].numpy(), wb)


def test_load_state_dict_missing_or_wrong_shape_raises_like_torch():
    t = mlp(torch)
    sd = {k: v for k, v in t.state_dict().items() if k != "2.bias"}
    with pytest.raises(RuntimeError):
        t.load_state_dict(sd)
    with pytest.raises(RuntimeError):
        mlp(mg).load_state_dict(sd)
    bad = dict(t.state_dict())
    bad["0.weight"] = torch.zeros(16, 9)
    with pytest.raises(RuntimeError):
        mlp(mg).load_state_dict(bad)


def test_custom_module_registration():
    m = make_net(mg)
    names = dict(m.named_parameters())
    assert "scale" in names and "fc1.weight" in names and "head.2.weight" in names
    assert "head.2.bias" not in names
    assert isinstance(names["scale"], mg.nn.Parameter)
    assert names["scale"].requires_grad and names["scale"].is_leaf


def test_plain_tensor_attribute_is_not_a_parameter():
    class M(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = mg.nn.Parameter(mg.ones(3))
            self.const = mg.ones(3)

    class TM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(3))
            self.const = torch.ones(3)

    assert (
        [n for n, _ in M().named_parameters()] == [n for n, _ in TM().named_parameters()] == ["w"]
    )


def test_parameter_is_tensor_requiring_grad():
    p = mg.nn.Parameter(mg.zeros(2, 3))
    assert isinstance(p, tensor_class())
    assert p.requires_grad and p.is_leaf
    assert tuple(p.shape) == (2, 3)


def test_shared_parameter_counted_once_like_torch():
    def build(T):
        lin = T.nn.Linear(3, 3)
        return T.nn.Sequential(lin, T.nn.ReLU(), lin)

    assert len(list(build(mg).parameters())) == len(list(build(torch).parameters())) == 2


def test_zero_grad():
    m = mlp(mg)
    m(mg.tensor(randn(2, 8, seed=8).astype(np.float32))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    for p in m.parameters():
        assert p.grad is None or np.all(p.grad.numpy() == 0)
    # after zero_grad, a new backward gives the fresh gradient, not an accumulation
    x = mg.tensor(randn(2, 8, seed=9).astype(np.float32))
    m(x).sum().backward()
    g1 = [p.grad.numpy().copy() for p in m.parameters()]
    m.zero_grad()
    m(x).sum().backward()
    for a, p in zip(g1, m.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), a, rtol=1e-6)


def test_train_eval_propagate():
    m = make_net(mg)
    assert m.training
    assert all(sub.training for sub in (m.fc1, m.head, m.drop, m.act))
    r = m.eval()
    assert r is m
    assert not m.training and not m.fc1.training and not m.drop.training and not m.head.training
    assert m.train() is m
    assert m.training and m.drop.training and m.head.training
    m.train(False)
    assert not m.head.training


def test_eval_disables_dropout_in_submodules():
    m = make_net(mg).eval()
    x = mg.tensor(randn(3, 4, seed=10).astype(np.float32))
    a = m(x).detach().numpy()
    b = m(x).detach().numpy()
    np.testing.assert_array_equal(a, b)


def test_to_cpu_returns_self_and_keeps_params():
    m = mlp(mg)
    before = [p.detach().numpy().copy() for p in m.parameters()]
    assert m.to("cpu") is m
    for a, p in zip(before, m.parameters()):
        np.testing.assert_array_equal(a, p.detach().numpy())
        assert str(p.device) == "cpu"


def test_call_invokes_forward():
    class Double(mg.nn.Module):
        def forward(self, x):
            return x * 2

    np.testing.assert_array_equal(Double()(mg.tensor([1.0, 2.0])).numpy(), [2.0, 4.0])


def test_repr_mentions_layers():
    r = repr(cnn(mg))
    for name in (
        "Sequential",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Tanh",
        "Flatten",
        "Linear",
        "Sigmoid",
    ):
        assert name in r, f"{name} missing from repr: {r}"
    r2 = repr(make_net(mg))
    for name in ("fc1", "head", "Linear", "Dropout"):
        assert name in r2


def test_load_state_dict_keeps_parameter_dtype_like_torch():
    # torch copies into the existing parameter (copy_), so dtypes are kept
    t = mlp(torch)
    sd64 = {k: v.double() for k, v in t.state_dict().items()}
    t.load_state_dict(sd64)
    assert all(p.dtype == torch.float32 for p in t.parameters())
    m = mlp(mg)
    m.load_state_dict(sd64)
    assert all(p.dtype == mg.float32 for p in m.parameters())
    m2 = mlp(mg)
    m2.load_state_dict({k: v.numpy() for k, v in sd64.items()})
    assert all(p.dtype == mg.float32 for p in m2.parameters())
    out = m2(mg.tensor(randn(2, 8, seed=11).astype(np.float32)))
    assert out.dtype == mg.float32


def test_loaded_weights_do_not_alias_the_source():
    t = mlp(torch)
    m = mlp(mg)
    m.load_state_dict(t.state_dict())
    before = m.state_dict()["0.weight"].numpy().copy()
    with torch.no_grad():
        for p in t.parameters():
            p.add_(1.0)
    np.testing.assert_array_equal(m.state_dict()["0.weight"].numpy(), before)
    arrays = {k: v.numpy().copy() for k, v in mlp(torch).state_dict().items()}
    m.load_state_dict(arrays)
    snapshot = m.state_dict()["2.bias"].numpy().copy()
    arrays["2.bias"][:] = 123.0
    np.testing.assert_array_equal(m.state_dict()["2.bias"].numpy(), snapshot)


# ------------------------------------------------------------------ differential: one tree
# The same module tree, written once with T as the framework: buffers persistent and not,
# a None buffer and child, a module reachable under two names and a parameter shared by
# two modules.

def tree(T):
    nn = T.nn

    class Block(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.lin = nn.Linear(n, n)
            self.register_buffer("running", T.zeros(n))
            self.register_buffer("scratch", T.ones(n), persistent=False)
            self.register_buffer("nothing", None)
            self.register_buffer("steps", T.tensor(0))
            self.gain = nn.Parameter(T.ones(n))

        def forward(self, x):
            return self.lin(x) * self.gain + self.running

        def extra_repr(self):
            return f"n={self.gain.shape[0]}"

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_parameter("alpha", nn.Parameter(T.tensor(0.5)))
            self.first = Block(3)
            self.shared = nn.Linear(3, 3)
            self.body = nn.Sequential(Block(3), self.shared, nn.ReLU())
            self.again = self.shared
            self.register_module("missing", None)
            self.tied = nn.Linear(3, 3, bias=False)
            self.tied.weight = self.first.lin.weight
            self.register_parameter("unused", None)

        def forward(self, x):
            return self.tied(self.again(self.body(self.first(x)))) * self.alpha

    return Net()


def described(pairs):
    """(name, type or shape) for named_modules / named_parameters / named_buffers."""
    return [(n, type(v).__name__ if hasattr(v, "_modules") else tuple(v.shape))
            for n, v in pairs]


@pytest.mark.parametrize("kwargs", [{}, {"remove_duplicate": False}, {"prefix": "net"},
                                    {"prefix": "net", "remove_duplicate": False}], ids=str)
def test_named_modules_like_torch(kwargs):
    assert_same_outcome(lambda T: described(tree(T).named_modules(**kwargs)))


@pytest.mark.parametrize("kwargs", [{}, {"remove_duplicate": False}, {"recurse": False},
                                    {"prefix": "p"}, {"prefix": "p", "remove_duplicate": False}],
                         ids=str)
@pytest.mark.parametrize("kind", ["named_parameters", "named_buffers"])
def test_named_parameters_and_buffers_like_torch(kind, kwargs):
    assert_same_outcome(lambda T: described(getattr(tree(T), kind)(**kwargs)))


def test_children_parameters_buffers_counts_like_torch():
    assert_same_outcome(lambda T: (
        [(n, type(m).__name__) for n, m in tree(T).named_children()],
        len(list(tree(T).children())), len(list(tree(T).modules())),
        len(list(tree(T).parameters())), len(list(tree(T).parameters(recurse=False))),
        len(list(tree(T).buffers()))))


def test_state_dict_keys_order_and_shapes_like_torch():

    def program(T):
        sd = tree(T).state_dict()
        kept = tree(T).state_dict(keep_vars=True)
        prefixed = tree(T).state_dict(prefix="model.")
        return ([(k, tuple(v.shape), v.requires_grad) for k, v in sd.items()],
                [(k, v.requires_grad) for k, v in kept.items()], list(prefixed),
                [str(v.dtype).split(".")[-1] for v in sd.values()])

    assert_same_outcome(program)


def test_state_dict_shares_memory_with_the_module_like_torch():

    def program(T):
        net = tree(T)
        sd = net.state_dict()
        sd["first.running"].add_(2.0)
        sd["alpha"].fill_(3.0)
        destination = OrderedDict(existing=T.ones(1))
        returned = net.state_dict(destination=destination)
        return net.first.running.detach(), net.alpha.detach(), returned is destination, \
            list(destination)[:2]

    assert_same_outcome(program)


def load_report(T, change, strict):
    """What load_state_dict says about a changed copy of tree's state_dict."""
    net = tree(T)
    sd = OrderedDict(tree(T).state_dict())
    change(T, sd)
    try:
        result = net.load_state_dict(sd, strict=strict)
    except RuntimeError as error:
        return "raised", str(error)
    return list(result.missing_keys), list(result.unexpected_keys), repr(result)


def _drop(*keys):
    def change(T, sd):
        for k in keys:
            del sd[k]
    return change


def _add(*keys):
    def change(T, sd):
        for k in keys:
            sd[k] = T.zeros(3)
    return change


def _both(T, sd):
    _drop("body.0.gain", "alpha")(T, sd)
    _add("body.0.extra", "zzz", "first.lin.nope", "first.scratch")(T, sd)


def _resize(T, sd):
    sd["first.lin.weight"] = T.zeros(3, 4)
    sd["body.0.running"] = T.zeros(5)


CHANGES = {"nothing": lambda T, sd: None, "missing": _drop("body.0.gain", "alpha"),
           "unexpected": _add("zzz", "body.0.extra", "first.scratch"),
           "both": _both, "size": _resize,
           "size+missing": lambda T, sd: (_resize(T, sd), _drop("shared.bias")(T, sd))}


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("change", list(CHANGES))
def test_load_state_dict_reports_like_torch(change, strict):
    m = load_report(mg, CHANGES[change], strict)
    t = load_report(torch, CHANGES[change], strict)
    assert m == t


def test_load_state_dict_loads_buffers_and_parameters_like_torch():

    def program(T):
        source = fill_tree(T, tree(T))
        net = tree(T)
        net.load_state_dict(source.state_dict())
        return [(k, v) for k, v in net.state_dict().items()]

    assert_same_outcome(program)


def fill_tree(T, net):
    with T.no_grad():
        for k, (_, t) in enumerate(list(net.named_parameters()) + list(net.named_buffers())):
            t.copy_(T.tensor(randn(*t.shape, seed=k) * 3).to(t.dtype))
    return net


def test_load_state_dict_assign_like_torch():

    def program(T):
        net = tree(T)
        sd = {k: v.double() if v.is_floating_point() else v
              for k, v in fill_tree(T, tree(T)).state_dict().items()}
        net.load_state_dict(sd, assign=True)
        return [(k, v) for k, v in net.state_dict().items()], net.alpha.requires_grad

    assert_same_outcome(program)


def test_forward_pre_hook_and_forward_hook_like_torch():

    def program(T):
        net = fill_tree(T, tree(T).double())
        calls = []

        def pre_double(module, args):
            calls.append(("pre", type(module).__name__, len(args)))
            return args[0] * 2                      # one value: wrapped into a tuple

        def pre_tuple(module, args):
            calls.append(("pre2", tuple(args[0].shape)))
            return (args[0] + 1,)

        def post(module, args, output):
            calls.append(("post", tuple(args[0].shape)))
            return output * 10

        def watch(module, args, output):
            calls.append(("watch", type(module).__name__))

        x = T.tensor(randn(2, 3, seed=3))
        plain = net(x)
        handles = [net.register_forward_pre_hook(pre_double),
                   net.register_forward_pre_hook(pre_tuple),
                   net.register_forward_hook(post),
                   net.body[1].register_forward_hook(watch)]
        hooked = net(x)
        for h in handles:
            h.remove()
        handles[0].remove()                         # removing twice is harmless
        after = net(x)
        with net.register_forward_hook(post):
            in_context = net(x)
        return plain, hooked, after, in_context, net(x), calls

    assert_same_outcome(program)


def test_hooks_are_part_of_the_graph_like_torch():

    def program(T):
        net = fill_tree(T, tree(T).double())
        net.first.register_forward_hook(lambda m, args, out: out.tanh())
        net.register_forward_pre_hook(lambda m, args: (args[0] ** 2,))
        x = T.tensor(randn(2, 3, seed=4), requires_grad=True)
        net(x).sum().backward()
        return x.grad, net.first.gain.grad, net.alpha.grad

    assert_same_outcome(program)


def test_repr_of_nested_models_equals_torch():
    assert_same_outcome(lambda T: (repr(tree(T)), repr(make_net(T)), repr(nested(T)),
                                   repr(T.nn.Module())))


def test_apply_order_like_torch():

    def program(T):
        net = tree(T)
        where = {id(m): n for n, m in net.named_modules()}
        seen = []
        returned = net.apply(lambda m: seen.append(where[id(m)]))
        return seen, returned is net

    assert_same_outcome(program)


def test_train_eval_propagate_and_call_overrides_like_torch():

    def program(T):
        calls = []

        class Frozen(T.nn.Linear):
            def train(self, mode=True):
                calls.append(mode)
                return super().train(False)         # always stays in eval mode

        net = tree(T)
        net.body.append(Frozen(3, 3))
        flags = [[m.training for m in net.modules()]]
        flags.append([m.training for m in net.eval().modules()])
        flags.append([m.training for m in net.train().modules()])
        net.body.train(False)
        flags.append([m.training for m in net.modules()])
        return flags, calls

    assert_same_outcome(program)
    assert_same_outcome(lambda T: tree(T).train("yes"))


@pytest.mark.parametrize("target", ["", "first", "body.0.lin", "again", "body.1"])
def test_get_submodule_like_torch(target):
    assert_same_outcome(lambda T: repr(tree(T).get_submodule(target)))


@pytest.mark.parametrize("method,target", [
    ("get_submodule", "nope"), ("get_submodule", "first.nope"), ("get_submodule", "alpha"),
    ("get_submodule", "first.lin.weight"), ("get_submodule", "missing"),
    ("get_parameter", "first.nope"), ("get_parameter", "first.running"),
    ("get_parameter", "nope.weight"), ("get_buffer", "first.gain"),
    ("get_buffer", "body.0.zzz"), ("get_parameter", "first.lin"),
])
def test_get_submodule_parameter_buffer_errors_like_torch(method, target):
    messages = []
    for T in (torch, mg):
        with pytest.raises(AttributeError) as info:
            getattr(tree(T), method)(target)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("method,target", [
    ("get_parameter", "alpha"), ("get_parameter", "body.0.lin.bias"),
    ("get_parameter", "tied.weight"), ("get_buffer", "first.running"),
    ("get_buffer", "body.0.scratch"), ("get_buffer", "first.steps"),
])
def test_get_parameter_and_buffer_like_torch(method, target):
    assert_same_outcome(lambda T: getattr(fill_tree(T, tree(T)), method)(target).detach())


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_like_torch(set_to_none):

    def program(T):
        net = fill_tree(T, tree(T).double())
        net(T.tensor(randn(2, 3, seed=5))).sum().backward()
        net.zero_grad(set_to_none=set_to_none)
        return [(n, None if p.grad is None else p.grad) for n, p in net.named_parameters()]

    assert_same_outcome(program)


def test_to_double_float_like_torch():

    def program(T):
        net = tree(T)
        kinds = []
        for move in (lambda n: n.double(), lambda n: n.float(), lambda n: n.to(T.float64),
                     lambda n: n.to("cpu"), lambda n: n.cpu(),
                     lambda n: n.to(T.zeros(1, dtype=T.float32))):
            assert move(net) is net
            kinds.append([str(t.dtype).split(".")[-1] for t in
                          list(net.parameters()) + list(net.buffers())])
        return kinds

    assert_same_outcome(program)
    assert_same_outcome(lambda T: tree(T).to(T.int64))


def test_module_registration_errors_like_torch():
    programs = [
        lambda T: T.nn.Module().register_buffer("a.b", T.ones(1)),
        lambda T: T.nn.Module().register_buffer("", T.ones(1)),
        lambda T: T.nn.Module().register_buffer("x", 3),
        lambda T: T.nn.Module().register_parameter("x", T.ones(1)),
        lambda T: T.nn.Module().add_module("x", 3),
        lambda T: T.nn.Module().add_module(3, T.nn.ReLU()),
        lambda T: tree(T).register_buffer("alpha", T.ones(1)),
        lambda T: setattr(tree(T), "alpha", T.ones(1)),
        lambda T: setattr(tree(T), "first", T.ones(1)),
    ]
    for program in programs:
        assert_same_outcome(program)
    for T in (torch, mg):
        with pytest.raises(KeyError):
            T.nn.Module().register_buffer("a.b", T.ones(1))
        with pytest.raises(KeyError):
            tree(T).add_module("training", T.nn.ReLU())


def test_reregistering_a_name_keeps_its_place_like_torch():

    def program(T):
        net = tree(T)
        net.first.register_buffer("running", T.ones(3), persistent=False)
        net.first.register_buffer("scratch", T.ones(3))
        net.register_parameter("alpha", T.nn.Parameter(T.ones(1)))
        net.add_module("first", T.nn.Linear(3, 3))
        net.shared = T.nn.Identity()
        return list(net.state_dict()), [n for n, _ in net.named_children()]

    assert_same_outcome(program)
