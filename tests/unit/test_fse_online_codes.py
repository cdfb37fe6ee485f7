"""Online billing's error codes (FSE-EL-) and the re-authentication code are pinned."""

from amelipro.auth import errors as auth_errors
from amelipro.errors import REGISTRY
from amelipro.fse import online_errors

ONLINE_CODES = [f"FSE-EL-{n:03d}" for n in range(1, 16)]


def test_online_codes_pinned():
    assert online_errors.CODES == ONLINE_CODES
    assert sorted(c for c in REGISTRY if c.startswith("FSE-EL-")) == ONLINE_CODES


def test_reauth_code_pinned():
    assert auth_errors.REAUTH_REQUIRED.code == "REAUTH-001"
    assert sorted(c for c in REGISTRY if c.startswith("REAUTH-")) == ["REAUTH-001"]


def test_every_online_code_has_a_french_message_and_hint():
    for code in ONLINE_CODES:
        entry = REGISTRY[code]
        assert entry.message[0].isupper() and entry.message.endswith(".")
        assert entry.hint or entry.status == 404
