"""minigrad.compile: trace once, replay the static graph, retrace when inputs change.

Replayed results and gradients are compared with the same function run eagerly (whose
results the op tests compare with PyTorch); the tracing rules are compared with what
tf.function does, as described in its documentation.
"""
import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn.functional as F
from mgtest import assert_same_value
from minigrad.compile import TracerWarning

rng = np.random.default_rng(0)


def _mlp(seed=0):
    mg.manual_seed(seed)
    return mg.nn.Sequential(mg.nn.Linear(6, 16), mg.nn.Tanh(), mg.nn.Linear(16, 16),
                            mg.nn.ReLU(), mg.nn.Linear(16, 4))


def _cnn(seed=0):
    mg.manual_seed(seed)
    return mg.nn.Sequential(mg.nn.Conv2d(1, 3, 3, padding=1), mg.nn.ReLU(), mg.nn.MaxPool2d(2),
                            mg.nn.Flatten(), mg.nn.Linear(3 * 4 * 4, 5))


def _grads(tensors):
    return [None if t.grad is None else t.grad.numpy().copy() for t in tensors]


FUNCTIONS = {
    "mlp_loss": (_mlp, lambda m, x, y: F.cross_entropy(m(x), y),
                 lambda: (rng.standard_normal((8, 6)), rng.integers(0, 4, 8))),
    "cnn_loss": (_cnn, lambda m, x, y: F.cross_entropy(m(x), y),
                 lambda: (rng.standard_normal((3, 1, 8, 8)), rng.integers(0, 5, 3))),
    "elementwise_chain": (_mlp, lambda m, x, y: ((m(x).sigmoid() * 2 - 1).abs().sqrt()
                                                 + (x.exp().mean() / (y.sum() + 1))).sum(),
                          lambda: (rng.standard_normal((5, 6)), rng.random(7) + 0.5)),
    "shapes_and_indexing": (_mlp, lambda m, x, y: (mg.cat([m(x), m(x)[:, [0, 0, 3]]], dim=1)
                                                   .T.reshape(-1)[::2] * y[0]).softmax(0).max(),
                            lambda: (rng.standard_normal((5, 6)), rng.random(3))),
    "where_and_comparisons": (_mlp, lambda m, x, y: mg.where(m(x) > 0, m(x), m(x) * y[1])
                              .log_softmax(1).mean(),
                              lambda: (rng.standard_normal((5, 6)), rng.random(3))),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_replay_gives_eager_values_and_gradients(name):
    make_model, fn, make_inputs = FUNCTIONS[name]
    eager_model, compiled_model = make_model(), make_model()
    compiled = mg.compile(lambda x, y: fn(compiled_model, x, y))
    for call in range(3):     # call 0 traces; calls 1 and 2 replay
        x, y = make_inputs()
        xe = mg.tensor(x, dtype=mg.float64, requires_grad=True)
        xc = mg.tensor(x, dtype=mg.float64, requires_grad=True)
        ye = mg.tensor(y) if y.dtype.kind == "i" else mg.tensor(y, requires_grad=True)
        yc = mg.tensor(y) if y.dtype.kind == "i" else mg.tensor(y, requires_grad=True)
        for m in (eager_model, compiled_model):
            m.to(dtype=mg.float64)
            m.zero_grad()
        expected, actual = fn(eager_model, xe, ye), compiled(xc, yc)
        upstream = rng.standard_normal(expected.shape)
        expected.backward(mg.tensor(upstream, dtype=mg.float64))
        actual.backward(mg.tensor(upstream, dtype=mg.float64))
        np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
        for a, e in zip(_grads([xc, yc, *compiled_model.parameters()]),
                        _grads([xe, ye, *eager_model.parameters()])):
            assert (a is None) == (e is None)
            if a is not None:
                np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)
    assert len(compiled.traces) == 1


