"""One framework, one round, in a fresh process: ``python -m lessons.bench.worker SPEC``.

SPEC is the JSON written by ``runner.stream_worker``: one framework and a list of
``configs``, run one after the other (a single ``config`` works too). Each config's
report goes to stdout, as soon as it is done, as one line starting with
``BENCH-RESULT `` and carrying its ``index`` (frameworks may print their own noise
around it). A config that fails reports ``error``, one whose framework cannot run
here reports ``unavailable`` (the builder raised ``registry.Unavailable``), and the
next one still runs.

Per config, in this order: build the NumPy problem; import the framework's modules
(``imports``) and read the resident memory, the post-import baseline; build the
framework's step; time its first call on its own (it is the first of the warm-up
steps, so at least one step always runs untimed); run the other warm-up steps; time
the steps one by one; evaluate the exported weights.
"""

import gc
import importlib
import json
import math
import os
import re
import sys
import time
import traceback
import tracemalloc

# lessons.bench imports nothing heavy, so no thread pool exists yet at this point
from lessons.bench.registry import Unavailable, resolve
from lessons.bench.runner import RESULT_MARKER, thread_env


def _versions() -> dict:
    """Versions of the frameworks this process actually imported."""
    found = {}
    for name in ("numpy", "torch", "tensorflow", "keras", "minigrad"):
        module = sys.modules.get(name)
        if module is not None:
            found[name] = getattr(module, "__version__", "unknown")
    return found


def _libraries() -> dict:
    """The BLAS and kernel libraries behind the frameworks this process imported."""
    found = {}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        try:
            blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
            found["numpy"] = f"{blas['name']} {blas.get('version', '')}".strip()
        except Exception:  # older NumPy: no dict mode
            found["numpy"] = "unknown BLAS"
    torch = sys.modules.get("torch")
    if torch is not None:
        config = torch.__config__.show()
        blas = re.search(r"BLAS_INFO=(\w+)", config)
        parts = [f"BLAS {blas.group(1) if blas else 'unknown'}"]
        if "USE_MKLDNN=ON" in config:
            parts.append("oneDNN")
        capability = [line.split(":", 1)[1].strip() for line in config.splitlines()
                      if "CPU capability usage" in line]
        found["torch"] = ", ".join(parts + [f"CPU capability {c}" for c in capability])
    if "tensorflow" in sys.modules:
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 CPUs)")
        found["tensorflow"] = f"Eigen, oneDNN custom ops: TF_ENABLE_ONEDNN_OPTS={onednn}"
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


def _reset_peak_rss() -> bool:
    """Set the process's peak RSS back to its current RSS (Linux >= 4.0), so that the
    peak read after a config belongs to that config and not to an earlier one.
    Returns whether it could."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _rss_mb():
    rss = _status_kb("VmRSS")
    return None if rss is None else rss / 1024


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
    problem = resolve(spec["problem"])(config)
    before_import = _rss_mb()
    for module in spec.get("imports", ()):
        importlib.import_module(module)
    gc.collect()
    baseline = _rss_mb()  # after the framework's import, before anything is built
    peak_reset = _reset_peak_rss()
    clock = time.perf_counter_ns
    t0 = clock()
    step, export = resolve(spec["build"])(problem, spec["threads"])
    build_ns = clock() - t0
    t0 = clock()
    step()  # the first call, where graph modes trace and compile
    first_ns = clock() - t0
    budget_ns = spec["budget_s"] * 1e9 if spec.get("budget_s") else math.inf
    started = clock()
    for _ in range(spec["warmup"] - 1):  # the first call was the first warm-up step
        step()
        if clock() - started > budget_ns:
            break
    gc.collect()  # start the timed steps from a clean heap; gc stays on while timing
    step_ns = []
    loss = None
    for _ in range(spec["steps"]):
        t0 = clock()
        loss = step()
        step_ns.append(clock() - t0)
        if len(step_ns) >= 3 and sum(step_ns) > budget_ns:
            break
    run_peak = _peak_rss_mb()

    weights = export()
    final_loss = float(resolve(spec["evaluate"])(problem, weights))
    accuracy = float(resolve(spec["accuracy"])(problem, weights)) if spec.get("accuracy") \
        else None
    last_step_loss = _as_float(loss)
    finite = math.isfinite(final_loss) and math.isfinite(
        0.0 if last_step_loss is None else last_step_loss)
    if not finite:
        raise FloatingPointError(f"loss is not finite: {final_loss}, {last_step_loss}")
    # one more, untimed step under tracemalloc, after the weights were evaluated
    memory = _step_memory_mb(step) if spec.get("traced_memory") else None
    known = None not in (before_import, baseline, run_peak) and peak_reset
    return {
        "step_ns": step_ns,
        "first_call_ms": first_ns / 1e6,
        "build_ms": build_ns / 1e6,
        "final_loss": final_loss,
        "last_step_loss": last_step_loss,
        "accuracy": accuracy,
        "memory_mb": memory,
        "peak_rss_mb": _peak_rss_mb(),
        "import_mb": baseline - before_import if known else None,
        "run_peak_mb": run_peak - baseline if known else None,
        "versions": _versions(),
        "libraries": _libraries(),
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
        except Unavailable as exc:
            report = {"unavailable": str(exc)}
        except Exception:
            report = {"error": traceback.format_exc(limit=-3)}
        _emit({"index": index, **report})
        gc.collect()


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    # Thread pools read these when NumPy/PyTorch/TensorFlow first load, so they must be
    # set before ``run`` imports them. The runner already put them in our environment;
    # this covers a worker started by hand.
    os.environ.update(thread_env(spec["threads"]))
    os.environ.update(spec.get("env") or {})
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main(spec)
