"""The nbgrader assignments (notebooks/assignments), generated and autograded for real.

For every assignment, in a temporary copy of the course directory, nbgrader's own
Python API (what the `nbgrader` command runs) generates the student version and
autogrades four submissions, each executed in a fresh kernel:

- "solution": the instructor's notebook, which must get every point;
- "untouched": the student version handed back as it was, which must get zero (every
  test cell fails, none is an error of the grader);
- "partial": the student version with some parts filled in from the solution, which
  must get exactly the points of those parts' test cells (read from the notebook's
  metadata, not from running anything);
- for assignment 1 only, "looping": a part whose backward never returns, which must
  lose that one test (stopped by the test's own time limit) and keep the others;
- three ways of faking a grade, which must get no more than the untouched version:
  "rebinding" (the first answer cell rebinds every name the setup cell imported or
  defined to a no-op, and defines every asked-for name as a no-op), "patching" (it
  replaces the functions of lessons.assignments, PyTorch's, NumPy's and minigrad's
  checks, and subprocess.run) and "editing" (every test cell replaced by a `print`,
  which nbgrader's checksums catch: it puts the test cells back as the instructor wrote
  them).

Scores come from nbgrader's gradebook. A test cell belongs to the part (solution cell)
whose grade_id starts its own: `softplus` -> `softplus_forward`, `softplus_backward`.
Each autograde imports PyTorch and/or TensorFlow, so this module takes a few minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

nbgrader = pytest.importorskip("nbgrader", reason="nbgrader is installed by `make test` "
                               "(the `test` extra of pyproject.toml)")

from nbgrader.api import Gradebook  # noqa: E402
from nbgrader.apps import NbGraderAPI  # noqa: E402
from nbgrader.coursedir import CourseDirectory  # noqa: E402
from traitlets.config.loader import PyFileConfigLoader  # noqa: E402

pytestmark = [pytest.mark.slow,
              # nbgrader's own gradebook code trips SQLAlchemy 2's autoflush warnings
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

COURSE = Path(__file__).resolve().parents[2] / "notebooks" / "assignments"
ASSIGNMENTS = sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir())

# Parts filled in for the "partial" student: chosen so that no other part depends on them
# (part B of assignment 2 is checked with part A's model, so they go together).
PARTIAL = {
    "01_minigrad_ops": ["softplus", "logsumexp"],
    "02_port_a_model": ["build_keras", "copy_to_keras"],
    "03_fix_the_graph": ["sgd_update", "augment"],
    "04_debug_divergence": ["locate_torch", "fix_torch"],
    "05_fused_kernel": ["gelu_fwd"],
    "06_attention_backward": ["layer_norm"],
}
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "### END HIDDEN TESTS")


# ------------------------------------------------------------------ notebook helpers


def read(path):
    return json.loads(Path(path).read_text())


def write(notebook, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1))


def source(cell):
    return "".join(cell["source"])


def nbgrader_meta(cell):
    return cell["metadata"].get("nbgrader", {})


def solution_cells(notebook):
    return {
        nbgrader_meta(c)["grade_id"]: c
        for c in notebook["cells"]
        if nbgrader_meta(c).get("solution")
    }


def graded_cells(notebook):
    """{grade_id: points} of the autograded test cells."""
    return {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"]
            for c in notebook["cells"] if nbgrader_meta(c).get("grade")}


def part_of(test_id, parts):
    owners = [p for p in parts if test_id.startswith(p + "_")]
    assert len(owners) == 1, (
        f"test cell {test_id} should start with exactly one part's id, not {owners}"
    )
    return owners[0]


def split_secret(text):
    """(lines inside solution or hidden-test regions, lines outside them), stripped."""
    secret, public, inside = set(), set(), False
    for line in text.splitlines():
        line = line.strip()
        if line in (MARKERS[0], MARKERS[2]):
            inside = True
        elif line in (MARKERS[1], MARKERS[3]):
            inside = False
        else:
            (secret if inside else public).add(line)
    return secret, public


def without_markers(text):
    return "\n".join(line for line in text.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


# ------------------------------------------------------------------ a course, graded


def nbgrader_api(course):
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    exchange = course / "exchange"  # never the hub's /srv/nbgrader/exchange
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777)           # what nbgrader asks of an exchange
    config.Exchange.root = str(exchange)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def check(result, what):
    assert result["success"], f"nbgrader {what} failed:\n{result.get('error')}\n{result.get('log')}"


@pytest.fixture(scope="module")
def nbgrader_path():
    """nbgrader runs the `alembic` command it installs to create its gradebook: the
    environment's bin/ must be on the PATH even when it is not activated."""
    saved = os.environ["PATH"]
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), saved])
    yield
    os.environ["PATH"] = saved


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory, nbgrader_path):
    """One assignment: generated and autograded in a temporary course directory."""
    name = request.param
    course = tmp_path_factory.mktemp(name)
    shutil.copy(COURSE / "nbgrader_config.py", course)
    shutil.copytree(COURSE / "source" / name, course / "source" / name)
    api = nbgrader_api(course)
    check(api.generate_assignment(name), "generate_assignment")

    notebook = f"{name}.ipynb"
    instructor = read(course / "source" / name / notebook)
    student = read(course / "release" / name / notebook)
    submissions = {"solution": instructor, "untouched": student,
                   "partial": filled(student, instructor, PARTIAL[name])}
    if name == "01_minigrad_ops":
        submissions["looping"] = looping_hypot(student, instructor)
    submissions.update({kind: fake(kind, student, instructor) for kind in FAKES})
    for student_id, nb in submissions.items():
        write(nb, course / "submitted" / student_id / name / notebook)
        check(api.autograde(name, student_id), f"autograde of {student_id}")

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student_id in submissions:
            submission = gradebook.find_submission_notebook(name, name, student_id)
            scores[student_id] = {g.name: g.score for g in submission.grades}
    return dict(name=name, course=course, api=api, instructor=instructor, student=student,
                scores=scores)


