"""In-place operations, views and version counters, run under PyTorch and minigrad.

Every program here is written once with PyTorch's names and run twice, with ``T`` being
``torch`` and then ``minigrad`` (see ``mgtest.assert_same_outcome``): the two runs
return the same values and gradients, or both raise the same kind of error. The
programs are the in-place habits PyTorch code is full of, and the mistakes PyTorch
catches with its version counters.
"""
import numpy as np
import pytest

import minigrad as mg
from mgtest import assert_same_outcome, compare

rng = np.random.default_rng(12)
A = rng.standard_normal((3, 4)).astype(np.float32)
B = rng.standard_normal((3, 4)).astype(np.float32)
V = rng.standard_normal(4).astype(np.float32)
POSITIVE = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
SQUARE = (0.5 * rng.standard_normal((4, 4))).astype(np.float32)
IMAGE = rng.standard_normal((1, 1, 5, 5)).astype(np.float32)
KERNEL = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)

PROGRAMS = {}

# PyTorch 2.13 warns that it will read x[[[0, 1]]] differently one day; it still reads
# it as x[[0, 1]], and so does minigrad
pytestmark = pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")


def program(fn):
    PROGRAMS[fn.__name__] = fn
    return fn


def leaf(T, array):
    return T.tensor(array, requires_grad=True)


# ----------------------------------------------------- version counters catch mistakes


@program
def saved_input_changed_by_iadd(T):
    w, x = leaf(T, V), T.ones(4)
    y = (w * x).sum()          # mul saved x for w's gradient
    x += 10
    y.backward()
    return w.grad


@program
def unsaved_input_changed_is_fine(T):
    w, x = leaf(T, V), T.ones(4)
    y = (w + x).sum()          # add saves nothing
    x += 10
    y.backward()
    return w.grad


@program
def weight_changed_under_no_grad_when_saved(T):
    w, x = leaf(T, V), leaf(T, V * 2)
    y = (w * x).sum()          # both saved: each is the other's gradient
    with T.no_grad():
        w -= 1
    y.backward()
    return w.grad


@program
def weight_changed_under_no_grad_when_not_saved(T):
    w, x = leaf(T, V), T.ones(4)
    y = (w * x).sum()          # only x saved: changing w is harmless, as in PyTorch
    with T.no_grad():
        w -= 1
    y.backward()
    return w.grad


@program
def square_then_weight_changed(T):
    w = leaf(T, V)
    y = (w * w).sum()
    with T.no_grad():
        w.sub_(1)
    y.backward()


@program
def detached_alias_changed(T):
    w = leaf(T, V)
    y = (w ** 2).sum()
    w.detach().add_(1)         # shares memory and the version counter with w
    y.backward()


@program
def saved_output_zeroed(T):
    w = leaf(T, V)
    e = w.exp()                # exp saved its output
    y = e.sum()
    e.zero_()
    y.backward()


@program
def saved_output_changed_through_detach(T):
    e = leaf(T, V).exp()
    y = (e * 2).sum()
    e.detach().zero_()
    y.backward()


@program
def relu_output_changed(T):
    h = leaf(T, A).relu()
    loss = h.sum()
    h[0, 0] = 5.0
    loss.backward()


@program
def matmul_operand_changed(T):
    a, b = leaf(T, A), T.tensor(B.T.copy())
    y = (a @ b).sum()
    b.mul_(2)                  # b is saved: a's gradient needs it
    y.backward()


@program
def matmul_operand_not_saved(T):
    a, b = leaf(T, A), T.tensor(B.T.copy())
    y = (a @ b).sum()
    a.detach().mul_(2)         # a is not saved when b needs no gradient
    y.backward()
    return a.grad


@program
def index_tensor_changed(T):
    x, i = leaf(T, V), T.tensor([0, 2, 2])
    y = (x[i] * T.tensor([1.0, 2.0, 3.0])).sum()
    i[0] = 3                   # the index is saved for backward
    y.backward()


@program
def cross_entropy_logits_changed_is_fine(T):
    x = leaf(T, A)
    logits = x * 1
    loss = T.nn.functional.cross_entropy(logits, T.tensor([0, 3, 1]))
    with T.no_grad():
        logits += 1            # PyTorch saves log-probabilities, not the logits
    loss.backward()
    return [loss, x.grad]


