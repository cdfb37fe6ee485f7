"""Fixtures of online billing (imported by its tests): a doctor ready to bill in the browser."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from amelipro.beneficiaries.services import _nir

MARTIN_NIR = _nir("2820819398814")  # Claire MARTIN, demo file, rights open, no exemption
MARTIN_BIRTH = "19/08/1982"
DUBOIS_NIR = _nir("1580375112045")  # Paul DUBOIS, ALD


def day_fr(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def g_sheet(**changes) -> dict:
    """A G consultation for Claire MARTIN yesterday, as the API's JSON."""
    sheet = {
        "patient": {"nir": MARTIN_NIR, "birth_date": MARTIN_BIRTH, "rank": 1},
        "care_date": day_fr(date.today() - timedelta(days=1)),
        "nature": "10", "pathway": True, "exemption": "aucune",
        "tiers_payant": {"amo": True, "amc": False},
        "lines": [{"kind": "ngap", "code": "G", "coefficient": "1", "quantity": "1"}],
    }
    sheet.update(changes)
    return sheet


def form_of(sheet: dict, csrf: str, action: str) -> dict:
    data = {"csrf_token": csrf, "action": action, "nir": sheet["patient"]["nir"],
            "birth_date": sheet["patient"]["birth_date"], "rank": str(sheet["patient"]["rank"]),
            "care_date": sheet["care_date"], "nature": sheet["nature"],
            "pathway": "oui" if sheet["pathway"] else "non", "exemption": sheet["exemption"],
            "prescriber_rpps": sheet.get("prescriber_rpps", ""), "prescription_date": sheet.get("prescription_date", "")}
    if sheet["tiers_payant"]["amo"]:
        data["tiers_payant_amo"] = "on"
    for n, line in enumerate(sheet["lines"], start=1):
        for key in ("kind", "code", "coefficient", "quantity", "care_date"):
            data[f"lines-{n}-{key}"] = str(line.get(key, ""))
    return data


@dataclass
class OnlineEnv:
    env: object  # FseEnv
    app: object

    def issue(self, pro):
        from amelipro.auth.models import Professional
        from amelipro.fse.online_signing import SigningSettings, issue_credential

        with self.app.app_context():
            session = self.app.extensions["amelipro.sessionmaker"]()
            issue_credential(session, session.get(Professional, pro.id),
                             SigningSettings.from_config(self.app.config, self.app.instance_path))
            session.close()

    def count(self, model) -> int:
        from tests.support import count_rows

        return count_rows(self.app, model)


@pytest.fixture
def online_env(app, fse_env) -> OnlineEnv:
    env = OnlineEnv(fse_env, app)
    env.issue(fse_env.doctor)
    return env
