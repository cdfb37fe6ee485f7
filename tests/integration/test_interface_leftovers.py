"""Leftovers on the pages people read: a crawl of the main pages (a professional, an operator,
and anyone without an account) through the Flask test client, each page's visible text scanned
for what a developer's tool would show and a French professional should never see.

* ISO dates (« 2026-11-29 ») and amounts with a decimal point (« 54.60 € »);
* English words and Python leftovers (« None », « True », « pending », « ['…'] »);
* internal values (« MEDICAMENT », « login.succeeded »);
* on public pages (no account): file names (« CIS_bdpm.txt ») and regular expressions.

The crawl follows the links of each page (GET, same site, not the API, not downloads), so a
page added later is scanned too.
"""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from amelipro.auth.models import Professional
from amelipro.demo import DEMO_ACCOUNTS
from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from tests.browser.test_payments_browser import LIQ_DAY

PASSWORDS = {a.login: a.password for a in DEMO_ACCOUNTS}
MAX_PAGES = 70

ISO_DATE = re.compile(r"\b(19|20)\d\d-[01]\d-[0-3]\d\b")
POINT_AMOUNT = re.compile(r"\d\.\d\d\s*€|€\s*\d+\.\d\d")
ENGLISH = re.compile(r"\b(None|True|False|null|undefined|NaN|Traceback|Exception|Error|Method Not Allowed|Not Found|"
                     r"pending|paid|rejected|submitted|accepted|unknown|invalid|Bad Request)\b")
PYTHON = re.compile(r"\[\s*'|'\s*\]|\{\s*'|\bu'|<[a-z_.]+ object at 0x")
INTERNAL = re.compile(r"\b(MEDICAMENT|DISPOSITIF|ACTE_[A-Z]+|[a-z]+\.(succeeded|failed|created|revoked|submitted|refused)"
                      r"|en_attente|rejetee|payee)\b")
FILE_NAME = re.compile(r"(?<![/\w.-])[\w-]+\.(txt|csv|json|xml|xsd|py|dbf|zip|tgz)\b", re.IGNORECASE)
REGEX = re.compile(r"\^\[|\\d|\\w|\\s\*|\(\?[:=!P]|\[\^|\$\)|\]\+\$|\{\d+,\d*\}\$")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

SKIP = ("/api/", "/static/", "/deconnexion", ".csv", "/journal.csv", "/favicon",
        # Documentation for developers: the API's own names (Error, null, field names) belong there.
        "/documentation-api")


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r"<!--.*?-->", " ", html, flags=re.S)
    # Attributes are not read (values, ids, data-*), except what assistive technology reads.
    spoken = " ".join(re.findall(r'\b(?:title|aria-label|alt|placeholder)="([^"]*)"', html))
    text = re.sub(r"<[^>]+>", " ", html)
    text = htmllib.unescape(text + " " + spoken)
    return EMAIL.sub(" ", text)  # an address is data, not wording (demo ones end in .invalid)


def leftovers(text: str, public: bool) -> list[str]:
    found = []
    for name, pattern in (("date ISO", ISO_DATE), ("montant avec un point", POINT_AMOUNT), ("anglais", ENGLISH),
                          ("Python", PYTHON), ("valeur interne", INTERNAL)) + (
            (("nom de fichier", FILE_NAME), ("expression régulière", REGEX)) if public else ()):
        for match in pattern.finditer(text):
            start = max(0, match.start() - 40)
            found.append(f"{name}: «{match.group(0)}» dans «…{text[start:match.end() + 40].strip()}…»")
    return found


def crawl(client, seeds: list[str]) -> dict[str, str]:
    """Path -> visible text of every page reached from the seeds (one per path + query)."""
    seen: dict[str, str] = {}
    queue = list(seeds)
    paths: set[str] = set()
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc or url in seen or any(s in parts.path for s in SKIP):
            continue
        # One page per path (plus the seeds): paging and date links would never end.
        if parts.path in paths and url not in seeds:
            continue
        paths.add(parts.path)
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            continue
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        seen[url] = visible_text(html)
        for href in re.findall(r'<a\b[^>]*\bhref="([^"#]+)"', html):
            href = htmllib.unescape(href)
            if href.startswith("/"):
                queue.append(href)
    return seen