def test_training_with_a_compiled_loss_matches_eager_training():
    x, y = mg.tensor(rng.standard_normal((16, 6)).astype(np.float32)), mg.tensor(
        rng.integers(0, 4, 16))
    losses = {}
    for mode in ("eager", "compiled"):
        model = _mlp()
        opt = mg.optim.Adam(model.parameters(), lr=0.01)
        loss_fn = lambda x, y: F.cross_entropy(model(x), y)  # noqa: E731
        if mode == "compiled":
            loss_fn = mg.compile(loss_fn)
        losses[mode] = []
        for _ in range(10):     # the optimizer changes the captured parameters in place
            opt.zero_grad()
            loss = loss_fn(x, y)
            loss.backward()
            opt.step()
            losses[mode].append(loss.item())
    np.testing.assert_allclose(losses["compiled"], losses["eager"], rtol=1e-6)
    assert losses["eager"][-1] < losses["eager"][0]


def test_python_code_runs_only_while_tracing(capsys):
    @mg.compile
    def f(x):
        print("tracing f")
        return x * 2

    for _ in range(3):
        f(mg.ones(3))
    assert capsys.readouterr().out.count("tracing f") == 1
    f(mg.ones(4))                                       # a new shape: traced again
    assert capsys.readouterr().out.count("tracing f") == 1


def test_retracing_rules_and_reasons():
    f = mg.compile(lambda x, n: x * n)
    f(mg.ones(2, 3), 2)
    f(mg.ones(2, 3), 2)                                 # same kind of input: replay
    assert len(f.traces) == 1 and f.traces[0].reason == "first call"
    f(mg.ones(5, 3), 2)                                 # new shape
    f(mg.ones(5, 3, dtype=mg.float64), 2)               # new dtype
    f(mg.ones(5, 3, dtype=mg.float64), 3)               # new Python value, as tf.function
    f(mg.ones(5, 3, dtype=mg.float64, requires_grad=True), 3)
    reasons = [t.reason for t in f.traces]
    assert len(reasons) == 5
    assert "[2, 3]" in reasons[1] and "[5, 3]" in reasons[1]
    assert "float32" in reasons[2] and "float64" in reasons[2]
    assert "Python int 2" in reasons[3] and "Python int 3" in reasons[3]
    assert "requires_grad" in reasons[4]
    # every earlier trace stays cached: going back to the first input traces nothing
    f(mg.ones(2, 3), 2)
    assert len(f.traces) == 5


def test_a_python_branch_is_frozen_at_trace_time_with_a_warning():
    @mg.compile
    def f(x):
        if x.sum() > 0:
            return x * 2
        return -x

    with pytest.warns(TracerWarning, match="bool"):
        np.testing.assert_array_equal(f(mg.tensor([1.0, 2.0])).numpy(), [2.0, 4.0])
    # eager code would take the other branch for this input; the replay does not
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # replaying warns no more
        np.testing.assert_array_equal(f(mg.tensor([-1.0, -2.0])).numpy(), [-2.0, -4.0])


def test_values_computed_from_inputs_are_not_frozen():
    # comparisons, argmax and detach are recorded like every other op
    f = mg.compile(lambda x: mg.where(x > 0, x, x * 0) + x.detach() * (x.argmax() == 1))
    for values in ([1.0, 3.0, -2.0], [5.0, -1.0, 2.0]):
        x = mg.tensor(values)
        expected = np.where(np.array(values) > 0, values, 0) + np.array(values) * (
            np.argmax(values) == 1)
        np.testing.assert_allclose(f(x).numpy(), expected)


def test_dropout_draws_a_new_mask_on_every_replay():
    f = mg.compile(lambda x: F.dropout(x, 0.5, training=True))
    masks = [f(mg.ones(200)).numpy() != 0 for _ in range(3)]
    assert not (masks[0] == masks[1]).all() and not (masks[1] == masks[2]).all()


