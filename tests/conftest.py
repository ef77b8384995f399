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
