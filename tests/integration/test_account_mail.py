"""Without AMELIPRO_SMTP_URL, each e-mail is an .eml file under the instance directory and its
links are printed in the server log; with it, messages go through SMTP (plain text + HTML)."""

from __future__ import annotations

import logging
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

from amelipro.account.models import AccountProfile, AccountStatus
from tests.conftest import csrf_from


def _ask_reset(client, db_session, make_professional, login: str, identifier: str):
    """An active account with an address asks for a password reset (an e-mail is sent)."""
    pro = make_professional(login)
    db_session.add(AccountProfile(professional_id=pro.id, email=f"{login}@exemple.fr",
                                  status=AccountStatus.ACTIVE, totp_last_step=0))
    db_session.commit()
    token = csrf_from(client.get("/mot-de-passe-oublie").get_data(as_text=True))
    return client.post("/mot-de-passe-oublie", data={"identifier": identifier, "csrf_token": token})


def test_without_smtp_messages_are_eml_files_and_links_are_logged(app, client, db_session,
                                                                  make_professional, caplog):
    with caplog.at_level(logging.WARNING, logger="amelipro.mail"):
        _ask_reset(client, db_session, make_professional, "sans.smtp", "sans.smtp")
    files = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    assert len(files) == 1
    message = message_from_bytes(files[0].read_bytes(), policy=email_policy.default)
    assert message["To"] == "sans.smtp@exemple.fr"
    assert message["Subject"] == "Réinitialisation de votre mot de passe"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "valable une heure" in text and '<html lang="fr">' in html
    link = next(w for w in text.split() if w.startswith("http://localhost/mot-de-passe/"))
    assert link in caplog.text


def test_base_url_makes_the_links(app, client, db_session, make_professional):
    app.config["BASE_URL"] = "https://amelipro.exemple.fr/"
    _ask_reset(client, db_session, make_professional, "base.url", "base.url@exemple.fr")
    (eml,) = (Path(app.instance_path) / "mail").glob("*.eml")
    assert "https://amelipro.exemple.fr/mot-de-passe/" in eml.read_text()


def test_an_unreachable_smtp_server_keeps_the_message(app, client, db_session, make_professional, caplog):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    with caplog.at_level(logging.WARNING, logger="amelipro.mail"):
        response = _ask_reset(client, db_session, make_professional, "smtp.hs", "smtp.hs")
    assert response.status_code == 302
    assert len(list((Path(app.instance_path) / "mail").glob("*.eml"))) == 1
    assert "SMTP unavailable" in caplog.text
