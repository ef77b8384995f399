"""One framework, one round, in a fresh process: ``python -m lessons.bench.worker SPEC``.

SPEC is the JSON written by ``harness.run_worker``. The report goes to stdout as one
line starting with ``BENCH-RESULT `` (frameworks may print their own noise around it).
"""

import gc
import json
import math
import os
import sys
import time

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


def _as_float(loss) -> float:
    return float(loss.item() if hasattr(loss, "item") else loss)


def run(spec: dict) -> dict:
    problem = resolve(spec["problem"])(spec["config"])
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
    if not (math.isfinite(final_loss) and math.isfinite(last_step_loss)):
        raise FloatingPointError(f"loss is not finite: {final_loss}, {last_step_loss}")
    return {
        "step_ns": step_ns,
        "final_loss": final_loss,
        "last_step_loss": last_step_loss,
        "versions": _versions(),
        "thread_pools": _thread_pools(),
    }


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    # Thread pools read these when NumPy/PyTorch/TensorFlow first load, so they must be
    # set before ``run`` imports them. The harness already put them in our environment;
    # this covers a worker started by hand.
    os.environ.update(thread_env(spec["threads"]))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    report = run(spec)
    sys.stdout.write(RESULT_MARKER + json.dumps(report) + "\n")
