"""Run the lesson notebooks under nbval as part of a plain ``pytest``.

The project's pytest configuration collects only ``tests/`` (``testpaths``), while the
lessons live in ``notebooks/``. This conftest bridges the two: when pytest walks this
directory it hands over one nbval ``IPyNbFile`` per ``notebooks/*.ipynb`` and per
``notebooks/solutions/*.ipynb`` (the worked solutions of the lessons' exercises; the
assignments, in ``notebooks/assignments/``, are checked by ``tests/assignments``). Every
code cell is then a test item, ``notebooks/NN_topic.ipynb::Cell N``, checked as
``--nbval`` does:

- the cells of a notebook run in order in one fresh kernel, started from the Python
  that runs pytest, and none may raise (unless tagged ``raises-exception``);
- each cell's output must match the output stored in the notebook, after the regexes
  in ``nbval_sanitize.cfg`` are applied to both, unless the cell is tagged
  ``nbval-ignore-output`` (or ``nbval-skip``). ``--nbval-lax`` turns the comparison off.

So ``pytest``, ``pytest tests/notebooks`` and ``pytest -k 01_tensors`` all include the
notebooks; no extra command-line option is needed. The same check by hand, without
this file, is::

    pytest --nbval --nbval-current-env \\
        --nbval-sanitize-with tests/notebooks/nbval_sanitize.cfg notebooks/*.ipynb

A notebook whose cells changed must be re-executed and saved with its outputs::

    jupyter nbconvert --to notebook --execute --inplace \
        --ExecutePreprocessor.record_timing=False \
        --ExecutePreprocessor.store_widget_state=False notebooks/NN_topic.ipynb

(``record_timing=False`` keeps per-cell timestamps out of the file and out of diffs;
``store_widget_state=False`` keeps the live widgets' state out too: each widget output
carries a static HTML copy of its picture, which is what exports and nbval see).

Under pytest-xdist (``pytest -n 2``) the cells of one notebook must run in one kernel,
in order, but xdist's default scheduler spreads single items over workers, and a worker
cannot tell which scheduler the controller uses. So inside an xdist worker each notebook
is collected as one item (``...::NN_topic.ipynb::all cells``), which runs the command
above in a subprocess (its failure report is nbval's, naming the failing cell);
notebooks still run in parallel with each other.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from nbval.plugin import IPyNbFile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = HERE / "nbval_sanitize.cfg"


class LessonNotebook(IPyNbFile):
    """nbval's notebook collector with this project's defaults: outputs are compared
    (as with ``--nbval``; pass ``--nbval-lax`` to only check that cells run), the
    kernel is the current interpreter (unless ``--nbval-kernel-name`` is given), and
    ``nbval_sanitize.cfg`` is always applied."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compare_outputs = not self.config.option.nbval_lax

    def setup(self):
        option = self.config.option
        chosen = option.nbval_current_env
        if not option.nbval_kernel_name:
            option.nbval_current_env = True  # read by IPyNbFile.setup only
        try:
            super().setup()
        finally:
            option.nbval_current_env = chosen

    def get_sanitize_files(self):
        return [str(SANITIZE), *super().get_sanitize_files()]


class WholeNotebook(pytest.Item):
    """One notebook as one item: nbval run on it in a subprocess (used under xdist)."""

    def __init__(self, *, path, **kwargs):
        super().__init__(**kwargs)
        self.notebook = path

    def runtest(self):
        mode = "--nbval-lax" if self.config.option.nbval_lax else "--nbval"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", mode,
               "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE), str(self.notebook)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise NotebookFailed(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, NotebookFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.notebook, None, f"{self.notebook.relative_to(ROOT)} (all cells)"


class NotebookFailed(Exception):
    pass


class LessonNotebooks(pytest.Collector):
    """All lesson notebooks, collected from ``notebooks/`` at the repository root, and the
    worked solutions in ``notebooks/solutions/``."""

    def collect(self):
        in_xdist_worker = hasattr(self.config, "workerinput")
        solutions = sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))
        for path in sorted(NOTEBOOKS.glob("*.ipynb")) + solutions:
            if in_xdist_worker:
                yield WholeNotebook.from_parent(self, name=f"{path.name}::all cells", path=path)
            else:
                yield LessonNotebook.from_parent(self, path=path)


def pytest_collect_file(file_path, parent):
    # This conftest is the anchor: pytest offers it to the hook like any other file
    # in this directory, and we answer with the collector of the lesson notebooks.
    if file_path == Path(__file__).resolve() and NOTEBOOKS.is_dir():
        return LessonNotebooks.from_parent(parent, name="lesson notebooks")
    return None
