"""Stable error codes and the root exception: pure (no Flask, no database).

Every code is declared once with :func:`define`. Codes are never renumbered or reused:
retire one by moving it to ``RETIRED``. ``tests/unit/test_error_codes.py`` pins the list and
``docs/errors.md`` is generated from ``REGISTRY`` (``python -m amelipro.docs errors``).
The HTTP handlers that render these errors live in :mod:`amelipro.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    message: str  # French, for people
    hint: str = ""  # French, how to fix


REGISTRY: dict[str, ErrorCode] = {}
# Codes once published and withdrawn: never to be reused with another meaning.
RETIRED: frozenset[str] = frozenset({
    "FSE-LOT-003",  # invoice number already used: the rules' FSE-R-018
    "FSE-LOT-004",  # a resent FSE is answered with the status "doublon", not an error
    "FSE-LOT-005",  # an FSE that cannot be mapped: XSD-012 from the XML core
})


def define(code: str, status: int, message: str, hint: str = "") -> ErrorCode:
    if code in REGISTRY or code in RETIRED:
        raise ValueError(f"error code {code} declared twice or retired")
    entry = ErrorCode(code, status, message, hint)
    REGISTRY[code] = entry
    return entry


class AmeliproError(Exception):
    """Root of every error a user or a program can meet."""

    def __init__(self, error: ErrorCode, detail: str = "", **extra: Any) -> None:
        super().__init__(error.code)
        self.error = error
        self.detail = detail
        self.extra = extra

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def status(self) -> int:
        return self.error.status

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.error.code, "message": self.error.message}
        if self.error.hint:
            out["hint"] = self.error.hint
        if self.detail:
            out["detail"] = self.detail
        out.update(self.extra)
        return out


# Generic codes, valid everywhere.
INTERNAL = define("GEN-000", 500, "Erreur interne : l'incident a été enregistré.")
NOT_FOUND = define("GEN-404", 404, "Ressource introuvable.")
METHOD_NOT_ALLOWED = define("GEN-405", 405, "Méthode HTTP non autorisée pour cette adresse.")
TOO_LARGE = define("GEN-413", 413, "Requête trop volumineuse.")
BAD_REQUEST = define("GEN-400", 400, "Requête invalide.")
CSRF_FAILED = define(
    "GEN-CSRF", 400, "Le formulaire a expiré ou n'est pas valide.", "Rechargez la page et recommencez."
)
INVALID_DATE = define("GEN-DATE", 400, "Date invalide.", "Utilisez le format AAAA-MM-JJ.")
BODY_INCOMPLETE = define(
    "GEN-BODY", 400, "Requête incomplète : le contenu reçu est plus court que la longueur annoncée.",
    "Rien n'a été enregistré : renvoyez la même requête (avec la même clé d'idempotence).",
)
DATABASE_UNAVAILABLE = define(
    "GEN-DB", 503, "Base de données momentanément indisponible : rien n'a été enregistré.",
    "Renvoyez la même requête après le délai indiqué par l'en-tête Retry-After.",
)
INVALID_NUMBER = define(
    "GEN-NUM", 400, "Paramètre numérique invalide.",
    "Les numéros de page et les limites sont des nombres entiers positifs (page=2, limit=100).",
)
