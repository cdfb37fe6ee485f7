"""Beneficiaries file: import, demo set, rights at a date, the « Droits du patient » page, CLI."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from amelipro.beneficiaries import services
from amelipro.beneficiaries.domain import Cover
from amelipro.beneficiaries.models import Beneficiary, CoverPeriod, EhpadStay, RightsPeriod
from amelipro.beneficiaries.patient_file import NoPatientFile, StaticPatientFile, patient_file
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
    garcia = services.find_rights(db_session, GARCIA)
    assert garcia.at(TODAY).open is False and garcia.at(TODAY - timedelta(days=90)).open
    petit = services.find_rights(db_session, PETIT).at(TODAY)
    assert petit.ehpad is not None and Cover.ALD in petit.cover_kinds
    assert services.find_rights(db_session, DUBOIS, 2).first_name == "Léa"
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


def test_beneficiary_codes_are_pinned():
    assert sorted(c for c in REGISTRY if c.startswith("BEN-")) == [
        "BEN-001", "BEN-002", "BEN-003", "BEN-004", "BEN-005", "BEN-006", "BEN-007", "BEN-008"]


# --- the page ----------------------------------------------------------------------------

@pytest.fixture
def seeded(app, db_session):
    services.seed_demo(db_session, TODAY)


def _lookup(client, auth, **fields):
    data = {"nir": "", "date_naissance": "", "rang": "", "date": TODAY.isoformat(), **fields}
    return client.post("/droits", data={**data, "csrf_token": auth.csrf("/droits")})


def test_page_requires_login(client):
    response = client.get("/droits")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_page_asks_for_nir_and_birth_date_and_answers_at_the_chosen_date(client, auth, make_professional, seeded):
    make_professional("dr.page")
    auth.login("dr.page")
    page = client.get("/droits").get_data(as_text=True)
    assert 'type="date"' in page and "Droits du patient" in page and 'name="date_naissance"' in page
    posted = _lookup(client, auth, nir=GARCIA, date_naissance="1985-07-30")
    assert posted.status_code == 303  # Post/Redirect/Get: the NIR never goes in an address
    assert GARCIA not in posted.headers["Location"]
    closed = client.get(posted.headers["Location"])
    assert closed.status_code == 200 and "Droits fermés" in closed.get_data(as_text=True)
    before = (TODAY - timedelta(days=90)).isoformat()
    opened = client.get(_lookup(client, auth, nir="1 85 07 44 109 222 44", date_naissance="30/07/1985",
                                date=before).headers["Location"]).get_data(as_text=True)
    assert "Droits ouverts" in opened and f'value="{before}"' in opened


def test_page_shows_only_what_billing_needs(client, auth, make_professional, seeded):
    make_professional("dr.ehpad")
    auth.login("dr.ehpad")
    page = client.get(_lookup(client, auth, nir=PETIT, date_naissance="1938-04-07").headers["Location"])
    html = page.get_data(as_text=True)
    assert "Résident à cette date" in html and "ALD (affection de longue durée)" in html
    for private in ("PETIT", "Alzheimer", services.DEMO_EHPAD_NAME, services.DEMO_EHPAD_FINESS, "07/04/1938"):
        assert private not in html
    before = client.get(_lookup(client, auth, nir=PETIT, date_naissance="1938-04-07",
                                date="2019-01-01").headers["Location"]).get_data(as_text=True)
    assert "Résident" not in before


def test_reloading_the_answer_looks_up_nothing(client, auth, make_professional, seeded, db_session):
    make_professional("dr.f5")
    auth.login("dr.f5")
    location = _lookup(client, auth, nir=GARCIA, date_naissance="1985-07-30").headers["Location"]
    for _ in range(3):
        assert client.get(location).status_code == 200
    assert _count_lookups(db_session) == 1


def test_a_lookup_is_shown_to_its_author_only(client, auth, make_professional, seeded):
    make_professional("dr.a")
    make_professional("dr.b")
    auth.login("dr.a")
    location = _lookup(client, auth, nir=GARCIA, date_naissance="1985-07-30").headers["Location"]
    auth.logout()
    auth.login("dr.b")
    response = client.get(location)
    assert response.status_code == 404 and "Consultation introuvable" in response.get_data(as_text=True)
    assert client.get("/droits/consultations/99999999999999999999999").status_code == 404


def _count_lookups(db_session) -> int:
    from amelipro.audit import AuditEvent

    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "beneficiaries.lookup"))


@pytest.mark.parametrize(
    ("fields", "status", "text"),
    [
        ({"nir": "282081939881410", "date_naissance": "1982-08-19"}, 400, "NIR invalide"),
        ({"nir": GARCIA, "date_naissance": ""}, 400, "Date de naissance absente ou invalide"),
        ({"nir": GARCIA, "date_naissance": "1985-07-30", "rang": "0"}, 400, "Rang de bénéficiaire invalide"),
        ({"nir": GARCIA, "date_naissance": "1985-07-30", "date": "2026-02-30"}, 400, "Date invalide"),
    ],
)
def test_page_explains_errors_in_french(client, auth, make_professional, seeded, fields, status, text):
    make_professional("dr.err")
    auth.login("dr.err")
    response = _lookup(client, auth, **fields)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)


@pytest.mark.parametrize("fields", [
    {"nir": "184127645108946", "date_naissance": "1984-12-01"},  # nobody under this NIR
    {"nir": GARCIA, "date_naissance": "1985-07-31"},              # the insured, another birth date
    {"nir": GARCIA, "date_naissance": "1985-07-30", "rang": "2"},  # the insured, another rank
])
def test_unknown_and_mismatch_answer_alike(client, auth, make_professional, seeded, fields):
    make_professional("dr.oracle")
    auth.login("dr.oracle")
    posted = _lookup(client, auth, **fields)
    assert posted.status_code == 303
    response = client.get(posted.headers["Location"])
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "Assuré inconnu" in html
    assert "Droits" not in html.split("Assuré inconnu")[1]  # nothing about anybody


# --- the service -------------------------------------------------------------------------

def test_every_lookup_is_recorded_who_whom_when(db_session, make_professional):
    from amelipro.audit import AuditEvent
    from amelipro.auth.models import Professional

    services.seed_demo(db_session, TODAY)
    pro = db_session.get(Professional, make_professional("dr.audit").id)
    found = services.lookup_rights(db_session, pro, DUBOIS, date(2012, 9, 3), None, TODAY)
    assert [b.rank for b in found.beneficiaries] == [2]  # only the one born that day
    with pytest.raises(services.UnknownPatientError):
        services.lookup_rights(db_session, pro, DUBOIS, "2012-09-04", None, TODAY)
    events = list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == "beneficiaries.lookup")
                                     .order_by(AuditEvent.id)))
    assert [(e.actor_id, e.actor_login) for e in events] == [(pro.id, "dr.audit")] * 2
    assert [e.detail_dict for e in events] == [
        {"nir": DUBOIS, "rank": None, "at": TODAY.isoformat(), "found": [2]},
        {"nir": DUBOIS, "rank": None, "at": TODAY.isoformat(), "found": []},
    ]
    assert all(e.at is not None for e in events)


def test_lookups_are_throttled_per_professional(db_session, make_professional):
    from amelipro.auth.models import Professional

    services.seed_demo(db_session, TODAY)
    policy = services.LookupPolicy(limit=3)
    noisy = db_session.get(Professional, make_professional("dr.noisy").id)
    quiet = db_session.get(Professional, make_professional("dr.quiet").id)
    for birth in ("1985-07-30", "1985-07-31", "1985-08-01"):
        try:
            services.lookup_rights(db_session, noisy, GARCIA, birth, None, TODAY, policy=policy)
        except services.UnknownPatientError:
            pass
    with pytest.raises(AmeliproError) as throttled:
        services.lookup_rights(db_session, noisy, GARCIA, "1985-07-30", None, TODAY, policy=policy)
    assert throttled.value.code == "BEN-006" and throttled.value.status == 429
    assert services.lookup_rights(db_session, quiet, GARCIA, "1985-07-30", None, TODAY, policy=policy)
    assert _count_lookups(db_session) == 4  # the throttled one read nothing


def test_page_throttled_with_its_code(app, client, auth, make_professional, seeded):
    app.config["RIGHTS_LOOKUP_LIMIT"] = 2
    make_professional("dr.vite")
    auth.login("dr.vite")
    for _ in range(2):
        assert _lookup(client, auth, nir=GARCIA, date_naissance="1985-07-30").status_code == 303
    response = _lookup(client, auth, nir=GARCIA, date_naissance="1985-07-30")
    assert response.status_code == 429 and "Trop de consultations" in response.get_data(as_text=True)


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


def test_patient_file_reads_a_batch_and_says_when_no_file_is_loaded(db_session):
    keys = [(DUBOIS, 2), (MARTIN, 1), ("999999999999999", 1)]
    empty = patient_file(db_session)
    assert not empty.loaded and empty.rights_of(keys) == {}
    services.seed_demo(db_session, TODAY)
    found = patient_file(db_session).rights_of(keys)
    assert found == services.find_rights_many(db_session, keys) and set(found) == set(keys[:2])
    file = patient_file(db_session)
    file.prefetch(keys)
    assert file.rights(DUBOIS, 2).first_name == "Léa" and file.rights(DUBOIS, 3) is None
    assert StaticPatientFile(found).rights_of(keys) == found
    assert NoPatientFile().rights_of(keys) == {} and not NoPatientFile().loaded
