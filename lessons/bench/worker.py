"""One framework, one round, in a fresh process: ``python -m lessons.bench.worker SPEC``.

SPEC is the JSON written by ``harness.stream_worker``: one framework and a list of
``configs``, run one after the other (a single ``config`` works too). Each config's
report goes to stdout, as soon as it is done, as one line starting with
``BENCH-RESULT `` and carrying its ``index`` (frameworks may print their own noise
around it). A config that fails reports ``error`` and the next one still runs.
"""

import gc
import json
import math
import os
import sys
import time
import tracemalloc
import traceback

# lessons.bench imports nothing heavy, so no thread pool exists yet at this point
from lessons.bench.harness import RESULT_MARKER, resolve, thread_env


def _versions() -> dict:
    """Versions of the frameworks this process actually imported."""
    found = {}
    for name in ("numpy", "torch", "tensorflow", "keras", "minigrad"):
        module = sys.modules.get(name)
        if module is not None:
            found[name] = getattr(module, "__version__", "unknown")
    return found


def _thread_pools() -> dict:
    """The thread counts the libraries actually use, to check that ``threads`` held."""
    pools = {}
    torch = sys.modules.get("torch")
    if torch is not None:
        pools["torch"] = torch.get_num_threads()
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        pools["tf_intra_op"] = tf.config.threading.get_intra_op_parallelism_threads()
        pools["tf_inter_op"] = tf.config.threading.get_inter_op_parallelism_threads()
    try:
        from threadpoolctl import threadpool_info  # comes with scikit-learn
    except ImportError:
        return pools
    for info in threadpool_info():  # NumPy's BLAS, OpenMP runtimes, ...
        pools[f"{info['internal_api']}:{info['prefix']}"] = info["num_threads"]
    return pools


def _as_float(loss):
    """The step's loss as a float; None if the step returned no scalar."""
    try:
        return float(loss.item() if hasattr(loss, "item") else loss)
    except (TypeError, ValueError, RuntimeError):
        return None


# --- memory --------------------------------------------------------------------------


def _status_kb(field: str):
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak_rss() -> None:
    """Set the process's peak RSS back to its current RSS (Linux >= 4.0), so that the
    peak read after a config belongs to that config and not to an earlier one."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mb():
    peak = _status_kb("VmHWM")
    if peak is None:
        try:
            import resource
        except ImportError:  # Windows
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":  # bytes there, KiB on Linux
            peak //= 1024
    return peak / 1024


def _step_memory_mb(step) -> float:
    """Peak memory that one step allocates on top of what already exists, as
    tracemalloc sees it: NumPy's arrays and Python objects (PyTorch and TensorFlow
    allocate their tensors where tracemalloc does not look)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - before) / 2**20


# --- one config --------------------------------------------------------------------


def run(spec: dict, config: dict | None = None) -> dict:
    config = spec["config"] if config is None else config
    _reset_peak_rss()
    problem = resolve(spec["problem"])(config)
    step, export = resolve(spec["build"])(problem, spec["threads"])
    for _ in range(spec["warmup"]):
        step()
    gc.collect()  # start the timed steps from a clean heap; gc stays on while timing
    clock = time.perf_counter_ns
    step_ns = []
    loss = None
    for _ in range(spec["steps"]):
        t0 = clock()
        loss = step()
        step_ns.append(clock() - t0)

    final_loss = float(resolve(spec["evaluate"])(problem, export()))
    last_step_loss = _as_float(loss)
    finite = math.isfinite(final_loss) and math.isfinite(
        0.0 if last_step_loss is None else last_step_loss)
    if not finite:
        raise FloatingPointError(f"loss is not finite: {final_loss}, {last_step_loss}")
    # one more, untimed step under tracemalloc, after the weights were evaluated
    memory = _step_memory_mb(step) if spec.get("traced_memory") else None
    return {
        "step_ns": step_ns,
        "final_loss": final_loss,
        "last_step_loss": last_step_loss,
        "memory_mb": memory,
        "peak_rss_mb": _peak_rss_mb(),
        "versions": _versions(),
        "thread_pools": _thread_pools(),
    }


def _emit(report: dict) -> None:
    sys.stdout.write(RESULT_MARKER + json.dumps(report) + "\n")
    sys.stdout.flush()


def main(spec: dict) -> None:
    configs = spec["configs"] if "configs" in spec else [spec["config"]]
    for index, config in enumerate(configs):
        try:
            report = run(spec, config)
        except Exception:
            report = {"error": traceback.format_exc(limit=-3)}
        _emit({"index": index, **report})
        gc.collect()


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    # Thread pools read these when NumPy/PyTorch/TensorFlow first load, so they must be
    # set before ``run`` imports them. The harness already put them in our environment;
    # this covers a worker started by hand.
    os.environ.update(thread_env(spec["threads"]))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main(spec)
