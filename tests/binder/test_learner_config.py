"""What a learner's JupyterLab looks like (``binder/learner``, used by ``make lab`` and by
Binder's ``start``): it opens on the start page, nbgrader's teacher tools are off (its
server extensions are not loaded, its lab extension is disabled), and the file browser
does not list the assignments' sources. Checked on a real server, started here on
127.0.0.1 and ended by its PID."""

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lab_server import TOKEN, LearnerLab

ROOT = Path(__file__).resolve().parents[2]


def _default_url():
    make = (ROOT / "Makefile").read_text()
    return re.search(r"--LabApp\.default_url=(\S+)", make).group(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    lab = LearnerLab(ROOT / "notebooks", tmp_path_factory.mktemp("learner"),
                     f"--LabApp.default_url={_default_url()}")
    yield lab.url, lab.log_path
    lab.stop()


def _get(url):
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.geturl(), response.read().decode()


def test_it_opens_on_the_start_page(server):
    url, _ = server
    assert _default_url() == "/lab/tree/00_start_here.ipynb"
    landed, _ = _get(f"{url}/?token={TOKEN}")
    assert landed.split("?")[0] == f"{url}/lab/tree/00_start_here.ipynb"
    assert (ROOT / "notebooks" / "00_start_here.ipynb").is_file()


def test_nbgrader_teacher_tools_are_off(server):
    url, log = server
    _, page = _get(f"{url}/lab?token={TOKEN}")
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">'
                                  r"(.*?)</script>", page, re.S).group(1))
    assert "@jupyter/nbgrader" in config["disabledExtensions"]
    assert "nbgrader" not in log.read_text()          # no server extension was linked
    with pytest.raises(urllib.error.HTTPError) as refused:
        _get(f"{url}/formgrader?token={TOKEN}")
    assert refused.value.code == 404


def test_the_file_browser_hides_the_assignment_sources(server):
    url, _ = server
    _, listing = _get(f"{url}/api/contents/assignments?token={TOKEN}")
    names = {item["name"] for item in json.loads(listing)["content"]}
    assert "README.md" in names and "source" not in names
    assert (ROOT / "notebooks" / "assignments" / "source").is_dir()


def test_binder_start_uses_the_same_settings():
    start = (ROOT / "binder" / "start").read_text()
    assert 'export JUPYTER_CONFIG_PATH="${REPO_DIR:-$(dirname "$0")/..}/binder/learner' in start
    assert "JUPYTER_CONFIG_PATH=$(CURDIR)/binder/learner" in (ROOT / "Makefile").read_text()
