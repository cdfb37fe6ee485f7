"""Accessibility smoke shared by the browser tests: checked on every page they visit."""

from __future__ import annotations

import re

from playwright.sync_api import expect

# Fields a person fills in (hidden inputs and buttons excluded).
FIELDS = "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea"


def assert_accessible(page) -> None:
    """French page, exactly one h1, ids unique (labels and aria references rely on them), and
    every form field with a <label> naming it."""
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_count(1)
    duplicated = page.evaluate(
        "() => { const seen = {}; for (const e of document.querySelectorAll('[id]')) seen[e.id] = (seen[e.id] || 0) + 1;"
        " return Object.keys(seen).filter(k => seen[k] > 1); }")
    assert duplicated == [], f"duplicated ids on {page.url}: {duplicated}"
    fields = page.locator(FIELDS)
    for i in range(fields.count()):
        field = fields.nth(i)
        described = field.evaluate("e => e.outerHTML.slice(0, 120)")
        label = field.evaluate("e => e.labels && e.labels.length ? e.labels[0].textContent.trim() : ''")
        assert label, f"field without a <label>: {described}"
        if field.is_visible():  # (a field in a closed <details> has no accessible name yet)
            expect(field).to_have_accessible_name(re.compile(r"\w"))