@program
def mse_target_changed(T):
    x, target = leaf(T, A), T.tensor(B)
    loss = T.nn.functional.mse_loss(x, target)
    target.zero_()
    loss.backward()


@program
def conv_input_changed(T):
    x, k = leaf(T, IMAGE) * 1, leaf(T, KERNEL)
    y = T.nn.functional.conv2d(x, k, padding=1).sum()
    with T.no_grad():
        x.add_(1)
    y.backward()


@program
def second_backward_after_optimizer_step_linear(T):
    T.manual_seed(0)
    model = T.nn.Linear(3, 1)
    with T.no_grad():
        model.weight.copy_(T.tensor([[0.1, 0.2, 0.3]]))
        model.bias.fill_(0.5)
    optimizer = T.optim.SGD(model.parameters(), lr=0.1)
    X = T.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3))
    loss = (model(X) ** 2).mean()
    loss.backward(retain_graph=True)
    first = model.weight.grad.clone()
    optimizer.step()
    optimizer.zero_grad()
    loss.backward()            # the recorded graph never saved the weight
    return [first, model.weight.grad, model.weight]


@program
def second_backward_after_optimizer_step_mlp(T):
    model = T.nn.Sequential(T.nn.Linear(3, 4), T.nn.Tanh(), T.nn.Linear(4, 1))
    optimizer = T.optim.SGD(model.parameters(), lr=0.1)
    loss = (model(T.ones(4, 3)) ** 2).mean()
    loss.backward(retain_graph=True)
    optimizer.step()           # the second layer's weight was saved
    loss.backward()