def test_dead_code_is_eliminated():
    @mg.compile
    def f(x):
        (x.exp() * 3).sum()            # computed, never used
        return x * 2

    out = f(mg.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(out.numpy(), [2.0, 4.0])
    trace = f.traces[0]
    assert trace.ops == ["mul"] and sorted(trace.eliminated) == ["exp", "mul", "sum"]


def test_a_replay_is_one_node_and_records_no_per_op_graph():
    f = mg.compile(lambda x: (x.tanh() * 2).sum())
    x = mg.ones(3, requires_grad=True)
    f(x)
    events = []
    with mg.autograd.observe(events.append):
        out = f(x)
    assert [e.op for e in events] == ["compiled"]
    assert out.grad_fn.name() == "CompiledBackward"
    assert out.grad_fn.next_functions[0][0].name() == "AccumulateGrad"


def test_several_outputs_get_their_gradients_added():
    f = mg.compile(lambda x: (x * 3, (x * x).sum()))
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    f(x)                                            # trace
    a, b = f(x)                                     # replay
    (a.sum() + b).backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2 * 1.0, 3 + 2 * 2.0])


def test_backward_inside_a_compiled_function_is_an_error():
    @mg.compile
    def step(x):
        loss = (x * x).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="call loss.backward"):
        step(mg.ones(2, requires_grad=True))


def test_a_captured_parameter_that_changes_shape_is_retraced():
    model = mg.nn.Linear(3, 2)
    f = mg.compile(lambda x: model(x))
    f(mg.ones(1, 3))
    model.weight.requires_grad_(False)              # frozen: its gradient no longer flows
    f(mg.ones(1, 3))
    assert len(f.traces) == 2 and "captured" in f.traces[1].reason


def test_returning_something_else_than_tensors_is_explained():
    with pytest.raises(TypeError, match="must return a tensor"):
        mg.compile(lambda x: "done")(mg.ones(1))


def test_numpy_arguments_become_traced_inputs():
    f = mg.compile(lambda x: x * 2)
    f(np.ones(3, np.float32))
    np.testing.assert_array_equal(f(np.full(3, 4.0, np.float32)).numpy(), [8.0, 8.0, 8.0])
    assert len(f.traces) == 1


