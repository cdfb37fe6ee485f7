"""French display of values (amelipro/filters.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amelipro import filters as f

NNBSP = "\u202f"
NBSP = "\u00a0"


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("14.77"), f"14,77{NBSP}€"), ("14.77", f"14,77{NBSP}€"), (0, f"0,00{NBSP}€"),
    (Decimal("1234.5"), f"1{NNBSP}234,50{NBSP}€"), (Decimal("-1234567.891"), f"-1{NNBSP}234{NNBSP}567,89{NBSP}€"),
    (None, "—"), ("", "—"), ("pas un nombre", "pas un nombre"),
])
def test_euros(value, expected):
    assert f.euros(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (20874, f"20{NNBSP}874"), (874, "874"), (1000000, f"1{NNBSP}000{NNBSP}000"), (-5000, f"-5{NNBSP}000"),
    (Decimal("2.5"), "2,5"), ("20874", f"20{NNBSP}874"), (None, "—"),
])
def test_number(value, expected):
    assert f.number(value) == expected


def test_dates_and_months():
    assert f.date_fr(date(2026, 11, 29)) == "29/11/2026"
    assert f.date_fr("2026-11-29") == "29/11/2026"
    assert f.date_fr(datetime(2026, 11, 29, 23, 30, tzinfo=UTC)) == "30/11/2026 00:30"  # Paris
    assert f.date_fr(None) == "—" and f.date_fr("n'importe quoi") == "n'importe quoi"
    assert f.date_long(date(2026, 11, 29)) == "29 novembre 2026"
    assert f.date_long("2026-09-01") == "1er septembre 2026"
    assert f.month_fr(date(2026, 11, 5)) == "novembre 2026"
    assert f.month_fr("2026-02") == "février 2026"
    assert [f.month_fr(date(2026, m, 1)).split()[0] for m in (1, 8, 12)] == ["janvier", "août", "décembre"]


def test_caisse_codes_have_their_french_text():
    assert f.caisse_code("0250 050") == "Assuré inconnu de la caisse."
    assert f.caisse_code("2900 005") == "Facture déjà payée."
    assert f.caisse_code("9999 999") == "code de la caisse sans libellé connu"
    assert f.caisse_code(None) == ""


def test_french_text_fixes_sentences_stored_before():
    assert f.french_text("Paiement de 54.60 € par virement, valeur 2026-05-22.") == \
        f"Paiement de 54,60{NBSP}€ par virement, valeur 22/05/2026."
    assert f.french_text("Paiement de 1234.50 €") == f"Paiement de 1{NNBSP}234,50{NBSP}€"
    assert f.french_text("Version 1.2.30 €") == "Version 1.2.30 €"  # not an amount
    assert f.french_text(None) == ""


def test_filters_are_registered(app):
    for name in ("euros", "number", "date_fr", "date_long", "month_fr", "caisse_code", "french_text"):
        assert name in app.jinja_env.filters