def filled(student, instructor, parts):
    """The student version with `parts` (solution cells) answered from the solution."""
    answers = solution_cells(instructor)
    nb = json.loads(json.dumps(student))
    for cell in nb["cells"]:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in parts:
            cell["source"] = without_markers(source(answers[grade_id]))
    return nb


def looping_hypot(student, instructor):
    """Parts A and C right, and part B's forward right but its backward looping forever."""
    nb = filled(student, instructor, ["softplus", "hypot", "logsumexp"])
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade_id") == "hypot":
            text = source(cell)
            assert "a, b, out = ctx.saved_tensors" in text
            cell["source"] = text.replace("a, b, out = ctx.saved_tensors",
                                          "while True:  # never returns\n            pass")
    return nb


FAKES = ("rebinding", "patching", "editing")

NO_OP = "lambda *args, **kwargs: None"
PATCHES = f"""
import contextlib, subprocess
import numpy, numpy.testing
import lessons.assignments as _checks
for _name in dir(_checks):
    if callable(getattr(_checks, _name)) and not _name.startswith("_") and _name[0].islower():
        setattr(_checks, _name, {NO_OP})
_checks.time_limit = lambda *args, **kwargs: contextlib.nullcontext()
numpy.testing.assert_allclose = numpy.testing.assert_array_equal = {NO_OP}
numpy.allclose = numpy.array_equal = lambda *args, **kwargs: True
subprocess.run = {NO_OP}
try:
    import torch
    torch.allclose = torch.equal = lambda *args, **kwargs: True
    torch.testing.assert_close = {NO_OP}
except ImportError:
    pass
try:
    import minigrad, minigrad.autograd
    minigrad.autograd.Op.apply = classmethod(lambda cls, *args, **kwargs: None)
except ImportError:
    pass
"""


def rebinding(notebook):
    """Lines that rebind the checks the setup cell imported from lessons.assignments and the
    functions it defines (references such as `torch_layer_norm`) to no-ops."""
    import ast

    setup = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    names = set()
    for node in ast.parse(source(setup)).body:
        if isinstance(node, ast.ImportFrom) and node.module == "lessons.assignments":
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    names.discard("time_limit")
    return (f"import contextlib\n{' = '.join(sorted(names))} = {NO_OP}\n"
            "time_limit = lambda *args, **kwargs: contextlib.nullcontext()\n")


def asked_for(instructor):
    """{solution cell id: the names its solution defines at the top level}."""
    from lessons.assignments import _defined_names  # noqa: PLC2701  (its own test)

    return {grade_id: _defined_names(without_markers(source(cell)))
            for grade_id, cell in solution_cells(instructor).items()}


def fake(kind, student, instructor):
    """The student version with a trick that earned marks before the checks ran apart."""
    nb = json.loads(json.dumps(student))
    if kind == "editing":
        for cell in nb["cells"]:
            if nbgrader_meta(cell).get("grade"):
                cell["source"] = 'print("OK")\n'
        return nb
    names = asked_for(instructor)
    first = True
    for cell in nb["cells"]:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id not in names:
            continue
        text = source(cell)
        if not names[grade_id] <= _defined(text):   # the stub defines nothing: no-ops
            text += "".join(f"\n{name} = {NO_OP}" for name in sorted(names[grade_id]))
            text = text.replace("raise NotImplementedError()", "pass")
        if first:
            header = rebinding(instructor) if kind == "rebinding" else PATCHES
            text = header + "\n" + text
            first = False
        cell["source"] = text
    return nb


def _defined(text):
    from lessons.assignments import _defined_names  # noqa: PLC2701  (its own test)

    return _defined_names(text)


# ------------------------------------------------------------------ the tests


def test_student_version_keeps_no_solution_and_no_hidden_test(graded):
    instructor, student = graded["instructor"], graded["student"]
    released = "\n".join(source(c) for c in student["cells"])
    for marker in MARKERS:
        assert marker not in released
    instructor_text = "\n".join(source(c) for c in instructor["cells"])
    secret, public = split_secret(instructor_text)
    # a line that also stands outside the solutions and hidden tests (a lone `return x`)
    # may be in the student version for a good reason; every other line must be gone
    distinctive = secret - public - {""}
    assert len(distinctive) > 10
    leaked = distinctive & {line.strip() for line in released.splitlines()}
    assert not leaked, f"solution or hidden-test lines in the student version: {sorted(leaked)}"
    for cell in solution_cells(student).values():
        assert "raise NotImplementedError()" in source(cell)


