# Every target creates .venv on first use; later runs reuse it and reinstall only when
# pyproject.toml changes (the stamp file is older than it).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# Browser tests (tests/browser) drive Debian's Chromium, not a downloaded one.
CHROMIUM := /usr/bin/chromium

.PHONY: lab teach app hub lint test bench clean chromium assignments

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[frameworks,lab,test]'
	@touch $(STAMP)

# Learners: JupyterLab opens on the start page, without nbgrader's teacher tools, and the
# file browser hides the assignments' sources (binder/learner/, which Binder uses too).
# Teachers: make teach, which opens JupyterLab in notebooks/assignments with nbgrader.
LEARNER := JUPYTER_CONFIG_PATH=$(CURDIR)/binder/learner
lab: $(STAMP)
	$(LEARNER) $(BIN)/jupyter lab --notebook-dir=notebooks \
	  --LabApp.default_url=/lab/tree/00_start_here.ipynb $(AS_ROOT)

# nbgrader runs the `alembic` command it installs, so the venv's bin/ goes on the PATH.
teach: $(STAMP)
	cd notebooks/assignments && PATH="$(CURDIR)/$(BIN):$$PATH" \
	  $(CURDIR)/$(BIN)/jupyter lab $(AS_ROOT)

# The Playground web app: Voila runs notebooks/app.ipynb and shows its widgets, never its
# code, and lets the page do nothing but use them. A preheated kernel has started and run
# the app's imports before anyone asks, which takes that out of the visitor's wait. A
# page's kernel is shut down when the page closes; one whose page went away without
# closing (a crashed tab, a lost connection) is culled after 10 idle minutes without a
# connection (a connected page's kernel, and the preheated one, never are). Voila
# prints the address (the first free port from APP_PORT up); tests/browser serves it
# with these options (APP_VOILA) and this environment (APP_ENV).
# APP_ENV: glibc's malloc for the server and its kernels, which inherit it: at most two
# arenas (glibc's default allows 8 per core, and a thread that finds them busy opens one)
# and freed memory above 128 KiB at the heap's top given back to the system.
APP_PORT ?= 8866
APP_ENV := MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072
APP_VOILA := --preheat_kernel=True --pool_size=1 \
  --MappingKernelManager.cull_idle_timeout=600 --MappingKernelManager.cull_interval=60 \
  --MappingKernelManager.cull_connected=False
app: $(STAMP)
	env $(APP_ENV) $(BIN)/voila notebooks/app.ipynb --port=$(APP_PORT) $(APP_VOILA)

# The course's JupyterHub on this machine, as root (deploy/README.md: users, groups, the
# nbgrader exchange).
hub: $(STAMP) $(CHP)
	$(BIN)/jupyterhub -f deploy/jupyterhub_config.py

# Installs Chromium when it is missing and we are root; otherwise only says so.
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
	  echo "No $(CHROMIUM): browser tests (tests/browser) will be skipped (and fail under CI=true); enable them with: sudo apt-get install chromium"; \
	fi

# axe-core, the accessibility checker tests/browser injects into pages, from npm into
# .cache/ (git-ignored); without npm those checks are skipped (and fail under CI=true).
AXE := .cache/npm/node_modules/axe-core/axe.min.js
$(AXE):
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix .cache/npm axe-core@4; \
	else echo "No npm: the accessibility checks in tests/browser need axe-core: install Node.js and npm"; fi

# configurable-http-proxy, JupyterHub's proxy, from npm into .cache/ (git-ignored) for
# tests/deploy; without npm the hub test is skipped (and fails under CI=true).
CHP := .cache/npm/node_modules/.bin/configurable-http-proxy
$(CHP):
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix .cache/npm configurable-http-proxy@5; \
	else echo "No npm: tests/deploy needs JupyterHub's configurable-http-proxy: install Node.js and npm"; fi

# The suite runs on every core (pytest-xdist; TEST_WORKERS=1 for one process): each test
# file runs in one worker, each lesson notebook too, longest work first (tests/conftest.py).
# Ruff's checks (rules in pyproject.toml) run first, in a second or two.
TEST_WORKERS ?= auto
PYTEST_XDIST := $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)
lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint chromium $(AXE) $(CHP)
	$(BIN)/python -m pytest -q $(PYTEST_XDIST)

# Every suite at 1 and 2 threads (about half an hour on a quiet 2-core machine); pick
# others with e.g. make bench BENCH="mlp --quick". Results land in bench-results/.
BENCH ?= all
bench: $(STAMP)
	$(BIN)/python -m lessons.bench $(BENCH)

# Student versions of the nbgrader assignments (solutions and hidden tests removed).
# nbgrader runs the `alembic` command it installs, so the venv's bin/ goes on the PATH.
ASSIGNMENTS := $(notdir $(wildcard notebooks/assignments/source/*))
assignments: $(STAMP)
	cd notebooks/assignments && for a in $(ASSIGNMENTS); do \
	  PATH="$(CURDIR)/$(BIN):$$PATH" nbgrader generate_assignment "$$a" --force --log-level=WARN \
	  || exit 1; done
	@echo "Student versions: notebooks/assignments/release/<assignment>/ (teacher's guide: notebooks/assignments/README.md)"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis bench-results
