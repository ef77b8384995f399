"""Real-browser tests: notebooks served by Voila, driven in Chromium by Playwright.

Fixtures:

- ``browser`` (session): one headless Chromium, Debian's ``/usr/bin/chromium``, driven
  by the ``playwright`` package (its wheel carries the driver; no browser download).
  Without Chromium or Playwright the tests are skipped with a line saying how to enable
  them, except under ``CI=true``, where they fail: CI must run them.
- ``voila`` (module): a factory, ``voila(notebook, *voila_args, env=None) -> base URL``.
  It copies the notebook's folder to a temporary directory, starts ``python -m voila`` on
  a free 127.0.0.1 port (with ``voila_args`` added to its command line, e.g.
  ``"--preheat_kernel=True"``, and ``env``, a dict, added to its environment, which its
  kernels inherit), waits until the server answers, and stops it (and its
  kernels) when the module ends. Each notebook, set of arguments and environment gets
  one server per module however often it is asked for.
- ``voila_url`` (module): ``voila(NOTEBOOK)`` for a test module that sets ``NOTEBOOK``.
- ``expect``: Playwright's ``expect``, as a fixture so that test modules import (and
  skip cleanly) without Playwright installed.
- ``page`` (function): a fresh page in its own browser context. Requests that leave
  127.0.0.1 are aborted on the spot (the tests never need the internet, and Voila's page
  asks a CDN for Font Awesome), and the page's console errors are kept.

When a test fails, its report gets the page's console errors and uncaught exceptions,
the tail of each Voila log of the module, and the path of a screenshot and of the page's
HTML, saved under pytest's temporary directory.

Enable locally with ``sudo apt-get install chromium`` (Debian/Ubuntu) and the ``test``
extra (``make test`` installs both when it can). ``FL_CHROMIUM=/path/to/chromium`` picks
another Chromium binary.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lab_server import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NOTEBOOKS = HERE / "notebooks"

# The notebooks here are fixtures, not tests: keep `pytest --nbval` from collecting them.
collect_ignore = ["notebooks"]

CHROMIUM = Path(os.environ.get("FL_CHROMIUM", "/usr/bin/chromium"))
# Playwright adds its own fresh temporary --user-data-dir to every launch (and removes it
# on close). Without the background-networking flags Chromium keeps opening connections
# to Google's services, which a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").strip().lower() == "true"
INSTALL_CHROMIUM = "sudo apt-get install chromium (Debian/Ubuntu: gives /usr/bin/chromium)"
INSTALL_PLAYWRIGHT = "pip install -e '.[test]' (or make test)"

VOILA_START_TIMEOUT = 60  # seconds until the server must answer
PAGE_TIMEOUT_MS = 30_000  # default wait for anything on a page
NAVIGATION_TIMEOUT_MS = 90_000  # Voila executes the whole notebook before it answers
LOG_TAIL_LINES = 150

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def unavailable(what, how):
    """Skip, or fail under CI=true, because part of the browser stack is missing."""
    if IN_CI:
        pytest.fail(f"CI=true, so browser tests must run, but {what} is missing; "
                    f"install it: {how}", pytrace=False)
    pytest.skip(f"browser tests need {what}; to enable them: {how}")


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package playwright", INSTALL_PLAYWRIGHT)
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"Chromium at {CHROMIUM}", INSTALL_CHROMIUM)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def expect(browser):
    """Playwright's ``expect`` (retrying assertions), once the browser is known to exist:
    test modules take it as a fixture so that they import without Playwright."""
    from playwright.sync_api import expect

    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    return expect


# ---------------------------------------------------------------------------- Voila




class VoilaServer:
    """One ``python -m voila NOTEBOOK`` in its own process group, logging to a file."""

    def __init__(self, notebook, workdir, voila_args=(), env=None):
        self.notebook = Path(notebook)
        self.workdir = Path(workdir)
        self.voila_args = list(voila_args)
        self.env = dict(env or {})
        self.log_path = self.workdir / "voila.log"
        self.proc = None
        self.url = None

    def start(self):
        # The notebook runs in a copy of its folder: Voila and the kernel may write there.
        served = self.workdir / "notebooks"
        shutil.copytree(self.notebook.parent, served,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        home = self.workdir / "jupyter"
        env = dict(os.environ)
        env.update(
            PYTHONUNBUFFERED="1",
            # The kernel imports minigrad and widgets from this working tree, installed or not.
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            # Nothing from the user's own Jupyter set-up (config, kernelspecs): the venv's
            # python3 kernel and labextensions (anywidget, widgets) are what is served.
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_DATA_DIR=str(home / "data"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
        )
        env.update(self.env)
        for attempt in range(3):
            port = free_port()
            self.url = f"http://127.0.0.1:{port}/"
            cmd = [
                sys.executable, "-m", "voila", self.notebook.name,
                "--no-browser",
                f"--port={port}",
                "--Voila.port_retries=0",  # this port or fail, never a silent other one
                "--Voila.ip=127.0.0.1",  # the default, "localhost", may resolve to ::1
                f"--Voila.connection_dir_root={self.workdir}",
                # A cell's exception reaches the page (and the test's report) in full.
                "--show_tracebacks=True",
                *self.voila_args,
            ]
            with open(self.log_path, "ab") as log:
                log.write(f"$ {' '.join([*(f'{k}={v}' for k, v in self.env.items()), *cmd])}\n"
                          .encode())
                log.flush()
                self.proc = subprocess.Popen(
                    cmd, cwd=served, env=env, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True)
            if self._wait_until_answering():
                return self.url
            if self.proc.poll() is None or "Errno 98" not in self.log():  # not a port race
                break
        self.stop()
        pytest.fail(f"Voila did not start serving {self.notebook.name} within "
                    f"{VOILA_START_TIMEOUT} s. Its log:\n{self.log()}", pytrace=False)

    def _wait_until_answering(self):
        # A static file: answering it starts no kernel (GET / would run the notebook).
        probe = self.url + "voila/static/voila.js"
        deadline = time.monotonic() + VOILA_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(probe, timeout=2):
                    return True
            except urllib.error.HTTPError:
                return True  # any HTTP status: the server answers
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        return False

    def log(self, tail=None):
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        text = ANSI_ESCAPE.sub("", text)
        if tail is not None:
            lines = text.splitlines()
            if len(lines) > tail:
                text = "\n".join([f"... ({len(lines) - tail} lines above)"] + lines[-tail:])
        return text

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # SIGTERM: Voila shuts its kernels down (they run in sessions of their own).
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._kill_leftover_kernels()

    def _signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _kill_leftover_kernels(self):
        """Kernels whose connection file lies in this server's directory: only ever ours."""
        marker = str(self.workdir).encode()
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if int(entry.name) != os.getpid() and marker in (entry / "cmdline").read_bytes():
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ValueError):
                pass


