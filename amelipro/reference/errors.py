"""Stable error codes of the reference capability (prefix REF-)."""

from amelipro.errors import define

MEDICINE_NOT_FOUND = define("REF-001", 404, "Médicament inconnu du référentiel.",
                            "Vérifiez le code CIP13 (13 chiffres commençant par 3400).")
LPP_NOT_FOUND = define("REF-002", 404, "Code LPP inconnu du référentiel.", "Un code LPP a 7 chiffres.")
ACT_NOT_FOUND = define("REF-003", 404, "Acte inconnu du référentiel (CCAM ou NGAP).",
                       "Un code CCAM a 4 lettres et 3 chiffres ; une lettre clé NGAP, 1 à 3 lettres.")
IMPORT_RUN_NOT_FOUND = define("REF-004", 404, "Import de référentiel introuvable.")
BAD_SEARCH = define("REF-010", 400, "Paramètres de recherche invalides.",
                    "kind vaut medicine, lpp ou act ; rate est un taux entier ; page un entier positif.")
SOURCE_MISSING = define("REF-020", 400, "Répertoire des référentiels introuvable ou incomplet.",
                        "Vérifiez AMELIPRO_REFERENCE_DIR ou l'option --source.")
EHPAD_CATEGORY_NOT_FOUND = define("REF-021", 404, "Catégorie EHPAD inconnue.")
EHPAD_MAPPING_EXISTS = define("REF-022", 409, "Ce code LPP est déjà rattaché à une catégorie EHPAD.",
                              "Retirez d'abord le rattachement existant.")
EHPAD_MAPPING_NOT_FOUND = define("REF-023", 404, "Rattachement EHPAD introuvable.")
EHPAD_REASON_REQUIRED = define("REF-024", 400, "Motif du rattachement obligatoire.",
                               "Expliquez pourquoi ce code relève de la catégorie.")
SOURCE_UNREADABLE = define("REF-025", 400, "Fichier de référentiel illisible : import interrompu, rien n'a été modifié.",
                           "Vérifiez le fichier signalé (format, encodage) puis relancez l'import.")
