"""Account fixtures: a real SMTP server on loopback (aiosmtpd) that keeps what it receives,
and helpers to read links from the messages.

A test module sends the app's mail there by overriding ``app_config``::

    @pytest.fixture
    def app_config(app_config, mailbox):
        return {**app_config, "SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}"}
"""

from __future__ import annotations

import re
import socket
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

import pytest

LINK_RE = re.compile(r"https?://\S+")


class Mailbox:
    """What the loopback SMTP server received (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def last(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert found, f"no e-mail to {address} (got {[m['To'] for m in self.messages]})"
        return found[-1]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("html",)).get_content()

    def link(self, address: str, contains: str = "") -> str:
        links = [u for u in LINK_RE.findall(self.text(self.last(address))) if contains in u]
        assert links, f"no link with {contains!r} in the last e-mail to {address}"
        return links[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    box.port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()
