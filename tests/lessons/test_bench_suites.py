"""The suites of ``python -m lessons.bench`` beyond the first MLP: ops (forward and
backward), matmul, the deeper and wider MLPs, the CNN, memory, and what a run reports
(minigrad's targets, plots, skips). Every check compares with a reference (PyTorch,
float64 NumPy, a hand calculation) or with a known allocation; no test asserts a speed.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lessons import bench
from lessons.bench import registry, report, targets
from lessons.bench.suites import cnn, matmul, memory, mlp, ops

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TINY = {"rounds": 1, "steps": 2, "warmup": 1}
PNG = b"\x89PNG\r\n\x1a\n"


# --- contestants for the harness's own tests; the worker imports them from this file ---


def build_unavailable(problem, threads):
    raise bench.Unavailable("not on this machine, for the test")


def make_size(config):
    return config["mb"]


def build_allocate(mb, threads):
    def step():
        block = np.ones(mb * 2**20 // 8)  # float64, every page written
        return float(block[-1])

    return step, dict


def evaluate_size(mb, weights):
    return 0.0


# --- ops: forward and backward against float64 NumPy ---------------------------------


@pytest.mark.parametrize("op", ops.OPS)
def test_ops_backward_matches_the_reference_gradient(op):
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    problem = ops.make_problem({**ops.SUITE.config, "op": op, "n": 6, "backward": True})
    assert problem.requires_grad
    for build in (ops.build_numpy, ops.build_torch, ops.build_minigrad, ops.build_tf_eager):
        step, export = build(problem, 1)
        step()
        step()  # a second step starts from no gradient again: no accumulation
        assert ops.evaluate(problem, export()) < 1e-5, build.__name__
    wrong = dict(ops.build_numpy(problem, 1)[1]())
    wrong["grad_a"] = wrong["grad_a"] * 2 + 1
    assert ops.evaluate(problem, wrong) > 0.5  # a wrong gradient shows


def test_ops_traffic_by_hand():
    # matmul forward: a, b, out = 3 arrays of n*n float32; 2 n^3 flops
    assert ops.traffic({"op": "matmul", "n": 10, "backward": False}) == (3 * 100 * 4, 2000)
    # mul with backward: 3 forward arrays + g, a, b read and 2 gradients written
    assert ops.traffic({"op": "mul", "n": 10, "backward": True}) == (8 * 100 * 4, 0)
    got = ops.metrics({"op": "add", "n": 1000, "backward": False}, median_us=1000.0)
    assert got == {"elements": 1_000_000, "GB/s": pytest.approx(12e6 / 1e6)}


def test_ops_suite_reports_bandwidth_for_each_row():
    configs = [{"op": "relu", "n": 4, "backward": True}, {"op": "matmul", "n": 4}]
    results = bench.run_grid("ops", configs, frameworks=["numpy", "minigrad"], **TINY)
    for result in results:
        for r in result["results"]:
            assert r["error"] is None, r["error"]
            assert r["final_loss"] < 1e-5
            assert r["metrics"]["GB/s"] == pytest.approx(
                ops.traffic(result["config"])[0] / (r["median_us"] * 1e3))
    assert "GFLOP/s" in results[1]["results"][0]["metrics"]
    assert "| GB/s |" in bench.format_markdown(results[0])


def test_ops_plan_covers_every_op_at_three_sizes_both_ways():
    sections = bench.plan("ops", quick=False)
    configs = [c for s in sections for c in s.configs]
    assert {(c["op"], c["n"] ** 2, c["backward"]) for c in configs} == {
        (op, elements, backward) for op in ops.OPS for elements in (1, 1024, 1_000_000)
        for backward in (False, True)}
    quick = bench.plan("ops", quick=True)
    assert len(quick) == 1 and len(quick[0].configs) == len(configs)


# --- matmul: GFLOP/s and the measured peak -----------------------------------------


def test_matmul_peak_fraction_by_hand():
    def result(n, rates):
        return {"config": {"n": n}, "results": [
            {"framework": k, "metrics": {"GFLOP/s": v}} for k, v in rates.items()]}

    results = [result(64, {"numpy": 5.0, "torch": 10.0}), result(2048, {"numpy": 40.0,
                                                                         "torch": 50.0})]
    assert matmul.add_peak_fraction(results) == 50.0
    assert results[0]["results"][1]["metrics"]["of peak"] == pytest.approx(0.2)
    assert results[1]["results"][0]["metrics"]["of peak"] == pytest.approx(0.8)


def test_matmul_suite_runs_and_checks_the_product():
    (result,) = bench.run_grid("matmul", [{"n": 16}], frameworks=["numpy", "minigrad"], **TINY)
    for r in result["results"]:
        assert r["error"] is None, r["error"]
        assert r["final_loss"] < 1e-4
        assert r["metrics"]["GFLOP/s"] == pytest.approx(2 * 16**3 / (r["median_us"] * 1e3))
    # run_grid adds the fraction of the measured peak: the faster framework sets it
    rates = [r["metrics"]["GFLOP/s"] for r in result["results"]]
    assert result["peak_gflops"] == max(rates)
    assert sorted(r["metrics"]["of peak"] for r in result["results"]) == \
        pytest.approx(sorted([min(rates) / max(rates), 1.0]))
    assert "openblas" in result["environment"]["libraries"]["numpy"].lower() or \
        result["environment"]["libraries"]["numpy"]


# --- the MLPs: 784 inputs, two hidden layers ------------------------------------------


def test_resize_images_is_bilinear_as_pytorch_computes_it():
    torch = pytest.importorskip("torch")
    X = np.random.default_rng(0).random((3, 64), dtype=np.float32)
    got = mlp.resize_images(X, 28)
    expected = torch.nn.functional.interpolate(torch.tensor(X).reshape(3, 1, 8, 8), size=28,
                                               mode="bilinear", align_corners=True)
    np.testing.assert_allclose(got, expected.reshape(3, 784).numpy(), atol=1e-6)


def test_deep_numpy_step_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    config = {**mlp.SUITE.config, "inputs": 144, "hidden": 32, "depth": 3, "batch": 50}
    problem = mlp.make_problem(config)
    assert problem.batches[0][0].shape == (50, 144)
    assert list(problem.init) == [f"{i}.{p}" for i in (0, 2, 4, 6) for p in ("weight", "bias")]
    np_step, np_export = mlp.build_numpy(problem, 1)
    torch_step, torch_export = mlp.build_torch(problem, 1)
    for _ in range(3):
        assert abs(float(np_step()) - torch_step().item()) < 1e-5
    np_w, torch_w = np_export(), torch_export()
    for key in problem.init:
        np.testing.assert_allclose(np_w[key], torch_w[key], atol=1e-6)
    layers = [torch.nn.Linear(*problem.init[f"{2 * i}.weight"].shape[::-1]) for i in range(4)]
    logits = torch.nn.Sequential(*[m for layer in layers for m in (layer, torch.nn.ReLU())][:-1])
    logits = logits.double()
    logits.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in torch_w.items()})
    predicted = logits(torch.tensor(problem.X_test, dtype=torch.float64)).argmax(1).numpy()
    assert mlp.accuracy(problem, torch_w) == pytest.approx((predicted == problem.y_test).mean())


def test_mlp_plan_has_the_issue_workloads():
    def layers(c):
        c = {**mlp.SUITE.config, **c}
        return "-".join(map(str, mlp.layer_sizes(c["hidden"], c["inputs"], c["depth"]))), c["batch"]

    found = [layers(c) for s in bench.plan("mlp") for c in s.configs]
    assert found == [("64-128-10", 64), ("784-128-10", 32), ("784-128-10", 128),
                     ("784-128-10", 1024), ("784-512-512-10", 1024)]
    assert all(s.frameworks == mlp.ALL for s in bench.plan("mlp"))
    # the default frameworks (what TimingBoard and the lesson run) stay the five
    assert list(mlp.SUITE.frameworks) == ["minigrad", "torch", "tf-eager", "tf-function", "numpy"]


def test_unavailable_framework_is_skipped_with_its_reason(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(HERE))  # the worker imports this file
    suite = bench.register_suite(bench.Suite(
        name="test-unavailable", description="an unavailable contestant",
        frameworks={"numpy": bench.Framework("NumPy by hand", f"{mlp.__name__}:build_numpy"),
                    "gone": bench.Framework("gone", "test_bench_suites:build_unavailable")},
        problem=f"{mlp.__name__}:make_problem", evaluate=f"{mlp.__name__}:evaluate",
        config=dict(mlp.SUITE.config)))
    events = []
    result = bench.run_suite(suite, rounds=2, steps=1, warmup=0, progress=events.append)
    ok, gone = result["results"]
    assert ok["error"] is None and ok["samples"] == 2
    assert gone["error"] is None and gone["skipped"] == "not on this machine, for the test"
    assert "| gone | skipped: not on this machine, for the test |" in bench.format_markdown(result)
    assert [e.get("unavailable") for e in events if e["framework"] == "gone"] == [
        "not on this machine, for the test", None]  # round 2: not started again


# --- the CNN ------------------------------------------------------------------------


def test_cnn_reference_forward_matches_pytorch():
    torch = pytest.importorskip("torch")
    from lessons import models

    problem = cnn.make_problem(cnn.SUITE.config)
    model = models.set_weights(models.small_cnn("torch"), problem.init).double()
    X = problem.X_test[:50]
    expected = model(torch.tensor(X, dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(cnn.logits_of(problem.init, X), expected, atol=1e-10)


def test_cnn_eager_frameworks_train_alike():
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    problem = cnn.make_problem(cnn.SUITE.config)
    finals = {}
    for build in (cnn.build_torch, cnn.build_minigrad, cnn.build_tf_eager):
        step, export = build(problem, 1)
        for _ in range(3):
            step()
        finals[build.__name__] = cnn.evaluate(problem, export())
    start = cnn.evaluate(problem, problem.init)
    assert max(finals.values()) - min(finals.values()) < 1e-4
    assert all(f < start - 1e-3 for f in finals.values())


@pytest.mark.parametrize("suite, config", [(mlp, {"hidden": 32, "batch": 50}), (cnn, {})])
def test_tf_steps_are_the_shared_loop_body_eager_and_compiled(suite, config, monkeypatch):
    """tf-eager and tf-function both run ``lessons.training.keras_update``: eagerly on
    every call for the one, traced once into a graph for the other; both take PyTorch's
    steps."""
    pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")
    from lessons import training

    eager_calls = []

    def spy(model, optimizer, **kwargs):
        update = training.keras_update(model, optimizer, **kwargs)

        def recorded(X, y):
            eager_calls.append(tf.executing_eagerly())
            return update(X, y)

        return recorded

    monkeypatch.setattr(suite, "keras_update", spy)
    problem = suite.make_problem({**suite.SUITE.config, **config})
    torch_step, _ = suite.build_torch(problem, 1)
    expected = [torch_step().item() for _ in range(4)]
    for build, calls in ((suite.build_tf_eager, [True] * 4), (suite.build_tf_function, [False])):
        eager_calls.clear()
        step, _ = build(problem, 1)
        losses = [float(step()) for _ in range(4)]
        assert eager_calls == calls
        np.testing.assert_allclose(losses, expected, atol=2e-5)


@pytest.mark.slow
def test_cnn_suite_runs_through_the_harness():
    frameworks = ["minigrad", "minigrad-compile", "torch", "tf-function"]
    result = bench.run_suite("cnn", frameworks=frameworks, **TINY)
    ran = [r for r in result["results"] if not r["skipped"]]
    assert [r["framework"] for r in ran][:1] == ["minigrad"] and len(ran) >= 3
    for r in ran:
        assert r["error"] is None, r["error"]
        assert r["first_call_ms_by_round"][0] > 0 and 0 < r["accuracy"] <= 1
    assert max(r["final_loss"] for r in ran) - min(r["final_loss"] for r in ran) < 1e-4


# --- memory: the probe sees a known allocation --------------------------------------


def test_memory_probe_sees_a_known_allocation(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(HERE))
    suite = bench.register_suite(bench.Suite(
        name="test-allocate", description="allocate {mb} MB in each step",
        frameworks={"numpy": bench.Framework("NumPy", "test_bench_suites:build_allocate")},
        problem="test_bench_suites:make_size", evaluate="test_bench_suites:evaluate_size",
        config={"mb": 200}, report_rss=True))
    small, large = bench.run_grid(suite, [{"mb": 20}, {"mb": 200}], rounds=1, steps=2, warmup=1)
    for result, mb in ((small, 20), (large, 200)):
        (r,) = result["results"]
        assert r["error"] is None, r["error"]
        # the array's pages, touched: within a few MB of what was allocated
        assert r["run_peak_mb"] == pytest.approx(mb, abs=10)
        assert r["import_mb"] < 5  # nothing was imported that was not there already
    assert "| run peak +MB |" in bench.format_markdown(large)


def test_memory_suite_reports_import_and_run():
    result = bench.run_suite("memory", frameworks=["numpy", "minigrad"],
                             rounds=1, steps=1, warmup=1)
    numpy_row, minigrad_row = result["results"]
    for r in result["results"]:
        assert r["error"] is None, r["error"]
        assert r["run_peak_mb"] > 0 and 0 < r["accuracy"] <= 1
    # minigrad imports little on top of NumPy; the same arithmetic, the same accuracy
    assert minigrad_row["import_mb"] < 50 and numpy_row["import_mb"] < 5
    assert minigrad_row["final_loss"] == pytest.approx(numpy_row["final_loss"], abs=1e-4)
    # two epochs of 784-512-512-10 at batch 128 reached what the same steps reach here
    problem = mlp.make_problem(memory.SUITE.config)
    step, export = mlp.build_numpy(problem, 1)
    for _ in range(2 * len(problem.batches)):
        step()
    assert numpy_row["accuracy"] == pytest.approx(mlp.accuracy(problem, export()))


# --- what a run reports ----------------------------------------------------------------


def _result(suite, config, medians, threads=1):
    return {"suite": suite, "config": config, "run": {"threads": threads},
            "environment": {"load_average": [0.1, 0.2]},
            "results": [{"framework": k, "median_us": v} for k, v in medians.items()]}


def test_targets_by_hand():
    digits = {**mlp.SUITE.config}
    deep = {**mlp.SUITE.config, **mlp.DEEP}
    results = [
        _result("mlp", digits, {"minigrad": 90.0, "torch": 100.0, "numpy": 50.0,
                                "tf-eager": 900.0, "minigrad-compile": 60.0}),
        _result("mlp", deep, {"minigrad": 130.0, "torch": 100.0, "tf-eager": 120.0}),
        _result("mlp", {**digits, "batch": 32}, {"minigrad": 1.0, "torch": 1.0}),  # no target
        _result("cnn", cnn.SUITE.config, {"minigrad": 150.0, "torch": 100.0, "tf-eager": 150.0}),
    ]
    rows = targets.targets(results)
    # the table's order: 64-128-10 vs PyTorch, vs NumPy; 784-512-512-10 vs PyTorch; CNN vs
    # PyTorch; then each against TensorFlow eager
    assert [(r["workload"].split(",")[0], r["reference"]) for r in rows] == [
        ("MLP step 64-128-10", "torch"), ("MLP step 64-128-10", "numpy"),
        ("MLP step 784-512-512-10", "torch"), ("small CNN step (conv 3×3", "torch"),
        ("MLP step 64-128-10", "tf-eager"), ("MLP step 784-512-512-10", "tf-eager"),
        ("small CNN step (conv 3×3", "tf-eager")]
    ratios = [90 / 100, 90 / 50, 130 / 100, 150 / 100, 90 / 900, 130 / 120, 150 / 150]
    assert [r["ratio"] for r in rows] == [pytest.approx(x) for x in ratios]
    assert [r["met"] for r in rows] == [True, False, False, True, True, False, False]
    assert rows[0]["ratio_compiled"] == pytest.approx(0.6) and rows[2]["ratio_compiled"] is None
    table = targets.format_targets(targets.targets(results))
    assert table.count("\n| ") == 1 + 7 and "**no**" in table


def test_plots_are_drawn_from_results(tmp_path):
    pytest.importorskip("matplotlib")
    from lessons.bench.plots import save_plots

    results = bench.run_grid("mlp", [{}, {"batch": 32}], frameworks=["numpy", "minigrad"],
                             **TINY)
    results += bench.run_grid("ops", [{"op": "add", "n": 1}, {"op": "add", "n": 8}],
                              frameworks=["numpy"], **TINY)
    paths = save_plots(results, tmp_path)
    assert sorted(p.name for p in paths) == ["first_call.png", "mlp.png", "ops.png"]
    assert all(p.read_bytes()[:8] == PNG for p in paths)


def test_gpu_without_module_or_gpu_is_a_one_line_skip():
    if shutil.which("nvidia-smi"):
        pytest.skip("a GPU is present: the gpu suite would run")
    proc = subprocess.run([sys.executable, "-m", "lessons.bench", "gpu"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("gpu: skipped: ") and proc.stdout.count("\n") == 1


def test_all_names_every_suite():
    assert registry.BUILTIN_SUITES == ("ops", "matmul", "mlp", "cnn", "memory", "gpu")
    assert set(registry.BUILTIN_SUITES) <= set(bench.suite_names())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "lessons.bench", "all", "--list"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    for name in registry.BUILTIN_SUITES[:-1]:
        assert f"\n{name}: " in "\n" + proc.stdout
    assert "torch-compile" in proc.stdout and "(on request)" in proc.stdout
    assert json.dumps(bench.plan("memory", quick=True)[0].configs) == "[{}]"


def test_the_gpu_suite_is_a_standalone_suite_in_the_registry():
    suite = bench.get_suite("gpu")
    assert isinstance(suite, bench.StandaloneSuite) and suite.name == "gpu"
    assert bench.skip_reason("gpu") == suite.skip_reason()
    with pytest.raises(TypeError, match="own way"):
        bench.plan("gpu")
    with pytest.raises(TypeError, match="own way"):
        bench.run_grid("gpu")


def test_a_suite_that_measures_its_own_way_runs_from_the_command_line(tmp_path, capsys):
    """The gpu suite is such a suite: run(quick) -> dict, format_markdown(result)."""
    from lessons.bench.__main__ import main

    bench.register_suite(bench.StandaloneSuite(
        name="test-standalone", description="rows counted by hand",
        run=lambda quick: {"suite": "fake", "quick": quick, "rows": [1, 2]},
        format_markdown=lambda result: f"| fake | {len(result['rows'])} rows |"))
    assert main(["test-standalone", "--quick", "--out", str(tmp_path), "--progress",
                 "none"]) == 0
    assert "| fake | 2 rows |" in capsys.readouterr().out
    (path,) = tmp_path.glob("*-test-standalone-quick/results.json")
    saved = json.loads(path.read_text())
    assert saved["other_suites"] == {
        "test-standalone": {"suite": "fake", "quick": True, "rows": [1, 2]}}
    assert saved["results"] == []
    assert main(["test-standalone", "--list"]) == 0
    assert "test-standalone: rows counted by hand (measured in its own way)" in \
        capsys.readouterr().out


def test_summary_condenses_a_run_for_the_docs():
    from lessons.bench.summary import summarize

    results = bench.run_grid("mlp", [{}], frameworks=["numpy", "minigrad"], **TINY)
    results += bench.run_grid("matmul", [{"n": 8}, {"n": 16}], frameworks=["numpy"], **TINY)
    record = {"results": results, "duration_s": 60.0, "skipped": {"gpu": "no GPU here"},
              "environment": report.environment(results), "targets": targets.targets(results)}
    text = summarize(record)
    assert "| NumPy by hand |" in text and "| minigrad |" in text
    assert "| of peak at N=16 |" in text and "| NumPy |" in text and "100% |" in text
    assert "gpu: skipped: no GPU here" in text and "≤ 1.5× hand-written NumPy" in text


def test_durations_read_in_the_unit_that_fits_after_rounding():
    assert report.format_duration(None) == "—"
    assert report.format_duration(266.4) == "266 µs"
    assert report.format_duration(999.4) == "999 µs"
    assert report.format_duration(999.6) == "1 ms"           # not "1e+03 µs"
    assert report.format_duration(39_300.0) == "39.3 ms"
    assert report.format_duration(999_700.0) == "1 s"
    assert report.format_duration(20_400_000.0) == "20.4 s"
