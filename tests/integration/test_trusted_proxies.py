"""Behind a reverse proxy: the client address is read from X-Forwarded-For only as many hops
deep as AMELIPRO_TRUSTED_PROXIES says, and login throttling counts per real client."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from amelipro import create_app
from amelipro.audit import AuditEvent
from amelipro.auth.models import LoginFailure
from tests.conftest import PASSWORD, csrf_from

PROXY = "10.0.0.254"


def _login(client, login, password, forwarded_for):
    headers = {"X-Forwarded-For": forwarded_for}
    env = {"REMOTE_ADDR": PROXY}
    page = client.get("/connexion", headers=headers, environ_base=env)
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/connexion", data={"login": login, "password": password, "csrf_token": token},
                       headers=headers, environ_base=env)


@pytest.fixture
def proxied_app(app_config):
    app = create_app({**app_config, "TRUSTED_PROXIES": 1})
    yield app
    app.extensions["amelipro.engine"].dispose()


def test_one_noisy_client_behind_the_proxy_does_not_lock_out_the_others(proxied_app, make_professional):
    make_professional("dr.house")  # same database as proxied_app
    session = proxied_app.extensions["amelipro.sessionmaker"]()
    attacker = proxied_app.test_client()
    for n in range(24):  # many logins from one place: that place is throttled
        assert _login(attacker, f"inconnu{n}", "faux", "203.0.113.7").status_code in (401, 429)
    assert _login(attacker, "dr.house", PASSWORD, "203.0.113.7").status_code == 429
    # Another practice behind the same proxy logs in.
    other = proxied_app.test_client()
    assert _login(other, "dr.house", PASSWORD, "198.51.100.20").status_code == 302
    addrs = set(session.scalars(select(LoginFailure.remote_addr)))
    assert addrs == {"203.0.113.7"}
    assert "198.51.100.20" in set(session.scalars(select(AuditEvent.remote_addr)))
    session.close()


def test_forwarded_for_is_ignored_without_the_setting(client, make_professional, db_session):
    """Off by default: a client cannot pick its own address to escape the throttle."""
    for n in range(24):
        _login(client, f"inconnu{n}", "faux", f"192.0.2.{n}")
    assert set(db_session.scalars(select(LoginFailure.remote_addr))) == {PROXY}


def test_only_the_trusted_hops_are_believed(proxied_app):
    """With one trusted proxy, what the client itself wrote in the header is ignored."""
    client = proxied_app.test_client()
    _login(client, "inconnu", "faux", "1.2.3.4, 203.0.113.9")
    session = proxied_app.extensions["amelipro.sessionmaker"]()
    assert set(session.scalars(select(LoginFailure.remote_addr))) == {"203.0.113.9"}
    session.close()


def test_negative_hops_refused(app_config):
    with pytest.raises(ValueError):
        create_app({**app_config, "TRUSTED_PROXIES": -1})