@pytest.fixture
def site(app, runner, reference_demo, make_accepted_fse, tp_lookup, tp_session):
    """The demo accounts; the doctor with paid, rejected and pending tiers payant."""
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    with tp_session() as session:
        doctor = session.scalar(select(Professional).where(Professional.login == "medecin.demo"))
    for i in range(2):
        make_accepted_fse(doctor, invoice_number=f"CAB-{i}")
    make_accepted_fse(doctor, invoice_number="CAB-REJ", code="ZZZ")
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    make_accepted_fse(doctor, invoice_number="CAB-ATT")
    return app


def _report(pages: dict[str, str], public: bool) -> list[str]:
    return [f"{url}: {problem}" for url, text in pages.items() for problem in leftovers(text, public)]


PUBLIC_SEEDS = ["/referentiels/", "/referentiels/?q=doliprane", "/referentiels/?q=lit+medical",
                "/referentiels/?q=G&kind=act", "/referentiels/ehpad", "/referentiels/imports",
                "/connexion", "/page-qui-n-existe-pas"]


def test_public_pages_have_no_leftovers(client, site):
    pages = crawl(client, PUBLIC_SEEDS)
    assert len(pages) >= 12, sorted(pages)
    problems = _report(pages, public=True)
    assert problems == [], "\n".join(problems)


def test_professional_pages_have_no_leftovers(client, auth, site):
    auth.login("medecin.demo", PASSWORDS["medecin.demo"])
    pages = crawl(client, ["/", "/paiements/", "/paiements/factures?statut=rejetee", "/logiciels"])
    assert any("CAB-REJ" in text for text in pages.values())  # the rejected invoice was reached
    assert len(pages) >= 15, sorted(pages)
    problems = _report(pages, public=False)
    assert problems == [], "\n".join(problems)


def test_operator_pages_have_no_leftovers(client, auth, site):
    auth.login("operateur.demo", PASSWORDS["operateur.demo"])
    pages = crawl(client, ["/", "/journal", "/referentiels/imports"])
    assert any(url.startswith("/journal") for url in pages)
    problems = _report(pages, public=False)
    assert problems == [], "\n".join(problems)


def test_the_scanner_finds_what_it_looks_for():
    text = visible_text("<p>Payé 54.60 € le 2026-11-29</p><p title='x'>None</p><td>MEDICAMENT</td>"
                        "<p>Fichier CIS_bdpm.txt, motif ^[0-9]{13}$</p><p>['a']</p><p>login.succeeded</p>")
    kinds = {problem.split(":")[0] for problem in leftovers(text, public=True)}
    assert kinds == {"date ISO", "montant avec un point", "anglais", "Python", "valeur interne", "nom de fichier",
                     "expression régulière"}
    assert leftovers(visible_text('<input value="2026-11-29"><p>Payé 54,60 € le 29/11/2026</p>'), public=True) == []


def test_error_pages_speak_to_people(client):
    """No jargon (« Méthode HTTP non autorisée ») and no API code in the text of an error page;
    the API keeps both."""
    page = client.post("/referentiels/ehpad", headers={"Accept": "text/html"})
    assert page.status_code == 405
    text = visible_text(page.get_data(as_text=True))
    assert "Action impossible à cette adresse" in text and "Cette page ne s'ouvre pas de cette façon." in text
    assert "HTTP" not in text and "GEN-405" not in text and 'data-code="GEN-405"' in page.get_data(as_text=True)
    missing = visible_text(client.get("/referentiels/medicaments/3400000000000").get_data(as_text=True))
    assert "Page introuvable" in missing and "REF-001" not in missing
    api = client.post("/api/v1/reference/search")
    assert api.status_code == 405 and api.get_json()["errors"][0]["code"] == "GEN-405"
