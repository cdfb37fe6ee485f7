"""Helpers of the golden (approval) test of lots: a fixed clock and a gateway ready for lots.

Used by the ``env`` fixture of ``tests/integration/test_golden_lots.py`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

# The gateway's "now" and "today" in every golden answer (a Friday; Paris is UTC+1 then).
FIXED_NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
FIXED_DAY = date(2026, 11, 27)


@dataclass
class GoldenEnv:
    """A gateway with the test PKI, the demo reference set and caisse file, a doctor and a
    pharmacist (fixed logins, RPPS and AM numbers) and their API tokens."""

    app: object
    pki: object
    doctor: object
    pharmacist: object
    tokens: dict  # professional id -> API token secret

    def sheets(self, pro, count: int, invalid: float = 0.0, seed: int = 7):
        """Care sheets priced as a correct practice software would (amelipro.fse.demo), for
        the fixed day: the same sheets every run."""
        from amelipro.fse.demo import build_sheets

        with self.app.app_context():
            session = self.app.extensions["amelipro.sessionmaker"]()
            lot = build_sheets(session, session.get(type(pro), pro.id), count, invalid, today=FIXED_DAY, seed=seed)
            session.close()
        return lot

    def reprice(self, sheet, pro):
        """``sheet`` with its amounts as the gateway computes them (after a change of lines)."""
        from amelipro.beneficiaries.services import find_rights_many
        from amelipro.fse.demo import _amounts
        from amelipro.reference.queries import SqlReferenceLookup

        with self.app.app_context():
            session = self.app.extensions["amelipro.sessionmaker"]()
            key = (sheet.patient.nir, sheet.patient.rank)
            rights = find_rights_many(session, {key}).get(key)
            priced = _amounts(sheet, SqlReferenceLookup(session), rights)
            session.close()
        return priced

    def headers(self, pro, **extra) -> dict:
        return {"Authorization": f"Bearer {self.tokens[pro.id]}", "Content-Type": "application/xml", **extra}


def make_golden_env(app, pki, make_professional, api_token) -> GoldenEnv:
    """After ``freeze_clock`` and with the demo reference set imported."""
    from amelipro.auth.models import Profession
    from amelipro.beneficiaries.services import seed_demo
    from tests.fixtures_fse import install_gateway_pki
    from tests.fixtures_pki import RPPS_MEDECIN, RPPS_PHARMACIEN

    install_gateway_pki(app, pki)
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        seed_demo(session, FIXED_DAY)
        session.close()
    # Every field given: make_professional's counter would otherwise depend on the tests run before.
    doctor = make_professional("golden-medecin", rpps=RPPS_MEDECIN, profession=Profession.MEDECIN_GENERALISTE,
                               am_number="751234567", first_name="Jeanne", last_name="Golden")
    pharmacist = make_professional("golden-pharmacien", rpps=RPPS_PHARMACIEN, profession=Profession.PHARMACIEN,
                                   am_number="752345678", first_name="Paul", last_name="Golden")
    return GoldenEnv(app, pki, doctor, pharmacist,
                     {doctor.id: api_token(doctor), pharmacist.id: api_token(pharmacist)})