def test_the_static_graph_exports_like_an_eager_graph():
    model = mg.nn.Linear(3, 2)
    f = mg.compile(lambda x: model(x).relu().sum())
    f(mg.ones(4, 3))
    g = f.traces[0].graph()
    ops = [n["op"] for n in g["nodes"] if n["kind"] == "op"]
    tensors = {n["id"]: n for n in g["nodes"] if n["kind"] == "tensor"}
    assert ops == ["linear", "relu", "sum"]
    roles = sorted(n["role"] for n in tensors.values())
    assert roles == ["input", "intermediate", "intermediate", "output", "parameter", "parameter"]
    ids = {n["id"] for n in g["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in g["edges"])
    shapes = {n["role"]: n["shape"] for n in tensors.values() if n["role"] in ("input", "output")}
    assert shapes == {"input": [4, 3], "output": []}


def test_a_retrace_reason_names_the_difference_from_the_closest_trace():
    f = mg.compile(lambda x, factor: x * factor)
    f(mg.ones(2), 2.0)                        # trace 1
    f(mg.ones(5), 2.0)                        # trace 2: x changed
    f(mg.ones(2), 3.0)                        # trace 3: only factor differs from trace 1
    assert "argument 1" in f.traces[2].reason and "argument 0" not in f.traces[2].reason


# ------------------------------------------ correct or refused, against PyTorch eager
# Each function runs eagerly under PyTorch and compiled under minigrad, for several
# calls with new values (the first call traces, the others replay): the results and
# the gradients (random upstream) agree, or both raise.

data = np.random.default_rng(5)


def agree_over_calls(fn, make_inputs, calls=4):
    compiled = mg.compile(lambda *args: fn(mg, *args))
    for call in range(calls):
        arrays = make_inputs(call)
        results = {}
        for T, run in ((torch, lambda *a: fn(torch, *a)), (mg, compiled)):
            args = [T.tensor(a, requires_grad=a.dtype.kind == "f")
                    if isinstance(a, np.ndarray) else a for a in arrays]
            try:
                out = run(*args)
                upstream = np.random.default_rng(call).standard_normal(tuple(out.shape))
                out.backward(T.tensor(upstream, dtype=out.dtype))
                results[T] = (
                    "ok",
                    [out] + [a.grad for a in args if getattr(a, "requires_grad", 0)],
                )
            except RuntimeError as error:
                results[T] = ("raised", error)
        (t_kind, t_value), (m_kind, m_value) = results[torch], results[mg]
        assert t_kind == m_kind, (
            f"call {call}: PyTorch {t_kind} ({t_value}), minigrad {m_kind} ({m_value})"
        )
        if t_kind == "ok":
            assert_same_value(m_value, t_value, f"call {call}")
    return compiled


def vector(call):
    return [data.standard_normal(5).astype(np.float32)]


def iadd_on_a_result(T, x):
    y = x * 2
    y += 1
    return y


def item_set_on_a_result(T, x):
    y = x * 2
    y[0] = 100.0
    y[1:3] *= x[3:5]
    return y


def write_through_a_mask(T, x):
    y = x * 1
    y[y < 0] = 0.0
    return y


def buffer_made_inside(T, x):
    z = T.zeros(5)                 # made by the function: fresh on every call
    z += x
    z[1] = 5.0
    return z * 1


def buffer_made_inside_returned(T, x):
    z = T.zeros(5)
    z[2] = 1.0
    return z + x.detach() * 0      # (x keeps a gradient path in both)


def view_read_after_its_base_changed(T, x):
    y = x * 1
    head = y[:2]
    y[0] = 5.0
    return head * 3


def view_returned_after_its_base_changed(T, x):
    y = x * 1
    head = y[:3]
    y *= 2
    return head


def copy_into_a_new_tensor(T, x):
    y = T.zeros(5)
    y.copy_(x * 3)
    return y


def saved_value_zeroed(T, x):
    e = x.exp()
    s = e.sum()
    e.zero_()
    return s


def index_by_a_tensor_input(T, x, i):
    return x[i] * 2


def index_by_a_tensor_computed_inside(T, x):
    return x[x.argmax()] * x


@pytest.mark.parametrize("fn, make_inputs", [
    (iadd_on_a_result, vector),
    (item_set_on_a_result, vector),
    (write_through_a_mask, vector),
    (buffer_made_inside, vector),
    (buffer_made_inside_returned, vector),
    (view_read_after_its_base_changed, vector),
    (view_returned_after_its_base_changed, vector),
    (copy_into_a_new_tensor, vector),
    (saved_value_zeroed, vector),
    (index_by_a_tensor_input, lambda call: vector(call) + [np.array([call % 5, 4 - call % 5, 0])]),
    (index_by_a_tensor_computed_inside, vector),
], ids=lambda v: getattr(v, "__name__", ""))
def test_a_replay_agrees_with_pytorch_eager(fn, make_inputs):
    compiled = agree_over_calls(fn, make_inputs)
    assert len(compiled.traces) == 1


def test_a_boolean_mask_index_is_refused_with_the_reason():
    f = mg.compile(lambda x: x[x > 0] * 2)
    with pytest.raises(mg.CompileError) as caught:
        f(mg.tensor([1.0, -1.0, 2.0]))
    message = str(caught.value)
    assert "x[mask]" in message and "shape depends on the mask" in message
    assert "minigrad.where" in message and "graph break" in message
    # a mask made from constants inside the function has a fixed shape: allowed
    g = mg.compile(lambda x: x[mg.tensor([True, False, True])] * 2)
    for values in ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]):
        np.testing.assert_array_equal(g(mg.tensor(values)).numpy(), np.array(values)[[0, 2]] * 2)


def test_python_values_are_keyed_by_type():
    f = mg.compile(lambda x, n: x * 2 if type(n) is float else x * 3)
    results = [f(mg.ones(2), n).numpy()[0] for n in (1, 1.0, True, 1, 1.0)]
    assert results == [3.0, 2.0, 3.0, 3.0, 2.0]
    assert len(f.traces) == 3
    assert "Python int 1 -> Python float 1.0" in f.traces[1].reason


def test_in_place_changes_of_inputs_and_captured_tensors_happen_once_per_call():
    for T in (torch, mg):
        counter, seen = T.zeros(3), []

        def count(x):
            counter[0] += 1            # a captured tensor, changed in place
            x.mul_(2)                  # an input, changed in place
            return x + counter

        f = mg.compile(count) if T is mg else count
        for call in range(3):
            x = T.ones(3)
            seen.append((f(x), x.clone()))
        if T is torch:
            expected = [(o.numpy(), x.numpy()) for o, x in seen]
    for (o, x), (eo, ex) in zip(seen, expected):
        np.testing.assert_array_equal(o.numpy(), eo)
        np.testing.assert_array_equal(x.numpy(), ex)
    np.testing.assert_array_equal(counter.numpy(), [3.0, 0.0, 0.0])


