"""Patient charges against the patient's history: signed lots through the API, stored FSE,
the dry run, the FSE page and JSON; and the history loaders on stored rows.

Annual caps count the patient's accepted FSE of the calendar year, whoever billed them; day
caps count the same professional's accepted FSE of the same day. Rejected FSE and duplicates
never count.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from amelipro.auth.models import Profession
from amelipro.beneficiaries.services import demo_beneficiaries
from amelipro.db import utcnow
from amelipro.fse import domain
from amelipro.fse.domain import CareSheet, Line, LineKind
from amelipro.fse.models import FseStatus, Lot, LotStatus, StoredFse
from amelipro.fse.pricing import DayCharges
from amelipro.thirdparty.models import Payment
from amelipro.thirdparty.states import PaymentStatus
from amelipro.xmlcore.arl import read_arl
from tests.conftest import TEST_DB
from tests.fixtures_fse import signed_lot
from tests.fixtures_pki import RPPS_OTHER
from tests.support import run_threads

D = Decimal
TODAY = date.today()
PEOPLE = {p.last_name: p for p in demo_beneficiaries(TODAY)}
MARTIN, CASANOVA = PEOPLE["MARTIN"], PEOPLE["CASANOVA"]  # adults, no exemption, rights open
# The last day of care of the "same year" tests, with a month of that year before it.
END = TODAY - timedelta(days=1) if (TODAY - timedelta(days=1)).timetuple().tm_yday > 30 \
    else date(TODAY.year - 1, 12, 30)
# A year whose January is already past (the "new year" tests).
NEW_YEAR = TODAY.year if TODAY >= date(TODAY.year, 1, 25) else TODAY.year - 1
KINDS = {"G": LineKind.NGAP, "DEQP003": LineKind.CCAM}
_invoices = iter(range(1, 10**6))
_billed: set[tuple] = set()  # (RPPS, NIR, day, code) already in a care sheet of these tests


# --- building and sending care sheets ----------------------------------------------------

def care_sheet(env, pro, patient, *acts: tuple[date, str]) -> CareSheet:
    """A care sheet of ``pro`` for ``patient`` with one act per (day, code), carrying the
    gateway's own amounts (what a correct practice software sends)."""
    n = next(_invoices)
    lines = []
    for i, (day, code) in enumerate(acts, start=1):
        # several consultations of one day are distinct acts: flagged so (schema 2), else the
        # gateway refuses the repeat as care already billed
        key = (pro.rpps, patient.nir, day, code)
        lines.append(Line(i, KINDS[code], day, code, 1, D("1"), second_act=key in _billed))
        _billed.add(key)
    return env.priced_sheet(pro, patient, lines, f"H{n:06d}", max(day for day, _ in acts), sheet_id=f"FSE-H{n}")


def consultations(env, pro, patient, days: list[date]) -> list[CareSheet]:
    return [care_sheet(env, pro, patient, (day, "G")) for day in days]


