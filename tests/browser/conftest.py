"""Browser tests: real Debian Chromium driven by Playwright, against a live server."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.browser.a11y import watch_with_axe

CHROMIUM = os.environ.get("AMELIPRO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true" or os.environ.get("AMELIPRO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium absent ({CHROMIUM}) : `make test` et la CI l'installent "
                        "(cible « chromium » du Makefile, .ci/run).")
        pytest.skip(f"Chromium absent ({CHROMIUM}); `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app, runner):
    """The app served over HTTP on a free loopback port, with the demo accounts."""
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


class PageWatch:
    """Records failed requests and error responses of a page."""

    def __init__(self, page, base_url: str):
        self.failed: list[str] = []
        self.foreign: list[str] = []
        # ERR_ABORTED is a request cut short by the next navigation, not a failed asset.
        page.on(
            "requestfailed",
            lambda r: "ERR_ABORTED" not in (r.failure or "") and self.failed.append(f"{r.url} {r.failure}"),
        )
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} {r.status}"))
        page.on("request", lambda r: not r.url.startswith((base_url, "data:")) and self.foreign.append(r.url))


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.watch = PageWatch(page, live_server)
    watch_with_axe(page)  # axe-core on every document the test loads (asserted below)
    yield page
    context.close()
    assert page.axe_report["violations"] == [], "\n".join(page.axe_report["violations"])


@pytest.fixture
def login(live_server):
    """``login(page, "medecin.demo")``: logs a demo account in through the login form."""
    from playwright.sync_api import expect

    from amelipro.demo import DEMO_ACCOUNTS

    passwords = {a.login: a.password for a in DEMO_ACCOUNTS}

    def do(page, account: str) -> None:
        page.goto(f"{live_server}/connexion")
        page.get_by_label("Identifiant").fill(account)
        page.get_by_label("Mot de passe").fill(passwords[account])
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()

    return do