def test_a_parameter_updated_under_no_grad_inside_stays_a_parameter():
    def step(T, p, x):
        with T.no_grad():
            p.sub_(0.1)
        return (p * x).sum()

    grads = {}
    for T in (torch, mg):
        p = T.ones(2, requires_grad=True)
        f = mg.compile(lambda x: step(mg, p, x)) if T is mg else (lambda x: step(torch, p, x))
        grads[T] = []
        for call in range(3):
            p.grad = None
            f(T.tensor([1.0, 2.0])).backward()
            grads[T].append((p.grad.numpy().copy(), p.detach().numpy().copy()))
    for (mg_grad, mg_p), (t_grad, t_p) in zip(grads[mg], grads[torch]):
        np.testing.assert_allclose(mg_grad, t_grad)
        np.testing.assert_allclose(mg_p, t_p)


def test_a_new_mode_or_a_replaced_parameter_makes_a_new_trace():
    model = mg.nn.Sequential(mg.nn.Linear(3, 2), mg.nn.Dropout(0.5))
    f = mg.compile(lambda x: model(x))
    x = mg.ones(4, 3)
    f(x), f(x)
    model.eval()                       # dropout off: a trace without it
    np.testing.assert_array_equal(f(x).detach().numpy(), model(x).detach().numpy())
    assert [t.reason for t in f.traces][1] == "Sequential was switched to eval() mode"
    model.train()
    f(x)
    model.eval()
    f(x)
    assert len(f.traces) == 2          # each mode's trace is used again
    model[0].weight = mg.nn.Parameter(mg.zeros(2, 3))
    np.testing.assert_array_equal(f(x).detach().numpy(), np.broadcast_to(
        model[0].bias.detach().numpy(), (4, 2)))
    assert len(f.traces) == 3
    assert f.traces[2].reason == "parameter 'weight' of Linear was replaced by another object"


def test_a_compiled_result_frees_its_graph_after_backward():
    f = mg.compile(lambda x: (x * x).sum())
    x = mg.ones(3, requires_grad=True)
    f(x)
    out = f(x)
    out.backward()
    with pytest.raises(RuntimeError, match="second time"):
        out.backward()
    out = f(x)
    out.backward(retain_graph=True)
    out.backward()                     # kept once: works, and adds up
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0, 6.0])


def test_an_input_changed_before_backward_is_refused_as_in_eager_mode():
    f = mg.compile(lambda x, w: (x * w).sum())
    w = mg.ones(3, requires_grad=True)
    f(mg.ones(3), w)
    x = mg.ones(3)
    out = f(x, w)
    x += 1                             # mul saved x for w's gradient
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_a_differently_laid_out_input_is_traced_again():
    f = mg.compile(lambda x: x.reshape(6) * 1)
    np.testing.assert_array_equal(f(mg.arange(6.0).reshape(2, 3)).numpy(), np.arange(6.0))
    transposed = mg.arange(6.0).reshape(3, 2).T
    np.testing.assert_array_equal(f(transposed).numpy(), np.arange(6.0).reshape(3, 2).T.ravel())
    assert len(f.traces) == 2 and "strides" in f.traces[1].reason


def test_keyword_and_dict_arguments_keep_their_names():
    f = mg.compile(lambda a, b: a - 2 * b)
    g = mg.compile(lambda d: d["x"] - 2 * d["a"])
    for _ in range(2):                 # the trace, then a replay
        assert f(b=mg.tensor([1.0]), a=mg.tensor([10.0])).item() == 8.0
        assert g({"x": mg.tensor([10.0]), "a": mg.tensor([1.0])}).item() == 8.0


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_float_arguments_are_keyed_by_their_bits():
    f = mg.compile(lambda x, s: x / s)
    assert f(mg.ones(1), 0.0).item() == np.inf
    assert f(mg.ones(1), -0.0).item() == -np.inf          # not the trace made with 0.0
    for _ in range(3):
        f(mg.ones(1), float("nan"))
    assert len(f.traces) == 3                              # nan is one key, not a new one


