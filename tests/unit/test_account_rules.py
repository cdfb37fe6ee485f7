"""Pure rules of the account: bank-account checks, masking, password strength, TOTP steps,
statements credited elsewhere."""

from __future__ import annotations

import pyotp
import pytest

from amelipro.account.banking import BankInput, check_bank_account
from amelipro.account.models import mask_iban
from amelipro.account.passwords import password_problems
from amelipro.account.second_factor import _match_step, qr_svg
from amelipro.errors import AmeliproError
from amelipro.thirdparty.reconciliation import credited_elsewhere

GOOD = BankInput("Dr Claire Martin", "FR76 3000 6000 0112 3456 7890 189", "agrifrpp882")


def test_a_good_bank_account_is_normalised():
    checked = check_bank_account(GOOD)
    assert checked == BankInput("Dr Claire Martin", "FR7630006000011234567890189", "AGRIFRPP882")


@pytest.mark.parametrize("over, problem", [
    ({"iban": "FR7730006000011234567890189"}, "IBAN"),  # wrong key
    ({"iban": "FR76300060000112345678901"}, "IBAN"),  # wrong length
    ({"iban": ""}, "IBAN"),
    ({"bic": "AGRIFRPP8"}, "BIC"),  # 9 characters
    ({"bic": "AGRI"}, "BIC"),
    ({"holder": "x" * 5000}, "titulaire"),
    ({"holder": "   "}, "titulaire"),
])
def test_bad_bank_accounts(over, problem):
    with pytest.raises(AmeliproError) as caught:
        check_bank_account(BankInput(**{**GOOD.__dict__, **over}))
    assert caught.value.code == "ACC-010"
    assert any(problem in p for p in caught.value.extra["problems"])


def test_every_bank_problem_at_once():
    with pytest.raises(AmeliproError) as caught:
        check_bank_account(BankInput("", "FR00", "X"))
    assert len(caught.value.extra["problems"]) == 3


@pytest.mark.parametrize("iban, masked", [
    ("FR7630006000011234567890189", "FR76 •••• 0189"),
    ("fr76 3000 6000 0112 3456 7890 189", "FR76 •••• 0189"),
    ("DE89370400440532013000", "DE89 •••• 3000"),
    ("FR7", "••••"),
])
def test_mask(iban, masked):
    assert mask_iban(iban) == masked


@pytest.mark.parametrize("password, ok", [
    ("court", False),
    ("motdepasse", False),
    ("azertyuiop", False),
    ("password123", False),
    ("Martin2026!", False),  # the user's name and a year
    ("cheval-agrafe-batterie-correcte-42", True),
    ("x" * 201, False),
])
def test_password_strength(password, ok):
    assert (password_problems(password, ["claire.martin", "Claire", "Martin"]) == []) is ok


def test_totp_steps_and_window():
    secret = pyotp.random_base32()
    now = 1_800_000_015.0
    step = int(now // 30)
    totp = pyotp.TOTP(secret)
    assert _match_step(secret, totp.at(step * 30), now) == step
    assert _match_step(secret, totp.at((step - 1) * 30), now) == step - 1
    assert _match_step(secret, totp.at((step + 1) * 30), now) == step + 1
    assert _match_step(secret, totp.at((step - 2) * 30), now) is None


def test_qr_code_is_inline_svg():
    svg = qr_svg("otpauth://totp/amelipro:x?secret=JBSWY3DPEHPK3PXP&issuer=amelipro")
    assert svg.startswith("<svg") and "<path" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched


@pytest.mark.parametrize("statement, expected, flagged", [
    ("FR7630006000011234567890189", "FR7630006000011234567890189", False),
    ("FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189", False),
    ("FR7630001007941234567890185", "FR7630006000011234567890189", True),
    ("FR7630001007941234567890185", None, True),
    ("", "FR7630006000011234567890189", False),
])
def test_credited_elsewhere(statement, expected, flagged):
    assert credited_elsewhere(statement, expected) is flagged
