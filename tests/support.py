"""Small helpers shared by tests (plain functions, not fixtures)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from sqlalchemy import func, select


def count_rows(app, model, *where) -> int:
    """How many rows of ``model`` (matching ``where``) the app's database holds, read in a
    session of its own."""
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        try:
            return session.scalar(select(func.count()).select_from(model).where(*where))
        finally:
            session.close()


def run_threads(target: Callable[..., object], args: Iterable[tuple], timeout: float | None = None) -> None:
    """One thread of ``target`` per argument tuple, all started, then all waited for."""
    threads = [threading.Thread(target=target, args=a) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
