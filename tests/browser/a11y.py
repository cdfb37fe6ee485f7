"""Accessibility checks shared by the browser tests: run on every page they visit.

Two layers:

* ``assert_accessible(page)``: our own smoke (French page, one h1, unique ids, labelled
  fields) **and** axe-core on the page as it is now;
* ``watch_with_axe(page)`` (installed by the ``page`` fixture in conftest): axe-core on every
  document the page loads, whatever the test does; the violations are asserted when the
  test ends, so that a page a test only passes through is checked too.

axe-core is the maintained engine (Deque, MPL-2.0), vendored in ``vendor/axe-core/``
(``axe.min.js``, its licences and ``VERSION``; see docs/interface.md to update it), never
fetched from the network. The app's Content-Security-Policy (``script-src 'self'``) refuses
inline scripts, so ``add_script_tag(path=...)`` (an inline script) cannot be used without
turning the policy off; instead the test browser answers a same-origin address,
``/__axe-core__/axe.min.js``, from the vendored file (``page.route``: the request never
reaches the server) and a ``<script src>`` of that address is added. The policy stays in
force in every browser test. Violations of impact « serious » or « critical » fail the test.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_PATH = "/__axe-core__/axe.min.js"  # answered by the test browser itself (see watch_with_axe)
FAILING_IMPACTS = ("serious", "critical")

# Fields a person fills in (hidden inputs and buttons excluded).
FIELDS = "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea"

# One evaluate loads axe-core (a <script src> of the same origin, allowed by the policy) and
# runs it; runs are queued (axe refuses to run twice at once).
_RUN_AXE = """async ({url, impacts}) => {
  if (typeof window.axe === 'undefined') {
    await new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = url;
      script.onload = resolve;
      script.onerror = () => reject(new Error('axe-core could not be loaded from ' + url));
      document.head.appendChild(script);
    });
  }
  const run = () => axe.run(document, {resultTypes: ['violations']});
  window.__axeQueue = (window.__axeQueue || Promise.resolve()).catch(() => null).then(run);
  const result = await window.__axeQueue;
  return result.violations.filter(v => impacts.includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n').slice(0, 2).join(' '))
  }));
}"""


def serve_axe(page) -> None:
    """Answer ``AXE_PATH`` from the vendored file in this page's browser (once per page: pages a
    test opens in a context of its own get it too)."""
    if not getattr(page, "axe_served", False):
        page.route(f"**{AXE_PATH}", lambda route: route.fulfill(path=str(AXE_JS), content_type="text/javascript"))
        page.axe_served = True


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now."""
    serve_axe(page)
    origin = re.match(r"https?://[^/]+", page.url).group(0)
    return page.evaluate(_RUN_AXE, {"url": origin + AXE_PATH, "impacts": list(FAILING_IMPACTS)})


def format_violations(url: str, violations: list[dict]) -> str:
    lines = [f"axe-core on {url}:"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines += [f"      {n}" for n in v["nodes"]]
    return "\n".join(lines)


def assert_axe_clean(page) -> None:
    violations = axe_violations(page)
    assert violations == [], format_violations(page.url, violations)


def watch_with_axe(page) -> None:
    """Run axe-core on every document the page loads; results kept on ``page.axe_report``."""
    page.axe_report = {"checked": [], "violations": []}
    serve_axe(page)

    def on_load(_page) -> None:
        url = page.url
        try:
            found = axe_violations(page)
        except PlaywrightError as exc:
            text = str(exc)
            if any(w in text for w in ("destroyed", "navigat", "closed", "axe is not defined", "could not be loaded")):
                return  # the test went on to the next document before this one could be checked
            raise
        page.axe_report["checked"].append(url)
        if found:
            page.axe_report["violations"].append(format_violations(url, found))

    page.on("load", on_load)


def assert_accessible(page) -> None:
    """French page, exactly one h1, ids unique (labels and aria references rely on them),
    every form field with a <label> naming it, and no serious or critical axe-core violation."""
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
    assert_axe_clean(page)
