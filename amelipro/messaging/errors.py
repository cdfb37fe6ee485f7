"""Stable error codes of the messagerie (prefix ``MSG-``).

Codes are never renumbered or reused; ``tests/unit/test_messaging_errors.py`` pins them.
"""

from __future__ import annotations

from amelipro.errors import define

# Writing a message.
SUBJECT_INVALID = define(
    "MSG-001", 400, "Objet du message obligatoire (200 caractères au plus).",
    "Indiquez en quelques mots l'objet de votre demande.",
)
CATEGORY_INVALID = define(
    "MSG-002", 400, "Catégorie de message inconnue.",
    "Choisissez : question, réclamation paiement, signaler un problème ou demande d'information.",
)
BODY_EMPTY = define("MSG-003", 400, "Le message est vide.", "Écrivez votre message avant de l'envoyer.")
BODY_TOO_LONG = define(
    "MSG-004", 413, "Message trop long.",
    "Un message compte au plus 20 000 caractères ; joignez un document PDF pour le reste.",
)

# Attachments.
ATTACHMENT_TOO_LARGE = define(
    "MSG-010", 413, "Pièce jointe trop volumineuse (5 Mo au plus).",
    "Réduisez le document (PDF compressé, image de plus petite taille) et recommencez.",
)
ATTACHMENT_TYPE = define(
    "MSG-011", 415, "Type de pièce jointe refusé : seuls les PDF, PNG et JPEG sont acceptés.",
    "Le type est lu dans le contenu du fichier, pas dans son nom : enregistrez le document en PDF.",
)
TOO_MANY_ATTACHMENTS = define(
    "MSG-012", 400, "Trop de pièces jointes (5 au plus par message).",
    "Regroupez les documents dans un seul PDF ou envoyez un second message.",
)
ATTACHMENT_EMPTY = define("MSG-013", 400, "Pièce jointe vide.", "Choisissez un fichier non vide.")

# Finding things (another professional's answers exactly like a missing one).
THREAD_NOT_FOUND = define(
    "MSG-040", 404, "Conversation introuvable.", "Elle n'existe pas ou appartient à un autre professionnel."
)
ATTACHMENT_NOT_FOUND = define(
    "MSG-041", 404, "Pièce jointe introuvable.", "Elle n'existe pas ou appartient à un autre professionnel."
)
LINK_NOT_FOUND = define(
    "MSG-042", 404, "Lot, FSE, paiement ou virement introuvable.",
    "La réclamation ne peut porter que sur vos propres factures et paiements.",
)
THREAD_CLOSED = define(
    "MSG-020", 409, "Conversation close : elle n'accepte plus de réponse.",
    "Ouvrez une nouvelle conversation en rappelant celle-ci.",
)
CLAIM_ALREADY_SENT = define(
    "MSG-022", 409, "Les pénalités de ce mois sont déjà réclamées.",
    "Suivez la réclamation en cours dans la messagerie ; une réclamation refusée peut être renouvelée.",
)
BAD_FILTER = define(
    "MSG-021", 400, "Filtre de messagerie invalide.",
    "Vérifiez la boîte, la catégorie et l'ancienneté (nombre entier de jours ouvrés).",
)

# Caisse side.
AGENTS_ONLY = define(
    "MSG-030", 403, "Action réservée aux agents de la caisse.",
    "Connectez-vous avec un compte « caisse » pour traiter les demandes.",
)
OUTCOME_INVALID = define(
    "MSG-031", 400, "Issue de clôture invalide.",
    "Choisissez : accordée (avec un montant), refusée (avec un motif) ou traitée.",
)
AMOUNT_INVALID = define(
    "MSG-032", 400, "Montant accordé invalide.",
    "Indiquez un montant positif en euros, par exemple 21,00 (100 000 € au plus).",
)
REASON_REQUIRED = define(
    "MSG-033", 400, "Motif du refus obligatoire.", "Expliquez au professionnel pourquoi la demande est refusée."
)
GRANT_NOT_PAYABLE = define(
    "MSG-034", 409, "Seule une réclamation de paiement ou de pénalités peut être accordée avec un montant.",
    "Clôturez cette conversation comme « traitée » ou « refusée ».",
)
