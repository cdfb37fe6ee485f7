"""Public reference pages explain a majoration (conditions, value at a date, « valeur non
confirmée » with its source) without developer text; the operators' home counts the LPP
codes in force that have no tariff."""

from __future__ import annotations

import html as html_lib
import re
from collections import defaultdict

from sqlalchemy import select

from amelipro.clock import paris_today
from amelipro.reference import models as m
from tests.integration.test_home import _facts

DEVELOPER_TEXT = re.compile(r"DOMAIN|\.json|\.csv|de mémoire|à confirmer|regex|expression régulière|dépôt",
                            re.IGNORECASE)


def test_majoration_page_gives_conditions_value_and_source(client):
    html = client.get("/referentiels/actes/F?at=2025-03-09").get_data(as_text=True)
    assert "Majoration de dimanche et jour férié" in html
    assert "dimanche ou un jour férié" in html
    assert "19,06" in html and "valeur non confirmée" in html
    assert "Convention médicale" in html  # the source, for people
    assert not DEVELOPER_TEXT.search(html)
    night = html_lib.unescape(client.get("/referentiels/actes/mn").get_data(as_text=True))
    assert "20 h et minuit ou 6 h et 8 h" in night and "l'heure des soins est obligatoire" in night


def test_majoration_without_value_at_a_date_says_so(client):
    html = client.get("/referentiels/actes/MEG?at=2016-01-04").get_data(as_text=True)
    assert "Aucune valeur connue à cette date" in html and "FSE-R-039 (valeur inconnue)" in html
    assert "5,00" in html  # the history still shows the value in force from 1 May 2017


def test_majorations_list(client):
    html = client.get("/referentiels/majorations?at=2025-03-09").get_data(as_text=True)
    for code in ("MEG", "F", "MN", "MM", "MD", "MCG"):
        assert f">{code}</a>" in html
    assert "5,00" in html and "40,00" in html
    assert not DEVELOPER_TEXT.search(html)


def test_ngap_page_has_no_developer_text(client, reference_demo):
    html = client.get("/referentiels/actes/G?at=2023-01-10").get_data(as_text=True)
    assert "25,00" in html and "valeur non confirmée" in html
    assert not DEVELOPER_TEXT.search(html)


def test_operator_home_counts_lpp_codes_without_tariff(client, auth, make_professional, reference_demo,
                                                       db_session):
    today = paris_today()
    tariffs = defaultdict(list)
    for row in db_session.scalars(select(m.LppTariff)):
        if (row.valid_from is None or row.valid_from <= today) and (row.valid_to is None or row.valid_to >= today):
            tariffs[row.code].append(row.tariff)
    expected = sum(1 for values in tariffs.values() if all(v is None for v in values))
    assert tariffs and expected  # the demo release has codes listed without a tariff
    make_professional(login="ops", rpps=None, role="operator")
    auth.login("ops")
    html = client.get("/").get_data(as_text=True)
    assert _facts(html)["Codes LPP en vigueur sans tarif"] == str(expected)
    assert f"sur {len(tariffs)} codes en vigueur" in html
    auth.logout()
    make_professional(login="alice")
    auth.login("alice")
    assert "Codes LPP en vigueur sans tarif" not in client.get("/").get_data(as_text=True)
