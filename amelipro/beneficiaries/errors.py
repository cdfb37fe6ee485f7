"""Stable codes of the beneficiaries package (prefix ``BEN-``). Never renumber or reuse."""

from amelipro.errors import define

NIR_INVALID = define(
    "BEN-001", 400,
    "NIR invalide (format ou clé).",
    "Saisissez les 13 caractères du NIR suivis de la clé de 2 chiffres (2A/2B pour la Corse).",
)
UNKNOWN = define(
    "BEN-002", 404,
    "Assuré inconnu du fichier de la caisse.",
    "Vérifiez le NIR sur la carte Vitale ou l'attestation de droits (rejet caisse 0250 050).",
)
CSV_UNREADABLE = define(
    "BEN-003", 400,
    "Fichier CSV des bénéficiaires illisible.",
    "Utilisez un CSV UTF-8 (ou Windows-1252) séparé par « ; » avec l'en-tête documenté.",
)
CSV_HEADER = define(
    "BEN-004", 400,
    "En-tête du fichier CSV des bénéficiaires incorrect.",
    "La première ligne doit contenir les colonnes documentées (nir;rang;date_naissance;...).",
)
BIRTH_DATE_INVALID = define(
    "BEN-005", 400,
    "Date de naissance absente ou invalide.",
    "Saisissez la date de naissance lue sur la carte Vitale (AAAA-MM-JJ ou JJ/MM/AAAA).",
)
LOOKUPS_THROTTLED = define(
    "BEN-006", 429,
    "Trop de consultations de droits en peu de temps.",
    "Patientez avant de consulter à nouveau : le nombre de consultations par professionnel est limité.",
)
RANK_INVALID = define(
    "BEN-007", 400,
    "Rang de bénéficiaire invalide.",
    "Le rang est un nombre de 1 à 99 (lu sur la carte Vitale) ; laissez-le vide s'il est inconnu.",
)
LOOKUP_NOT_FOUND = define(
    "BEN-008", 404,
    "Consultation introuvable ou expirée.",
    "Consultez à nouveau les droits du patient.",
)
