"""Stable error codes of the tiers-payant capability (prefix ``TP-``).

Codes are never renumbered or reused; ``tests/unit/test_thirdparty_errors.py`` pins them.
"""

from __future__ import annotations

from amelipro.codes import define

# Payment state transitions (``states.next_status``).
TRANSITION_INVALID = define(
    "TP-STA-001", 409, "Changement d'état de paiement impossible.",
    "Consultez l'historique de la facture : cet événement ne s'applique pas à son état actuel.",
)
ALREADY_PAID = define(
    "TP-STA-002", 409, "Facture déjà payée : elle ne peut pas être payée une seconde fois.",
    "Ne renvoyez pas la facture ; en cas de double paiement, signalez-le à la caisse.",
)
ALREADY_REJECTED = define(
    "TP-STA-003", 409, "Facture rejetée : elle ne peut plus être liquidée ni payée.",
    "Corrigez la facture et renvoyez-la : la nouvelle facture sera liée à celle-ci.",
)
NOT_LIQUIDATED = define(
    "TP-STA-004", 409, "Facture pas encore liquidée : aucun paiement ni rejet n'est possible.",
    "Attendez la liquidation par la caisse.",
)
ALREADY_RESUBMITTED = define(
    "TP-STA-005", 409, "Facture déjà corrigée et renvoyée.",
    "Suivez la facture de remplacement, liée depuis cette page.",
)
RESUBMIT_NOT_REJECTED = define(
    "TP-STA-006", 409, "Seule une facture rejetée peut être corrigée et renvoyée.",
    "Une facture en attente ou payée ne se renvoie pas : attendez son paiement.",
)
NOT_ACCEPTED = define(
    "TP-STA-007", 409, "Facture pas encore acceptée par la caisse.",
    "La liquidation commence après l'accusé de réception positif du lot.",
)
ALREADY_ACCEPTED = define(
    "TP-STA-008", 409, "Facture déjà acceptée.", "Un même accusé de réception ne s'applique qu'une fois."
)
ALREADY_LIQUIDATED = define(
    "TP-STA-009", 409, "Facture déjà liquidée.", "Une facture n'est liquidée qu'une fois."
)

# Bank statements (relevés bancaires).
STATEMENT_UNREADABLE = define(
    "TP-REL-001", 400, "Relevé bancaire illisible.",
    "Déposez un relevé camt.053 (XML ISO 20022) ou un fichier CSV exporté par votre banque.",
)
STATEMENT_FORMAT = define(
    "TP-REL-002", 422, "Relevé bancaire au format non reconnu.",
    "Formats acceptés : camt.053.001.02 (XML) ou CSV « date;date_valeur;libelle;reference;montant ».",
)
STATEMENT_LINE = define(
    "TP-REL-003", 422, "Ligne de relevé invalide.",
    "Vérifiez la date (AAAA-MM-JJ ou JJ/MM/AAAA) et le montant (ex. 1234,56) de la ligne indiquée.",
)
STATEMENT_EMPTY = define(
    "TP-REL-004", 422, "Le relevé ne contient aucune opération.", "Vérifiez le fichier déposé."
)
STATEMENT_DUPLICATE = define(
    "TP-REL-005", 409, "Ce relevé a déjà été déposé.", "Le rapprochement précédent est affiché."
)
STATEMENT_MISSING = define(
    "TP-REL-006", 400, "Aucun fichier de relevé reçu.", "Choisissez un fichier avant d'envoyer."
)

# Feeds and queries.
BAD_CURSOR = define(
    "TP-API-001", 400, "Curseur de retours invalide.",
    "Utilisez la valeur « next » de la réponse précédente, ou omettez « since » pour tout relire.",
)
BAD_FILTER = define(
    "TP-API-002", 400, "Filtre invalide.", "Vérifiez les dates (AAAA-MM-JJ), montants et statuts demandés."
)
NOT_FOUND = define("TP-API-404", 404, "Paiement, virement ou relevé introuvable.",
                   "Il n'existe pas ou appartient à un autre professionnel.")
BAD_MONTH = define("TP-API-003", 400, "Mois invalide.", "Utilisez le format AAAA-MM.")

# Configuration.
CONFIG_MISSING = define(
    "TP-CFG-001", 500, "Aucun barème de pénalités en vigueur à cette date.",
    "Complétez amelipro/thirdparty/data/penalties.json.",
)
