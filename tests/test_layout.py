"""The packages depend on each other one way only, and only through public names.

`minigrad` needs nothing of the project, `lessons` uses `minigrad`, `widgets` uses both
(minigrad <- lessons <- widgets), and none takes another's private (`_`) names. Imports
are read from the source with `ast`, so one inside a function counts as much as one at the
top of a module."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("minigrad", "lessons", "widgets")
ALLOWED = {"minigrad": set(), "lessons": {"minigrad"}, "widgets": {"minigrad", "lessons"}}


def _modules(package):
    return sorted((ROOT / package).rglob("*.py"))


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(path):
    """(line, imported module, names taken from it) for each absolute import in the file;
    `import a.b as c` takes no names, `from a.b import c` takes ["c"]."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, [], alias.asname or alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield node.lineno, node.module, [alias.name], alias.asname or alias.name


def _where(path, line):
    return f"{path.relative_to(ROOT)}:{line}"


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_one_way(package):
    wrong = [f"{_where(path, line)} imports {module}"
             for path in _modules(package)
             for line, module, _, _ in _imports(path)
             if module.split(".")[0] in set(PACKAGES) - {package} - ALLOWED[package]]
    assert wrong == []


def test_nothing_under_lessons_or_minigrad_names_widgets():
    for package in ("lessons", "minigrad"):
        for path in _modules(package):
            assert all(module.split(".")[0] != "widgets" for _, module, _, _ in _imports(path)), (
                path
            )


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_takes_another_packages_private_names(package):
    wrong = []
    for path in _modules(package):
        bound = {}          # local name -> the package it came from
        for line, module, names, local in _imports(path):
            owner = module.split(".")[0]
            if owner not in PACKAGES or owner == package:
                continue
            private = [part for part in module.split(".") + names if _private(part)]
            if private:
                wrong.append(f"{_where(path, line)} imports {', '.join(private)} from {module}")
            bound[local] = owner
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):        # minigrad._x, lessons.compare._y, ...
            if isinstance(node, ast.Attribute) and _private(node.attr):
                base = node.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in bound:
                    wrong.append(f"{_where(path, node.lineno)} uses {ast.unparse(node)}")
    assert wrong == []


def test_the_checks_see_what_they_should(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom widgets.graphview import _with_static_copy as s\n"
                      "def f():\n    import lessons.compare as c\n    return c._counter\n")
    found = list(_imports(sample))
    assert [(line, module, names) for line, module, names, _ in found] == [
        (1, "os", []), (2, "widgets.graphview", ["_with_static_copy"]),
        (4, "lessons.compare", [])]
    assert [local for *_, local in found] == ["os", "s", "c"]
    assert _private("_counter") and not _private("__version__") and not _private("compare")
