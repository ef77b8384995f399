"""The Stepper replays exactly what ran, with the values it ran with."""
import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
from static_copies import pictures_in
from widgets import Stepper


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    x, w = mg.tensor(X), mg.tensor(W, requires_grad=True)
    return X, W, x, w, Stepper(lambda: (x @ w).tanh().sum())


def test_steps_are_the_forward_ops_then_the_backward_ops_in_reverse(tiny):
    *_, stepper = tiny
    assert [(s.phase, s.op) for s in stepper.steps] == [
        ("forward", "matmul"), ("forward", "tanh"), ("forward", "sum"),
        ("backward", "sum"), ("backward", "tanh"), ("backward", "matmul")]
    assert all(s.node_id for s in stepper.steps)
    assert stepper.steps[1].node_id == stepper.steps[4].node_id       # tanh, both ways


def test_the_values_shown_are_the_values_computed(tiny):
    X, W, _, w, stepper = tiny
    tanh = dict(stepper.run_to("tanh").values)
    np.testing.assert_allclose(tanh["input 0"]["data"], X @ W, rtol=1e-6)
    np.testing.assert_allclose(tanh["output"]["data"], np.tanh(X @ W), rtol=1e-6)
    back = dict(stepper.run_to_end().values)
    expected_dw = X.T @ (1 - np.tanh(X @ W) ** 2)
    np.testing.assert_allclose(back["gradient to input 1"]["data"], expected_dw, rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), expected_dw, rtol=1e-6)


def test_navigation_moves_the_highlight_and_stays_in_range(tiny):
    *_, stepper = tiny
    first = stepper.view.highlight
    assert stepper.back().op == "matmul" and stepper.position == 0
    stepper.next()
    assert stepper.view.highlight != first and stepper.position == 1
    stepper.run_to_end()
    assert stepper.next() is stepper.steps[-1]
    with pytest.raises(IndexError):
        stepper.run_to(99)
    assert stepper.status() == "step 6 of 6: backward matmul"


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_break_on_nan_stops_at_the_op_that_made_it_and_names_the_input():
    v = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    stepper = Stepper(lambda: ((v * 2).exp() * 0 + v).log().sum())
    step = stepper.continue_()
    assert (step.phase, step.op) == ("forward", "log")
    assert "index (1,)" in step.nonfinite and "input 0 is -2" in step.nonfinite
    earlier = stepper.steps[:stepper.position]
    assert all(s.nonfinite is None for s in earlier)


def test_breakpoints_stop_on_op_names_and_the_end_otherwise(tiny):
    *_, stepper = tiny
    stepper.breakpoints = {"sum"}
    assert stepper.continue_().op == "sum" and stepper.position == 2
    assert stepper.continue_().op == "sum" and stepper.position == 3      # backward sum
    assert stepper.continue_() is stepper.steps[-1]


def test_a_function_that_raises_is_shown_not_raised():
    x = mg.ones(2, 3, requires_grad=True)
    stepper = Stepper(lambda: (x * 2) @ mg.ones(4, 1))
    assert "ShapeError" in stepper.error and "matmul" in stepper.error
    assert [s.op for s in stepper.steps] == ["mul"]          # what ran before it failed
    assert "raised" in stepper.view.message


def test_the_ui_has_the_buttons_and_follows_them(tiny):
    *_, stepper = tiny
    stepper.container
    buttons = stepper._ui["buttons"]
    assert list(buttons) == ["Back", "Next", "Continue", "Run to end"]
    buttons["Next"].click()
    assert stepper.position == 1 and "tanh" in stepper._ui["position"].value
    assert stepper._ui["choose"].value == 1          # the "Run to" menu follows
    buttons["Run to end"].click()
    assert stepper.position == 5
    stepper._ui["choose"].value = 2                  # choosing a step goes there
    assert stepper.position == 2 and stepper.current.op == "sum"