def test_arguments_that_are_the_same_tensor_make_their_own_trace():
    def bump_first(a, b):
        a.add_(1)
        return b * 1

    f = mg.compile(bump_first)
    x = mg.zeros(1)
    f(x, x)
    x, y = mg.zeros(1), mg.tensor([5.0])
    assert f(x, y).item() == 5.0 and x.item() == 1.0 and y.item() == 5.0
    assert "same tensor" in f.traces[-1].reason


def test_gradients_of_two_arguments_are_two_arrays():
    f = mg.compile(lambda a, b: (a + b) * 2)
    a, b = mg.ones(1, requires_grad=True), mg.ones(1, requires_grad=True)
    f(a, b).backward()
    for _ in range(2):
        a.grad = b.grad = None
        f(a, b).backward()
        f(a, b).backward()             # adds into .grad: must not add twice
        assert a.grad.item() == b.grad.item() == 4.0


def changes_an_input_without_a_graph(T, x, w):
    with T.no_grad():
        x.mul_(2)
    return (x * w).sum()


def saves_a_view_of_an_input(T, x, w):
    return (x[1:] * w[1:]).sum()


@pytest.mark.parametrize("fn", [changes_an_input_without_a_graph, saves_a_view_of_an_input])
def test_changing_an_argument_before_backward_is_refused_after_a_replay(fn):
    compiled = mg.compile(lambda x, w: fn(mg, x, w))
    for call in range(3):
        for T, f in ((torch, lambda x, w: fn(torch, x, w)), (mg, compiled)):
            x, w = T.tensor([1.0, 2.0, 3.0]), T.tensor([1.0, 1.0, 1.0], requires_grad=True)
            loss = f(x, w)
            x.add_(1)                  # x is saved: w's gradient needs it
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                loss.backward()


def test_an_optimizer_step_before_backward_is_refused_after_a_replay():
    layer = mg.nn.Linear(3, 2)
    hidden = mg.nn.Linear(2, 1)
    optimizer = mg.optim.SGD(layer.parameters(), lr=0.1)
    f = mg.compile(lambda x: hidden(layer(x).tanh()).sum())
    for call in range(3):
        loss = f(mg.ones(4, 3))
        loss.backward(retain_graph=True)
        optimizer.step()   # the first layer's weight was not saved: its input needs no
        loss.backward()    # gradient, so nothing needs the weight (as in PyTorch)
    second = mg.optim.SGD(hidden.parameters(), lr=0.1)
    loss = f(mg.ones(4, 3))
    second.step()          # the second layer's weight was saved, for the first's gradient
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_changing_an_output_a_step_saved_is_refused_through_any_output():
    f = mg.compile(lambda x: (lambda y: (y, y * y))(x * 1))
    for call in range(3):
        y, square = f(mg.tensor([1.0, 2.0], requires_grad=True))
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            square.sum().backward()


def test_an_output_that_is_an_argument_or_a_view_of_one_stays_that():
    f = mg.compile(lambda x: x)
    g = mg.compile(lambda x: x[0:2])
    x = mg.ones(3, requires_grad=True)
    for call in range(3):
        assert f(x) is x
        head = g(x)
        assert head._base is x and head.grad_fn is not None
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            head += 1


def test_a_recorded_in_place_change_of_an_argument_is_refused():
    def scale(x):
        x.mul_(3)
        return x.sum()

    f = mg.compile(scale)
    with pytest.raises(mg.CompileError, match="new grad_fn"):
        f(mg.ones(2, requires_grad=True) * 1)


