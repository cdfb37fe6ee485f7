"""The interface pass in Chromium: substance search, the French import diff and audit journal,
no sideways scrolling at 390 px on the main pages, and the axe-core check itself."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import assert_accessible, axe_violations, watch_with_axe
from tests.browser.test_payments_browser import payments  # noqa: F401 (fixture)
from tests.browser.test_reference_browser import DOLIPRANE, price_cut  # noqa: F401 (fixture)

PHONE = {"width": 390, "height": 844}


def test_axe_core_reports_a_real_violation(page, live_server):
    """The engine runs for real: an image without a text alternative is a critical violation."""
    page.goto(f"{live_server}/connexion")
    assert axe_violations(page) == []
    page.evaluate("() => { const i = document.createElement('img'); i.src = '/static/favicon.svg';"
                  " i.id = 'sans-alt'; document.querySelector('main').appendChild(i); }")
    found = {v["id"]: v for v in axe_violations(page)}
    assert "image-alt" in found and found["image-alt"]["impact"] == "critical"
    assert "#sans-alt" in found["image-alt"]["nodes"][0]
    page.evaluate("() => document.getElementById('sans-alt').remove()")
    assert page.axe_report["checked"], "the load hook ran axe-core on the login page"


def test_search_by_substance_laboratory_and_generic_group(page, live_server, reference_demo):
    page.goto(f"{live_server}/referentiels/")
    field = page.get_by_label("Code, nom, substance ou laboratoire")
    field.fill("paracetamol")  # without the accent: the DCI is « PARACÉTAMOL »
    field.press("Enter")
    results = page.get_by_test_id("results")
    # DOLIPRANE's name does not say paracétamol: it is found by its composition.
    expect(results.get_by_role("link", name="DOLIPRANE 1000 mg, comprimé")).to_be_visible()
    demo = results.locator("tbody tr").filter(has_text="PARACÉTAMOL DÉMO 500 mg")
    expect(demo).to_contain_text("DCI : PARACÉTAMOL")
    # « NR » is explained where it is shown.
    expect(demo.locator("abbr", has_text="NR")).to_have_attribute("title", "non remboursable")
    expect(page.get_by_test_id("legend")).to_contain_text(re.compile(r"NR\s*non remboursable"))
    assert_accessible(page)

    page.get_by_label("Code, nom, substance ou laboratoire").fill("lévothyroxine")
    page.get_by_role("button", name="Rechercher").click()
    expect(results.get_by_role("link", name=re.compile(r"^LEVOTHYROX 100")).first).to_be_visible()
    expect(results.get_by_role("link", name=re.compile(r"^LÉVOTHYROXINE DÉMO"))).to_be_visible()
    assert_accessible(page)

    # From the princeps: its generic group, then its laboratory.
    results.get_by_role("link", name=re.compile(r"^LEVOTHYROX 100")).first.click()
    page.get_by_role("link", name="Toutes les présentations du groupe et leurs prix").first.click()
    expect(page.get_by_test_id("group-filter")).to_contain_text("Groupe générique n°")
    expect(results.get_by_role("link", name=re.compile(r"^LÉVOTHYROXINE DÉMO"))).to_be_visible()
    expect(results.get_by_role("link", name=re.compile(r"^LEVOTHYROX 100")).first).to_be_visible()
    assert_accessible(page)
    page.go_back()
    page.get_by_role("link", name=re.compile(r"MERCK SANTE")).click()
    rows = results.locator("tbody tr")
    expect(rows.first).to_contain_text("MERCK SANTE")
    for i in range(rows.count()):
        expect(rows.nth(i)).to_contain_text("MERCK SANTE")
    assert_accessible(page)
    assert page.watch.failed == [] and page.watch.foreign == []


def test_import_diff_and_journal_in_french(page, live_server, login, price_cut):  # noqa: F811
    login(page, "operateur.demo")
    page.goto(f"{live_server}/referentiels/imports")
    assert_accessible(page)
    row = page.get_by_role("row").filter(has_text="BDPM (médicaments)").filter(has_text="01/09/2026")
    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BDPM (médicaments)")
    expect(page.get_by_text("1er septembre 2026").first).to_be_visible()
    changed = page.get_by_test_id("changed")
    line = changed.locator("tbody tr").filter(has_text=DOLIPRANE)
    expect(line.locator("td").nth(1)).to_have_text("Médicament")
    expect(line.locator("td").nth(2)).to_have_text("1er septembre 2026")
    expect(line.locator("td").nth(3)).to_have_text(re.compile(r"prix : 1,16\s€"))
    expect(line.locator("td").nth(4)).to_have_text(re.compile(r"prix : 1,06\s€"))
    text = page.locator("main").inner_text()
    assert "price" not in text and "1.16" not in text and not re.search(r"\d{4}-\d\d-\d\d", text)
    assert_accessible(page)

    page.get_by_role("link", name="Journal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal d'audit")
    journal = page.get_by_test_id("journal")
    expect(journal).to_contain_text("operateur.demo s'est connecté(e).")
    assert "login.succeeded" not in journal.inner_text()
    assert_accessible(page)
    page.get_by_label("Type d'événement").select_option(label="Import de référentiel")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"type=reference\.import"))
    rows = journal.locator("tbody tr")
    expect(rows.first).to_contain_text("test a importé le référentiel des médicaments (BDPM)")
    for i in range(rows.count()):
        expect(rows.nth(i).locator("td").nth(2)).to_have_text("Import de référentiel")
    page.get_by_label("Personne (identifiant)").fill("personne.inconnue")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_text("Aucun événement ne correspond à ces critères.")).to_be_visible()
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter ces événements (CSV)").click()
    assert download.value.suggested_filename == "journal-audit.csv"


def _phone_page(browser, live_server):
    context = browser.new_context(locale="fr-FR", viewport=PHONE)
    phone = context.new_page()
    watch_with_axe(phone)
    return context, phone


def _assert_fits(page, path: str) -> None:
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_count(1)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > 391 && !e.closest('.table-scroll'))
          .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)
                          + ' ' + (e.textContent || '').trim().slice(0, 40))""")
        raise AssertionError(f"{path}: the page scrolls sideways at 390 px ({width} px wide): {wide}")


