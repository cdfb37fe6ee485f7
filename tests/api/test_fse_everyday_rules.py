"""Everyday billing rules through the API: duplicate care under another invoice number (in
the store, in the lot, in lots sent at the same moment), the second-act flag shown in the
ARL, and FSE version 2 with a time of care for a night majoration. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, time, timedelta
from decimal import Decimal

from lxml import etree
from sqlalchemy import func, select

from amelipro.beneficiaries.services import demo_beneficiaries
from amelipro.fse.domain import CareSheet, Line, LineKind
from amelipro.fse.models import FseStatus, StoredFse
from amelipro.xmlcore.arl import read_arl
from amelipro.xmlcore.schemas import ARL_NS, get_registry
from tests.support import run_threads

D = Decimal
TODAY = date.today()
DAY = TODAY - timedelta(days=2)
MARTIN = {p.last_name: p for p in demo_beneficiaries(TODAY)}["MARTIN"]
_numbers = iter(range(1, 10**6))


def sheet(env, *lines: tuple[str, dict], day: date = DAY, invoice: str | None = None) -> CareSheet:
    """A care sheet of the doctor for MARTIN with the gateway's own amounts."""
    n = next(_numbers)
    built = tuple(Line(i, LineKind.NGAP, day, code, 1, D("1"), **extra)
                  for i, (code, extra) in enumerate(lines, start=1))
    return env.priced_sheet(env.doctor, MARTIN, built, invoice or f"E{n:06d}", day, sheet_id=f"FSE-E{n}")


def _headers(env) -> dict:
    return {"Authorization": f"Bearer {env.token}", "Content-Type": "application/xml"}


def post(client, env, sheets, number: str = "L-E"):
    response = client.post("/api/v1/lots", data=env.lot(sheets, number=number), headers=_headers(env))
    assert response.status_code == 201, response.data[:300]
    return read_arl(response.data)


def test_care_accepted_under_another_invoice_is_rejected_naming_the_first(client, fse_env):
    first = sheet(fse_env, ("G", {}))
    assert post(client, fse_env, [first], "L-1").accepted == 1
    again = sheet(fse_env, ("G", {}))
    arl = post(client, fse_env, [again], "L-2")
    assert arl.rejected == 1
    [error] = arl.fses[0].errors
    assert error.code == "FSE-R-040"
    assert first.invoice_number in error.detail and error.hint
    assert "réclamation" in error.hint and "second acte" in error.hint
    assert error.path == "/Lot/FSE[1]/Lignes/ActeNGAP/Code" and error.line


def test_second_act_flag_is_accepted_and_shown_in_the_arl(client, fse_env):
    assert post(client, fse_env, [sheet(fse_env, ("G", {}))], "L-1").accepted == 1
    second = sheet(fse_env, ("G", {"second_act": True}))
    response = client.post("/api/v1/lots", data=fse_env.lot([second], number="L-2"), headers=_headers(fse_env))
    arl = read_arl(response.data)
    assert arl.accepted == 1 and arl.fses[0].second_acts == (1,)
    root = etree.fromstring(response.data)
    assert root.find(f"{{{ARL_NS}}}FSEs/{{{ARL_NS}}}FSE").get("secondsActes") == "1"
    assert get_registry().is_valid(root, "arl")
    fse = client.get(f"/api/v1/fse/{arl.fses[0].reference}", headers=_headers(fse_env)).get_json()
    assert fse["lines"][0]["second_act"] is True


def test_same_care_twice_in_one_lot(client, fse_env):
    arl = post(client, fse_env, [sheet(fse_env, ("G", {})), sheet(fse_env, ("G", {}))])
    assert [f.status.value for f in arl.fses] == ["acceptee", "rejetee"]
    assert "rang 1 de ce lot" in arl.fses[1].errors[0].detail


