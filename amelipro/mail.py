"""Outgoing e-mail: French, plain text + HTML, sent through SMTP (``AMELIPRO_SMTP_URL``).

Without an SMTP server (the ``make run`` default) each message is written as an ``.eml`` file
under ``<instance>/mail/`` and its links are printed in the server log, so that every flow
(sign-up, reset, e-mail change) can be followed on a laptop.

``AMELIPRO_SMTP_URL``: ``smtp://[user:password@]host[:port]`` (``?starttls=1`` to upgrade),
or ``smtps://...`` (TLS from the start).
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, render_template

log = logging.getLogger(__name__)
LINK_RE = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str

    @property
    def links(self) -> list[str]:
        return LINK_RE.findall(self.text)


def compose(template: str, to: str, subject: str, **context) -> Mail:
    """``templates/mail/<template>.txt`` and ``.html`` rendered with ``context``."""
    return Mail(to=to, subject=subject,
                text=render_template(f"mail/{template}.txt", subject=subject, **context),
                html=render_template(f"mail/{template}.html", subject=subject, **context))


def to_message(mail: Mail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "amelipro.invalid")
    msg["Content-Language"] = "fr"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


@dataclass(frozen=True)
class Mailer:
    smtp_url: str
    outbox: Path
    sender: str

    def send(self, mail: Mail) -> None:
        msg = to_message(mail, self.sender)
        if self.smtp_url:
            try:
                self._smtp(msg)
            except (OSError, smtplib.SMTPException):
                # The change is already saved: keep the message rather than fail the request.
                log.exception("SMTP unavailable: e-mail to %s kept under %s", mail.to, self.outbox)
            else:
                log.info("e-mail sent to %s: %s", mail.to, mail.subject)
                return
        self.outbox.mkdir(parents=True, exist_ok=True)
        path = self.outbox / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(msg))
        log.warning("e-mail to %s (%s) written to %s; links: %s", mail.to, mail.subject, path,
                    " ".join(mail.links) or "none")

    def _smtp(self, msg: EmailMessage) -> None:
        url = urlsplit(self.smtp_url)
        query = parse_qs(url.query)
        host = url.hostname or "localhost"
        if url.scheme == "smtps":
            client = smtplib.SMTP_SSL(host, url.port or 465, timeout=30,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, url.port or 25, timeout=30)
        with client:
            if url.scheme != "smtps" and query.get("starttls", ["0"])[0] in ("1", "true"):
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(msg)


def mailer() -> Mailer:
    """The application's mailer (settings ``SMTP_URL``, ``MAIL_FROM``)."""
    cfg = current_app.config
    return Mailer(smtp_url=cfg.get("SMTP_URL") or "", outbox=Path(current_app.instance_path) / "mail",
                  sender=cfg.get("MAIL_FROM") or "amelipro <ne-pas-repondre@amelipro.invalid>")


def send(template: str, to: str, subject: str, **context) -> Mail:
    mail = compose(template, to, subject, **context)
    mailer().send(mail)
    return mail
