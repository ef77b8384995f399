"""The Binder configuration: what repo2docker makes of ``binder/``, and the README's
launch links.

``jupyter-repo2docker --no-build --debug`` picks the build pack for the repository and
prints the Dockerfile it would build, without a Docker engine; the tests read that
Dockerfile. The pins in ``binder/requirements.txt`` are compared with pyproject.toml's:
postBuild installs the project over them, and a pin that disagrees would make pip
replace the CPU-only PyTorch with PyPI's, which brings gigabytes of CUDA.
"""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"


@pytest.fixture(scope="module")
def dockerfile(tmp_path_factory):
    pytest.importorskip("repo2docker", reason="pip install -e '.[test]' installs repo2docker")
    # Run outside the repository, so that no repo2docker_config there changes the result.
    cwd = tmp_path_factory.mktemp("repo2docker")
    proc = subprocess.run([sys.executable, "-m", "repo2docker", "--no-build", "--debug", str(ROOT)],
                          cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def requirements():
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_repo2docker_builds_python_3_11_from_binder(dockerfile):
    text, log = dockerfile
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    assert "Building conda environment for python=3.11" in log
    assert (
        "COPY --chown=0:0 src/binder/requirements.txt ${REPO_DIR}/binder/requirements.txt" in text
    )
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in text
    assert "RUN ./binder/postBuild" in text
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in text
    # binder/ wins over anything at the top level: nothing else is installed from there.
    assert not re.search(r"-r \"?requirements\.txt", text)


def test_pytorch_is_the_cpu_build_and_agrees_with_pyproject():
    lines = requirements()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    pins = {
        r.name: r for r in map(Requirement, (line for line in lines if not line.startswith("-")))
    }
    assert "tensorflow" not in pins, "tensorflow (not tensorflow-cpu) would pull CUDA too"

    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]["optional-dependencies"]
    wanted = {r.name: r for r in map(Requirement, project["frameworks"])}
    torch = str(pins["torch"].specifier)
    assert torch.endswith("+cpu")
    assert wanted["torch"].specifier.contains(torch.removeprefix("==").split("+")[0])
    assert pins["tensorflow-cpu"].specifier == wanted["tensorflow-cpu"].specifier
    assert "jupyter-server-proxy" in pins


def test_post_build_stops_at_the_first_error_and_start_hands_over():
    post_build = (BINDER / "postBuild").read_text().splitlines()
    assert post_build[0].startswith("#!")
    assert next(line for line in post_build[1:] if line.strip()) == "set -e"
    assert any("pip install" in line and ".[frameworks,lab]" in line for line in post_build)
    start = (BINDER / "start").read_text()
    assert "tensorboard" in start and "--port 6006" in start
    assert start.rstrip().splitlines()[-1] == 'exec "$@"'
    for script in ("postBuild", "start"):
        assert os.access(BINDER / script, os.X_OK), f"binder/{script} must be executable"


def test_readme_launch_links_open_what_exists():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"https://mybinder\.org/v2/gh/[^)\s]+", readme)
    paths = {}
    for link in links:
        match = re.search(r"[?&]urlpath=([^&)]+)", link)
        assert match, f"a Binder link without urlpath: {link}"
        paths[match.group(1)] = link
    assert "voila/render/notebooks/app.ipynb" in paths
    assert "lab/tree/notebooks/00_start_here.ipynb" in paths
    assert (ROOT / "notebooks" / "app.ipynb").is_file()
    assert (ROOT / "notebooks" / "00_start_here.ipynb").is_file()
