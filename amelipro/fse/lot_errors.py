"""Stable codes of lot submission, idempotency and FSE access (the rule codes live in
``amelipro.fse.errors``; parsing, schema and signature codes in ``amelipro.xmlcore.errors``,
which also holds FSE-SIG-014 signer ≠ professional and FSE-SIG-015 foreign token).

Prefixes owned here: ``FSE-LOT-`` and ``FSE-IDEM-``. Never renumber or reuse a code.
Retired, never to be reused: FSE-LOT-003 (the rules' FSE-R-018 says "invoice number already
used"), FSE-LOT-004 (a resent FSE is answered with the status "doublon" and the original's
reference, not an error), FSE-LOT-005 (an unmappable FSE is XSD-012 from the XML core).
"""

from amelipro.errors import define

CONTENT_TYPE = define(
    "FSE-LOT-001",
    415,
    "Type de contenu refusé : le lot doit être envoyé en XML.",
    "Envoyez le lot avec l'en-tête « Content-Type: application/xml ».",
)
NO_RPPS = define(
    "FSE-LOT-002",
    403,
    "Ce compte n'a pas de numéro RPPS : il ne peut pas facturer.",
    "Utilisez le jeton d'API d'un professionnel de santé.",
)
LOT_NOT_FOUND = define("FSE-LOT-006", 404, "Lot introuvable.")
FSE_NOT_FOUND = define("FSE-LOT-007", 404, "Feuille de soins introuvable.")
NO_FILE = define(
    "FSE-LOT-008",
    400,
    "Aucun fichier reçu.",
    "Choisissez le fichier XML du lot signé avant d'envoyer.",
)
GATEWAY_KEYS_MISSING = define(
    "FSE-LOT-009",
    503,
    "La passerelle n'a pas de clé de signature ni de magasin de confiance configurés.",
    "L'exploitant doit lancer « amelipro pki init-demo » ou configurer PKI_DIR et TRUST_STORE_DIR.",
)

IDEMPOTENCY_KEY_INVALID = define(
    "FSE-IDEM-001",
    400,
    "En-tête Idempotency-Key invalide.",
    "Utilisez 1 à 255 caractères ASCII imprimables, par exemple un UUID.",
)
IDEMPOTENCY_KEY_REUSED = define(
    "FSE-IDEM-002",
    422,
    "Cette clé d'idempotence a déjà servi pour une autre requête.",
    "Utilisez une nouvelle clé pour chaque nouveau lot ; réutilisez-la seulement pour renvoyer le même lot.",
)
IDEMPOTENCY_IN_PROGRESS = define(
    "FSE-IDEM-003",
    409,
    "Une requête avec cette clé d'idempotence est en cours de traitement.",
    "Rien n'est encore enregistré pour cette clé : renvoyez la même requête avec la même clé "
    "après le délai indiqué par l'en-tête Retry-After.",
)
CHECKED_LOT_GONE = define(
    "FSE-LOT-010",
    400,
    "Ce lot vérifié n'est plus disponible : il a déjà été envoyé ou la vérification a expiré.",
    "Consultez vos lots envoyés, ou choisissez à nouveau le fichier et relancez la vérification.",
)
