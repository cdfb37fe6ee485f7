"""The home dashboard's panels: each capability adds a short summary of the professional's own
activity (``add_panel(app, build)`` in its ``web.register``); the home page shows them in order.

A builder takes ``(session, professional)`` and returns a :class:`Panel`, or ``None`` when it
has nothing to say for this account: a professional's panels speak of their own activity, an
operator's of the whole service (reception, liquidation backlog, imports, security).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

EXTENSION = "amelipro.home_panels"


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    detail: str = ""
    alert: bool = False  # shown highlighted (rejections, penalties due)


@dataclass(frozen=True)
class Panel:
    title: str
    endpoint: str | None  # where "Voir le détail" leads (None: no page, see the note)
    facts: tuple[Fact, ...]
    note: str = ""


def add_panel(app: Flask, build: Callable) -> None:
    app.extensions.setdefault(EXTENSION, []).append(build)


def panels(app: Flask, session, professional) -> list[Panel]:
    built = (build(session, professional) for build in app.extensions.get(EXTENSION, []))
    return [panel for panel in built if panel is not None]
