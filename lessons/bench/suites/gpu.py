"""The ``gpu`` suite: minigrad's CUDA kernels measured against the GPU's own limits.

    python -m lessons.bench gpu           # or: python -m lessons.bench.suites.gpu [--quick]

Needs CuPy and an NVIDIA GPU (PyTorch with CUDA for the MLP comparison); elsewhere it
says why it skips. Every time is GPU time from CUDA events
(``cupyx.profiler.benchmark``), after warm-up, the median of many repeats. It reports:

- **copy bandwidth**: a device-to-device copy of 64M float32 (256 MB), reading and
  writing every byte once: the ceiling for any kernel that streams memory;
- **elementwise kernels** (activations, optimizer updates) at 64M elements: bytes
  they must move / time, as a fraction of the copy bandwidth (target >= 80%);
- **softmax-cross-entropy and a sum reduction** (target >= 60% of copy bandwidth);
- **tiled matmul** (``minigrad.ops.linalg.matmul_tiled``) vs cuBLAS, in TFLOP/s;
- **launch overhead**: host time to launch one tiny kernel;
- **an MLP step** (784-512-512-10, batch 1024, SGD): minigrad on "cuda" vs PyTorch
  CUDA eager (target <= 1.5x).

The "bytes moved" of a kernel count each array it reads or writes once: the least
any implementation must move, so the fraction is an honest efficiency.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from lessons.bench.registry import StandaloneSuite, register_suite

LARGE = 64 * 2**20          # 64M elements
QUICK_LARGE = 8 * 2**20


def skip_reason() -> str | None:
    """None when a GPU is usable, else a sentence saying what is missing."""
    try:
        import cupy
    except ImportError:
        return "needs CuPy (pip install 'frameworks-lab[gpu]') and an NVIDIA GPU"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # no driver, or a driver too old for this CuPy
        return f"CuPy is installed but cannot reach a GPU: {error}"
    return None if count > 0 else "CuPy is installed but sees no GPU"


def _gpu_ms(fn, repeat, warmup=5):
    """Median GPU time of fn() in milliseconds, from CUDA events around each call."""
    from cupyx.profiler import benchmark

    result = benchmark(fn, n_repeat=repeat, n_warmup=warmup)
    return float(np.median(result.gpu_times[0])) * 1e3


def _row(name, ms, gbytes=None, flops=None, copy_gbs=None, note=""):
    row = {"name": name, "ms": ms}
    if gbytes is not None:
        row["GB/s"] = gbytes / (ms / 1e3)
        if copy_gbs:
            row["of copy"] = row["GB/s"] / copy_gbs
    if flops is not None:
        row["TFLOP/s"] = flops / (ms / 1e3) / 1e12
    if note:
        row["note"] = note
    return row


def kernel_rows(n, repeat):
    """Copy bandwidth, then every minigrad kernel at n elements, as table rows."""
    import cupy as cp

    from minigrad import optim
    from minigrad.ops import elementwise as E, nn as N

    rng = cp.random.default_rng(0)
    x, g, y = (rng.standard_normal(n, dtype=cp.float32) for _ in range(3))
    out = cp.empty_like(x)
    gb = lambda arrays: arrays * n * 4 / 1e9  # noqa: E731  (float32 arrays of n)

    copy_ms = _gpu_ms(lambda: cp.copyto(out, x), repeat)
    copy = gb(2) / (copy_ms / 1e3)
    rows = [_row("device copy (read + write)", copy_ms, gb(2), copy_gbs=copy)]

    p, v, m, s = (cp.zeros(n, cp.float32) + 0.5 for _ in range(4))
    work = [
        ("relu_fwd", lambda: E.relu_fwd(x), 2),
        ("relu_bwd", lambda: E.relu_bwd(g, y), 3),
        ("sigmoid_fwd", lambda: E.sigmoid_fwd(x), 2),
        ("sigmoid_bwd", lambda: E.sigmoid_bwd(g, y), 3),
        ("tanh_bwd", lambda: E.tanh_bwd(g, y), 3),
        ("sgd_update (in place)", lambda: optim.sgd_update(g, 1e-3, 0.0, p), 3),
        ("sgd_momentum_update (in place)",
         lambda: optim.sgd_momentum_update(g, 1e-3, 0.9, 0.0, False, p, v), 5),
        ("adam_update (in place)",
         lambda: optim.adam_update(g, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0.5, p, m, s), 7),
        ("unfused relu backward: grad * (y > 0)", lambda: g * (y > 0), None),
    ]
    for name, fn, arrays in work:
        ms = _gpu_ms(fn, repeat)
        if arrays is None:   # (y > 0) writes n bools, then the product reads them back
            moved = gb(2) + n / 1e9 + n / 1e9 + gb(2)
            rows.append(_row(name, ms, moved, copy_gbs=copy, note="two kernels"))
        else:
            rows.append(_row(name, ms, gb(arrays), copy_gbs=copy))

    classes = 10
    logits = rng.standard_normal((n // classes, classes), dtype=cp.float32)
    target = rng.integers(0, classes, n // classes).astype(cp.int64)
    ms = _gpu_ms(lambda: N.cross_entropy_fwd(logits, target, classes), repeat)
    # reads the logits and targets, writes loss, row max and total per row
    moved = (logits.size * 4 + target.size * 8 + 3 * target.size * 4) / 1e9
    rows.append(_row("cross_entropy_fwd (fused softmax + loss)", ms, moved, copy_gbs=copy))
    losses, row_max, total = N.cross_entropy_fwd(logits, target, classes)
    scale = cp.asarray(1.0 / len(target), cp.float32)
    ms = _gpu_ms(lambda: N.cross_entropy_bwd(logits, row_max, total, target, classes,
                                             scale, 0), repeat)
    moved = (2 * logits.size * 4 + target.size * (8 + 8)) / 1e9
    rows.append(_row("cross_entropy_bwd", ms, moved, copy_gbs=copy))
    ms = _gpu_ms(lambda: x.sum(), repeat)
    rows.append(_row("sum (CuPy reduction)", ms, gb(1), copy_gbs=copy))
    return rows, copy


def matmul_rows(sizes, repeat):
    import cupy as cp

    from minigrad.ops.linalg import matmul_tiled

    rows = []
    for size in sizes:
        rng = cp.random.default_rng(0)
        a = rng.standard_normal((size, size), dtype=cp.float32)
        b = rng.standard_normal((size, size), dtype=cp.float32)
        flops = 2 * size**3
        cublas = _gpu_ms(lambda: a @ b, repeat)
        tiled = _gpu_ms(lambda: matmul_tiled(a, b), repeat)
        error = float(cp.abs(matmul_tiled(a, b) - a @ b).max())
        rows.append(_row(f"cuBLAS matmul {size}", cublas, flops=flops))
        rows.append(_row(f"tiled matmul {size}", tiled, flops=flops,
                         note=f"{cublas / tiled:.0%} of cuBLAS; max |diff| {error:.1e}"))
    return rows


def launch_overhead_us(launches=2000):
    """Host microseconds per launch of a one-element kernel (the GPU idles meanwhile)."""
    import cupy as cp

    from minigrad.ops import elementwise as E

    x = cp.ones(1, cp.float32)
    E.relu_fwd(x)
    cp.cuda.Device().synchronize()
    started = time.perf_counter()
    for _ in range(launches):
        E.relu_fwd(x)
    elapsed = time.perf_counter() - started
    cp.cuda.Device().synchronize()
    return elapsed / launches * 1e6


def mlp_rows(steps, batch=1024, sizes=(784, 512, 512, 10)):
    """One SGD step of the MLP in minigrad on "cuda" and in PyTorch CUDA eager."""
    import cupy as cp

    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    rows, per_step = [], {}
    frameworks = [("minigrad", "minigrad")]
    try:
        import torch
        if torch.cuda.is_available():
            frameworks.append(("PyTorch CUDA eager", "torch"))
    except ImportError:
        pass
    for label, module in frameworks:
        if module == "torch":
            import torch as lib
            sync = torch.cuda.synchronize
        else:
            import minigrad as lib
            sync = cp.cuda.Device().synchronize
        lib.manual_seed(0)
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(lib.nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(lib.nn.ReLU())
        model = lib.nn.Sequential(*layers).to("cuda")
        opt = lib.optim.SGD(model.parameters(), lr=0.01)
        Xd, yd = lib.tensor(X, device="cuda"), lib.tensor(y, device="cuda")
        F = lib.nn.functional

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model(Xd), yd)
            loss.backward()
            opt.step()
            return loss

        for _ in range(10):
            step()
        sync()
        times = []
        for _ in range(steps):
            started = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - started)
        per_step[module] = float(np.median(times)) * 1e3
        rows.append(_row(f"MLP step {'-'.join(map(str, sizes))}, batch {batch}: {label}",
                         per_step[module]))
    if "torch" in per_step:
        rows[0]["note"] = f"{per_step['minigrad'] / per_step['torch']:.2f}x PyTorch CUDA eager"
    return rows


def environment():
    import cupy as cp

    props = cp.cuda.runtime.getDeviceProperties(0)
    info = {"gpu": props["name"].decode() if isinstance(props["name"], bytes) else props["name"],
            "cupy": cp.__version__, "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(),
            "driver": cp.cuda.runtime.driverGetVersion(), "numpy": np.__version__,
            "python": platform.python_version(),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    try:
        import torch
        info["torch"] = torch.__version__
    except ImportError:
        pass
    return info


def run(quick=False):
    """Every measurement of the suite, as a dict (rows plus the environment)."""
    n = QUICK_LARGE if quick else LARGE
    repeat = 20 if quick else 100
    rows, copy = kernel_rows(n, repeat)
    rows += matmul_rows([1024] if quick else [1024, 4096], repeat=10 if quick else 30)
    launch = launch_overhead_us(200 if quick else 2000)
    rows.append({"name": "kernel launch (host time, one element)", "us": launch})
    rows += mlp_rows(20 if quick else 100)
    return {"suite": "gpu", "elements": n, "copy_GB/s": copy, "rows": rows,
            "environment": environment()}


def format_markdown(result):
    lines = [f"GPU: {result['environment']['gpu']}; {result['elements'] / 2**20:.0f}M float32 "
             f"elements; device copy {result['copy_GB/s']:.0f} GB/s",
             "", "| measurement | ms | GB/s | of copy | TFLOP/s | note |",
             "|---|---:|---:|---:|---:|---|"]

    def cell(row, key, fmt):
        return format(row[key], fmt) if key in row else ""

    for row in result["rows"]:
        ms = cell(row, "ms", ".3f") or (f"{row['us']:.1f} µs" if "us" in row else "")
        lines.append(f"| {row['name']} | {ms} | {cell(row, 'GB/s', '.0f')} | "
                     f"{cell(row, 'of copy', '.0%')} | {cell(row, 'TFLOP/s', '.1f')} | "
                     f"{row.get('note', '')} |")
    return "\n".join(lines)


SUITE = register_suite(StandaloneSuite(
    name="gpu",
    description="minigrad's CUDA kernels against the GPU's copy bandwidth, cuBLAS and "
    "PyTorch CUDA",
    run=run,
    format_markdown=format_markdown,
    skip_reason=skip_reason,
))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lessons.bench.suites.gpu",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8M elements, fewer repeats")
    parser.add_argument("--out", default="bench-results", help="folder for the JSON result")
    args = parser.parse_args(argv)
    reason = skip_reason()
    if reason:
        print(f"gpu: skipped: {reason}")
        return 0
    result = run(args.quick)
    print(format_markdown(result))
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"gpu-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=1))
    print(f"\nsaved {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
