"""The audit journal for people: a French sentence per event, filters, paging, CSV export."""

from __future__ import annotations

import csv
import html as htmllib
import io
import re
from datetime import UTC, datetime

import pytest

from amelipro import audit
from amelipro.audit import EVENT_KINDS, AuditEvent, sentence
from amelipro.auth.models import Role

# Details as the services record them today (see the audit.record calls).
RECORDED = {
    "login.succeeded": ({}, "medecin.demo s'est connecté(e)."),
    "login.failed": ({}, "medecin.demo a échoué à se connecter"),
    "login.throttled": ({}, "medecin.demo a été bloqué(e)"),
    "logout": ({}, "medecin.demo s'est déconnecté(e)."),
    "professional.created": ({"login": "x.y"}, "a créé le compte « x.y »"),
    "token.created": ({"token_id": 3, "name": "Logiciel"}, "a créé le jeton d'API « Logiciel » (n° 3)."),
    "token.revoked": ({"token_id": 3}, "a révoqué le jeton d'API n° 3."),
    "lot.submitted": ({"lot_id": 7, "fse": 2, "accepted": 1, "rejected": 1, "duplicates": 0, "source": "api"},
                      "a envoyé le lot n° 7 : 2 feuille(s) de soins, 1 acceptée(s), 1 refusée(s)."),
    "lot.refused": ({"status": 422, "codes": ["FSE-XSD-001"], "body_sha256": "ab"}, "un lot refusé à la réception (1 erreur(s))."),
    "reference.import": ({"dataset": "bdpm", "run_id": 4, "created": 20874, "changed": 2, "closed": 1, "skipped": 0},
                         "a importé le référentiel des médicaments (BDPM) (import n° 4) : 20\u202f874 créé(s)"),
    "reference.ehpad.add": ({"lpp_code": "1241763", "category_id": 1, "reason": "lit"}, "a rattaché le code LPP 1241763"),
    "reference.ehpad.remove": ({"lpp_code": "1241763", "category_id": 1}, "a retiré le rattachement EHPAD du code LPP 1241763."),
    "beneficiaries.imported": ({"created": 3, "updated": 1, "periods": 5, "skipped": 0}, "a importé le fichier des droits : 3 patient(s)"),
    "operations.started": ({"job_id": 4, "operation": "Liquidation des FSE en tiers payant"},
                           "a lancé l'opération n° 4 : Liquidation des FSE en tiers payant."),
    "operations.finished": ({"job_id": 4, "operation": "Import des référentiels"},
                            "opération n° 4 (Import des référentiels) terminée."),
    "operations.failed": ({"job_id": 4, "operation": "Import des référentiels"},
                          "opération n° 4 (Import des référentiels) échouée."),
    "thirdparty.statement_import": ({"statement": 2, "lines": 14, "format": "csv"}, "a importé le relevé bancaire n° 2 (14 ligne(s))."),
}


def _event(action: str, detail: dict, login: str = "medecin.demo") -> AuditEvent:
    import json

    return AuditEvent(action=action, actor_login=login, detail=json.dumps(detail), remote_addr="127.0.0.1",
                      at=datetime(2026, 11, 29, 13, 5, tzinfo=UTC))


def test_every_known_kind_has_a_test_here():
    assert set(RECORDED) == set(EVENT_KINDS)


@pytest.mark.parametrize("action", sorted(RECORDED))
def test_known_kinds_read_as_french_sentences(action):
    detail, expected = RECORDED[action]
    text = sentence(_event(action, detail))
    assert text.startswith("medecin.demo ") and expected in text, text
    assert action not in text and "{" not in text and "_" not in text.replace("medecin.demo", "")


