"""axe-core's colour-contrast check, for the browser tests (tests/browser). axe-core comes
from npm into ``.cache/`` (``make test`` installs it); without it a check is skipped, or
fails under ``CI=true``, where it must run."""
import os
from pathlib import Path

import pytest

AXE = (
    Path(__file__).resolve().parents[1]
    / ".cache"
    / "npm"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
HOW = "make test installs it with npm (or: npm install --prefix .cache/npm axe-core@4)"


def contrast_problems(page, selector):
    """axe-core's serious and critical colour-contrast violations inside `selector` on a
    Playwright page, each as 'rule: the elements it names'."""
    if not AXE.is_file():
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI=true, so the contrast checks must run, but axe-core is missing: {HOW}",
                        pytrace=False)
        pytest.skip(f"the contrast checks need axe-core: {HOW}")
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async (selector) => {
        const r = await axe.run({include: [[selector]]},
                                {runOnly: {type: 'rule', values: ['color-contrast']}});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
    }""", selector)
