"""Without AMELIPRO_SMTP_URL, each e-mail is an .eml file under the instance directory and its
links are printed in the server log; with it, messages go through SMTP (plain text + HTML)."""

from __future__ import annotations

import logging
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

from amelipro.account.models import AccountProfile, AccountStatus
from tests.conftest import csrf_from


def test_without_smtp_messages_are_eml_files_and_links_are_logged(app, client, db_session,
                                                                  make_professional, caplog):
    pro = make_professional("sans.smtp")
    db_session.add(AccountProfile(professional_id=pro.id, email="sans.smtp@exemple.fr",
                                  status=AccountStatus.ACTIVE, totp_last_step=0))
    db_session.commit()
    token = csrf_from(client.get("/mot-de-passe-oublie").get_data(as_text=True))
    with caplog.at_level(logging.WARNING, logger="amelipro.mail"):
        client.post("/mot-de-passe-oublie", data={"identifier": "sans.smtp", "csrf_token": token})
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
    pro = make_professional("base.url")
    db_session.add(AccountProfile(professional_id=pro.id, email="base.url@exemple.fr",
                                  status=AccountStatus.ACTIVE, totp_last_step=0))
    db_session.commit()
    token = csrf_from(client.get("/mot-de-passe-oublie").get_data(as_text=True))
    client.post("/mot-de-passe-oublie", data={"identifier": "base.url@exemple.fr", "csrf_token": token})
    (eml,) = (Path(app.instance_path) / "mail").glob("*.eml")
    assert "https://amelipro.exemple.fr/mot-de-passe/" in eml.read_text()


def test_an_unreachable_smtp_server_keeps_the_message(app, client, db_session, make_professional, caplog):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    pro = make_professional("smtp.hs")
    db_session.add(AccountProfile(professional_id=pro.id, email="smtp.hs@exemple.fr",
                                  status=AccountStatus.ACTIVE, totp_last_step=0))
    db_session.commit()
    token = csrf_from(client.get("/mot-de-passe-oublie").get_data(as_text=True))
    with caplog.at_level(logging.WARNING, logger="amelipro.mail"):
        response = client.post("/mot-de-passe-oublie", data={"identifier": "smtp.hs", "csrf_token": token})
    assert response.status_code == 302
    assert len(list((Path(app.instance_path) / "mail").glob("*.eml"))) == 1
    assert "SMTP unavailable" in caplog.text