def test_unknown_future_kind_still_reads_as_a_sentence():
    text = sentence(_event("fse.online_created", {"fse_id": 12, "lot_id": 3, "codes": ["A", "B"], "ok": True}))
    assert text == ("medecin.demo a effectué l'opération « fse online created » (codes : A, B ; "
                    "feuille de soins n° : 12 ; lot n° : 3 ; ok : oui).")
    assert audit.kind_label("fse.online_created") == "Fse online created"
    # Details of an unexpected shape never break the page.
    assert sentence(_event("token.created", {"name": None})).startswith("medecin.demo a créé le jeton")
    broken = _event("login.succeeded", {})
    broken.detail = "pas du JSON"
    assert sentence(broken) == "medecin.demo s'est connecté(e)."
    assert sentence(_event("logout", {}, login="cli")).startswith("La ligne de commande ")


@pytest.fixture
def journal(db_session, make_professional):
    make_professional("ops", role=Role.OPERATOR)
    for day in range(1, 31):
        for login in ("dr.a", "dr.b"):
            db_session.add(AuditEvent(action="login.succeeded", actor_login=login, remote_addr="10.0.0.1",
                                      at=datetime(2026, 11, day, 9, 0, tzinfo=UTC), detail="{}"))
    db_session.add(AuditEvent(action="token.created", actor_login="dr.a", remote_addr="10.0.0.1",
                              at=datetime(2026, 11, 15, 23, 30, tzinfo=UTC),  # 16 Nov in Paris
                              detail='{"token_id": 9, "name": "=cmd"}'))
    db_session.add(AuditEvent(action="billing.job_started", actor_login="ops", remote_addr="cli",
                              at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), detail='{"job_id": 4}'))
    db_session.commit()


class _Page(str):
    status_code = 200


def _get(client, path):
    response = client.get(path)
    if response.status_code != 200 or response.mimetype != "text/html":
        return response
    page = _Page(htmllib.unescape(response.get_data(as_text=True)))
    return page


def test_journal_page_filters_pages_and_speaks_french(client, auth, journal):
    auth.login("ops")
    html = _get(client, "/journal")
    assert "dr.b s'est connecté(e)." in html and "login.succeeded" not in re.sub(r"<[^>]*>", " ", html)
    assert "ops a effectué l'opération « billing job started » (tâche n° : 4)." in html
    assert "page 1 sur 2" in html  # 63 + the ops login = 64 events, 50 a page
    second = _get(client, "/journal?page=2")
    assert second.count("<tr data-action=") == 14
    assert _get(client, "/journal?page=0").status_code == 400
    assert _get(client, "/journal?page=abc").status_code == 400
    # By kind, person and Paris day (the 23:30 UTC event is on 16 Nov in Paris).
    only = _get(client, "/journal?type=token.created")
    assert only.count("<tr data-action=") == 1 and "a créé le jeton d'API « =cmd » (n° 9)." in only
    assert _get(client, "/journal?personne=dr.b").count("<tr data-action=") == 30
    day = _get(client, "/journal?du=2026-11-16&au=2026-11-16")
    assert day.count("<tr data-action=") == 3 and "16/11/2026 00:30" in day
    assert _get(client, "/journal?du=16/11/2026").status_code == 400
    assert "Aucun événement" in _get(client, "/journal?personne=personne")
    # The kinds offered include the unknown one, with a readable label.
    assert '<option value="billing.job_started" >Billing job started</option>' in html.replace("  ", " ")


def test_journal_csv_export_follows_the_filters(client, auth, journal):
    auth.login("ops")
    response = _get(client, "/journal.csv?personne=dr.a&type=token.created")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["date", "personne", "type", "description", "adresse", "detail_json"]
    assert rows[1][:4] == ["16/11/2026 00:30", "dr.a", "Jeton d'API créé", "dr.a a créé le jeton d'API « =cmd » (n° 9)."]
    assert len(rows) == 2


def test_journal_is_for_operators_only(client, auth, make_professional, journal):
    make_professional("dr.c")
    auth.login("dr.c")
    assert _get(client, "/journal").status_code == 403
    assert _get(client, "/journal.csv").status_code == 403