def _log_in(page, live_server, account: str, password: str) -> None:
    page.goto(f"{live_server}/connexion")
    page.get_by_label("Identifiant").fill(account)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


PUBLIC = ["/connexion", "/referentiels/", "/referentiels/?q=doliprane", "/referentiels/?q=lit+medical",
          f"/referentiels/medicaments/{DOLIPRANE}", "/referentiels/medicaments/3400930065891",
          "/referentiels/lpp/1241763", "/referentiels/actes/DEQP003", "/referentiels/ehpad",
          "/referentiels/imports", "/documentation-api", "/page-qui-n-existe-pas"]
DOCTOR = ["/", "/facturation/", "/facturation/envoyer", "/paiements/", "/paiements/factures", "/paiements/virements",
          "/paiements/penalites", "/paiements/releves", "/droits", "/logiciels"]
OPERATOR = ["/", "/journal", "/referentiels/imports", "/operations/"]


@pytest.mark.parametrize("width_check", ["390px"])
def test_no_page_scrolls_sideways_at_390_px(browser, live_server, payments, price_cut, width_check):  # noqa: F811
    from amelipro.demo import DEMO_ACCOUNTS

    passwords = {a.login: a.password for a in DEMO_ACCOUNTS}
    visited = []
    for account, paths in ((None, PUBLIC), ("medecin.demo", DOCTOR), ("operateur.demo", OPERATOR)):
        context, page = _phone_page(browser, live_server)
        try:
            if account:
                _log_in(page, live_server, account, passwords[account])
            for path in paths:
                page.goto(f"{live_server}{path}")
                expect(page.locator("h1")).to_have_count(1)
                _assert_fits(page, path)
                assert_accessible(page)
                visited.append(path)
            if account == "medecin.demo":  # a payment's page, a lot and a care sheet, reached by links
                page.goto(f"{live_server}/paiements/factures")
                page.get_by_role("link", name="CAB-REJ").click()
                expect(page.get_by_role("heading", level=1)).to_contain_text("Facture CAB-REJ")
                _assert_fits(page, page.url)
                assert_accessible(page)
                page.goto(f"{live_server}/facturation/")
                page.get_by_test_id("lots").locator("tbody a").first.click()
                expect(page).to_have_url(re.compile(r"/facturation/lots/\d+"))
                _assert_fits(page, page.url)
                assert_accessible(page)
                page.locator("main a[href*='/facturation/fse/']").first.click()
                expect(page).to_have_url(re.compile(r"/facturation/fse/\d+"))
                _assert_fits(page, page.url)
                assert_accessible(page)
            if account == "operateur.demo":
                page.goto(f"{live_server}/referentiels/imports")
                page.get_by_role("link").filter(has_text=re.compile(r"^\d+$")).first.click()
                expect(page.get_by_role("heading", level=1)).to_contain_text("Import n°")
                _assert_fits(page, page.url)
                assert_accessible(page)
            # Wide tables scroll in their own box, their first column kept in view.
            boxes = page.locator(".table-scroll")
            for i in range(boxes.count()):
                assert boxes.nth(i).evaluate("e => getComputedStyle(e).overflowX") == "auto"
            assert page.axe_report["violations"] == [], "\n".join(page.axe_report["violations"])
        finally:
            context.close()
    assert len(visited) == len(PUBLIC) + len(DOCTOR) + len(OPERATOR)


