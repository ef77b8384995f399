"""OpProfile: the rows are the ops the step really runs, the counts are exact, the time
adds up, and time is put where it was spent (checked with sleeps, which give lower
bounds, never with a speed)."""

import time
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.autograd import Op
from widgets.profile import OpProfile, aggregate

SVG = "{http://www.w3.org/2000/svg}"
REPEAT = 4


def mlp_step(lib, functional):
    """Linear-ReLU-Linear, cross-entropy, backward, SGD: a step in ``lib``."""
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    X = lib.tensor(np.random.default_rng(0).standard_normal((5, 8), dtype=np.float32))
    y = lib.tensor(np.array([0, 1, 2, 1, 0]))

    def step():
        loss = functional.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


@pytest.fixture(scope="module")
def profile():
    return OpProfile(mlp_step(mg, F), repeat=REPEAT, warmup=1)


def by_key(p):
    return {(r["op"], r["phase"]): r for r in p.rows}


def test_rows_are_the_ops_the_step_runs(profile):
    assert profile.error is None
    ops = {"linear": 2, "relu": 1, "cross_entropy": 1}  # per step, in Linear-ReLU-Linear + CE
    expected = {(op, phase) for op in ops for phase in ("forward", "backward")}
    rows = by_key(profile)
    assert set(rows) == expected | {("other", "outside ops")}
    for (op, phase), row in rows.items():
        if op != "other":
            assert row["calls"] == REPEAT * ops[op]
    assert profile.rows[-1]["op"] == "other"


def test_time_adds_up_to_the_steps(profile):
    ops = [r for r in profile.rows if r["op"] != "other"]
    assert sum(r["share"] for r in profile.rows) == pytest.approx(1.0)
    assert [r["total_us"] for r in ops] == sorted((r["total_us"] for r in ops), reverse=True)
    assert 0 < profile.ops_us <= profile.wall_us
    other = profile.rows[-1]
    assert other["total_us"] == pytest.approx(profile.wall_us - profile.ops_us)
    for r in ops:
        assert 0 < r["median_us"] <= r["total_us"]
        assert r["per_step_us"] == pytest.approx(r["total_us"] / REPEAT)


def test_time_outside_the_ops_goes_to_other():
    step = mlp_step(mg, F)

    def slow_glue():
        step()
        time.sleep(0.003)

    p = OpProfile(slow_glue, repeat=3, warmup=0)
    other = by_key(p)[("other", "outside ops")]
    assert other["total_us"] >= 3 * 3000
    assert p.wall_us - p.ops_us == pytest.approx(other["total_us"])


class Slow(Op):
    """The identity, taking at least 2 ms forward and 1 ms backward."""

    op = "slow"

    @staticmethod
    def forward(ctx, x):
        time.sleep(0.002)
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        time.sleep(0.001)
        return grad


def test_time_inside_an_op_goes_to_that_op():
    w = mg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)

    def step():
        Slow.apply(w * 2).sum().backward()

    p = OpProfile(step, repeat=3, warmup=1)
    rows = by_key(p)
    assert set(rows) == {(op, phase) for op in ("mul", "slow", "sum")
                         for phase in ("forward", "backward")} | {("other", "outside ops")}
    assert rows[("slow", "forward")]["median_us"] >= 2000
    assert rows[("slow", "backward")]["median_us"] >= 1000
    assert rows[("slow", "forward")]["share"] >= 3 * 2000 / p.wall_us


def test_display_has_a_bar_per_row_and_a_table(profile):
    root = ET.fromstring(profile.chart_svg())
    bars = [e for e in root.iter(SVG + "rect") if e.get("class") == "bar"]
    assert len(bars) == len(profile.rows)  # six ops and "other", all under `top`
    html = profile._repr_html_()
    assert html.count("<tr>") == 1 + len(profile.rows)
    assert profile.container.children[0].value == html


def test_small_rows_beyond_top_are_folded_into_one_bar():
    p = OpProfile(mlp_step(mg, F), repeat=2, warmup=0, top=2)
    root = ET.fromstring(p.chart_svg())
    labels = [e.text for e in root.iter(SVG + "text") if e.get("class") == "label"]
    assert len(labels) == 2 + 1 + 1 and labels[2] == "4 smaller rows"
    assert labels[-1] == "other (outside ops)"


def test_a_step_that_raises_is_reported_not_raised():
    def broken():
        mg.ones(2, 3) @ mg.ones(2, 3)

    p = OpProfile(broken, repeat=2)
    assert p.rows == [] and "matmul" in p.error
    assert "the step failed" in p._repr_html_() and "matmul" in p._repr_html_()


@pytest.mark.parametrize("kwargs, message", [({"framework": "jax"}, "unknown framework"),
                                             ({"repeat": 0}, "repeat must be")])
def test_bad_arguments_are_reported(kwargs, message):
    p = OpProfile(lambda: None, **kwargs)
    assert message in p.error and p.rows == []


def test_aggregate_by_hand():
    samples = {("a", "forward"): [1.0, 3.0, 2.0], ("b", "backward"): [10.0]}
    rows = aggregate(samples, walls_us=[10.0, 10.0], repeat=2)
    assert [(r["op"], r["calls"], r["total_us"], r["median_us"]) for r in rows] == [
        ("b", 1, 10.0, 10.0), ("a", 3, 6.0, 2.0), ("other", None, 4.0, None)]
    assert [r["share"] for r in rows] == [0.5, 0.3, 0.2]
    # ops that add up to more than the wall time (nested ops) never give a negative other
    rows = aggregate({("a", "forward"): [30.0]}, walls_us=[20.0], repeat=1)
    assert rows[-1]["total_us"] == 0 and rows[0]["share"] == 1.0


# --- PyTorch, through torch.profiler ---------------------------------------------------


def test_torch_rows_match_the_profilers_own_counts():
    torch = pytest.importorskip("torch")
    from torch.profiler import ProfilerActivity, profile

    step = mlp_step(torch, torch.nn.functional)
    p = OpProfile.torch(step, repeat=2, warmup=1)
    assert p.error is None
    rows = by_key(p)
    assert ("aten::addmm", "forward") in rows and ("aten::relu", "forward") in rows
    assert ("aten::mm", "backward") in rows and ("aten::threshold_backward", "backward") in rows
    assert any(phase == "optimizer" for _, phase in rows)
    assert sum(r["share"] for r in p.rows) == pytest.approx(1.0)
    # the same two steps under the profiler, counted by key_averages(): same names, counts
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
        step()
    expected = {e.key: e.count for e in prof.key_averages()}
    got = Counter()
    for r in p.rows:
        if r["op"] != "other":
            got[r["op"]] += r["calls"]
    assert dict(got) == expected
