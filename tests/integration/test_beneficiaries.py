"""Beneficiaries file: import, demo set, rights at a date, the « Droits du patient » page, CLI."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from amelipro.beneficiaries import services
from amelipro.beneficiaries.domain import Cover
from amelipro.beneficiaries.models import Beneficiary, CoverPeriod, EhpadStay, RightsPeriod
from amelipro.errors import REGISTRY, AmeliproError

TODAY = date(2026, 1, 15)
MARTIN = "282081939881409"
DUBOIS = "158037511204568"
GARCIA = "185074410922244"
PETIT = "238047505678910"

HEADER = "nir;rang;date_naissance;nom;prenom;regime;caisse;centre;alsace_moselle;type;debut;fin;detail;finess\n"
GOOD_ROWS = (
    f"{MARTIN};1;1982-08-19;MARTIN;Claire;01;751;0001;non;droits;2020-01-01;;;\n"
    f"{MARTIN};1;1982-08-19;MARTIN;Claire;01;751;0001;non;c2s;2025-01-01;2025-12-31;C2S;\n"
    f"2 82 08 19 398 814 09;1;19/08/1982;MARTIN;Claire;01;751;0001;non;ehpad;01/06/2025;;EHPAD Les Tilleuls;750000010\n"
)
BAD_ROWS = (
    "282081939881410;1;1982-08-19;X;Y;01;751;0001;non;droits;2020-01-01;;;\n"  # wrong key
    f"{DUBOIS};1;1958-03-15;DUBOIS;Paul;01;751;0001;non;droits;2021-01-01;2020-01-01;;\n"  # end < start
    f"{DUBOIS};1;1958-03-15;DUBOIS;Paul;01;751;0001;non;vacances;2021-01-01;;;\n"  # unknown type
    f"{DUBOIS};1;1958-13-45;DUBOIS;Paul;01;751;0001;non;droits;2021-01-01;;;\n"  # bad birth date
)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_demo_set_has_valid_nirs_and_varied_situations(db_session):
    result = services.seed_demo(db_session, TODAY)
    people = services.demo_beneficiaries(TODAY)
    assert result.created == len(people) >= 10
    for person in people:
        assert services.normalize_nir(person.nir) == person.nir
        # the codes a care sheet copies from the file must pass xsd/fse/1 (\d{2}, \d{3}, \d{4})
        assert re.fullmatch(r"\d{2}/\d{3}/\d{4}", f"{person.regime}/{person.caisse}/{person.centre}")
    answer = services.rights_at(db_session, GARCIA, TODAY)
    assert answer.people[0].at.open is False
    assert services.rights_at(db_session, GARCIA, TODAY - timedelta(days=90)).people[0].at.open
    petit = services.rights_at(db_session, PETIT, TODAY).people[0]
    assert petit.at.ehpad is not None and Cover.ALD in petit.at.cover_kinds
    assert [p.rights.rank for p in services.rights_at(db_session, DUBOIS, TODAY).people] == [1, 2]
    kinds = {c.cover for p in people for c in p.covers}
    assert kinds >= {Cover.ALD, Cover.MATERNITY, Cover.AT_MP, Cover.C2S}
    assert any(p.alsace_moselle for p in people) and any("2A" in p.nir for p in people)


def test_demo_is_idempotent(db_session):
    services.seed_demo(db_session, TODAY)
    again = services.seed_demo(db_session, TODAY)
    assert again.created == 0 and again.updated == len(services.demo_beneficiaries(TODAY))
    assert _count(db_session, Beneficiary) == len(services.demo_beneficiaries(TODAY))


def test_csv_import_reports_bad_rows_with_line_numbers(db_session):
    result = services.import_csv(db_session, (HEADER + GOOD_ROWS + BAD_ROWS).encode())
    assert (result.created, result.updated, result.periods, result.rows) == (1, 0, 3, 7)
    assert [p.line for p in result.skipped] == [5, 6, 7, 8]
    reasons = " | ".join(p.reason for p in result.skipped)
    assert "NIR invalide" in reasons and "la fin précède le début" in reasons
    assert "type de période inconnu" in reasons and "date de naissance invalide" in reasons
    rights = services.find_rights(db_session, MARTIN)
    assert rights is not None and rights.birth_date == date(1982, 8, 19)
    assert rights.has_cover(Cover.C2S, date(2025, 6, 1)) and not rights.has_cover(Cover.C2S, date(2026, 1, 1))
    assert rights.ehpad_at(date(2025, 6, 1)).name == "EHPAD Les Tilleuls"
    assert services.find_rights(db_session, DUBOIS) is None


def test_reimport_replaces_periods_and_is_idempotent(db_session):
    services.import_csv(db_session, (HEADER + GOOD_ROWS).encode())
    services.import_csv(db_session, (HEADER + GOOD_ROWS).encode())
    assert (_count(db_session, RightsPeriod), _count(db_session, CoverPeriod),
            _count(db_session, EhpadStay)) == (1, 1, 1)
    closed = HEADER + f"{MARTIN};1;1982-08-19;MARTIN;Claire;01;751;0001;non;droits;2020-01-01;2025-12-31;;\n"
    result = services.import_csv(db_session, closed.encode())
    assert (result.created, result.updated) == (0, 1)
    rights = services.find_rights(db_session, MARTIN)
    assert rights.covers == () and rights.ehpad_stays == ()
    assert rights.is_open(date(2025, 12, 31)) and not rights.is_open(date(2026, 1, 1))


def test_csv_in_windows_1252_with_commas(db_session):
    text = (HEADER.replace(";", ",") +
            f"{DUBOIS},1,1958-03-15,DUBOIS,Frédéric,01,751,0001,non,ald,2019-06-01,,Diabète,\n")
    result = services.import_csv(db_session, text.encode("cp1252"))
    assert result.skipped == ()
    rights = services.find_rights(db_session, DUBOIS)
    assert rights.first_name == "Frédéric" and rights.covers[0].detail == "Diabète"


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "BEN-003"), (b"nom;prenom\nA;B\n", "BEN-004")],
)
def test_unreadable_csv_is_refused_with_its_code(db_session, content, code):
    with pytest.raises(AmeliproError) as info:
        services.import_csv(db_session, content)
    assert info.value.code == code
    assert _count(db_session, Beneficiary) == 0


def test_demo_csv_round_trip(db_session):
    people = services.demo_beneficiaries(TODAY)
    parsed, problems, _rows = services.parse_csv(services.to_csv(people).encode())
    assert problems == [] and set(parsed) == set(people)


def test_find_rights_many(db_session):
    services.seed_demo(db_session, TODAY)
    found = services.find_rights_many(db_session, [(DUBOIS, 2), (MARTIN, 1), ("999999999999999", 1)])
    assert set(found) == {(DUBOIS, 2), (MARTIN, 1)}
    assert found[(DUBOIS, 2)].first_name == "Léa"


def test_rights_at_refuses_bad_and_unknown_nir(db_session):
    with pytest.raises(AmeliproError) as bad:
        services.rights_at(db_session, "282081939881410", TODAY)
    assert bad.value.code == "BEN-001"
    with pytest.raises(AmeliproError) as unknown:
        services.rights_at(db_session, MARTIN, TODAY)
    assert unknown.value.code == "BEN-002" and unknown.value.extra["cpam_code"] == "0250 050"


def test_beneficiary_codes_are_pinned():
    assert sorted(c for c in REGISTRY if c.startswith("BEN-")) == ["BEN-001", "BEN-002", "BEN-003", "BEN-004"]


# --- the page ----------------------------------------------------------------------------

@pytest.fixture
def seeded(app, db_session):
    services.seed_demo(db_session, TODAY)


def test_page_requires_login(client):
    response = client.get("/droits")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_page_has_a_date_picker_and_answers_at_the_chosen_date(client, auth, make_professional, seeded):
    make_professional("dr.page")
    auth.login("dr.page")
    page = client.get("/droits").get_data(as_text=True)
    assert 'type="date"' in page and "Droits du patient" in page
    closed = client.get(f"/droits?nir={GARCIA}&date={TODAY.isoformat()}")
    assert closed.status_code == 200
    assert "Droits fermés" in closed.get_data(as_text=True)
    before = (TODAY - timedelta(days=90)).isoformat()
    opened = client.get(f"/droits?nir=1+85+07+44+109+222+44&date={before}").get_data(as_text=True)
    assert "Droits ouverts" in opened and f'value="{before}"' in opened


def test_page_shows_ehpad_and_exemptions(client, auth, make_professional, seeded):
    make_professional("dr.ehpad")
    auth.login("dr.ehpad")
    page = client.get(f"/droits?nir={PETIT}&date={TODAY.isoformat()}").get_data(as_text=True)
    assert services.DEMO_EHPAD_NAME in page and "ALD (affection de longue durée)" in page
    before = client.get(f"/droits?nir={PETIT}&date=2019-01-01").get_data(as_text=True)
    assert "Résident" not in before


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        (f"nir=282081939881410&date={TODAY.isoformat()}", 400, "NIR invalide"),
        (f"nir=184127645108946&date={TODAY.isoformat()}", 404, "Assuré inconnu"),
        (f"nir={MARTIN}&date=2026-02-30", 400, "Date invalide"),
    ],
)
def test_page_explains_errors_in_french(client, auth, make_professional, seeded, query, status, text):
    make_professional("dr.err")
    auth.login("dr.err")
    response = client.get(f"/droits?{query}")
    assert response.status_code == status
    assert text in response.get_data(as_text=True)


# --- the commands ------------------------------------------------------------------------

def test_cli_demo_and_import(runner, db_session, tmp_path):
    result = runner.invoke(args=["beneficiaries", "demo"])
    assert result.exit_code == 0, result.output
    assert "créé(s)" in result.output and "2 82 08 19 398 814 09" in result.output
    path = tmp_path / "assures.csv"
    path.write_text(HEADER + GOOD_ROWS + BAD_ROWS, encoding="utf-8")
    result = runner.invoke(args=["beneficiaries", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 ligne(s) ignorée(s)" in result.output and "ligne 5 :" in result.output
    db_session.expire_all()
    assert services.find_rights(db_session, MARTIN).has_cover(Cover.C2S, date(2025, 6, 1))


def test_cli_import_refuses_a_bad_header(runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a;b\n1;2\n", encoding="utf-8")
    result = runner.invoke(args=["beneficiaries", "import", str(path)])
    assert result.exit_code != 0 and "En-tête" in result.output


def test_csv_without_identity_columns_keeps_names(db_session):
    services.import_csv(db_session, (HEADER + GOOD_ROWS).encode())
    minimal = f"nir;rang;date_naissance;type;debut;fin\n{MARTIN};1;1982-08-19;droits;2021-01-01;\n"
    result = services.import_csv(db_session, minimal.encode())
    assert (result.created, result.updated) == (0, 1)
    db_session.expire_all()
    rights = services.find_rights(db_session, MARTIN)
    assert (rights.last_name, rights.first_name, rights.caisse) == ("MARTIN", "Claire", "751")
    assert rights.rights[0].start == date(2021, 1, 1)
