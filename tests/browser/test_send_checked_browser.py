"""Facturation in Chromium: « Vérifier » with the upload progress bar, then « Envoyer ce lot »
without choosing the file again; reloading the receipt sends nothing; the pages fit 390 px."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from amelipro.fse.models import Lot, StoredFse
from tests.browser.a11y import assert_accessible
from tests.browser.test_billing_browser import lot_file  # noqa: F401 - the signed lot fixture

RECORD_PROGRESS = """() => {
  const bar = document.querySelector('form[data-upload-progress] progress');
  sessionStorage.setItem('progress', '');
  new MutationObserver(() => {
    sessionStorage.setItem('progress', sessionStorage.getItem('progress') + ' ' + bar.value);
  }).observe(bar, {attributes: true});
}"""


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        counts = (session.scalar(select(func.count()).select_from(Lot)),
                  session.scalar(select(func.count()).select_from(StoredFse)))
        session.close()
    return counts


def _fits_390(page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url
    page.set_viewport_size({"width": 1280, "height": 800})


def test_verify_then_send_this_lot_with_the_progress_bar(page, app, live_server, login, lot_file):  # noqa: F811
    path, (valid, invalid) = lot_file
    login(page, "medecin.demo")
    page.goto(f"{live_server}/facturation/envoyer")
    expect(page.get_by_text(re.compile(r"Taille maximale d'un envoi : 20 Mo"))).to_be_visible()
    _fits_390(page)
    assert_accessible(page)
    page.get_by_label("Fichier du lot signé (XML)").set_input_files(path)
    page.evaluate(RECORD_PROGRESS)
    page.get_by_role("button", name="Vérifier sans envoyer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapport de vérification")
    seen = page.evaluate("sessionStorage.getItem('progress')").split()
    assert seen and seen[-1] == "100", seen  # the bar followed the upload to its end
    expect(page.get_by_test_id("arl-positive")).to_contain_text("Rien n'a été enregistré.")
    assert _counts(app) == (0, 0)
    _fits_390(page)
    assert_accessible(page)

    page.get_by_role("button", name="Envoyer ce lot").click()  # no file chosen again
    expect(page.get_by_role("heading", level=1)).to_have_text("Accusé de réception du lot")
    expect(page.get_by_text("Fichier : lot-cabinet.xml")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("1 feuille(s) de soins acceptée(s), 1 rejetée(s).")
    assert re.search(r"/facturation/lots/\d+/accuse$", page.url)  # Post/Redirect/Get
    assert _counts(app) == (1, 2)
    page.reload()  # F5 reads the receipt again, sends nothing
    expect(page.get_by_role("heading", level=1)).to_have_text("Accusé de réception du lot")
    assert _counts(app) == (1, 2)
    _fits_390(page)
    assert_accessible(page)

    # The search finds the rejected FSE by its invoice number, and its state; fits 390 px.
    page.goto(f"{live_server}/facturation/")
    page.get_by_label("N° de facture ou de lot, NIR ou nom du patient").fill(invalid.invoice_number)
    page.get_by_label("État").select_option("rejetee")
    page.get_by_role("button", name="Rechercher").click()
    found = page.get_by_test_id("found-fses").locator("tbody tr")
    expect(found).to_have_count(1)
    expect(found.first).to_contain_text(invalid.invoice_number)
    _fits_390(page)
    assert_accessible(page)
    found.first.get_by_role("link", name=invalid.invoice_number).click()
    expect(page.get_by_test_id("prescription")).to_be_visible()
    _fits_390(page)
    assert_accessible(page)

    # Back to the report and « Envoyer ce lot » again: refused, nothing sent twice.
    for _ in range(4):  # search, results, FSE, receipt
        page.go_back()
    page.wait_for_load_state("load")
    if page.get_by_role("button", name="Envoyer ce lot").count():
        page.get_by_role("button", name="Envoyer ce lot").click()
        expect(page.get_by_role("alert")).to_contain_text("n'est plus disponible")
    assert _counts(app) == (1, 2)
    assert page.watch.failed == []
