"""Error codes of background operations (OPS-…). Never renumbered or reused."""

from amelipro.errors import define

ALREADY_RUNNING = define("OPS-001", 409, "Cette opération est déjà en cours.",
                         "Attendez qu'elle se termine : sa page montre sa progression.")
NOT_FOUND = define("OPS-002", 404, "Opération introuvable.")
UNKNOWN_KIND = define("OPS-003", 400, "Type d'opération inconnu.")
