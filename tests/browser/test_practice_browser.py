"""In Chromium at 390 px: the operator records a doctor's sector through the form (keyboard
and labels), the doctor reads it on « Mon compte »; a majoration's public page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.a11y import assert_accessible


def test_operator_sets_a_sector_and_the_doctor_sees_it(page, live_server, login):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "operateur.demo")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Professionnels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Professionnels")
    assert_accessible(page)
    page.get_by_role("link", name="Dr Claire Martin").click()
    assert_accessible(page)
    page.get_by_label("Premier jour").fill("2025-01-01")
    page.get_by_label("Secteur conventionnel").select_option("2_optam")
    page.get_by_label("Spécialité").fill("Médecine générale")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".flashes")).to_contain_text("Secteur 2 avec OPTAM")
    expect(page.get_by_test_id("periods")).to_contain_text("Médecine générale")
    page.reload()  # F5 after the redirect: nothing posted again
    expect(page.get_by_test_id("periods").locator("li")).to_have_count(1)
    page.get_by_role("button", name="Se déconnecter").click()
    login(page, "medecin.demo")
    page.get_by_role("link", name="Mon compte", exact=True).click()
    expect(page.get_by_test_id("practice")).to_contain_text("Secteur 2 avec OPTAM")
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not page.watch.failed and not page.watch.foreign


def test_majoration_page_at_390px(page, live_server):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/referentiels/majorations?at=2025-03-09")
    expect(page.get_by_role("heading", level=1)).to_have_text("Majorations NGAP")
    assert_accessible(page)
    page.get_by_role("link", name="MM", exact=True).click()
    expect(page.get_by_test_id("condition")).to_contain_text("minuit et 6 h")
    expect(page.get_by_test_id("in-force")).to_contain_text("valeur non confirmée")
    assert_accessible(page)
    assert not page.watch.failed and not page.watch.foreign
