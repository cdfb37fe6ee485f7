"""Log in as the demo doctor, see the dashboard, log out; wrong password; assets all load."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_demo_doctor_logs_in_and_out(page, live_server):
    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/connexion"))
    page.get_by_label("Identifiant").fill("medecin.demo")
    page.get_by_label("Mot de passe").fill("demo-medecin-2026")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    expect(page.get_by_test_id("user-name")).to_have_text("Dr Claire Martin")
    expect(page.get_by_role("navigation", name="Navigation principale")).to_contain_text("Accueil")
    # the stylesheet really applied (served by the app, no CDN)
    header_bg = page.locator("header.site-header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header_bg == "rgb(29, 79, 145)"
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/connexion"))
    assert page.watch.failed == []
    assert page.watch.foreign == []


def test_wrong_password_shows_french_error(page, live_server):
    page.goto(f"{live_server}/connexion")
    page.get_by_label("Identifiant").fill("medecin.demo")
    page.get_by_label("Mot de passe").fill("pas-le-bon")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    # the 401 of the login POST itself is expected; no asset may fail
    assert [f for f in page.watch.failed if "/connexion" not in f] == []


def test_token_page_creates_a_token(page, live_server):
    page.goto(f"{live_server}/connexion")
    page.get_by_label("Identifiant").fill("pharmacien.demo")
    page.get_by_label("Mot de passe").fill("demo-pharmacien-2026")
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Logiciels connectés").first.click()
    page.get_by_label("Nom du logiciel").fill("LGO officine")
    page.get_by_role("button", name="Créer le jeton").click()
    expect(page.get_by_test_id("new-token")).to_contain_text("amp_")
    expect(page.get_by_role("cell", name="LGO officine")).to_be_visible()
    assert page.watch.failed == []
