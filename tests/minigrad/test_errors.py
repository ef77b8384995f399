"""Error behaviour (minigrad/errors.py and friends): exception types and informative
messages. Messages are checked for content (op name, both shapes as Python tuples),
never for exact wording."""

import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as MF
from mgtest import message_has_shape

OP_WORDS = {
    "add": ("add",),
    "sub": ("sub",),  # also matches "subtract"
    "mul": ("mul",),  # also matches "multiply"
    "div": ("div",),  # also matches "divide"
    "pow": ("pow",),
    "maximum": ("maximum", "max"),
    "where": ("where",),
    "matmul": ("matmul",),
    "cat": ("cat",),  # also matches "concatenate"
    "stack": ("stack",),
    "reshape": ("reshape", "view"),
    "view": ("view", "reshape"),
}


def assert_informative(excinfo, op, *shapes):
    msg = str(excinfo.value)
    low = msg.lower()
    assert any(w in low for w in OP_WORDS[op]), f"message does not name the op {op!r}: {msg!r}"
    for s in shapes:
        assert message_has_shape(msg, s), f"message does not contain shape {tuple(s)}: {msg!r}"


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": lambda a, b: mg.maximum(a, b),
}


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("sa,sb", [((2, 3), (4,)), ((2, 3), (3, 2)), ((5,), (2, 4))], ids=str)
def test_broadcast_mismatch(op, sa, sb):
    a = mg.ones(*sa, requires_grad=True)
    b = mg.ones(*sb)
    with pytest.raises(RuntimeError) as ei:
        BINARY[op](a, b)
    assert_informative(ei, op, sa, sb)


def test_where_mismatch():
    cond = mg.ones(2, 3) > 0
    with pytest.raises(RuntimeError) as ei:
        mg.where(cond, mg.ones(4), mg.ones(2, 3))
    assert_informative(ei, "where", (4,))


@pytest.mark.parametrize(
    "sa,sb", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3, 4), (5, 6)), ((2, 3, 4), (3, 4, 5))], ids=str
)
def test_matmul_mismatch(sa, sb):
    with pytest.raises(RuntimeError) as ei:
        mg.ones(*sa) @ mg.ones(*sb)
    assert_informative(ei, "matmul", sa, sb)


def test_matmul_method_mismatch():
    with pytest.raises(RuntimeError) as ei:
        mg.ones(2, 3).matmul(mg.ones(2, 3))
    assert_informative(ei, "matmul", (2, 3))


def test_matmul_0d_operand():
    with pytest.raises(RuntimeError):
        mg.tensor(1.0) @ mg.ones(3)


def test_cat_mismatch():
    with pytest.raises(RuntimeError) as ei:
        mg.cat([mg.ones(2, 3), mg.ones(2, 4)], dim=0)
    assert_informative(ei, "cat", (2, 3), (2, 4))


def test_stack_mismatch():
    with pytest.raises(RuntimeError) as ei:
        mg.stack([mg.ones(2, 3), mg.ones(3, 2)])
    assert_informative(ei, "stack", (2, 3), (3, 2))


@pytest.mark.parametrize("method", ["reshape", "view"])
def test_reshape_mismatch(method):
    with pytest.raises(RuntimeError) as ei:
        getattr(mg.ones(2, 3), method)(4)
    assert_informative(ei, method, (2, 3))
    assert "4" in str(ei.value)


def test_errors_are_runtime_error_subclasses_with_grad_inputs():
    a = mg.ones(2, 3, requires_grad=True)
    b = mg.ones(4, requires_grad=True)
    with pytest.raises(RuntimeError) as ei:
        (a * 2) + (b * 2)
    assert_informative(ei, "add", (2, 3), (4,))


def test_linear_layer_wrong_in_features():
    layer = mg.nn.Linear(3, 4)
    with pytest.raises(RuntimeError) as ei:
        layer(mg.ones(2, 5))
    assert message_has_shape(str(ei.value), (2, 5)), str(ei.value)


def test_conv2d_channel_mismatch():
    with pytest.raises(RuntimeError):
        MF.conv2d(mg.ones(1, 3, 5, 5), mg.ones(2, 2, 3, 3))


def test_cross_entropy_batch_mismatch():
    with pytest.raises(RuntimeError):
        MF.cross_entropy(mg.ones(4, 3), mg.tensor([0, 1]))


def test_mse_loss_shape_mismatch_raises_or_matches_torch():
    # torch broadcasts with a warning; a mismatch that cannot broadcast must raise
    with pytest.raises(RuntimeError):
        MF.mse_loss(mg.ones(2, 3), mg.ones(4))


# ------------------------------------------------------------------ autograd errors
def test_backward_non_scalar_without_gradient():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=re.compile("scalar", re.I)):
        (x * 2).backward()


def test_backward_freed_graph_mentions_retain_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.sum().backward()


def test_backward_freed_graph_deeper():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = (x.exp() * x).tanh()
    s = h.sum()
    s.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        s.backward()


def test_backward_on_tensor_without_grad():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError):
        (x * 2).sum().backward()


@pytest.mark.parametrize(
    "make",
    [
        lambda: mg.tensor([1, 2], requires_grad=True),
        lambda: mg.tensor(3, requires_grad=True),
        lambda: mg.zeros(2, dtype=mg.int64, requires_grad=True),
        lambda: mg.tensor(np.array([1, 2], dtype=np.int64), requires_grad=True),
    ],
    ids=["list", "scalar", "zeros", "numpy"],
)
def test_requires_grad_on_int_tensor(make):
    with pytest.raises(RuntimeError, match=re.compile("floating", re.I)):
        make()


def test_index_out_of_range():
    with pytest.raises(IndexError):
        mg.ones(3)[5]


def test_backward_gradient_shape_mismatch():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        (x * 2).backward(mg.ones(2))


def test_where_mismatch_names_all_shapes():
    with pytest.raises(RuntimeError) as ei:
        mg.where(mg.ones(2, 3) > 0, mg.ones(4), mg.ones(2, 3))
    assert_informative(ei, "where", (4,), (2, 3))


@pytest.mark.parametrize(
    "expr",
    [
        "x.sum(dim=5)", "x.mean(dim=-4)", "x.amax(dim=3)", "x.softmax(5)", "x.log_softmax(-3)",
        "x.transpose(0, 5)", "x.unsqueeze(5)", "x.unsqueeze(-5)", "x.squeeze(4)", "x.flatten(3)",
        "T.cat([x, x], dim=2)", "T.stack([x, x], dim=4)", "x.argmax(dim=2)",
    ],
)
def test_dim_out_of_range_raises_index_error_like_torch(expr):
    import torch

    for T in (torch, mg):
        x = T.ones(2, 3)
        with pytest.raises(IndexError):
            eval(expr, {"x": x, "T": T})


def test_create_graph_is_refused_with_the_reason():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="NumPy arrays"):
        (x ** 3).sum().backward(create_graph=True)
    assert x.grad is None                    # nothing was half-done
