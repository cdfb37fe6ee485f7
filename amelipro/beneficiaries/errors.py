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
