"""Lots checked with « Vérifier » kept a short while, so that « Envoyer ce lot » sends the very
same bytes without the professional choosing the file again.

The copy lives in the instance directory (``checked_lots/``), named by the professional's id
and the SHA-256 of the body: another professional cannot name it, and the hash in the form
says exactly which bytes were checked. Taking a copy renames it first (atomic), so two POSTs
(double click, F5 on the POST) never send it twice: the second finds nothing. Copies older
than ``KEEP_SECONDS`` are removed whenever a new one is stored.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

KEEP_SECONDS = 3600
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _directory(instance_path: str) -> Path:
    path = Path(instance_path) / "checked_lots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _purge(directory: Path, now: float) -> None:
    for entry in directory.iterdir():
        try:
            if now - entry.stat().st_mtime > KEEP_SECONDS:
                entry.unlink()
        except OSError:
            pass  # taken or removed meanwhile


def keep(instance_path: str, pro_id: int, body: bytes) -> str:
    """Store the checked body; answer its digest (the form's hidden field)."""
    directory = _directory(instance_path)
    _purge(directory, time.time())
    digest = hashlib.sha256(body).hexdigest()
    final = directory / f"{int(pro_id)}-{digest}.xml"
    temporary = directory / f".{int(pro_id)}-{digest}.{os.getpid()}.tmp"
    temporary.write_bytes(body)
    os.replace(temporary, final)
    return digest


def take(instance_path: str, pro_id: int, digest: str) -> bytes | None:
    """The checked body for this professional and digest, removed from the store; None when
    unknown, expired or already taken."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        return None
    directory = _directory(instance_path)
    source = directory / f"{int(pro_id)}-{digest}.xml"
    claimed = directory / f".{int(pro_id)}-{digest}.{os.getpid()}.{time.monotonic_ns()}.taken"
    try:
        if time.time() - source.stat().st_mtime > KEEP_SECONDS:
            source.unlink()
            return None
        os.rename(source, claimed)  # only one request wins
    except OSError:
        return None
    try:
        body = claimed.read_bytes()
    finally:
        claimed.unlink(missing_ok=True)
    if hashlib.sha256(body).hexdigest() != digest:
        return None
    return body