def test_wide_table_scrolls_in_its_box_with_the_first_column_kept(browser, live_server, price_cut):  # noqa: F811
    context, page = _phone_page(browser, live_server)
    try:
        page.goto(f"{live_server}/referentiels/?q=doliprane")
        box = page.locator(".table-scroll").first
        expect(box).to_have_attribute("role", "region")
        inner, outer = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert inner > outer, "the results table is wider than the phone: it scrolls in its box"
        first = box.locator("tbody tr").first.locator("td").first
        before = first.bounding_box()["x"]
        box.evaluate("e => { e.scrollLeft = 200; }")
        page.wait_for_timeout(50)
        assert abs(first.bounding_box()["x"] - before) < 1, "the first column stays in view (sticky)"
        second = box.locator("tbody tr").first.locator("td").nth(2)
        assert second.bounding_box()["x"] < 390
        _assert_fits(page, "/referentiels/?q=doliprane")
    finally:
        context.close()


def test_operator_starts_an_import_and_a_liquidation_from_the_pages(page, live_server, login, payments):  # noqa: F811
    login(page, "operateur.demo")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Opérations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Opérations")
    assert_accessible(page)
    page.get_by_role("button", name="Lancer l'import").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import des référentiels — opération n°")
    job = page.get_by_test_id("job")
    expect(job).to_have_attribute("data-status", "done", timeout=60_000)  # the page refreshes itself
    assert_accessible(page)
    progress = page.locator("progress#progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == "6"
    result = page.get_by_test_id("result")
    expect(result).to_contain_text("BDPM (médicaments)")
    result.get_by_role("link", name="BDPM (médicaments)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BDPM (médicaments)")
    assert_accessible(page)

    page.goto(f"{live_server}/operations/")
    page.get_by_role("button", name="Lancer la liquidation").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Liquidation des FSE en tiers payant")
    expect(page.get_by_test_id("job")).to_have_attribute("data-status", "done", timeout=60_000)
    expect(page.get_by_test_id("result")).to_contain_text("1 feuille(s) de soins liquidée(s) : 1 payée(s)")
    assert_accessible(page)
    # Both runs are in the list and in the journal, in French.
    page.get_by_role("link", name="← Opérations").click()
    expect(page.get_by_test_id("jobs").locator("tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Journal").click()
    expect(page.get_by_test_id("journal")).to_contain_text("operateur.demo a lancé l'opération n° 2 : Liquidation")
    assert page.watch.failed == [] and page.watch.foreign == []