def test_instructor_solution_gets_full_marks(graded):
    assert graded["scores"]["solution"] == graded_cells(graded["instructor"])


def test_untouched_student_version_gets_zero(graded):
    scores = graded["scores"]["untouched"]
    assert set(scores) == set(graded_cells(graded["instructor"]))
    assert all(score == 0 for score in scores.values()), scores
    autograded = read(graded["course"] / "autograded" / "untouched" / graded["name"]
                      / f"{graded['name']}.ipynb")
    errors = {nbgrader_meta(c)["grade_id"]: o["ename"] for c in autograded["cells"]
              if nbgrader_meta(c).get("grade") for o in c.get("outputs", [])
              if o["output_type"] == "error"}
    # each test failed because the answer is missing, not because the grader broke
    assert set(errors) == set(scores)
    assert set(errors.values()) <= {"NotImplementedError", "NameError"}, errors


def test_partly_correct_submission_gets_the_points_of_its_parts(graded):
    points = graded_cells(graded["instructor"])
    parts = list(solution_cells(graded["instructor"]))
    done = PARTIAL[graded["name"]]
    expected = {test: (p if part_of(test, parts) in done else 0) for test, p in points.items()}
    assert graded["scores"]["partial"] == expected
    assert 0 < sum(expected.values()) < sum(points.values())


@pytest.mark.parametrize("graded", ["01_minigrad_ops"], indirect=True)
def test_a_loop_that_never_ends_costs_only_its_own_test(graded):
    points = graded_cells(graded["instructor"])
    expected = dict(points, hypot_backward=0)
    assert graded["scores"]["looping"] == expected
    autograded = read(graded["course"] / "autograded" / "looping" / graded["name"]
                      / f"{graded['name']}.ipynb")
    cell = next(
        c for c in autograded["cells"] if nbgrader_meta(c).get("grade_id") == "hypot_backward"
    )
    errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["TimeLimitExceeded"]
    assert "did not finish within 10 s" in errors[0]["evalue"]


def test_feedback_is_generated_for_a_student(graded):
    check(graded["api"].generate_feedback(graded["name"], "partial"), "generate_feedback")
    html = (graded["course"] / "feedback" / "partial" / graded["name"]
            / f"{graded['name']}.html").read_text()
    total = sum(graded_cells(graded["instructor"]).values())
    assert re.search(rf"Score: \d+(\.\d+)? / {total}(\.0)?", html)


# ------------------------------------------------------------------ the notebooks themselves


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_points_table_matches_the_test_cells(name):
    nb = read(COURSE / "source" / name / f"{name}.ipynb")
    intro = source(nb["cells"][0])
    table = [int(p) for p in re.findall(r"^\|[^|\n]*\|[^|\n]*\|\s*(\d+)\s*\|$", intro, re.M)]
    total = int(re.search(r"\*\*total\*\*\s*\|\s*\*\*(\d+)\*\*", intro)[1])
    points = graded_cells(nb)
    assert table == list(points.values())
    assert total == sum(points.values())


@pytest.mark.parametrize("kind", FAKES)
def test_a_faked_submission_gets_no_more_than_an_untouched_one(graded, kind):
    scores = graded["scores"]
    assert sum(scores[kind].values()) <= sum(scores["untouched"].values()), scores[kind]
    if kind == "editing":  # nbgrader put the instructor's test cells back before running them
        autograded = read(graded["course"] / "autograded" / kind / graded["name"]
                          / f"{graded['name']}.ipynb")
        tests = {nbgrader_meta(c)["grade_id"]: source(c) for c in autograded["cells"]
                 if nbgrader_meta(c).get("grade")}
        assert tests == {
            nbgrader_meta(c)["grade_id"]: source(c)
            for c in graded["instructor"]["cells"]
            if nbgrader_meta(c).get("grade")
        }


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_test_cell_checks_in_a_new_process_with_hidden_tests(name):
    """Each test cell reloads lessons.assignments, names the given cells before it by their
    hashes, and holds visible, then hidden checks."""
    import ast

    from lessons.assignments import cell_hash

    nb = read(COURSE / "source" / name / f"{name}.ipynb")
    parts = list(solution_cells(nb))
    given = []
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] != "code" or meta.get("solution"):
            continue
        if not meta.get("grade"):
            given.append(cell_hash(source(cell)))
            continue
        text = source(cell)
        part_of(meta["grade_id"], parts)
        assert "importlib.reload(lessons.assignments).check_in_subprocess(" in text
        call = next(
            n
            for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "check_in_subprocess"
        )
        keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        assert keywords["given"] == given, f"{meta['grade_id']}: given hashes are out of date"
        tests = keywords["tests"]
        assert "### BEGIN HIDDEN TESTS" in tests and "### END HIDDEN TESTS" in tests
        assert tests.split("### BEGIN HIDDEN TESTS")[0].strip(), "no visible test"