class VoilaServers:
    """The ``voila`` fixture: ``voila(notebook, *voila_args, env=None) -> base URL``, one
    server per notebook, arguments and environment."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.servers = {}

    def __call__(self, notebook, *voila_args, env=None):
        notebook = Path(notebook)
        if not notebook.is_absolute() and not notebook.exists():
            notebook = NOTEBOOKS / notebook
        notebook = notebook.resolve()
        if not notebook.is_file():
            raise FileNotFoundError(notebook)
        key = (notebook, voila_args, tuple(sorted((env or {}).items())))
        if key not in self.servers:
            workdir = self.tmp_path_factory.mktemp(f"voila-{notebook.stem}")
            self.servers[key] = server = VoilaServer(notebook, workdir, voila_args, env)
            server.start()
        return self.servers[key].url

    def stop(self):
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    servers = VoilaServers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def voila_url(request, voila):
    notebook = getattr(request.module, "NOTEBOOK", None)
    if notebook is None:
        raise pytest.UsageError(f"{request.module.__name__} uses voila_url but sets no NOTEBOOK")
    return voila(notebook)


# ----------------------------------------------------------------------------- pages


@pytest.fixture
def page(request, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    blocked = []

    def only_local(route):
        blocked.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:)"), only_local)
    page = context.new_page()
    problems = []

    def on_console(msg):
        # A blocked request's own "Failed to load resource" says nothing new.
        if msg.type == "error" and msg.location.get("url") not in blocked:
            problems.append(f"console: {msg.text} ({msg.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    request.node.fl_page_problems = problems
    request.node.fl_blocked_requests = blocked
    try:
        yield page
    finally:
        report = getattr(request.node, "fl_report_call", None)
        if report is not None and report.failed:
            shot, html = tmp_path / "page.png", tmp_path / "page.html"
            try:
                page.screenshot(path=shot, full_page=True)
                html.write_text(page.content())
                report.sections.append(("browser artifacts", f"{shot}\n{html}"))
            except Exception as exc:  # a page that crashed cannot be captured
                report.sections.append(("browser artifacts", f"none: {exc}"))
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call":
        return
    item.fl_report_call = report
    if not report.failed:
        return
    problems = getattr(item, "fl_page_problems", None)
    if problems:
        report.sections.append(("browser console errors", "\n".join(problems)))
    blocked = getattr(item, "fl_blocked_requests", None)
    if blocked:
        report.sections.append(("requests blocked (not 127.0.0.1)", "\n".join(blocked)))
    servers = item.funcargs.get("voila")
    if isinstance(servers, VoilaServers):
        for server in servers.servers.values():
            report.sections.append(
                (f"voila log ({server.notebook.name})", server.log(tail=LOG_TAIL_LINES)))
