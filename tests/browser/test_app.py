"""The Playground app (``notebooks/app.ipynb``) under Voila in Chromium, served the way
``make app`` serves it: preheated kernels, sources stripped.

The DOM contract (classes the app sets on its widgets): the settings are
``.fl-pg-<name> select`` (whose values are the labels shown) / ``.fl-pg-<name> input``;
the buttons ``button.fl-pg-train``, ``.fl-pg-stop``, ``.fl-pg-reset``; ``.fl-pg-state``
is the status line; each framework's panel draws its loss as
``polyline.fl-pg-curve[data-framework=...]`` whose ``data-steps`` counts the steps drawn;
messages are ``.fl-pg-message``.

``FL_PLAYGROUND_SCREENSHOT=docs/playground.png`` makes the three-framework test train
longer (300 steps) and save a picture of the trained app there (the one in the README).

Each test closes its pages as a visitor closes a tab (``beforeunload`` runs), so every
test also goes through the page's kernel shutdown; the first test counts the kernels.
"""

import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from accessibility import contrast_problems

psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "notebooks" / "app.ipynb"
MAKEFILE = ROOT / "Makefile"


def make_app_options():
    """The Voila options of the Makefile's `app` target (its APP_VOILA variable), so the
    tests serve the app exactly as `make app` does."""
    text = MAKEFILE.read_text().replace("\\\n", " ")
    match = re.search(r"^APP_VOILA\s*:?=(.*)$", text, flags=re.M)
    assert match, "the Makefile defines APP_VOILA for its app target"
    return tuple(match.group(1).split())


def make_app_env():
    """The environment the Makefile's `app` target gives Voila and so its kernels (its
    APP_ENV variable: glibc malloc settings), so the tests measure what `make app` runs."""
    text = MAKEFILE.read_text().replace("\\\n", " ")
    match = re.search(r"^APP_ENV\s*:?=(.*)$", text, flags=re.M)
    assert match, "the Makefile defines APP_ENV for its app target"
    assert "env $(APP_ENV) $(BIN)/voila" in text, "the app target runs Voila with APP_ENV"
    return dict(item.split("=", 1) for item in match.group(1).split())


PREHEAT = make_app_options()
APP_ENV = make_app_env()
POOL_SIZE = int(next(o.split("=")[1] for o in PREHEAT if o.startswith("--pool_size=")))
SCREENSHOT = os.environ.get("FL_PLAYGROUND_SCREENSHOT")
STDERR_OUTPUT = '[data-mime-type="application/vnd.jupyter.stderr"]'
TRAINING_TIMEOUT_MS = 60_000  # the first run with all three imports PyTorch and TensorFlow


@pytest.fixture(scope="module")
def app_url(voila):
    return voila(APP, *PREHEAT, env=APP_ENV)


@pytest.fixture(scope="module")
def app_server(voila, app_url):
    """The VoilaServer behind ``app_url``: its log and its folder (which holds its
    kernels' connection files)."""
    (server,) = [s for s in voila.servers.values() if s.url == app_url]
    return server


@pytest.fixture(autouse=True)
def close_pages_as_a_visitor_does(request):
    """After a test that passed, close its pages with their beforeunload handlers (Voila
    shuts the kernel down there), and wait until they have closed."""
    # Asked for here, the page is torn down after this fixture's own teardown.
    page = request.getfixturevalue("page") if "page" in request.fixturenames else None
    yield
    report = getattr(request.node, "fl_report_call", None)
    if page is None or report is None or report.failed:
        return  # a failed test's page stays open for the failure's screenshot
    for open_page in list(page.context.pages):
        if open_page.url.startswith("http"):
            close_when_ready(open_page)


def close_when_ready(page):
    """Close ``page`` as a visitor closes a tab, once the app has set its ``_xsrf``
    cookie (the app's first widget does it as it renders: a tab closed within the moment
    before that leaves its kernel to the culler)."""
    page.wait_for_function("() => document.cookie.includes('_xsrf=')", timeout=15_000)
    with page.expect_event("close"):
        page.close(run_before_unload=True)


