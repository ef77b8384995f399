"""Test-session setup shared by the whole suite: Hypothesis profiles and seeding.

Helpers for comparing minigrad with PyTorch live in `tests/mgtest.py`.
"""

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

from mgtest import SEED

for name, examples in [("minigrad", 30), ("minigrad-thorough", 400)]:
    settings.register_profile(
        name,
        deadline=None,
        max_examples=examples,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "minigrad"))


@pytest.fixture
def seed_all():
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    yield


def pytest_report_header(config):
    return f"minigrad tests: torch {torch.__version__}, numpy {np.__version__}"



# ------------------------------------------------------------------- pytest-xdist
# `make test` runs the suite on every core: `pytest -n auto --dist loadfile
# --no-loadscope-reorder`. Under --dist loadfile the work unit is a test file (all its
# tests run in one worker, in order), so a file's module-scoped fixtures (a Voila or
# JupyterLab server, the hub and its Unix users, an nbgrader course, a trained model) are
# built once and never twice at the same time. The one exception: the lesson notebooks,
# which are all collected from tests/notebooks/conftest.py (one item per notebook under
# xdist), are one unit each, so that notebooks run in parallel with each other.
# (xdist's own --dist loadgroup marks do not reach its scheduler under pytest 9, whose
# node ids are no longer the `_nodeid` that xdist renames; hence this scheduler.)
# Inside each worker the longest work is put first (xdist's reordering by number of tests
# is off), so that the many short tests fill the gaps at the end: the hub, the browser
# files, the notebooks, then everything else in its usual order.
FIRST = ["tests/deploy/", "tests/browser/", "tests/notebooks", "tests/assignments/",
         "tests/binder/", "tests/lessons/"]


def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileNotebookScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            if ".ipynb::" in nodeid:  # a whole notebook (tests/notebooks/conftest.py)
                return nodeid
            return super()._split_scope(nodeid)

    return LoadFileNotebookScheduling(config, log)


def _xdist_rank(item):
    nodeid = item.nodeid
    return next((i for i, prefix in enumerate(FIRST) if nodeid.startswith(prefix)), len(FIRST))


def pytest_collection_modifyitems(config, items):
    if hasattr(config, "workerinput"):  # inside an xdist worker: longest work first
        items.sort(key=_xdist_rank)
