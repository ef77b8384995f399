"""The benchmark harness produces well-formed results, for one config or a grid of
configs. No test here asserts a speed: times are only checked to be positive numbers."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lessons import bench
from lessons.bench import runner
from lessons.bench.suites import mlp, ops

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ["minigrad", "torch", "tf-eager", "tf-function", "numpy"]
# every contestant, those run only on request included (torch.compile, minigrad.compile)
ALL_FRAMEWORKS = mlp.ALL
TINY = {"rounds": 1, "steps": 2, "warmup": 1}
RESULT_KEYS = {
    "framework", "label", "error", "median_us", "min_us", "max_us", "round_medians_us",
    "samples", "final_loss", "final_loss_spread", "last_step_loss",
    "ratio_to_torch", "ratio_to_numpy", "thread_pools", "step_us_by_round",
    "memory_mb", "peak_rss_mb", "skipped", "first_call_ms_by_round", "build_ms", "accuracy",
    "import_mb", "run_peak_mb",
}


@pytest.fixture(scope="module")
def tiny_run():
    """Every framework of the mlp suite, 1 round of 1 warm-up + 2 timed steps."""
    events = []
    result = bench.run_suite("mlp", frameworks=ALL_FRAMEWORKS, **TINY, progress=events.append)
    return result, events


def _ran(r):
    """A row that ran; a compiled mode this machine cannot run is skipped with a reason."""
    if r["skipped"]:
        assert r["framework"] in ("torch-compile", "minigrad-compile"), r
        assert r["error"] is None and "median_us" not in r
        return False
    return True


# --- a tiny run of every framework -----------------------------------------------


@pytest.mark.slow
def test_every_framework_ran(tiny_run):
    result, _ = tiny_run
    assert [r["framework"] for r in result["results"]] == ALL_FRAMEWORKS
    for r in result["results"]:
        assert r["error"] is None, f"{r['framework']} failed:\n{r['error']}"
        if _ran(r):
            assert set(r) == RESULT_KEYS
    assert [r["framework"] for r in result["results"] if _ran(r)][:1] == ["minigrad"]


@pytest.mark.slow
def test_times_are_positive_and_consistent(tiny_run):
    result, _ = tiny_run
    for r in filter(_ran, result["results"]):
        assert r["samples"] == TINY["rounds"] * TINY["steps"]
        assert all(ms > 0 for ms in r["first_call_ms_by_round"]) and r["build_ms"] > 0
        assert 0 < r["min_us"] <= r["median_us"] <= r["max_us"]
        assert len(r["round_medians_us"]) == TINY["rounds"]
        assert [len(steps) for steps in r["step_us_by_round"]] == [TINY["steps"]] * TINY["rounds"]
        assert r["ratio_to_torch"] > 0 and r["ratio_to_numpy"] > 0
    by_key = {r["framework"]: r for r in result["results"]}
    assert by_key["torch"]["ratio_to_torch"] == 1.0
    assert by_key["numpy"]["ratio_to_numpy"] == 1.0


@pytest.mark.slow
def test_losses_are_finite_and_agree_across_frameworks(tiny_run):
    result, _ = tiny_run
    start = mlp.evaluate(_problem(), mlp.init_weights(128, 0))
    ran = [r for r in result["results"] if _ran(r)]
    finals = [r["final_loss"] for r in ran]
    lasts = [r["last_step_loss"] for r in ran]
    accuracies = [r["accuracy"] for r in ran]
    assert all(math.isfinite(x) for x in finals + lasts)
    # same weights, same batches, same number of steps: only float32 rounding differs
    assert max(finals) - min(finals) < 1e-4
    assert max(lasts) - min(lasts) < 1e-4
    # and the steps did train: the loss moved away from the initial loss
    assert all(f < start - 1e-3 for f in finals)
    # the same weights classify the same test digits the same way
    assert max(accuracies) - min(accuracies) < 1e-9 and 0 < accuracies[0] <= 1
    problem = _problem()
    step, export = mlp.build_numpy(problem, 1)
    for _ in range(TINY["warmup"] + TINY["steps"]):
        step()
    assert accuracies[0] == pytest.approx(mlp.accuracy(problem, export()))


@pytest.mark.slow
def test_environment_is_recorded(tiny_run):
    result, _ = tiny_run
    env = result["environment"]
    assert env["threads"] == 1 == result["run"]["threads"]
    assert env["cpu"] and env["cpu_count"] >= 1
    assert {"python", "numpy", "torch", "tensorflow", "minigrad"} <= set(env["versions"])
    assert result["run"] == {**TINY, "threads": 1, "quick": False}
    assert result["config"] == {"hidden": 128, "batch": 64, "lr": 0.1, "seed": 0,
                                "inputs": 64, "depth": 1}
    libraries = env["libraries"]
    assert "blas" in libraries["numpy"].lower() and "BLAS" in libraries["torch"]
    assert "oneDNN" in libraries["tensorflow"]


@pytest.mark.slow
def test_every_thread_pool_was_capped(tiny_run):
    result, _ = tiny_run
    pools = {r["framework"]: r["thread_pools"] for r in result["results"] if _ran(r)}
    assert pools["torch"]["torch"] == 1
    assert pools["tf-eager"]["tf_intra_op"] == pools["tf-eager"]["tf_inter_op"] == 1
    assert pools["tf-function"]["tf_intra_op"] == 1
    for framework, found in pools.items():
        assert found and set(found.values()) == {1}, (framework, found)


def test_threads_option_reaches_the_libraries():
    result = bench.run_suite("mlp", frameworks=["numpy", "torch"], threads=2, **TINY)
    for r in result["results"]:
        assert r["error"] is None, r["error"]
        assert set(r["thread_pools"].values()) == {2}, r["thread_pools"]
    assert result["environment"]["threads"] == 2


@pytest.mark.slow
def test_progress_reports_every_worker(tiny_run):
    _, events = tiny_run
    assert [e["done"] for e in events] == list(range(1, len(ALL_FRAMEWORKS) + 1))
    assert all(e["total"] == len(ALL_FRAMEWORKS) for e in events)
    assert all(e["median_us"] > 0 for e in events if "unavailable" not in e)


@pytest.mark.slow
def test_json_written_and_loadable(tiny_run, tmp_path):
    result, _ = tiny_run
    path = bench.save_json(result, tmp_path / "results")
    assert path.parent == tmp_path / "results" and path.name.startswith("mlp-t1-")
    assert json.loads(path.read_text()) == result
    second = bench.save_json(result, tmp_path / "results")  # same second: no overwrite
    assert second != path and second.exists()
    explicit = bench.save_json(result, tmp_path / "named.json")
    assert explicit == tmp_path / "named.json" and json.loads(explicit.read_text()) == result


@pytest.mark.slow
def test_markdown_table_lists_every_framework(tiny_run):
    result, _ = tiny_run
    text = bench.format_markdown(result)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| framework |")
    assert len(rows) == 1 + len(ALL_FRAMEWORKS)  # the header, one row per framework
    assert len({row.count("|") for row in text.splitlines() if row.startswith("|")}) == 1
    for r in result["results"]:
        assert any(row.startswith(f"| {r['label']} |") for row in rows)
    assert "| test accuracy |" in rows[0] and "| first call ms |" in rows[0]


# --- harness behaviour (fast frameworks only) --------------------------------------


def test_rounds_are_interleaved():
    events = []
    bench.run_suite("mlp", frameworks=["numpy", "minigrad"], rounds=2, steps=1, warmup=0,
                    progress=events.append)
    order = [(e["round"], e["framework"]) for e in events]
    assert order == [(1, "numpy"), (1, "minigrad"), (2, "numpy"), (2, "minigrad")]


def test_ratio_missing_when_reference_not_run():
    result = bench.run_suite("mlp", frameworks=["numpy"], **TINY)
    (r,) = result["results"]
    assert r["ratio_to_numpy"] == 1.0 and r["ratio_to_torch"] is None
    assert "| — |" in bench.format_markdown(result)


def test_failing_framework_is_reported_not_raised():
    suite = bench.Suite(
        name="test-broken",
        description="one working and one broken contestant",
        frameworks={
            "numpy": bench.Framework("NumPy by hand", "lessons.bench.suites.mlp:build_numpy"),
            "broken": bench.Framework("broken", "lessons.bench.no_such_module:build"),
        },
        problem="lessons.bench.suites.mlp:make_problem",
        evaluate="lessons.bench.suites.mlp:evaluate",
        config=dict(mlp.SUITE.config),
    )
    bench.register_suite(suite)
    assert "test-broken" in bench.suite_names()
    events = []
    result = bench.run_suite("test-broken", rounds=2, steps=1, warmup=0, progress=events.append)
    ok, broken = result["results"]
    assert ok["error"] is None and ok["samples"] == 2
    assert "no_such_module" in broken["error"] and "median_us" not in broken
    assert "failed" in bench.format_markdown(result)
    # a framework that failed is not started again in later rounds
    assert [e["framework"] for e in events if "error" in e] == ["broken"]


@pytest.mark.parametrize(
    "kwargs", [{"rounds": 0}, {"steps": 0}, {"warmup": -1}, {"threads": 0}]
)
def test_bad_lengths_rejected(kwargs):
    with pytest.raises(ValueError):
        bench.run_suite("mlp", frameworks=["numpy"], **kwargs)


def test_unknown_names_rejected():
    with pytest.raises(KeyError, match="unknown benchmark suite"):
        bench.get_suite("no-such-suite")
    with pytest.raises(KeyError, match="no framework"):
        bench.run_suite("mlp", frameworks=["jax"])


def test_importing_bench_imports_no_framework():
    code = ("import sys, lessons, lessons.bench; "
            "print(sorted(m for m in ('numpy', 'torch', 'tensorflow', 'minigrad') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_command_line(tmp_path):
    out_dir = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "lessons.bench", "mlp", "--frameworks", "numpy,minigrad",
         "--rounds", "1", "--steps", "2", "--warmup", "1", "--threads", "1",
         "--out", str(out_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| NumPy by hand |" in proc.stdout and "| minigrad |" in proc.stdout
    assert "[ 2/10] round 1" in proc.stderr  # progress goes to stderr: 5 configs x 2
    (folder,) = out_dir.glob("*-mlp")  # one folder per run
    saved = json.loads((folder / "results.json").read_text())
    assert [[r["framework"] for r in result["results"]] for result in saved["results"]] == [
        ["numpy", "minigrad"]] * 5  # the plan: 1 + 4 configs
    assert saved["threads"] == [1] and saved["environment"]["versions"]["numpy"]
    # minigrad's targets: only the one against NumPy could be measured without PyTorch/TF
    measured = {row["reference"] for row in saved["targets"] if row["met"] is not None}
    assert measured == {"numpy"} and len(saved["targets"]) == 5  # no CNN run
    assert (folder / "report.md").read_text().count("| NumPy by hand |") == 5
    assert (folder / "mlp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the hand-written NumPy step against PyTorch's autograd ------------------------


def _problem():
    return mlp.make_problem(dict(mlp.SUITE.config))


def test_problem_matches_suite_config():
    problem = _problem()
    assert all(X.shape == (64, 64) and X.dtype == np.float32 for X, _ in problem.batches)
    assert all(y.shape == (64,) and y.dtype == np.int64 for _, y in problem.batches)
    shapes = {k: v.shape for k, v in problem.init.items()}
    assert shapes == {"0.weight": (128, 64), "0.bias": (128,),
                      "2.weight": (10, 128), "2.bias": (10,)}
    bound = 1 / np.sqrt(64)
    assert np.abs(problem.init["0.weight"]).max() <= bound


def test_numpy_step_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    problem = _problem()
    np_step, np_export = mlp.build_numpy(problem, 1)
    torch_step, torch_export = mlp.build_torch(problem, 1)
    for _ in range(3):
        np_loss, torch_loss = np_step(), torch_step()
        assert abs(float(np_loss) - torch_loss.item()) < 1e-5
    np_w, torch_w = np_export(), torch_export()
    for key in problem.init:
        np.testing.assert_allclose(np_w[key], torch_w[key], atol=1e-6)
    assert isinstance(torch_loss, torch.Tensor)


def test_evaluate_matches_torch_cross_entropy():
    torch = pytest.importorskip("torch")
    problem = _problem()
    w = {k: torch.tensor(v, dtype=torch.float64) for k, v in problem.init.items()}
    X = torch.tensor(problem.X_train, dtype=torch.float64)
    logits = torch.relu(X @ w["0.weight"].T + w["0.bias"]) @ w["2.weight"].T + w["2.bias"]
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor(problem.y_train))
    assert mlp.evaluate(problem, problem.init) == pytest.approx(expected.item(), abs=1e-10)


# --- grids of configs, memory, stopping --------------------------------------------


def test_grid_runs_every_config_in_one_worker_per_framework(monkeypatch):
    starts = []
    real = runner.stream_worker

    def counting(spec, *args, **kwargs):
        starts.append((spec["framework"], [c["batch"] for c in spec["configs"]]))
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(runner, "stream_worker", counting)
    events = []
    results = bench.run_grid("mlp", [{"batch": 16}, {"batch": 256}],
                             frameworks=["numpy", "minigrad"], progress=events.append, **TINY)
    assert starts == [("numpy", [16, 256]), ("minigrad", [16, 256])]
    assert [r["config"]["batch"] for r in results] == [16, 256]
    assert "batch 16" in results[0]["description"] and "batch 256" in results[1]["description"]
    assert [(e["done"], e["config_index"], e["framework"]) for e in events] == [
        (1, 0, "numpy"), (2, 1, "numpy"), (3, 0, "minigrad"), (4, 1, "minigrad")]
    assert all(e["total"] == 4 and e["overrides"] == {"batch": (16, 256)[e["config_index"]]}
               for e in events)
    # the last event of a cell carries its result so far: with one round, the final one
    for e in events:
        final = results[e["config_index"]]["results"][["numpy", "minigrad"].index(e["framework"])]
        assert e["summary"]["median_us"] == final["median_us"] == pytest.approx(e["median_us"])
    for result in results:
        # the config reached the worker: same loss as the same steps run here
        problem = mlp.make_problem(result["config"])
        step, export = mlp.build_numpy(problem, 1)
        for _ in range(TINY["warmup"] + TINY["steps"]):
            step()
        expected = mlp.evaluate(problem, export())
        for r in result["results"]:
            assert r["final_loss"] == pytest.approx(expected, abs=1e-5)
    # step memory, where tracemalloc sees the arrays (PyTorch's it does not: see
    # tests/widgets/test_timing.py): a NumPy step keeps h_pre and h, (batch, 128)
    # float32 each, alive together
    small, large = ({r["framework"]: r for r in res["results"]} for res in results)
    assert large["numpy"]["memory_mb"] >= 2 * 256 * 128 * 4 / 2**20
    assert large["numpy"]["memory_mb"] > small["numpy"]["memory_mb"] > 0
    assert large["minigrad"]["memory_mb"] >= 2 * 256 * 128 * 4 / 2**20
    assert all(r["peak_rss_mb"] > 10 for r in (*small.values(), *large.values()))


def test_a_failing_config_does_not_stop_the_others():
    events = []
    bad, good = bench.run_grid("ops", [{"n": 0}, {"n": 4}], frameworks=["numpy"],
                               rounds=2, steps=1, warmup=0, progress=events.append)
    assert "n must be a positive integer" in bad["results"][0]["error"]
    assert good["results"][0]["error"] is None and good["results"][0]["samples"] == 2
    # round 2 does not try the failed cell again, but still counts it
    assert [("error" in e, "skipped" in e) for e in events] == [
        (True, False), (False, False), (False, True), (False, False)]
    assert events[-1]["done"] == events[-1]["total"] == 4
    rows = [line for line in bench.format_markdown(bad).splitlines() if line.startswith("|")]
    assert len({row.count("|") for row in rows}) == 1  # a failed row has every column


def test_mlp_problem_rejects_impossible_sizes():
    with pytest.raises(ValueError, match=r"batch must be between 1 and the \d+ training"):
        mlp.make_problem({**mlp.SUITE.config, "batch": 5000})
    with pytest.raises(ValueError, match="hidden must be at least 1"):
        mlp.make_problem({**mlp.SUITE.config, "hidden": 0})


def test_configs_are_checked_before_anything_runs():
    with pytest.raises(KeyError, match=r"no setting \['batchsize'\]"):
        bench.run_grid("mlp", [{"batch": 16}, {"batchsize": 3}], frameworks=["numpy"])
    with pytest.raises(KeyError, match="no setting"):
        bench.run_suite("mlp", frameworks=["numpy"], config={"hiden": 3})
    with pytest.raises(ValueError, match="configs is empty"):
        bench.run_grid("mlp", [], frameworks=["numpy"])


def test_stop_kills_the_running_worker():
    calls = []

    def should_stop():  # asked once before each worker, then ten times a second
        calls.append(1)
        return len(calls) >= 3

    (result,) = bench.run_grid("mlp", None, frameworks=["torch", "numpy"],
                               should_stop=should_stop, **TINY)
    assert result["stopped"]
    assert [r["error"] for r in result["results"]] == ["stopped before it ran"] * 2
    assert "stopped before the end" in bench.format_markdown(result)


# --- the ops suite ----------------------------------------------------------------


def test_ops_suite_computes_every_op_as_float64_numpy_does():
    configs = [{"op": op, "n": 8} for op in ops.OPS]
    results = bench.run_grid("ops", configs, frameworks=["numpy", "minigrad"], **TINY)
    for config, result in zip(configs, results):
        assert result["config"]["op"] == config["op"] and config["op"] in result["description"]
        for r in result["results"]:
            assert r["error"] is None, r["error"]
            assert 0 <= r["final_loss"] < 1e-5
            # a step returns the op's result: a scalar only for sum
            assert (r["last_step_loss"] is None) == (config["op"] != "sum")
    assert "| max error vs float64 |" in bench.format_markdown(results[0])


@pytest.mark.parametrize("op", ops.OPS)
def test_ops_builders_match_the_reference_and_record_graphs(op):
    pytest.importorskip("torch")
    problem = ops.make_problem({**ops.SUITE.config, "op": op, "n": 5, "requires_grad": True})
    for build in (ops.build_numpy, ops.build_torch, ops.build_minigrad):
        step, export = build(problem, 1)
        out = step()
        assert ops.evaluate(problem, export()) < 1e-5
        if build is not ops.build_numpy:
            assert out.requires_grad and out.grad_fn is not None
    assert ops.evaluate(problem, {"out": problem.a[::-1]}) > 0.1  # a wrong result shows


def test_ops_problem_rejects_bad_settings():
    with pytest.raises(ValueError, match="unknown op 'conv'"):
        ops.make_problem({**ops.SUITE.config, "op": "conv"})
    with pytest.raises(ValueError, match="n must be a positive integer"):
        ops.make_problem({**ops.SUITE.config, "n": 0})


# --- the command line: settings and grids -----------------------------------------


def test_grid_of_settings():
    from lessons.bench.__main__ import _setting, grid  # noqa: PLC2701  (its own test)

    settings = [_setting("batch=16,64"), _setting("lr=0.5"), _setting("op=add,matmul")]
    assert grid(settings) == [
        {"batch": 16, "lr": 0.5, "op": "add"}, {"batch": 16, "lr": 0.5, "op": "matmul"},
        {"batch": 64, "lr": 0.5, "op": "add"}, {"batch": 64, "lr": 0.5, "op": "matmul"}]
    assert grid([]) == [{}]
    assert _setting("requires_grad=true") == ("requires_grad", [True])


def test_command_line_grid(tmp_path):
    out_dir = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "lessons.bench", "mlp", "--frameworks", "numpy",
         "--set", "batch=16,32", "--rounds", "1", "--steps", "1", "--warmup", "0", "--threads", "1",
         "--out", str(out_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "digits, batch 16, CPU" in proc.stdout and "digits, batch 32, CPU" in proc.stdout
    assert "[2/2] round 1 NumPy by hand batch=32" in proc.stderr
    (path,) = out_dir.glob("*/results.json")
    saved = sorted(r["config"]["batch"] for r in json.loads(path.read_text())["results"])
    assert saved == [16, 32]


def test_command_line_rejects_an_unknown_setting():
    proc = subprocess.run([sys.executable, "-m", "lessons.bench", "mlp", "--set", "bsize=3"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "no setting ['bsize']" in proc.stderr