def two_a_day(last: date, count: int) -> list[date]:
    """``count`` days of care, two consultations a day, ending the day before ``last``."""
    return sorted(last - timedelta(days=1 + i // 2) for i in range(count))


def _headers(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}


def submit(client, env, sheets, *, holder=None, token=None) -> list[StoredFse]:
    """Send a signed lot; the stored FSE in lot order."""
    body = signed_lot(sheets, holder or env.pki.medecin, f"L-H{next(_invoices)}")
    response = client.post("/api/v1/lots", data=body, headers=_headers(token or env.token))
    arl = read_arl(response.data)
    assert response.status_code == 201, [e.code for f in arl.fses for e in f.errors] + [e.code for e in arl.errors]
    with env.app.app_context():
        session = env.app.extensions["amelipro.sessionmaker"]()
        rows = list(session.scalars(select(StoredFse).where(StoredFse.lot_id == int(arl.lot_reference))
                                    .order_by(StoredFse.position)))
        session.close()
    return rows


def participation(rows) -> list[Decimal]:
    return [row.participation for row in rows]


def line_participation(row: StoredFse) -> list[str]:
    return [line["computed"]["participation"] for line in row.lines]


@pytest.fixture
def other_doctor(fse_env, make_professional, api_token):
    pro = make_professional(rpps=RPPS_OTHER, profession=Profession.MEDECIN_GENERALISTE, am_number="751234568")
    return pro, api_token(pro)


# --- through the API ---------------------------------------------------------------------

def test_annual_cap_from_history_and_within_the_lot(client, fse_env, other_doctor):
    doctor = fse_env.doctor
    # 26 consultations in one lot: the first 25 pay 2 €, the 26th sees the lot's own 50 €.
    first = submit(client, fse_env, consultations(fse_env, doctor, MARTIN, two_a_day(END, 26)))
    assert participation(first) == [D("2.00")] * 25 + [D("0.00")]
    assert all(row.status == FseStatus.ACCEPTED and row.franchise == D("0.00") for row in first)
    assert all(row.patient_charges == row.participation + row.franchise for row in first)
    # The next lot: nothing more for this patient; another patient is unaffected.
    second = submit(client, fse_env, consultations(fse_env, doctor, MARTIN, [END])
                    + consultations(fse_env, doctor, CASANOVA, [END]))
    assert participation(second) == [D("0.00"), D("2.00")]
    # The caisse's view: another doctor's consultation of the same patient pays nothing either.
    other, token = other_doctor
    third = submit(client, fse_env, consultations(fse_env, other, MARTIN, [END]),
                   holder=fse_env.pki.other, token=token)
    assert participation(third) == [D("0.00")]


def test_cap_reached_in_the_middle_of_a_care_sheet(client, fse_env):
    doctor = fse_env.doctor
    submit(client, fse_env, consultations(fse_env, doctor, MARTIN, two_a_day(END, 24)))  # 48 €
    [row] = submit(client, fse_env, [care_sheet(fse_env, doctor, MARTIN, (END, "G"), (END, "DEQP003"))])
    assert row.participation == D("2.00") and line_participation(row) == ["2.00", "0.00"]
    assert row.amo_computed == row.amo_sent  # the AMO part never depends on the history


def test_a_new_calendar_year_starts_from_zero(client, fse_env):
    doctor = fse_env.doctor
    december = [date(NEW_YEAR - 1, 12, 28) - timedelta(days=i // 2) for i in range(25)]
    submit(client, fse_env, consultations(fse_env, doctor, MARTIN, december))  # 50 € in NEW_YEAR - 1
    rows = submit(client, fse_env, consultations(fse_env, doctor, MARTIN,
                                                 [date(NEW_YEAR - 1, 12, 30), date(NEW_YEAR, 1, 5)]))
    assert participation(rows) == [D("0.00"), D("2.00")]


def test_rejected_and_duplicate_fse_do_not_count(client, fse_env):
    from amelipro.fse.demo import make_invalid

    doctor = fse_env.doctor
    earlier = consultations(fse_env, doctor, MARTIN, two_a_day(END, 24))
    submit(client, fse_env, earlier)  # 48 €
    wrong = make_invalid(consultations(fse_env, doctor, MARTIN, [END])[0], "amounts", TODAY, None, MARTIN)
    rows = submit(client, fse_env, [earlier[0], wrong] + consultations(fse_env, doctor, MARTIN, [END]))
    assert [row.status for row in rows] == [FseStatus.DUPLICATE, FseStatus.REJECTED, FseStatus.ACCEPTED]
    assert rows[2].participation == D("2.00")  # neither the duplicate nor the rejected one took it
    # Now the cap is reached (the test above could not pass by accident).
    assert participation(submit(client, fse_env, consultations(fse_env, doctor, MARTIN, [END]))) == [D("0.00")]


def test_day_cap_across_two_fse_of_the_same_day(client, fse_env, other_doctor):
    doctor, day = fse_env.doctor, END
    [morning] = submit(client, fse_env, [care_sheet(fse_env, doctor, MARTIN, (day, "G"), (day, "DEQP003"),
                                                    (day, "G"))])
    assert morning.participation == D("6.00")
    # Same doctor, same day: 8 €/day, so 2 € left; in one lot, the second FSE sees the first.
    rows = submit(client, fse_env, [care_sheet(fse_env, doctor, MARTIN, (day, "G"), (day, "DEQP003")),
                                    care_sheet(fse_env, doctor, MARTIN, (day, "G"))])
    assert participation(rows) == [D("2.00"), D("0.00")]
    assert line_participation(rows[0]) == ["2.00", "0.00"]
    # Another doctor the same day has a day cap of his own; the next day starts afresh.
    other, token = other_doctor
    rows = submit(client, fse_env, [care_sheet(fse_env, other, MARTIN, (day, "G"), (day, "G"))],
                  holder=fse_env.pki.other, token=token)
    assert participation(rows) == [D("4.00")]
    assert participation(submit(client, fse_env, [care_sheet(fse_env, doctor, MARTIN, (day - timedelta(days=1), "G"))])) \
        == [D("2.00")]



def test_liquidation_pays_the_whole_amo_whatever_the_charges(client, fse_env, tp_session):
    """The caps change what the patient is charged, never the AMO part paid in tiers payant:
    the liquidation (priced without history) agrees with the submission."""
    from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
    from amelipro.thirdparty.models import Payment

    # One a day: two identical consultations the same day would be a double payment to the caisse.
    days = sorted(END - timedelta(days=i) for i in range(26))
    rows = submit(client, fse_env, consultations(fse_env, fse_env.doctor, MARTIN, days))
    assert rows[-1].participation == D("0.00") and rows[0].participation == D("2.00")
    result = run_liquidation(tp_session, LiquidationConfig(today=TODAY + timedelta(days=1)))
    assert result.claimed == 26
    with tp_session() as session:
        paid = session.execute(select(Payment.fse_id, Payment.status, Payment.amo_paid)).all()
    amo = {row.id: row.amo_computed for row in rows}
    assert sorted((fse_id, status.value, amount) for fse_id, status, amount in paid) == \
        sorted((fse_id, "payee", amount) for fse_id, amount in amo.items())

def test_dry_run_uses_history_and_stores_nothing(client, fse_env):
    doctor = fse_env.doctor
    submit(client, fse_env, consultations(fse_env, doctor, MARTIN, two_a_day(END, 25)))  # 50 €
    body = signed_lot(consultations(fse_env, doctor, MARTIN, [END]) + consultations(fse_env, doctor, CASANOVA, [END]),
                      fse_env.pki.medecin, "L-DRY")
    response = client.post("/api/v1/fse/validate", data=body,
                           headers={**_headers(fse_env.token), "Accept": "application/json"})
    report = response.get_json()
    assert response.status_code == 200 and report["dry_run"]
    assert [(f["participation"], f["franchise"]) for f in report["fse"]] == [("0.00", "0.00"), ("2.00", "0.00")]
    with fse_env.app.app_context():
        session = fse_env.app.extensions["amelipro.sessionmaker"]()
        assert len(session.scalars(select(StoredFse)).all()) == 25
        session.close()


def test_fse_json_and_page_show_the_charges_apart(client, fse_env, auth):
    doctor = fse_env.doctor
    [row] = submit(client, fse_env, [care_sheet(fse_env, doctor, MARTIN, (END, "G"), (END, "DEQP003"))])
    data = client.get(f"/api/v1/fse/{row.id}", headers=_headers(fse_env.token)).get_json()
    computed = data["amounts"]["computed"]
    assert (computed["participation"], computed["franchise"], computed["patient_charges"]) == ("4.00", "0.00", "4.00")
    auth.login(doctor.login)
    page = client.get(f"/facturation/fse/{row.id}").get_data(as_text=True)
    assert "dont participation forfaitaire" in page and "dont franchises médicales" in page
    assert 'data-testid="fse-participation">4,00' in page and 'data-testid="fse-franchise">0,00' in page


# --- the history loaders on stored rows --------------------------------------------------

def _lot(session, pro_id: int, count: int = 1) -> Lot:
    """An accepted lot of ``count`` FSE of ``pro_id`` (its FSE stored apart)."""
    lot = Lot(professional_id=pro_id, lot_number=f"L{next(_invoices)}", status=LotStatus.ACCEPTED, fse_count=count,
              accepted_count=count, rejected_count=0, duplicate_count=0, amo_accepted=D("0.00"),
              body_sha256="0" * 64, body_size=0, arl_xml="")
    session.add(lot)
    session.flush()
    return lot


def _fse_row(lot: Lot, nir: str, lines: list[tuple[date, str, str, str]], *,
             status: FseStatus = FseStatus.ACCEPTED, rank: int = 1, position: int = 1) -> dict:
    """The ``fse`` row of one stored FSE of ``lot`` with (day, kind, participation, franchise) lines."""
    n = next(_invoices)
    days = [day for day, *_ in lines]
    pf = sum((D(p) for _, _, p, _ in lines), D("0.00"))
    fr = sum((D(f) for _, _, _, f in lines), D("0.00"))
    return dict(
        lot_id=lot.id, professional_id=lot.professional_id, position=position, element_id=f"E{n}", status=status,
        content_hash=f"{n:064d}", invoice_number=f"S{n}", invoice_date=max(days),
        first_care_date=min(days), last_care_date=max(days), patient_nir=nir, patient_rank=rank,
        patient_birth_date=date(1982, 8, 19), nature="10", exemption="aucune",
        patient_charges=pf + fr, participation=pf, franchise=fr,
        lines_json=json.dumps([{"number": i, "kind": kind, "code": "X", "care_date": day.isoformat(),
                                "computed": {"participation": p, "franchise": f}}
                               for i, (day, kind, p, f) in enumerate(lines, start=1)]),
        errors_json="[]", signed_xml="", created_at=utcnow(),
    )


def _store(session, pro_id: int, nir: str, lines: list[tuple[date, str, str, str]], *,
           status: FseStatus = FseStatus.ACCEPTED, rank: int = 1) -> None:
    """One stored FSE with (day, kind, participation, franchise) lines, in a lot of its own."""
    session.add(StoredFse(**_fse_row(_lot(session, pro_id), nir, lines, status=status, rank=rank)))
    session.flush()


def test_history_loaders_count_who_they_should(db_session, make_professional):
    from amelipro.fse.history import load_day_charges, load_year_charges

    one, two = make_professional(), make_professional(profession=Profession.INFIRMIER)
    a, b = MARTIN.nir, CASANOVA.nir
    y = 2025
    _store(db_session, one.id, a, [(date(y, 3, 1), "ngap", "2.00", "0.00")])
    _store(db_session, two.id, a, [(date(y, 3, 1), "ngap", "0.00", "1.00"), (date(y, 3, 2), "ngap", "0.00", "1.00")])
    _store(db_session, one.id, a, [(date(y, 3, 1), "ngap", "2.00", "0.00")], status=FseStatus.REJECTED)
    _store(db_session, one.id, a, [(date(y, 3, 1), "ngap", "2.00", "0.00")], status=FseStatus.DUPLICATE)
    _store(db_session, one.id, a, [(date(y, 3, 1), "ngap", "2.00", "0.00")], rank=2)  # a child on the NIR
    _store(db_session, one.id, b, [(date(y, 3, 1), "ngap", "2.00", "0.00")])
    # Care across the new year: each line counts in its own year.
    _store(db_session, one.id, a, [(date(y, 12, 31), "ngap", "2.00", "0.00"), (date(y + 1, 1, 1), "ngap", "2.00", "0.00"),
                                   (date(y + 1, 1, 1), "medicament", "0.00", "3.00")])
    _store(db_session, one.id, a, [(date(y - 1, 6, 1), "ngap", "2.00", "0.00")])
    db_session.commit()

    ledger = load_year_charges(db_session, {(a, 1, y), (a, 1, y + 1), (a, 2, y), (b, 1, y)})
    assert ledger.year_total(a, 1, y) == (D("4.00"), D("2.00"))  # both professionals, accepted only
    assert ledger.year_total(a, 1, y + 1) == (D("2.00"), D("3.00"))  # its share of the FSE across years
    assert ledger.year_total(a, 2, y) == (D("2.00"), D("0.00"))  # the rank is another person
    assert ledger.year_total(b, 1, y) == (D("2.00"), D("0.00"))

    # Day totals: only this professional's accepted FSE; medicine boxes have no day cap.
    keys = {(a, 1, date(y, 3, 1)), (a, 1, date(y, 3, 2)), (a, 1, date(y + 1, 1, 1))}
    prior = load_day_charges(db_session, one.id, keys).prior(_sheet(a, date(y, 3, 1), date(y + 1, 1, 1)))
    assert prior.day(date(y, 3, 1)) == DayCharges(date(y, 3, 1), D("2.00"), D("0.00"))
    assert prior.day(date(y + 1, 1, 1)) == DayCharges(date(y + 1, 1, 1), D("2.00"), D("0.00"))
    nurse = load_day_charges(db_session, two.id, keys).prior(_sheet(a, date(y, 3, 1), date(y, 3, 2)))
    assert nurse.days == (DayCharges(date(y, 3, 1), D("0.00"), D("1.00")),
                          DayCharges(date(y, 3, 2), D("0.00"), D("1.00")))


def test_history_loaders_read_each_patients_own_days(db_session, make_professional):
    """The queries read the lot's range of days for all its patients; what counts is each
    patient's own days of care, including a day strictly inside a stored FSE's span."""
    from amelipro.fse.history import load_billed_care, load_day_charges

    one = make_professional()
    a, b = MARTIN.nir, CASANOVA.nir
    y = 2025
    _store(db_session, one.id, a, [(date(y, 3, 3), "ngap", "2.00", "0.00")])
    _store(db_session, one.id, a, [(date(y, 3, 2), "ngap", "2.00", "0.00")])
    _store(db_session, one.id, b, [(date(y, 3, 1), "ngap", "1.00", "0.00"), (date(y, 3, 3), "ngap", "1.50", "0.00"),
                                   (date(y, 3, 5), "ngap", "1.00", "0.00")])
    db_session.commit()

    # a is seen on 2 March, b on 3 March (inside its FSE of 1-5 March) and on 2 March
    keys = {(a, 1, date(y, 3, 2)), (b, 1, date(y, 3, 3)), (b, 1, date(y, 3, 2))}
    ledger = load_day_charges(db_session, one.id, keys)
    assert ledger.prior(_sheet(a, date(y, 3, 2))).days == (DayCharges(date(y, 3, 2), D("2.00"), D("0.00")),)
    assert ledger.prior(_sheet(b, date(y, 3, 2), date(y, 3, 3))).days == (
        DayCharges(date(y, 3, 3), D("1.50"), D("0.00")),)

    billed = load_billed_care(db_session, one.id, [_sheet(a, date(y, 3, 2)), _sheet(b, date(y, 3, 3))])
    assert sorted(day for day, *_ in billed[(a, 1)]) == [date(y, 3, 2)]  # not a's 3 March (b's day)
    assert sorted(day for day, *_ in billed[(b, 1)]) == [date(y, 3, 3)]
    assert load_billed_care(db_session, one.id, [_sheet(a, date(y, 3, 4))]) == {}


def _store_unrelated(session, pro_id: int, count: int) -> None:
    """``count`` accepted FSE of ``pro_id`` for other people (one day, a charge each), each
    with its payment: history that has nothing to do with the lot's patients."""
    lot = _lot(session, pro_id, count)
    day = date(2025, 3, 2)
    session.execute(insert(StoredFse), [
        _fse_row(lot, f"{2 * 10**14 + lot.id * 10**5 + i}", [(day, "ngap", "2.00", "0.00")], position=i)
        for i in range(1, count + 1)])
    ids = session.scalars(select(StoredFse.id).where(StoredFse.lot_id == lot.id)).all()
    session.execute(insert(Payment), [dict(fse_id=i, professional_id=pro_id, status=PaymentStatus.PAID,
                                           acknowledged_on=day, due_date=day) for i in ids])
    session.commit()


@pytest.mark.skipif(TEST_DB != "sqlite", reason="SQLite plans without statistics; PostgreSQL chooses by its own")
def test_a_lots_history_is_read_through_its_patients_not_the_whole_practice(db_session, make_professional):
    """The work of reading the history of a lot's patients does not grow with the rest of the
    professional's history, nor with the payments of other FSE: SQLite, which plans without
    statistics, is kept on the patients' index (a professional's own index would make it read
    every FSE they ever had accepted), and the unpaid FSE are looked up by their own payment.
    The work is counted in SQLite's virtual machine steps, not timed."""
    from amelipro.fse.history import load_billed_care, load_day_charges

    one = make_professional()
    a, b = MARTIN.nir, CASANOVA.nir
    y = 2025
    _store(db_session, one.id, a, [(date(y, 3, 2), "ngap", "2.00", "0.00")])
    _store(db_session, one.id, b, [(date(y, 3, 1), "ngap", "1.00", "0.00"), (date(y, 3, 3), "ngap", "1.50", "0.00")])
    db_session.commit()
    keys = {(a, 1, date(y, 3, 2)), (b, 1, date(y, 3, 3))}
    sheets = [_sheet(a, date(y, 3, 2)), _sheet(b, date(y, 3, 3))]
    raw = db_session.connection().connection.driver_connection

    def read() -> tuple[int, object, object]:
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        raw.set_progress_handler(count, 10)
        try:
            ledger = load_day_charges(db_session, one.id, keys)
            billed = load_billed_care(db_session, one.id, sheets)
        finally:
            raw.set_progress_handler(None, 10)
        return steps[0], ledger.prior(sheets[0]).days + ledger.prior(sheets[1]).days, billed

    _store_unrelated(db_session, one.id, 100)
    small, days, billed = read()
    _store_unrelated(db_session, one.id, 3000)
    large, days_after, billed_after = read()
    assert days == days_after == (DayCharges(date(y, 3, 2), D("2.00"), D("0.00")),
                                  DayCharges(date(y, 3, 3), D("1.50"), D("0.00")))
    assert billed_after == billed and sorted(billed) == sorted([(a, 1), (b, 1)])
    assert large <= small * 1.5 + 20, (small, large)


def _sheet(nir: str, *days: date) -> CareSheet:
    return CareSheet(
        id="X", invoice_number="X", invoice_date=max(days),
        professional=domain.ProfessionalRef("", "", "medecin_generaliste"), patient=domain.PatientRef(nir, date(1982, 8, 19), 1),
        nature=domain.InsuranceNature.MALADIE, pathway=True, exemption=domain.Exemption.NONE, tiers_payant_amo=True,
        tiers_payant_amc=False, lines=tuple(Line(i, LineKind.NGAP, d, "G", 1, D("1")) for i, d in enumerate(days, 1)),
        totals=domain.Totals(D("0"), D("0"), D("0")),
    )


# --- migration 0005 ----------------------------------------------------------------------

def test_migration_0005_splits_the_charges_of_stored_fse(tmp_path):
    """FSE stored before 0005 get participation and franchise from their stored lines."""
    from sqlalchemy import insert

    from amelipro.auth.models import Professional
    from amelipro.db import make_engine
    from amelipro.migrate import upgrade
    from tests.conftest import TEST_DB, create_pg_database, drop_pg_database

    url = create_pg_database() if TEST_DB == "postgresql" else f"sqlite:///{tmp_path / 'm.sqlite3'}"
    engine = None
    try:
        upgrade(url, "0003")
        engine = make_engine(url)
        with engine.begin() as conn:
            pro_id = conn.execute(insert(Professional.__table__).values(
                login="m", password_hash="x", role="professional", first_name="A", last_name="B",
            ).returning(Professional.__table__.c.id)).scalar_one()
            lot_id = conn.execute(insert(Lot.__table__).values(
                professional_id=pro_id, status="accepte", body_sha256="0" * 64, arl_xml="",
            ).returning(Lot.__table__.c.id)).scalar_one()
            lines = [{"number": 1, "computed": {"participation": "2.00", "franchise": "0.00"}},
                     {"number": 2, "computed": {"participation": "0.00", "franchise": "3.00"}}]
            base = {"lot_id": lot_id, "professional_id": pro_id, "status": "acceptee", "content_hash": "h"}
            conn.execute(insert(StoredFse.__table__), [
                {**base, "position": 1, "invoice_number": "1", "patient_charges": D("5.00"), "lines_json": json.dumps(lines)},
                {**base, "position": 2, "invoice_number": "2", "patient_charges": D("2.00"), "lines_json": json.dumps([{"number": 1}])},
                {**base, "position": 3, "invoice_number": "3", "patient_charges": None, "lines_json": "[]"},
            ])
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(select(StoredFse.position, StoredFse.participation, StoredFse.franchise)
                                .order_by(StoredFse.position)).all()
        assert [tuple(r) for r in rows] == [(1, D("2.00"), D("3.00")), (2, None, None), (3, None, None)]
    finally:
        if engine is not None:
            engine.dispose()
        if TEST_DB == "postgresql":
            drop_pg_database(url)


def test_lots_sent_at_the_same_moment_keep_the_annual_cap(client, fse_env, other_doctor):
    """Four lots for one patient, from two doctors, at once: the patient is charged 50 € in all,
    not 2 € more per lot that read the history before another committed (PostgreSQL: patient
    advisory locks; SQLite: the write lock)."""
    import threading

    doctor = fse_env.doctor
    other, other_token = other_doctor
    submit(client, fse_env, consultations(fse_env, doctor, MARTIN, two_a_day(END, 24)))  # 48 €
    lots = [
        (signed_lot(consultations(fse_env, doctor, MARTIN, [END]), fse_env.pki.medecin, "L-SIM-1"), fse_env.token),
        (signed_lot(consultations(fse_env, other, MARTIN, [END]), fse_env.pki.other, "L-SIM-2"), other_token),
        (signed_lot(consultations(fse_env, doctor, MARTIN, [END]), fse_env.pki.medecin, "L-SIM-3"), fse_env.token),
        (signed_lot(consultations(fse_env, other, MARTIN, [END]), fse_env.pki.other, "L-SIM-4"), other_token),
    ]
    barrier = threading.Barrier(len(lots))
    statuses: list[int] = [0] * len(lots)

    def send(i: int) -> None:
        body, token = lots[i]
        local = fse_env.app.test_client()
        barrier.wait()
        statuses[i] = local.post("/api/v1/lots", data=body, headers=_headers(token)).status_code

    run_threads(send, [(i,) for i in range(len(lots))])
    assert statuses == [201] * 4
    with fse_env.app.app_context():
        session = fse_env.app.extensions["amelipro.sessionmaker"]()
        charged = list(session.scalars(select(StoredFse.participation).where(
            StoredFse.patient_nir == MARTIN.nir, StoredFse.status == FseStatus.ACCEPTED).order_by(StoredFse.id)))
        session.close()
    assert len(charged) == 28 and sum(charged) == D("50.00")
    assert sorted(charged[-4:]) == [D("0.00")] * 3 + [D("2.00")]
