"""Log in as the demo doctor, see the dashboard, log out; wrong password; assets all load."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.a11y import assert_accessible


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
    expect(page.locator("header.site-header")).to_have_css("background-color", "rgb(29, 79, 145)")
    assert_accessible(page)
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


def test_token_page_creates_copies_and_revokes_after_confirmation(page, live_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.goto(f"{live_server}/connexion")
    assert_accessible(page)
    page.get_by_label("Identifiant").fill("pharmacien.demo")
    page.get_by_label("Mot de passe").fill("demo-pharmacien-2026")
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Logiciels connectés").first.click()
    assert_accessible(page)
    page.get_by_label("Nom du logiciel").fill("LGO officine")
    page.get_by_role("button", name="Créer le jeton").click()
    expect(page.get_by_test_id("new-token")).to_contain_text("amp_")
    expect(page.get_by_role("cell", name="LGO officine", exact=True)).to_be_visible()
    assert_accessible(page)
    # The copy button (shown by the script served by the app) puts the token in the clipboard.
    page.get_by_role("button", name="Copier le jeton").click()
    expect(page.locator("#copy-status")).to_have_text("Jeton copié dans le presse-papiers.")
    secret = page.get_by_test_id("new-token").inner_text().strip()
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    # Revoking asks first; « Annuler » changes nothing.
    page.get_by_role("link", name="Révoquer le jeton « LGO officine »").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Révoquer le jeton « LGO officine » ?")
    assert_accessible(page)
    page.get_by_role("link", name="Annuler").click()
    row = page.get_by_role("row").filter(has_text="LGO officine")
    expect(row).to_contain_text("Actif")
    page.get_by_role("link", name="Révoquer le jeton « LGO officine »").click()
    page.get_by_role("button", name="Oui, révoquer ce jeton").click()
    expect(page.get_by_text("Le jeton « LGO officine » est révoqué.")).to_be_visible()
    expect(row).to_contain_text("Révoqué le")
    assert_accessible(page)
    # The API documentation, linked from this page, is served by the app.
    page.get_by_role("link", name="documentation de l'API").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Documentation de l'API")
    expect(page.locator("#op-submitLot")).to_contain_text("Envoyer un lot de FSE signées")
    assert_accessible(page)
    assert page.watch.failed == [] and page.watch.foreign == []
