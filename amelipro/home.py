"""The home dashboard's panels: each capability adds a short summary of the professional's own
activity (``add_panel(app, build)`` in its ``web.register``); the home page shows them in order.

A builder takes ``(session, professional)`` and returns a :class:`Panel`, or ``None`` when it
has nothing to say for this account (an operator has no care sheets).
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
    endpoint: str  # where "Voir le détail" leads
    facts: tuple[Fact, ...]
    note: str = ""


def add_panel(app: Flask, build: Callable) -> None:
    app.extensions.setdefault(EXTENSION, []).append(build)


def panels(app: Flask, session, professional) -> list[Panel]:
    built = (build(session, professional) for build in app.extensions.get(EXTENSION, []))
    return [panel for panel in built if panel is not None]
