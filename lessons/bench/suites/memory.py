"""The ``memory`` suite: the resident memory one training run adds, per framework.

Each framework runs in a fresh process (as in every suite). The worker reads the
process's resident set size (RSS, ``/proc/self/status``) after the NumPy data is
loaded and the framework imported, the *post-import baseline*; sets the peak back
to it (``/proc/self/clear_refs``); builds the 784-512-512-10 MLP of the ``mlp``
suite and trains it for a few epochs (a step here is one epoch: the first call is
epoch 1, then the timed epochs follow); then reads the
peak (``VmHWM``). The table shows what the import cost (``import +MB``) and the peak
the training run added on top of it (``run peak +MB``), with the time per epoch and
the accuracy the run reached, so memory is never shown without what it bought.

RSS counts the pages a process touches, whoever allocated them: NumPy's arrays,
PyTorch's and TensorFlow's allocators and caches, the code of the shared libraries
that the run loads lazily. A blog's "3.5 GB vs 1.7 GB" is a figure of this kind,
usually with the import and the dataset folded in.
"""

from __future__ import annotations

from lessons.bench.registry import Framework, Section, Suite, register_suite
from lessons.bench.suites import mlp


def _epochs(build: str):
    """A builder whose step is one epoch of the ``mlp`` builder ``build``."""

    def builder(problem: mlp.Problem, threads: int):
        step, export = getattr(mlp, build)(problem, threads)
        per_epoch = len(problem.batches)

        def epoch():
            for _ in range(per_epoch):
                loss = step()
            return loss

        return epoch, export

    return builder


build_numpy = _epochs("build_numpy")
build_minigrad = _epochs("build_minigrad")
build_minigrad_compile = _epochs("build_minigrad_compile")
build_torch = _epochs("build_torch")
build_torch_compile = _epochs("build_torch_compile")
build_tf_eager = _epochs("build_tf_eager")
build_tf_function = _epochs("build_tf_function")


def metrics(config: dict, median_us: float) -> dict:
    return {"s/epoch": median_us / 1e6}


def _framework(key: str) -> Framework:
    fw = mlp.SUITE.all_frameworks[key]
    build = fw.build.split(":")[1]
    return Framework(fw.label, f"{__name__}:{build}", imports=fw.imports)


def plan(quick: bool) -> list[Section]:
    keys = list(SUITE.frameworks) + ([] if quick else list(SUITE.on_request))
    lengths = {"rounds": 1, "steps": 1, "warmup": 1} if quick else None
    return [Section("memory", [{}], keys, lengths)]


SUITE = register_suite(
    Suite(
        name="memory",
        description=lambda c: (f"peak resident memory of one training run of "
                               f"{mlp.describe(c).split(' training')[0]}, batch {c['batch']}, "
                               f"over the post-import baseline, CPU"),
        frameworks={key: _framework(key) for key in ("numpy", "minigrad", "torch", "tf-eager",
                                                     "tf-function")},
        on_request={key: _framework(key) for key in ("minigrad-compile", "torch-compile")},
        problem=f"{mlp.__name__}:make_problem",
        evaluate=f"{mlp.__name__}:evaluate",
        accuracy=f"{mlp.__name__}:accuracy",
        metrics=f"{__name__}:metrics",
        config={**mlp.SUITE.config, **mlp.DEEP, "batch": 128},
        # a step is an epoch: the first call is epoch 1, then `steps` timed epochs
        full={"rounds": 3, "steps": 2, "warmup": 1},
        quick={"rounds": 1, "steps": 1, "warmup": 1},
        report_rss=True,
        plan=plan,
    )
)
