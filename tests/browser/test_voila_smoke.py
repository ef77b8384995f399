"""The whole browser stack, without the project's widgets: Voila serves
``notebooks/smoke.ipynb`` (an ipywidgets Button and Label, and an anywidget), Chromium
renders it, and a click travels to the kernel and back."""

import urllib.request

NOTEBOOK = "smoke.ipynb"


def test_anywidget_frontend_is_served(voila_url):
    # Voila loads anywidget's JavaScript as a federated labextension from the venv.
    with urllib.request.urlopen(voila_url + "voila/labextensions/anywidget/package.json") as r:
        assert r.status == 200


def test_button_click_updates_label(page, voila_url, expect):
    page.goto(voila_url)
    button = page.get_by_role("button", name="Click me", exact=True)
    expect(button).to_be_visible()
    expect(page.get_by_text("not clicked", exact=True)).to_be_visible()
    button.click()
    expect(page.get_by_text("clicked 1", exact=True)).to_be_visible()
    button.click()
    expect(page.get_by_text("clicked 2", exact=True)).to_be_visible()


def test_anywidget_renders(page, voila_url, expect):
    page.goto(voila_url)
    rendered = page.locator('[id="cell-id=anywidget"] p.fl-smoke-anywidget')
    expect(rendered).to_have_text("anywidget says hello")
    assert page.locator(".fl-smoke-anywidget").count() == 1