@program
def second_backward_after_adam_step(T):
    w = leaf(T, V)
    optimizer = T.optim.Adam([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    optimizer.step()
    loss.backward()


@program
def version_numbers(T):
    x = T.zeros(4)
    versions = [x._version]
    x += 1
    versions.append(x._version)
    x[0] = 2.0
    versions.append(x._version)
    x.add_(1).mul_(2)
    view = x[1:]
    view.mul_(2)
    versions += [x._version, view._version]
    x.detach().zero_()
    versions.append(x._version)
    x.copy_(T.ones(4))
    x.fill_(3.0)
    versions.append(x._version)
    return [versions, x]


@program
def views_share_the_counter(T):
    x = T.ones(2, 3)
    t = x.T
    t.add_(1)
    r = x.view(3, 2)
    r[0, 0] = 7.0
    flat = x.reshape(6)        # contiguous: a view
    flat[-1] = -1.0
    return [x, x._version, t._version, r._version, flat._version]


# ------------------------------------------------------- leaf and view rules


@program
def leaf_requiring_grad_changed_in_place(T):
    x = leaf(T, V)
    x += 1


@program
def leaf_requiring_grad_item_set(T):
    x = leaf(T, V)
    x[0] = 1.0


@program
def view_of_leaf_changed_in_place(T):
    x = leaf(T, A)
    x[0].mul_(2)


@program
def leaf_changed_under_no_grad_stays_a_leaf(T):
    x = leaf(T, V)
    with T.no_grad():
        x *= 2
        x[0] = 5.0
    (x * x).sum().backward()
    return [x.grad, x.is_leaf, x.requires_grad]


@program
def view_made_in_no_grad_changed_with_grad(T):
    y = leaf(T, V) * 1
    with T.no_grad():
        v = y[:2]
    v += 1


# ------------------------------------------------- in-place ops record the graph


@program
def iadd_on_a_result(T):
    x = leaf(T, V)
    y = x * 2
    y += 1
    (y * y).sum().backward()
    return [y, x.grad, y.requires_grad, y.is_leaf]


@program
def earlier_users_keep_the_old_value(T):
    x = leaf(T, V)
    y = x + 0
    z = y + 3                  # uses y before the change
    y *= 2
    (z * z + y).sum().backward()
    return x.grad


@program
def imul_by_another_tensor(T):
    x = leaf(T, V)
    y = x * 1
    y *= x
    y.sum().backward()
    return x.grad


@program
def imul_by_itself(T):
    x = leaf(T, V)
    y = x * 1
    y.mul_(y)                  # the second operand was saved, then overwritten
    y.sum().backward()


@program
def exp_in_place(T):
    x = leaf(T, V)
    y = x * 1
    y.exp_()
    (y * y).sum().backward()
    return x.grad


@program
def exp_in_place_then_changed(T):
    x = leaf(T, V)
    y = x * 1
    y.exp_()                   # exp saves its output, which is y
    y.add_(1)
    y.sum().backward()


@program
def set_item_from_a_leaf(T):
    w = T.tensor([1.0, 2.0], requires_grad=True)
    x = T.zeros(2)
    x[0] = w[0]
    loss = (x * T.tensor([5.0, 1.0])).sum() + w.sum()
    loss.backward()
    return [w.grad, x.requires_grad, x.is_leaf]


@program
def copy_into_a_plain_tensor(T):
    w = leaf(T, V)
    x = T.zeros(4)
    x.copy_(w * 3)
    (x * x).sum().backward()
    return [x.requires_grad, x.is_leaf, w.grad]


@program
def copy_broadcasts_and_casts(T):
    w = T.tensor(V.astype(np.float64), requires_grad=True)
    x = T.zeros(3, 4)
    x.copy_(w)
    (x * T.tensor(A)).sum().backward()
    return [x, w.grad]


@program
def copy_over_a_result_gives_it_a_zero_gradient(T):
    x = leaf(T, V)
    y = x * 2
    y.copy_(T.ones(4))
    y.sum().backward()
    return [x.grad, y]


@program
def zero_and_fill(T):
    x, v = leaf(T, V), T.tensor(3.0, requires_grad=True)
    y, z = x * 2, x * 3
    y.zero_()
    z.fill_(v)
    (y + z * z).sum().backward()
    return [x.grad, v.grad, y, z]


@program
def fill_needs_a_zero_dim_value(T):
    T.zeros(3).fill_(T.ones(2))


@program
def write_through_a_row_view(T):
    x = leaf(T, A)
    y = x * 1
    row = y[0]
    row *= 3
    (y * y).sum().backward()
    return [x.grad, y, row]


@program
def view_used_after_its_base_changed(T):
    x = leaf(T, A)
    y = x * 1
    row = y[0]
    y *= 2                     # row's grad_fn is made again from the new y
    (row * row).sum().backward()
    return x.grad


@program
def column_multiplied_in_place(T):
    x = leaf(T, A)
    y = x * 1
    y[:, 0] *= 3
    (y * y).sum().backward()
    return x.grad


@program
def view_of_a_view(T):
    x = leaf(T, A)
    y = x * 1
    corner = y.T[1:3][:, 0]    # permute, slice, select
    corner.add_(T.tensor([10.0, 20.0]))
    (y * y).sum().backward()
    return [y, x.grad]


@program
def reshaped_view_written(T):
    x = leaf(T, A)
    y = x * 1
    flat = y.view(12)
    flat[3:6] = T.tensor([1.0, 2.0, 3.0], requires_grad=True) * 2
    (y * y).sum().backward()
    return [y, x.grad]


@program
def write_by_index_tensor_with_repeats(T):
    x = T.zeros(3)
    w = T.tensor([1.0, 2.0], requires_grad=True)
    x[T.tensor([0, 0])] = w    # the last write wins, each source gets the gradient
    (x * T.tensor([1.0, 2.0, 3.0])).sum().backward()
    return [x, w.grad]


@program
def write_through_a_mask(T):
    x = leaf(T, np.array([1.0, -2.0, 3.0, -0.5], np.float32))
    y = x * 1
    y[y < 0] = 0.0
    (y * y).sum().backward()
    return [y, x.grad]


@program
def write_tensor_values_through_a_mask(T):
    x = leaf(T, np.array([1.0, -2.0, 3.0], np.float32))
    w = T.tensor([5.0, 6.0], requires_grad=True)
    y = x * 1
    y[y > 0] = w
    (y * y).sum().backward()
    return [y, x.grad, w.grad]


@program
def write_a_float64_value_into_float32(T):
    x = T.arange(6.0).reshape(2, 3)
    w = T.tensor([7.0, 8.0], dtype=T.float64, requires_grad=True)
    x[:, 0] = w
    (x * x).sum().backward()
    return [x, w.grad]


@program
def running_sum_built_in_place(T):
    xs = leaf(T, A)
    total = T.zeros(4)
    for row in xs:
        total += row * row
    total.sum().backward()
    return [total, xs.grad]


@program
def rnn_outputs_written_into_a_buffer(T):
    xs, w = leaf(T, A), leaf(T, SQUARE)
    h, outputs = T.zeros(4), T.zeros(3, 4)
    for t in range(3):
        h = (xs[t] + h @ w).tanh()
        outputs[t] = h
    outputs.sum().backward()
    return [outputs, xs.grad, w.grad]


@program
def in_place_math_methods(T):
    x = leaf(T, POSITIVE)
    y = x * 1
    y.sqrt_().log_().neg_().abs_().tanh_().sigmoid_().relu_().clamp_(0.2, 0.6)
    y.pow_(2).div_(2).sub_(0.1, alpha=2).add_(x, alpha=0.5)
    (y * T.tensor(A)).sum().backward()
    return [y, x.grad]


# ------------------------------------------------- dtypes, shapes and views


@program
def integer_iadd_float(T):
    x = T.ones(3, dtype=T.int64)
    x += 1.5


@program
def integer_idiv(T):
    x = T.ones(3, dtype=T.int64)
    x /= 2


@program
def float32_iadd_float64_keeps_float32(T):
    x = T.ones(3)
    x += T.tensor([0.5, 1.5, 2.5], dtype=T.float64)
    return x


@program
def iadd_cannot_grow_the_tensor(T):
    x = T.ones(3)
    x += T.ones(2, 3)


@program
def iadd_cannot_grow_a_result_either(T):
    x = leaf(T, V) * 1
    x += T.ones(2, 4)


@program
def view_of_a_transpose_refuses(T):
    return T.arange(6.0).reshape(2, 3).T.view(6)


@program
def reshape_of_a_transpose_copies(T):
    x = T.arange(6.0).reshape(2, 3)
    flat = x.T.reshape(6)
    flat[0] = 100.0            # a copy: x does not change
    return [x, flat]


@program
def view_of_elementwise_result_on_a_transpose(T):
    # elementwise ops keep the input's layout in both: this is not a view either
    return (T.ones(2, 3).T + 1).view(6)


@program
def zero_dim_views_and_copies(T):
    x = T.arange(6.0).reshape(2, 3)
    one = x[0, 1]
    one += 100                 # a 0-d view
    row = x[T.tensor(1)]
    row += 1                   # a one-number index tensor selects: a view
    rows = x[[1]]
    rows += 1000               # a list of indices: a copy
    return x


@program
def slices_and_transposes_are_views(T):
    x = T.zeros(3, 4)
    x[1:, ::2].add_(1)
    x.T[0].add_(5)
    x.permute(1, 0)[-1, -1] = 9.0
    x.unsqueeze(0).squeeze(0)[2].mul_(2)
    return x


# ------------------------------------------------------------- more edges


@program
def parameter_shares_memory_and_counter(T):
    x = T.tensor(A)
    p = T.nn.Parameter(x)
    loss = (p * p).sum()  # noqa: F841  (the graph, which saved p, stays alive)
    x.add_(1)
    return [p, p._version]


@program
def parameter_of_a_changed_tensor_refuses_backward(T):
    x = T.tensor(A)
    p = T.nn.Parameter(x)
    loss = (p * p).sum()
    x.add_(1)
    loss.backward()


@program
def retain_grad_follows_an_in_place_change(T):
    x = leaf(T, V)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    y.backward(T.tensor(V * 0 + 1))
    return [y.grad, y.retains_grad, x.grad]


@program
def a_view_keeps_the_row_its_index_tensor_named(T):
    x, i = T.zeros(3, 2), T.tensor(1)
    row = x[i]
    i.fill_(2)
    row.add_(5)
    return x


@program
def index_tensor_read_as_a_number_is_not_saved(T):
    x, i = leaf(T, A), T.tensor(1)
    y = (x[i] * 2).sum()
    i.add_(1)
    y.backward()
    return x.grad


@program
def promoted_operand_changed(T):
    x, k = leaf(T, V), T.tensor([1, 2, 3, 4])
    y = (x * k).sum()          # k is saved (converted to float32 for the product)
    k.add_(10)
    y.backward()


@program
def promoted_result_stored_in_place_then_changed(T):
    y = leaf(T, POSITIVE) * 1
    y.pow_(T.tensor(POSITIVE, dtype=T.float64))   # float64 result stored as float32
    y.add_(1)
    y.sum().backward()


@program
def partly_overlapping_iadd(T):
    x = T.arange(6.0)
    x[1:] += x[:-1]


@program
def copy_from_own_transpose(T):
    x = T.arange(4.0).reshape(2, 2)
    x.copy_(x.T)


@program
def partly_overlapping_item_set(T):
    x = T.arange(6.0)
    x[1:] = x[:-1]


@program
def interleaved_halves_do_not_overlap(T):
    x = T.arange(6.0)
    x[::2].add_(x[1::2])
    x.mul_(x)                  # the whole tensor with itself is fine too
    return x


@program
def write_through_an_index_tensor_needs_the_same_dtype(T):
    x = T.zeros(4)
    x[T.tensor([0, 1])] = T.tensor([1, 2])


@program
def write_through_a_mask_needs_the_same_dtype(T):
    x = T.zeros(4)
    x[T.tensor([True, False, True, False])] = T.tensor([1.0, 2.0], dtype=T.float64)


@program
def write_into_a_slice_converts_the_dtype(T):
    x = T.zeros(4)
    x[1:3] = T.tensor([1, 2])
    return x


@program
def view_made_in_no_grad_multiplied_by_a_tensor_with_grad(T):
    x, w = T.zeros(3), leaf(T, V[:3])
    with T.no_grad():
        v = x[0:2]
    v.mul_(w[:2])


@program
def view_made_in_no_grad_used_after_its_base_changed(T):
    x, w = T.zeros(3), leaf(T, V[:3])
    with T.no_grad():
        v = x[0:2]
    x.add_(w)
    (v * 2).sum().backward()


@program
def view_made_in_no_grad_changed_without_graph(T):
    x = T.zeros(3)
    with T.no_grad():
        v = x[0:2]
    v.add_(2)
    return x


@program
def iterated_rows_changed_in_place_with_a_graph(T):
    y = leaf(T, A) * 1
    for row in y:
        row.mul_(2)


@program
def iterated_rows_changed_in_place_without_a_graph(T):
    y = T.tensor(A)
    for row in y:
        row.mul_(2)
    return y


@program
def flatten_with_nothing_to_merge_is_the_tensor(T):
    x, m = leaf(T, V), leaf(T, A)
    return [x.flatten() is x, m.flatten(1, 1) is m, m.flatten(0, 1).shape, x.flatten().is_leaf]


@program
def zero_grad_without_none_zeroes_in_place(T):
    x = leaf(T, V)
    (x * 2).sum().backward()
    g = x.grad
    T.optim.SGD([x], lr=0.1).zero_grad(set_to_none=False)
    return [g is x.grad, g, g._version]


@program
def gradients_accumulate_in_place(T):
    x = leaf(T, V)
    (x * 2).sum().backward()
    first = x.grad._version
    (x * 3).sum().backward()
    return [first, x.grad._version, x.grad]


@program
def layers_are_initialised_in_place(T):
    layer, conv = T.nn.Linear(3, 2), T.nn.Conv2d(1, 2, 3)
    return [layer.weight._version, layer.bias._version, conv.weight._version]


@program
def hook_doubling_in_place(T):
    x = leaf(T, V)
    x.register_hook(lambda g: g.mul_(2))
    x.mean().backward()
    return x.grad


@program
def hook_changing_its_gradient_keeps_it_to_itself(T):
    x, b = leaf(T, V), leaf(T, V)
    h = x * 1
    h.register_hook(lambda g: g.mul_(2))
    (h + b).backward(T.tensor([1.0, 2.0, 3.0, 4.0]))
    return [x.grad, b.grad]


@program
def a_list_holding_a_sequence_indexes_like_a_tuple(T):
    x = T.arange(8.0).reshape(2, 4)
    picked = x[[[0, 1]]]
    y = T.zeros(3, 3)
    y[[[0, 1], [1, 2]]] = 1.0
    return [picked, y, x[[T.tensor(0), T.tensor(1)]]]


@program
def negative_slice_step(T):
    return T.arange(4.0)[::-1]


@program
def subtracting_bools(T):
    return T.ones(2) - True


@program
def subtracting_a_bool_tensor_in_place(T):
    x = T.ones(2)
    x -= T.tensor([True, False])


@program
def subtracting_bool_tensors(T):
    mask = T.tensor([True, False])
    return mask - mask


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_program_agrees_with_pytorch(name):
    assert_same_outcome(PROGRAMS[name])


def test_the_version_error_names_the_operation_and_what_changed():
    w, x = mg.tensor(V, requires_grad=True), mg.ones(4)
    y = (w * x).sum()
    x += 10
    with pytest.raises(RuntimeError) as caught:
        y.backward()
    message = str(caught.value)
    assert message.startswith("one of the variables needed for gradient computation has "
                              "been modified by an inplace operation")
    assert "MulBackward saved its input 1" in message and "(4,)" in message
    assert "at version 0" in message and "now at version 1" in message


def test_in_place_dtype_errors_name_the_result_type():
    x = mg.ones(3, dtype=mg.int64)
    with pytest.raises(RuntimeError, match="result type float32 can't be cast to the "
                                           "desired output type int64"):
        x /= 2                         # PyTorch: "result type Float can't be cast to ... Long"
    with pytest.raises(RuntimeError, match="result type float32 can't be cast"):
        x += mg.ones(3)


def test_a_saved_output_is_named_as_the_output():
    e = mg.tensor(V, requires_grad=True).exp()
    y = e.sum()
    e.zero_()
    with pytest.raises(RuntimeError, match="ExpBackward saved its output"):
        y.backward()


def test_a_view_and_its_base_share_the_base_and_counter():
    x = mg.zeros(2, 3)
    v = x.T[0]
    assert v._base is x and x._base is None
    v.add_(1)
    assert x._version == v._version == 1
    d = x.detach()
    assert d._base is None and d._version == 1        # shares the counter, is no view


def test_the_graph_export_shows_both_versions_of_a_tensor_changed_in_place():
    x = mg.tensor(V, requires_grad=True)
    y = x + 0
    z = y + 3
    y *= 2
    graph = mg.graph((z * y).sum())
    labels = [n["label"] for n in graph["nodes"] if n["kind"] == "tensor"]
    assert labels.count("(before an in-place change)") == 1
    ops = sorted(n["op"] for n in graph["nodes"] if n["kind"] == "op")
    assert ops == ["add", "add", "mul", "mul", "sum"]


# ------------------------------------------- gradients of in-place paths, compared
# With mgtest.compare: float64 and float32, random upstream gradients and .sum().


def iadd(T, x, w):
    y = x * 1
    y += w
    return y


def isub_broadcast(T, x, v):
    y = x * 1
    y -= v
    return y


def imul(T, x, w):
    y = x * 1
    y *= w
    return y


def idiv(T, x, p):
    y = x * 1
    y /= p
    return y


def pow_(T, p):
    return (p * 1).pow_(3)


def exp_(T, x):
    return (x * 1).exp_()


def clamp_(T, x):
    return (x * 1).clamp_(-0.5, 0.5)


def copy_(T, x, v):
    return (x * 1).copy_(v * 2)


def set_a_row(T, x, v):
    y = x * 1
    y[1] = v * v
    return y


def set_a_column(T, x, w):
    y = x * 1
    y[:, 2] = w[:, 0]
    return y


def set_by_index_tensor(T, x, w):
    y = x * 1
    y[T.tensor([2, 0])] = w[:2]
    return y


def imul_a_view(T, x, v):
    y = x * 1
    tail = y[1:]
    tail *= v
    return y


def iadd_a_transposed_view(T, x, w):
    y = x * 1
    corner = y.T[2:]
    corner += w.T[2:]
    return y


IN_PLACE_FUNCTIONS = {
    iadd: [A, B], isub_broadcast: [A, V], imul: [A, B], idiv: [A, POSITIVE],
    pow_: [POSITIVE], exp_: [A], clamp_: [A], copy_: [A, V], set_a_row: [A, V],
    set_a_column: [A, B], set_by_index_tensor: [A, B], imul_a_view: [A, V],
    iadd_a_transposed_view: [A, B],
}


@pytest.mark.parametrize("fn", list(IN_PLACE_FUNCTIONS), ids=lambda fn: fn.__name__)
def test_gradients_of_in_place_paths_match_pytorch(fn):
    compare(fn, *IN_PLACE_FUNCTIONS[fn])
