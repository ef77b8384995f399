"""PyTorch's tensor-level autograd API (minigrad/function.py): custom `autograd.Function`s,
`autograd.grad`, `backward(inputs=...)`, `gradcheck`, and the grad-mode decorators.

Each program is written once with PyTorch's names and run under both frameworks
(``mgtest.assert_same_outcome``): the results agree, or both raise the same kind of
error. Inputs are fixed numbers, so the two runs see the same values.
"""
import numpy as np
import pytest

import minigrad as mg
from mgtest import assert_same_outcome

PROGRAMS = {}


def program(fn):
    PROGRAMS[fn.__name__] = fn
    return fn


X = [0.5, -1.25, 2.0, 0.75]
UPSTREAM = [0.3, -1.1, 0.7, 2.2]


def leaf(T, values=X, dtype=None):
    return T.tensor(values, dtype=dtype or T.float64, requires_grad=True)


# ------------------------------------------------------------ custom Functions


def exp_function(T):
    class Exp(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * y
    return Exp


@program
def function_forward_and_backward(T):
    x = leaf(T)
    y = exp_function(T).apply(x)
    y.backward(T.tensor(UPSTREAM, dtype=T.float64))
    return y, x.grad, y.requires_grad, y.is_leaf, type(y.grad_fn).__name__


@program
def function_inside_a_larger_graph(T):
    x, w = leaf(T), leaf(T, [1.5, 0.25, -0.5, 1.0])
    h = exp_function(T).apply(x * w).sin()
    (h * h).sum().backward()
    return x.grad, w.grad


@program
def function_with_a_number_argument_and_setup_context(T):
    class Scale(T.autograd.Function):
        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = inputs[1]

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.k, None

    x = leaf(T)
    Scale.apply(x, 3.0).sum().backward()
    return x.grad


@program
def function_two_outputs_one_used(T):
    class Split(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2, x * x

        @staticmethod
        def backward(ctx, ga, gb):
            x, = ctx.saved_tensors
            return ga * 2 + gb * 2 * x

    x = leaf(T)
    a, b = Split.apply(x)
    b.sum().backward(retain_graph=True)
    first = x.grad.clone()
    (a * b).sum().backward()
    return first, x.grad, a.requires_grad, b.requires_grad


@program
def function_backward_sees_zeros_for_unused_output(T):
    seen = []

    class Two(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x + 1, x - 1

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append(gb)
            return ga + gb

    x = leaf(T)
    Two.apply(x)[0].sum().backward()
    return x.grad, seen[0]


@program
def function_without_materialized_grads_sees_none(T):
    seen = []

    class Two(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x + 1, x - 1

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append(gb is None)
            return ga

    x = leaf(T)
    Two.apply(x)[0].sum().backward()
    return x.grad, seen


@program
def function_non_differentiable_output(T):
    class SortValues(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, order = x.sort()
            ctx.mark_non_differentiable(order)
            ctx.order = order
            return values, order

        @staticmethod
        def backward(ctx, grad_values, grad_order):
            out = T.zeros_like(grad_values)
            out[ctx.order] = grad_values
            return out

    x = leaf(T)
    values, order = SortValues.apply(x)
    (values * T.tensor(UPSTREAM, dtype=T.float64)).sum().backward()
    return values, order, order.requires_grad, x.grad


@program
def function_needs_input_grad(T):
    seen = []

    class Mul(T.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(ctx.needs_input_grad)
            ctx.save_for_backward(a, b)
            return a * b * k

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return (grad * b if ctx.needs_input_grad[0] else None,
                    grad * a if ctx.needs_input_grad[1] else None, None)

    a, b = leaf(T), T.tensor(UPSTREAM, dtype=T.float64)
    Mul.apply(a, b, 2).sum().backward()
    with T.no_grad():
        out = Mul.apply(a, b, 2)
    return a.grad, seen, out.requires_grad


@program
def function_forward_runs_without_grad(T):
    seen = []

    class Probe(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(T.is_grad_enabled())
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            seen.append(T.is_grad_enabled())
            return grad * 2

    x = leaf(T)
    Probe.apply(x).sum().backward()
    return seen, x.grad


@program
def function_on_inputs_without_grad_has_no_node(T):
    y = exp_function(T).apply(T.tensor(X, dtype=T.float64))
    return y, y.requires_grad, y.grad_fn is None


@program
def function_returning_its_input(T):
    class Same(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 3

    x = leaf(T)
    y = Same.apply(x)
    y.sum().backward()
    return y is x, y.is_leaf, x.grad


@program
def function_gradient_broadcast_is_summed(T):
    class Wide(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.expand(3, 4)

    x = leaf(T)
    Wide.apply(x).sum().backward()
    return x.grad


@program
def function_gradient_of_another_dtype_is_cast(T):
    class Cast(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.to(T.float64) * 2

    x = leaf(T, dtype=T.float32)
    Cast.apply(x).sum().backward()
    return x.grad


def returning(T, gradients):
    class Returns(T.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, grad):
            return gradients(T, grad)
    return Returns


@pytest.mark.parametrize("gradients", [
    lambda T, g: g,                        # too few
    lambda T, g: (g, g),                   # a gradient for the number argument
    lambda T, g: (g, None, g),             # too many
    lambda T, g: (g[:2], None),            # wrong shape
    lambda T, g: (T.ones(1, dtype=T.float64), None),     # shape that only broadcasts
    lambda T, g: (g.numpy(), None),        # not a tensor
], ids=["too_few", "number_argument", "too_many", "wrong_shape", "smaller_shape", "array"])
def test_function_backward_returning_wrong_gradients_raises(gradients):
    def run(T):
        x = leaf(T)
        returning(T, gradients).apply(x, 2.0).sum().backward()
        return x.grad
    assert_same_outcome(run)


@program
def function_backward_extra_nones_are_allowed(T):
    x = leaf(T)
    returning(T, lambda T, g: (g, None, None)).apply(x, 2.0).sum().backward()
    return x.grad


@program
def function_saved_output_changed_in_place(T):
    x = leaf(T)
    y = exp_function(T).apply(x)
    with T.no_grad():
        y.add_(1)
    y.sum().backward()
    return x.grad


@program
def function_saved_input_changed_in_place(T):
    class Square(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 2 * x

    w = leaf(T)
    x = w * 1
    y = Square.apply(x)
    x.mul_(2)
    y.sum().backward()
    return w.grad


@program
def function_second_backward_without_retain_graph(T):
    x = leaf(T)
    y = exp_function(T).apply(x).sum()
    y.backward()
    y.backward()
    return x.grad


@program
def function_second_backward_with_retain_graph(T):
    x = leaf(T)
    y = exp_function(T).apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


@program
def function_saving_a_non_tensor_raises(T):
    class Bad(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3.0)
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return grad

    return Bad.apply(leaf(T))


@program
def function_without_backward_raises_at_backward(T):
    class NoBackward(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x = leaf(T)
    NoBackward.apply(x).sum().backward()
    return x.grad


@program
def function_returning_a_one_tuple(T):
    class One(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return (x * 2,)

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = leaf(T)
    y, = One.apply(x)
    y.sum().backward()
    return x.grad


@program
def function_with_a_number_among_its_outputs(T):
    seen = []

    class WithCount(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3, 7

        @staticmethod
        def backward(ctx, grad, grad_count):
            seen.append(grad_count is None)
            return grad * 3

    x = leaf(T)
    y, count = WithCount.apply(x)
    y.sum().backward()
    return x.grad, count, seen


def test_function_grad_fn_is_named_after_the_class():
    Exp = exp_function(mg)
    y = Exp.apply(leaf(mg))
    assert y.grad_fn.name() == "ExpBackward"
    assert type(y.grad_fn).__name__ == "ExpBackward"


def test_function_inside_compile_is_refused():
    Exp = exp_function(mg)
    f = mg.compile(lambda x: Exp.apply(x).sum())
    with pytest.raises(mg.CompileError, match="autograd.Function"):
        f(leaf(mg))


def test_mark_dirty_is_refused_with_a_clear_error():
    class AddOne(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(NotImplementedError, match="in place"):
        AddOne.apply(leaf(mg) * 1)


# ------------------------------------------------------------ autograd.grad


def chain(T):
    x = leaf(T)
    h = x * x
    z = (h * 3).sin().sum()
    return x, h, z


@program
def grad_of_leaf_and_non_leaf(T):
    x, h, z = chain(T)
    gx, gh = T.autograd.grad(z, [x, h])
    return gx, gh, x.grad is None


@program
def grad_leaves_dot_grad_alone(T):
    x, h, z = chain(T)
    x.grad = T.ones(4, dtype=T.float64)
    g, = T.autograd.grad(z, x)
    return g, x.grad


@program
def grad_frees_the_graph(T):
    x, h, z = chain(T)
    T.autograd.grad(z, x)
    return T.autograd.grad(z, x)


@program
def grad_retain_graph(T):
    x, h, z = chain(T)
    first = T.autograd.grad(z, x, retain_graph=True)
    return first, T.autograd.grad(z, x)


@program
def grad_with_grad_outputs(T):
    x, h, z = chain(T)
    return T.autograd.grad(h, x, grad_outputs=T.tensor(UPSTREAM, dtype=T.float64))


@program
def grad_of_non_scalar_without_grad_outputs(T):
    x, h, z = chain(T)
    return T.autograd.grad(h, x)


@program
def grad_grad_outputs_of_wrong_shape(T):
    x, h, z = chain(T)
    return T.autograd.grad(h, x, grad_outputs=T.ones(3, dtype=T.float64))


@program
def grad_of_several_outputs(T):
    x, h, z = chain(T)
    return T.autograd.grad([z, h.sum()], [x])


@program
def grad_unused_input(T):
    x, h, z = chain(T)
    return T.autograd.grad(z, [x, leaf(T)])


@program
def grad_unused_input_allowed(T):
    x, h, z = chain(T)
    return T.autograd.grad(z, [x, leaf(T)], allow_unused=True)


@program
def grad_unused_input_materialized(T):
    x, h, z = chain(T)
    return T.autograd.grad(z, [leaf(T), x], materialize_grads=True)


@program
def grad_input_without_requires_grad(T):
    x, h, z = chain(T)
    return T.autograd.grad(z, T.ones(4))


@program
def grad_output_without_requires_grad(T):
    x = leaf(T)
    return T.autograd.grad(T.ones(4).sum(), x)


@program
def grad_of_a_leaf_with_respect_to_itself(T):
    x = leaf(T)
    return T.autograd.grad(x, x, grad_outputs=T.tensor(UPSTREAM, dtype=T.float64))


@program
def grad_runs_tensor_hooks(T):
    x, h, z = chain(T)
    h.register_hook(lambda g: g * 10)
    return T.autograd.grad(z, x)


@program
def grad_through_in_place_changes(T):
    x = leaf(T)
    y = x * 2
    y[1:3] = x[:2] ** 2
    y += x
    return T.autograd.grad(y.prod(), x)


@program
def grad_does_not_free_nodes_it_did_not_run(T):
    w = leaf(T)
    u = (w * 2).exp()                 # only w needs this node
    x = leaf(T, UPSTREAM)
    z = (u * x).sum()
    gx, = T.autograd.grad(z, x)       # runs mul, not exp
    z.backward()                      # exp's node must still be there
    return gx, w.grad


@program
def backward_into_a_leaf_runs_its_hook_once(T):
    x = leaf(T)
    x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward(inputs=[x])
    return x.grad


@program
def grad_runs_a_leaf_hook_once(T):
    x = leaf(T)
    x.register_hook(lambda g: g * 2)
    return T.autograd.grad((x * 3).sum(), x)


@program
def retained_grad_filled_by_grad_and_by_backward_inputs(T):
    a = leaf(T)
    b = a * 2
    b.retain_grad()
    T.autograd.grad((b * b).sum(), a)
    first = b.grad.clone()
    b.grad = None
    c = a * 2
    c.retain_grad()
    (c * c).sum().backward(inputs=[a])
    return first, c.grad, a.grad


def test_grad_with_create_graph_says_why_it_is_refused():
    x, h, z = chain(mg)
    with pytest.raises(NotImplementedError, match="higher-order"):
        mg.autograd.grad(z, x, create_graph=True)


# ------------------------------------------------------ backward(inputs=...)


@program
def backward_into_chosen_inputs(T):
    x, w = leaf(T), leaf(T, UPSTREAM)
    (x * w).exp().sum().backward(inputs=[w])
    return x.grad is None, w.grad


@program
def backward_into_a_non_leaf_input(T):
    x, h, z = chain(T)
    z.backward(inputs=[h])
    return x.grad is None, h.grad


@program
def backward_with_empty_inputs(T):
    x, h, z = chain(T)
    z.backward(inputs=[])
    return x.grad


@program
def backward_inputs_accumulate(T):
    x, w = leaf(T), leaf(T, UPSTREAM)
    y = (x * w).sum()
    y.backward(inputs=x, retain_graph=True)
    y.backward(inputs=[x, w])
    return x.grad, w.grad


# --------------------------------------------------------------- gradcheck


@program
def gradcheck_accepts_a_right_gradient(T):
    a = leaf(T)
    b = leaf(T, UPSTREAM)
    return T.autograd.gradcheck(lambda a, b: (a * b).sin() + a.exp(), (a, b))


@program
def gradcheck_of_a_custom_function(T):
    return T.autograd.gradcheck(exp_function(T).apply, (leaf(T),))


def wrong_sin(T):
    class WrongSin(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * x.sin()          # should be cos
    return WrongSin


@program
def gradcheck_rejects_a_wrong_gradient(T):
    return T.autograd.gradcheck(wrong_sin(T).apply, (leaf(T),))


@program
def gradcheck_without_raising(T):
    return T.autograd.gradcheck(wrong_sin(T).apply, (leaf(T),), raise_exception=False)


@program
def gradcheck_without_inputs_requiring_grad(T):
    return T.autograd.gradcheck(lambda x: x * 2, (T.ones(3, dtype=T.float64),))


def test_gradcheck_error_is_a_runtime_error_with_both_jacobians():
    with pytest.raises(mg.autograd.GradcheckError) as info:
        mg.autograd.gradcheck(wrong_sin(mg).apply, (leaf(mg),))
    assert isinstance(info.value, RuntimeError)
    assert "numerical" in str(info.value) and "analytical" in str(info.value)


def test_gradcheck_warns_on_float32_like_pytorch():
    with pytest.warns(UserWarning, match="double precision"):
        mg.autograd.gradcheck(lambda x: x * 2, (leaf(mg, dtype=mg.float32),), eps=1e-2, atol=1e-2)


# -------------------------------------------------------------- grad modes


@program
def no_grad_as_decorator_with_and_without_parentheses(T):
    @T.no_grad()
    def f(x):
        return x * 2

    @T.no_grad
    def g(x):
        return x * 2

    x = leaf(T)
    return f(x).requires_grad, g(x).requires_grad, f.__name__


@program
def enable_grad_inside_no_grad(T):
    @T.enable_grad()
    def f(x):
        return x * 2

    x = leaf(T)
    with T.no_grad():
        return f(x).requires_grad, T.is_grad_enabled()


@program
def inference_mode_as_context_and_decorator(T):
    x = leaf(T)
    with T.inference_mode():
        inside = (x * 2).requires_grad, T.is_grad_enabled(), T.is_inference_mode_enabled()
    with T.inference_mode(False):
        off = (x * 2).requires_grad, T.is_inference_mode_enabled()

    @T.inference_mode
    def f(x):
        return x * 2

    @T.inference_mode()
    def g(x):
        return x * 2

    return inside, off, f(x).requires_grad, g(x).requires_grad, T.is_inference_mode_enabled()


@program
def set_grad_enabled_as_function_and_context(T):
    x = leaf(T)
    with T.set_grad_enabled(False):
        a = (x * 2).requires_grad
    T.set_grad_enabled(False)
    b = (x * 2).requires_grad
    T.set_grad_enabled(True)
    return a, b, (x * 2).requires_grad


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_agrees_with_pytorch(name):
    assert_same_outcome(PROGRAMS[name])


def test_program_outputs_are_not_trivially_equal():
    """The comparisons above are between real values: a sample gives non-zero grads."""
    x = leaf(mg)
    exp_function(mg).apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(X), rtol=1e-12)
