"""Accessibility smoke shared by the browser tests: checked on every page they visit."""

from __future__ import annotations

import re

from playwright.sync_api import expect

# Fields a person fills in (hidden inputs and buttons excluded).
FIELDS = "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea"


def assert_accessible(page) -> None:
    """French page, exactly one h1, and every form field with a <label> naming it."""
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_count(1)
    fields = page.locator(FIELDS)
    for i in range(fields.count()):
        field = fields.nth(i)
        described = field.evaluate("e => e.outerHTML.slice(0, 120)")
        assert field.evaluate("e => e.labels !== null && e.labels.length > 0"), f"field without <label>: {described}"
        expect(field).to_have_accessible_name(re.compile(r"\w"))