def test_other_day_or_other_act_is_not_a_duplicate(client, fse_env):
    assert post(client, fse_env, [sheet(fse_env, ("G", {}))], "L-1").accepted == 1
    arl = post(client, fse_env, [sheet(fse_env, ("G", {}), day=DAY - timedelta(days=1)),
                                 sheet(fse_env, ("VG", {}), ("MD", {}))], "L-2")
    assert arl.accepted == 2, [e.code for f in arl.fses for e in f.errors]


def test_night_majoration_with_the_time_of_care_in_schema_2(client, fse_env):
    night = sheet(fse_env, ("G", {"care_time": time(21, 30)}), ("MN", {}))
    arl = post(client, fse_env, [night])
    assert arl.accepted == 1, [e.code for f in arl.fses for e in f.errors]
    fse = client.get(f"/api/v1/fse/{arl.fses[0].reference}", headers=_headers(fse_env)).get_json()
    assert fse["lines"][0]["care_time"] == "21:30"
    assert fse["amounts"]["computed"]["base"] == "65.00"  # G 30 € + MN 35 €
    without = sheet(fse_env, ("G", {}), ("MN", {}), day=DAY - timedelta(days=3))
    arl = post(client, fse_env, [without], "L-2")
    assert [e.code for e in arl.fses[0].errors] == ["FSE-R-035"]


def test_lots_sent_at_the_same_moment_with_the_same_care(fse_env):
    """Two lots, the same consultation under two invoice numbers, posted at once: the
    per-patient lock makes one wait for the other, which then sees it (one accepted)."""
    bodies = [fse_env.lot([sheet(fse_env, ("G", {}))], number=f"L-{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def worker(i):
        client = fse_env.app.test_client()
        barrier.wait()
        results[i] = client.post("/api/v1/lots", data=bodies[i], headers=_headers(fse_env))

    run_threads(worker, [(i,) for i in range(2)])
    assert [r.status_code for r in results] == [201, 201]
    statuses = sorted(read_arl(r.data).fses[0].status.value for r in results)
    assert statuses == ["acceptee", "rejetee"]
    codes = [e.code for r in results for f in read_arl(r.data).fses for e in f.errors]
    assert codes == ["FSE-R-040"]
    with fse_env.app.app_context():
        session = fse_env.app.extensions["amelipro.sessionmaker"]()
        accepted = session.scalar(select(func.count()).select_from(StoredFse)
                                  .where(StoredFse.status == FseStatus.ACCEPTED))
        session.close()
    assert accepted == 1


def test_demo_lot_of_a_general_practitioner_has_majorations(client, fse_env):
    """The demo data covers a Sunday (G + F), a home visit (VG + MD) and a child under 6
    (G + MEG); the gateway accepts them all."""
    demo = fse_env.sheets(6, seed=5).sheets
    first = [tuple(line.code for line in s.lines) for s in demo[:3]]
    assert first == [("G", "F"), ("VG", "MD"), ("G", "MEG")]
    assert demo[0].first_care_date.weekday() == 6
    assert (demo[2].first_care_date - demo[2].patient.birth_date).days < 6 * 365
    assert demo[1].totals.base == D("40.00") and demo[0].totals.base == D("49.06")
    arl = post(client, fse_env, demo, "L-DEMO")
    assert arl.accepted == 6, [e.code for f in arl.fses for e in f.errors]


def test_demo_lot_command_writes_majorations(fse_env, runner, tmp_path):
    pki_dir = tmp_path / "pki" / fse_env.doctor.login
    pki_dir.mkdir(parents=True)
    (pki_dir / "key.pem").write_bytes(fse_env.pki.medecin.key_path.read_bytes())
    (pki_dir / "cert.pem").write_bytes(fse_env.pki.medecin.cert_path.read_bytes())
    fse_env.app.config["PKI_DIR"] = str(tmp_path / "pki")
    out = tmp_path / "lot.xml"
    result = runner.invoke(args=["demo", "lot", fse_env.doctor.login, "--count", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    for code in ("F", "MD", "MEG", "VG"):
        assert f"<Code>{code}</Code>" in text