@pytest.mark.parametrize("body, words", [
    (lambda x: x * mg.ones(1).requires_grad_(), "requires_grad"),
    (lambda x: x * mg.zeros(1, requires_grad=True), "requires_grad"),
    (lambda x: (x.register_hook(print), x * 2)[1], "register_hook"),
    (lambda x: (lambda y: (y.retain_grad(), y)[1])(x * 2), "retain_grad"),
    (lambda x: (mg.optim.SGD([x], lr=0.1).step(), x * 1)[1], "optimizer step"),
])
def test_what_a_replay_would_not_do_again_is_refused(body, words):
    with pytest.raises(mg.CompileError, match=words):
        mg.compile(body)(mg.ones(2, requires_grad=True))


def test_grad_mode_inside_the_function_decides_what_the_outputs_require():
    @mg.compile
    def f(x):
        with mg.enable_grad():
            return x * 2

    for call in range(3):
        with mg.no_grad():
            assert f(mg.ones(1, requires_grad=True)).requires_grad


def test_a_compiled_function_called_while_another_traces_is_part_of_its_trace():
    inner = mg.compile(lambda x: (x * 2, x + 1))
    inner(mg.ones(1))
    outer = mg.compile(lambda x: inner(x)[0] + inner(x)[1])
    for value in (1.0, 2.0, 3.0):
        assert outer(mg.tensor([value])).item() == 3 * value + 1


def test_a_constant_made_inside_is_fresh_on_every_call_even_through_detach():
    @mg.compile
    def running(x):
        d = mg.zeros(1).detach()
        d.add_(x)
        return d

    assert [running(mg.ones(1)).item() for _ in range(3)] == [1.0, 1.0, 1.0]


def test_cross_entropy_checks_the_targets_of_every_call():
    f = mg.compile(lambda logits, y: F.cross_entropy(logits, y))
    f(mg.zeros(2, 3), mg.tensor([0, 2]))
    f(mg.zeros(2, 3), mg.tensor([1, 2]))
    with pytest.raises(IndexError, match="cross_entropy.*outside the classes 0..2"):
        f(mg.zeros(2, 3), mg.tensor([0, -1]))


def test_named_tuples_go_in_and_come_out():
    f = mg.compile(lambda x: x.max(1))
    for call in range(2):
        result = f(mg.tensor([[1.0, 3.0], [4.0, 2.0]]))
        assert result.values.tolist() == [3.0, 4.0] and result.indices.tolist() == [1, 0]


def test_a_changed_module_setting_makes_a_new_trace():
    dropout = mg.nn.Dropout(0.0)
    f = mg.compile(lambda x: dropout(x))
    f(mg.ones(4)), f(mg.ones(4))
    dropout.p = 1.0
    assert f(mg.ones(4)).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert f.traces[-1].reason == "Dropout.p changed: 0.0 -> 1.0"


def test_reading_a_captured_tensor_as_a_number_warns():
    scale = mg.tensor(2.0)
    with pytest.warns(TracerWarning, match="item"):
        mg.compile(lambda x: x * scale.item())(mg.ones(1))


def test_a_replay_that_saved_nothing_can_be_walked_twice_as_eager_graphs_can():
    f = mg.compile(lambda x, y: (x + y).sum())
    x = mg.ones(2, requires_grad=True)
    f(x, mg.ones(2))
    out = f(x, mg.ones(2))
    out.backward()
    out.backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_an_error_in_a_replay_names_the_operation():
    f = mg.compile(lambda x, i: x[i])
    f(mg.ones(3), mg.tensor([0, 1]))
    with pytest.raises(IndexError, match=r"index \(step 1 of trace 1"):
        f(mg.ones(3), mg.tensor([0, 5]))


def test_a_trace_that_raises_leaves_no_tracer_behind():
    """A function that fails while it is traced raises as it does eagerly, in PyTorch
    too, and the ops that run afterwards are no longer recorded into its trace."""
    from minigrad import autograd

    def broken(x):
        y = x * 2
        return y.reshape(3, 5)  # 2x3 has 6 elements: no such shape

    with pytest.raises(RuntimeError):
        torch.compile(broken, backend="eager")(torch.ones(2, 3))
    with pytest.raises(RuntimeError):
        mg.compile(broken)(mg.ones(2, 3))
    assert not autograd.tracing()
    out = mg.ones(2, 3) * 2  # eager again: nothing records it
    assert out.tolist() == [[2.0] * 3] * 2
