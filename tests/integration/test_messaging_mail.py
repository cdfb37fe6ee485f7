"""« Vous avez un nouveau message » leaves by e-mail (a real SMTP server on loopback), without
the content; the outbox keeps what could not be sent until ``amelipro messaging notify``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from amelipro.account.models import AccountProfile
from amelipro.messaging.models import OutboxMessage
from tests.integration.test_messaging_web import _login, _new, _token

ADDRESS = "dr.msg@exemple.invalid"


@pytest.fixture
def app_config(app_config, mailbox):
    return {**app_config, "SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}"}


def _give_address(db_session, pro_id: int) -> None:
    db_session.add(AccountProfile(professional_id=pro_id, email=ADDRESS))
    db_session.commit()


def test_an_answer_of_the_caisse_is_announced_by_email_without_its_content(client, db_session, payment_case,
                                                                          mailbox):
    _give_address(db_session, payment_case.doctor.id)
    _login(client, "dr.msg")
    created = _new(client, objet="Question sur un rejet", message="Pourquoi ce rejet ?")
    assert created.status_code == 302
    thread_id = int(created.headers["Location"].split("/")[2].split("?")[0])
    assert mailbox.to(ADDRESS) == []  # the professional's own message notifies nobody by e-mail
    _login(client, "agent.caisse")
    token = _token(client.get(f"/caisse/{thread_id}").get_data(as_text=True))
    answered = client.post(f"/caisse/{thread_id}/repondre",
                           data={"csrf_token": token, "message": "Secret médical : ne pas envoyer."})
    assert answered.status_code == 302
    message = mailbox.last(ADDRESS)
    assert message["Subject"] == "Vous avez un nouveau message"
    for part in (mailbox.text(message), mailbox.html(message)):
        assert "Connectez-vous pour le lire" in part and "Secret médical" not in part
    db_session.expire_all()
    waiting = db_session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))).all()
    assert waiting == []


def test_notify_command_sends_what_waits_in_the_outbox(client, db_session, payment_case, mailbox, runner):
    _give_address(db_session, payment_case.doctor.id)
    _login(client, "dr.msg")
    created = _new(client, objet="Question", message="Bonjour")
    thread_id = int(created.headers["Location"].split("/")[2].split("?")[0])
    # as left by a process that stopped between its commit and the sending
    db_session.add(OutboxMessage(professional_id=payment_case.doctor.id, thread_id=thread_id,
                                 subject="Vous avez un nouveau message", body="…"))
    db_session.commit()
    result = runner.invoke(args=["messaging", "notify"])
    assert result.exit_code == 0 and "Avis envoyés par e-mail : 1." in result.output
    assert len(mailbox.to(ADDRESS)) == 1
    again = runner.invoke(args=["messaging", "notify"])
    assert "Avis envoyés par e-mail : 0." in again.output and len(mailbox.to(ADDRESS)) == 1
