"""docs/claims.md, the claims ledger: each row quotes a claim, gives a verdict, and links
the notebook section whose code shows it. The links must lead somewhere: to a lesson
that exists and to a heading in it, by the id JupyterLab gives a heading (its text with
spaces turned into hyphens), percent-encoded where a URL needs it."""
import json
import re
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "docs" / "claims.md"
VERDICTS = ("Holds", "Outdated", "Depends", "Wrong", "Cannot be measured offline")
LINK = re.compile(r"\]\(\.\./notebooks/([^)#\s]+\.ipynb)#([^)\s]+)\)")


def rows():
    """[(claim, verdict, evidence)] of the ledger's tables (header rows left out)."""
    found = []
    for line in LEDGER.read_text().splitlines():
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        )
        if len(cells) == 3 and not set(cells[0]) <= set("-: ") and cells[0] != "Claim":
            found.append(tuple(cells))
    return found


def heading_ids(notebook):
    """The ids JupyterLab gives the headings of a notebook's Markdown cells."""
    ids = set()
    for cell in json.loads((ROOT / "notebooks" / notebook).read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for line in "".join(cell["source"]).splitlines():
            heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if heading:
                text = re.sub(r"\*\*|`", "", heading.group(1))     # what the page shows
                ids.add(text.replace(" ", "-"))
    return ids


def test_the_ledger_has_a_row_per_claim_with_a_verdict_and_evidence():
    table = rows()
    assert len(table) >= 24
    for claim, verdict, evidence in table:
        assert claim.startswith('"') and claim.endswith('"'), f"quote the claim: {claim}"
        assert verdict.startswith(tuple(f"**{v}" for v in VERDICTS)), f"{claim}: {verdict[:60]}"
        assert LINK.search(evidence), f"{claim}: no link to a notebook section"


@pytest.mark.parametrize("notebook, fragment", sorted(
    {m.groups() for _, _, evidence in rows() for m in LINK.finditer(evidence)}))
def test_every_link_leads_to_a_section_that_exists(notebook, fragment):
    assert (ROOT / "notebooks" / notebook).is_file(), notebook
    anchor = urllib.parse.unquote(fragment)
    assert anchor in heading_ids(notebook), f"{notebook} has no heading '{anchor}'"


def test_the_readme_links_the_ledger():
    assert "(docs/claims.md)" in (ROOT / "README.md").read_text()
