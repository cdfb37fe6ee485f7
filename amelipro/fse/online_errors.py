"""Stable codes of online billing (``FSE-EL-``: the care sheet entered in the browser or
priced through ``POST /api/v1/fse/price``). Rule codes stay in ``amelipro.fse.errors``.

Never renumber or reuse a code. ``tests/unit/test_fse_online_codes.py`` pins this list.
"""

from amelipro.errors import define

_S = 422

REQUIRED = define(
    "FSE-EL-001", _S, "Champ obligatoire.",
    "Complétez ce champ : il est lu sur la carte Vitale, l'ordonnance ou l'acte réalisé.",
)
DATE_UNREADABLE = define(
    "FSE-EL-002", _S, "Date illisible.",
    "Saisissez la date au format JJ/MM/AAAA (ou AAAA-MM-JJ).",
)
NUMBER_UNREADABLE = define(
    "FSE-EL-003", _S, "Nombre illisible.",
    "Saisissez un nombre : chiffres, avec une virgule ou un point pour les décimales (ex. 1,5).",
)
OUT_OF_RANGE = define(
    "FSE-EL-004", _S, "Valeur hors des limites admises.",
    "Vérifiez la valeur : la limite est indiquée dans le détail.",
)
TOO_LONG = define(
    "FSE-EL-005", _S, "Texte trop long.",
    "Ce champ n'admet que quelques dizaines de caractères : vérifiez ce qui a été collé.",
)
UNKNOWN_CHOICE = define(
    "FSE-EL-006", _S, "Valeur inconnue.",
    "Choisissez une valeur de la liste proposée.",
)
SHEET_UNREADABLE = define(
    "FSE-EL-007", 400, "Feuille de soins illisible : un objet JSON est attendu.",
    "Envoyez « Content-Type: application/json » et un objet comme décrit dans le document OpenAPI.",
)
DRAFT_NOT_FOUND = define("FSE-EL-008", 404, "Brouillon introuvable.")
SHEET_HAS_ERRORS = define(
    "FSE-EL-009", 409, "La feuille de soins contient des erreurs : rien n'a été envoyé.",
    "Corrigez chaque erreur signalée à côté de son champ, puis signez et envoyez à nouveau.",
)
DRAFT_SENT = define(
    "FSE-EL-010", 409, "Ce brouillon a déjà été envoyé : il ne peut plus être modifié.",
    "Ouvrez la feuille envoyée ; si elle a été rejetée, utilisez « Corriger ».",
)
NO_CREDENTIAL = define(
    "FSE-EL-011", 503, "Aucun certificat de signature en ligne pour ce compte.",
    "L'exploitant le délivre avec « amelipro pki online-issue LOGIN » "
    "(« amelipro pki init-demo » pour les comptes de démonstration).",
)
NOT_ALLOWED = define(
    "FSE-EL-012", 403, "Ce compte ne peut pas facturer en ligne.",
    "La facturation en ligne est ouverte aux médecins, infirmiers et pharmaciens ayant un numéro RPPS.",
)
LOT_REFUSED = define(
    "FSE-EL-013", 422, "La passerelle a refusé la feuille de soins signée : rien n'a été enregistré.",
    "Le brouillon est conservé tel quel ; le détail indique la cause. Contactez l'exploitant si elle persiste.",
)
NOT_CORRECTABLE = define(
    "FSE-EL-014", 409, "Seule une feuille de soins rejetée peut être corrigée.",
    "Une feuille acceptée est payée : ne la renvoyez pas.",
)
SIGNING_SECRET_MISSING = define(
    "FSE-EL-015", 503, "La clé de chiffrement des certificats de signature en ligne est absente ou incorrecte.",
    "L'exploitant doit fournir AMELIPRO_ONLINE_SIGNING_SECRET (la même valeur qu'à la délivrance).",
)

# Every code of this module, in order (the list a test pins).
CODES = sorted(
    value.code for name, value in sorted(globals().items())
    if name.isupper() and hasattr(value, "code") and value.code.startswith("FSE-EL-")
)