def kernels(server):
    """The kernel processes of ``server`` (their connection files lie in its folder)."""
    found = []
    marker = str(server.workdir)
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if "ipykernel" in cmdline and marker in cmdline:
            found.append(process)
    return found


def kernel_of(page, server):
    """The kernel process behind a page of the app."""
    kernel_id = page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    (process,) = [p for p in kernels(server) if kernel_id in " ".join(p.cmdline())]
    return kernel_id, process


def until(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def open_app(page, expect, url, query=""):
    """Load the app, fail on anything it wrote to stderr, and print the first paint: the
    seconds from navigation to a visible Train button (shown with ``pytest -s``)."""
    start = time.perf_counter()
    page.goto(url + (f"?{query}" if query else ""))
    train = page.locator("button.fl-pg-train")
    errors = page.locator(STDERR_OUTPUT)
    expect(train.or_(errors.first)).to_be_visible()
    seconds = time.perf_counter() - start
    if errors.count():
        pytest.fail(
            "app.ipynb wrote to stderr under Voila:\n" + "\n".join(errors.all_inner_texts()),
            pytrace=False,
        )
    print(f"first paint (navigation to a visible Train button) of {page.url}: {seconds:.1f} s")


def curve(page, framework):
    return page.locator(f'polyline.fl-pg-curve[data-framework="{framework}"]')


def steps_drawn(page, framework):
    value = curve(page, framework).get_attribute("data-steps")
    return int(value) if value else 0


def test_a_closed_page_shuts_its_kernel_down(page, expect, app_url, app_server):
    """Six visits, each closing its tab: each visit's kernel is shut down within
    seconds, and the server is left with its pool of preheated kernels only."""
    visits = 6
    assert until(lambda: len(kernels(app_server)) == POOL_SIZE, timeout=60)
    context, visited = page.context, []
    for _ in range(visits):
        visit = context.new_page()
        open_app(visit, expect, app_url)
        kernel_id, process = kernel_of(visit, app_server)
        visited.append(kernel_id)
        close_when_ready(visit)
        assert until(lambda: not process.is_running(), timeout=10), \
            f"kernel {kernel_id} still runs after its page closed"
    assert until(lambda: len(kernels(app_server)) == POOL_SIZE, timeout=15), \
        f"{len(kernels(app_server))} kernels run after {visits} visits, not {POOL_SIZE}"
    log = app_server.log()
    for kernel_id in visited:
        assert f"Kernel shutdown: {kernel_id}" in log
    assert " 403 " not in log, "the server refused a request:\n" + "\n".join(
        line for line in log.splitlines() if " 403 " in line)
    # XSRF protection still holds for everything else: a post without the token is refused.
    (pool_kernel,) = kernels(app_server)
    pool_id = re.search(r"kernel-([0-9a-f-]+)\.json", " ".join(pool_kernel.cmdline())).group(1)
    request = urllib.request.Request(f"{app_url}voila/api/shutdown/{pool_id}", data=b"",
                                     method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403 and pool_kernel.is_running()


def test_a_kernel_left_behind_is_culled(page, expect, voila):
    """A tab that dies without closing (no beforeunload, so no shutdown request): the
    server's culler shuts its idle, disconnected kernel down. The same options as make
    app, with the idle timeout cut to seconds."""
    options = [o for o in PREHEAT if "cull_idle_timeout" not in o and "cull_interval" not in o]
    url = voila(APP, *options, "--MappingKernelManager.cull_idle_timeout=3",
                "--MappingKernelManager.cull_interval=1")
    (server,) = [s for s in voila.servers.values() if s.url == url]
    open_app(page, expect, url)
    kernel_id, process = kernel_of(page, server)
    page.close()  # no beforeunload: the page is gone, its kernel is not told
    assert until(lambda: not process.is_running(), timeout=30), "the idle kernel was not culled"
    assert re.search(rf"Culling 'idle' kernel .*{kernel_id}", server.log())
    assert until(lambda: len(kernels(server)) == POOL_SIZE, timeout=30)  # the pool is kept


def test_app_loads_with_widgets_only(page, expect, app_url):
    open_app(page, expect, app_url)
    for selector in (".fl-pg-dataset select", ".fl-pg-framework select", ".fl-pg-width input",
                     ".fl-pg-lr input", ".fl-pg-batch input", "button.fl-pg-reset"):
        expect(page.locator(selector)).to_be_visible()
    # Voila strips the sources: no code cell, no editor, no line of the notebook's code.
    for selector in (".jp-InputArea-editor", ".jp-CodeMirrorEditor", ".cm-editor"):
        expect(page.locator(selector)).to_have_count(0)
    assert "query_string()" not in page.content()
    expect(page.locator(".fl-pg-state")).to_have_text("ready: press Train")


def test_training_on_spirals_with_minigrad_fills_the_loss_chart(page, expect, app_url):
    open_app(page, expect, app_url, "dataset=spirals&framework=minigrad&steps=40")
    expect(curve(page, "minigrad")).to_have_count(0)  # no loss before training
    page.locator("button.fl-pg-train").click()
    expect(page.locator(".fl-pg-state")).to_have_text("done: 40 steps", timeout=TRAINING_TIMEOUT_MS)
    expect(curve(page, "minigrad")).to_have_attribute("data-steps", "40")
    points = curve(page, "minigrad").get_attribute("points").split()
    assert len(points) == 40, "one point per step"
    expect(page.locator("image.fl-pg-boundary")).to_have_count(1)
    expect(page.locator(STDERR_OUTPUT)).to_have_count(0)  # nothing leaked from training


def test_stop_and_reset_answer_while_training(page, expect, app_url):
    open_app(page, expect, app_url,
             "framework=minigrad&dataset=digits&depth=6&width=128&batch=512&steps=5000")
    page.locator("button.fl-pg-train").click()
    expect(curve(page, "minigrad")).to_have_count(1, timeout=TRAINING_TIMEOUT_MS)
    first = steps_drawn(page, "minigrad")
    expect(curve(page, "minigrad")).not_to_have_attribute("data-steps", str(first))
    assert steps_drawn(page, "minigrad") > first, "the loss chart gains points as it trains"
    page.locator("button.fl-pg-stop").click()
    expect(page.locator(".fl-pg-state")).to_contain_text("stopped at step")
    page.locator("button.fl-pg-train").click()  # goes on from there
    expect(page.locator(".fl-pg-state")).to_contain_text("training")
    page.locator("button.fl-pg-reset").click()  # while it trains
    expect(page.locator(".fl-pg-state")).to_have_text("ready: press Train")
    expect(curve(page, "minigrad")).to_have_count(0)
    expect(page.locator("button.fl-pg-train")).to_be_enabled()


def test_all_three_frameworks_draw_three_curves(page, expect, app_url):
    steps = 300 if SCREENSHOT else 20
    open_app(page, expect, app_url, f"dataset=spirals&steps={steps}")
    page.locator(".fl-pg-framework select").select_option(label="All three")
    expect(page.locator(".fl-pg-panel")).to_have_count(3)
    page.locator("button.fl-pg-train").click()
    expect(page.locator(".fl-pg-state")).to_have_text(f"done: {steps} steps",
                                                      timeout=TRAINING_TIMEOUT_MS)
    for framework in ("minigrad", "torch", "tensorflow"):
        expect(curve(page, framework)).to_have_attribute("data-steps", str(steps))
    expect(page.locator("polyline.fl-pg-curve")).to_have_count(3)
    expect(page.locator(".fl-pg-time")).to_have_count(3)
    expect(page.locator(".fl-pg-time").first).to_contain_text("ms per step")
    expect(page.locator(".fl-pg-message")).to_have_count(0)
    expect(page.locator(STDERR_OUTPUT)).to_have_count(0)
    if SCREENSHOT:
        page.set_viewport_size({"width": 1280, "height": 1160})
        page.screenshot(path=SCREENSHOT)


def test_an_invalid_width_shows_a_message_and_the_app_recovers(page, expect, app_url):
    open_app(page, expect, app_url)
    width = page.locator(".fl-pg-width input")
    width.fill("0")
    width.press("Enter")
    message = page.locator(".fl-pg-message")
    expect(message).to_contain_text("width must be between 1 and 128, not 0")
    expect(page.locator("button.fl-pg-train")).to_be_disabled()
    width.fill("8")
    width.press("Enter")
    expect(message).to_have_count(0)
    expect(page.locator("button.fl-pg-train")).to_be_enabled()


def test_the_page_url_holds_the_configuration(page, expect, app_url):
    query = "dataset=moons&framework=torch&width=5&activation=tanh&lr=0.1"
    open_app(page, expect, app_url, query)
    expect(page.locator(".fl-pg-dataset select")).to_have_value("Moons")
    expect(page.locator(".fl-pg-framework select")).to_have_value("PyTorch")
    expect(page.locator(".fl-pg-activation select")).to_have_value("tanh")
    expect(page.locator(".fl-pg-width input")).to_have_value("5")
    expect(page.locator(".fl-pg-lr input")).to_have_value("0.1")
    # The address now names every setting, and follows a change.
    expect(page).to_have_url(re.compile(r"[?&]depth=2(&|$)"))
    depth = page.locator(".fl-pg-depth input")
    depth.fill("3")
    depth.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]depth=3(&|$)"))
    shared = page.url
    assert "dataset=moons" in shared and "width=5" in shared
    # A second visitor opening that link gets the same set-up.
    other = page.context.new_page()
    open_app(other, expect, shared)
    expect(other.locator(".fl-pg-depth input")).to_have_value("3")
    expect(other.locator(".fl-pg-dataset select")).to_have_value("Moons")
    expect(other.locator(".fl-pg-lr input")).to_have_value("0.1")
    expect(other.locator(".fl-pg-link")).to_have_attribute("href", shared)


def test_the_dark_theme_keeps_every_text_readable(page, expect, app_url, tmp_path):
    """Voila's ?theme=dark: the app's own colours follow JupyterLab's theme variables;
    after training, axe-core finds no serious contrast problem anywhere in the app."""
    open_app(page, expect, app_url, "theme=dark&dataset=moons&framework=minigrad&steps=30")
    assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
    expect(page.locator(".fl-pg-message")).to_have_count(0)      # theme is not a setting
    page.locator("button.fl-pg-train").click()
    expect(page.locator(".fl-pg-state")).to_have_text("done: 30 steps", timeout=TRAINING_TIMEOUT_MS)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.screenshot(path=str(tmp_path / "playground-dark.png"), full_page=True)
    assert contrast_problems(page, ".fl-playground") == []


def test_the_largest_set_up_says_what_it_loads_and_its_memory_stays_bounded(
        page, expect, app_url, app_server):
    """All three frameworks, the digits, the largest model, batch and steps: the app says
    how long it will take before it starts, shows that PyTorch and TensorFlow are loading
    (a striped bar), and its kernel's resident memory does not grow while it trains
    (batches are drawn as needed), Voila started as `make app` starts it (APP_ENV: glibc
    malloc settings).

    The bound is on the kernel's own memory, its anonymous pages: 541 MiB at the peak in
    this project's runs. Its resident size also counts the pages of the frameworks'
    shared libraries it has mapped, which depends on how much of those files the page
    cache holds: 961 to 965 MiB in an environment installed a day before, 1084 to 1151
    MiB in one installed minutes before (the same packages, the same 541 MiB anonymous).
    Those are the page cache's pages, which the system drops first when memory runs
    short; the resident size is bounded too, more loosely."""
    open_app(page, expect, app_url,
             "dataset=digits&framework=all&depth=6&width=128&batch=512&steps=5000")
    expect(page.locator(".fl-pg-eta")).to_have_text(re.compile(
        r"about \d+(\.\d)? (s|min) for 3 frameworks, plus about \d+ s to load PyTorch "
        r"and TensorFlow the first time"))
    _, kernel = kernel_of(page, app_server)
    page.locator("button.fl-pg-train").click()
    state = page.locator(".fl-pg-state")
    expect(state).to_contain_text(
        re.compile(r"loading PyTorch \(first time only, about \d+ s\)…"))
    expect(page.locator(".fl-pg-loading .progress-bar")).to_have_count(1)
    peak, peak_anon, settled, last = 0, 0, None, 0
    deadline = time.monotonic() + 90
    settled_since = None
    while time.monotonic() < deadline:
        memory = kernel.memory_info()
        last = memory.rss
        peak, peak_anon = max(peak, last), max(peak_anon, memory.rss - memory.shared)
        step = re.match(r"training: step (\d+)", state.inner_text())
        if settled is None and step and int(step.group(1)) >= 20:   # traced, warmed up
            settled, settled_since = last, time.monotonic()
        if settled_since is not None and time.monotonic() - settled_since > 8:
            break
        time.sleep(0.1)
    assert settled is not None, f"never trained 20 steps: {state.inner_text()}"
    expect(page.locator(".fl-pg-loading .progress-bar")).to_have_count(0)
    expect(page.locator(".fl-pg-eta")).to_have_text(re.compile(r"(about .*|under a second) left"))
    page.locator("button.fl-pg-stop").click()
    expect(state).to_contain_text("stopped at step")
    print(f"kernel, largest set-up: peak {peak_anon / 2**20:.0f} MiB anonymous, "
          f"{peak / 2**20:.0f} MiB resident; from step 20 {settled / 2**20:.0f} MiB to "
          f"{last / 2**20:.0f} MiB resident 8 s later")
    assert last - settled < 32 * 2**20, "the kernel's memory grew while it trained"
    assert peak_anon < 640 * 2**20, f"the kernel's own memory reached {peak_anon / 2**20:.0f} MiB"
    assert peak < 1.25 * 2**30, f"the kernel reached {peak / 2**20:.0f} MiB resident"


def test_a_diverging_loss_is_said_once_and_the_status_says_why(page, expect, app_url):
    open_app(page, expect, app_url, "framework=minigrad&optimizer=adam&lr=100&steps=50")
    page.locator("button.fl-pg-train").click()
    state = page.locator(".fl-pg-state")
    expect(state).to_contain_text("the loss diverged. Lower the learning rate (try 10)")
    expect(page.locator(".fl-pg-message")).to_have_count(1)
    expect(page.locator(".fl-pg-panel .fl-pg-message")).to_contain_text("training diverged")
    expect(page.locator("button.fl-pg-train")).to_be_disabled()
    lr = page.locator(".fl-pg-lr input")
    lr.fill("0.03")
    lr.press("Enter")
    expect(state).to_have_text("ready: press Train")
    expect(page.locator(".fl-pg-message")).to_have_count(0)


def test_binder_culls_idle_kernels_as_make_app_does():
    """Binder's Jupyter server reads binder/app/ (binder/start puts it on
    JUPYTER_CONFIG_PATH); its kernel culling is make app's."""
    import json

    config = json.loads((ROOT / "binder" / "app" / "jupyter_server_config.json").read_text())
    binder = {f"--MappingKernelManager.{k}={v}".replace("=False", "=false").lower()
              for k, v in config["MappingKernelManager"].items()}
    make_app = {o.lower() for o in PREHEAT if o.startswith("--MappingKernelManager.")}
    assert binder == make_app and len(make_app) == 3
    assert "/binder/app" in (ROOT / "binder" / "start").read_text()