def test_pytorch_models_step_through_module_hooks():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    X, y = torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1])
    stepper = Stepper.torch(model, X, loss_fn=torch.nn.functional.cross_entropy, target=y)
    assert [(s.phase, s.op) for s in stepper.steps] == [
        ("forward", "0 (Linear)"), ("forward", "1 (ReLU)"), ("forward", "2 (Linear)"),
        ("backward", "2 (Linear)"), ("backward", "1 (ReLU)"), ("backward", "0 (Linear)")]
    relu_out = dict(stepper.steps[1].values)["output"]["data"]
    with torch.no_grad():
        expected = torch.relu(model[0](X)).numpy()
    np.testing.assert_allclose(relu_out, expected, rtol=1e-6)
    assert stepper.view.highlight == "group:0"


def test_pytorch_backward_steps_flag_nonfinite_gradients():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    X = torch.randn(4, 3)
    # sqrt of a negative: NaN in the loss, and d sqrt(u)/du = 1/(2 sqrt u) is NaN too
    stepper = Stepper.torch(model, X, loss_fn=lambda out: torch.sqrt(out - 10).sum())
    back = [s for s in stepper.steps if s.phase == "backward"]
    assert len(back) == 1 and "already not finite" in back[0].nonfinite
    assert stepper.continue_() is back[0]


def test_a_large_boolean_mask_is_summarised_without_warnings():
    # masked_fill's mask is an input of the op; a large one gets a histogram like any tensor
    x = mg.tensor(np.arange(30.0, dtype=np.float32).reshape(5, 6), requires_grad=True)
    mask = mg.tensor(np.triu(np.ones((5, 6), bool), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stepper = Stepper(lambda: x.masked_fill(mask, 0.0).sum())
    shown = dict(stepper.steps[0].values)
    described = [d for d in shown.values() if d["dtype"] == "bool"]
    assert len(described) == 1
    assert described[0]["min"] == 0 and described[0]["max"] == 1
    assert sum(described[0]["histogram"]) == 30
    assert described[0]["histogram"][0] == 15 and described[0]["histogram"][-1] == 15


def test_run_to_shows_the_current_step_even_when_chosen_before_the_widget_is_shown(tiny):
    *_, stepper = tiny
    stepper.run_to("tanh")
    stepper.run_to("tanh")                       # the backward tanh, step 5 of 6
    choose = stepper.container.children[0].children[-1]    # built only now, on display
    assert choose.description == "Run to"
    assert choose.value == stepper.position == 4
    assert choose.label == "5. backward tanh"


def test_gradients_appear_only_as_the_backward_pass_reaches_them(tiny):
    *_, stepper = tiny
    # only leaves keep a .grad; w's shows as "∇ max|g| ..." under its box
    w_id = next(n["id"] for n in stepper._full_graph["nodes"] if n.get("role") == "parameter")
    drawn = []
    for i in range(len(stepper.steps)):
        stepper.run_to(i)
        with_grad = {n["id"] for n in stepper.view.graph["nodes"] if n.get("grad")}
        drawn.append(
            (stepper.current.phase, stepper.current.op, with_grad, "∇" in stepper.view.svg)
        )
    assert drawn == [("forward", "matmul", set(), False), ("forward", "tanh", set(), False),
                     ("forward", "sum", set(), False), ("backward", "sum", set(), False),
                     ("backward", "tanh", set(), False),
                     ("backward", "matmul", {w_id}, True)]   # matmul's backward makes w's
    stepper.back()
    assert "∇" not in stepper.view.svg               # and going back hides it again


def test_the_stepper_carries_a_static_copy_of_its_picture_and_details(tiny):
    *_, stepper = tiny
    stepper.run_to(1)
    bundle = stepper._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data          # the live widget
    assert data["text/plain"] == repr(stepper)
    assert data["text/html"] == stepper.view.static_html() + stepper.details_html()
    [(_, svg)] = pictures_in(data["text/html"])
    assert svg == stepper.view.static_svg()


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_a_large_result_with_nan_and_inf_shows_the_statistics_of_its_finite_values():
    v = mg.tensor(np.r_[np.arange(29.0), -1.0], requires_grad=True)       # log: -inf, NaN
    stepper = Stepper(lambda: v.log().sum(), backward=False)
    assert stepper.current.op == "log"
    html = stepper.details_html()
    assert f"min 0 · max {np.log(28):.4g} · mean {np.log(np.arange(1, 29)).mean():.4g}" in html
    assert "1 NaN · 1 Inf" in html
