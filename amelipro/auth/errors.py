from amelipro.errors import define

BAD_CREDENTIALS = define("AUTH-001", 401, "Identifiant ou mot de passe incorrect.")
THROTTLED = define(
    "AUTH-002",
    429,
    "Trop de tentatives de connexion échouées. Réessayez dans quelques minutes.",
    "Attendez la fin du délai ou contactez votre opérateur.",
)
TOKEN_MISSING = define(
    "AUTH-010", 401, "Jeton d'API absent.", "Envoyez l'en-tête « Authorization: Bearer <jeton> »."
)
TOKEN_INVALID = define(
    "AUTH-011", 401, "Jeton d'API invalide ou révoqué.", "Créez un nouveau jeton dans « Logiciels connectés »."
)
FORBIDDEN = define("AUTH-013", 403, "Accès refusé à cette ressource.")
TOKEN_NOT_FOUND = define("AUTH-014", 404, "Jeton introuvable.")
INVALID_PROFESSIONAL = define("AUTH-020", 400, "Données du professionnel invalides.")
LOGIN_TAKEN = define("AUTH-021", 409, "Cet identifiant est déjà utilisé.")
TOKEN_NAME_REQUIRED = define(
    "AUTH-015", 400, "Nom du logiciel obligatoire.", "Indiquez le nom du logiciel qui utilisera ce jeton."
)

# Sector and specialty of a professional, set by an operator (amelipro.auth.practice).
PRACTICE_SECTOR_INVALID = define(
    "PRA-001", 400,
    "Secteur conventionnel inconnu.",
    "Choisissez secteur 1, secteur 2, ou secteur 2 avec OPTAM.",
)
PRACTICE_DATE_INVALID = define(
    "PRA-002", 400,
    "Date de début invalide : elle doit suivre le début de la période en vigueur.",
    "Une nouvelle période commence après la dernière enregistrée (format AAAA-MM-JJ) ; pour corriger la dernière, reprenez sa date de début.",
)
PRACTICE_PROFESSIONAL_UNKNOWN = define(
    "PRA-003", 404,
    "Professionnel introuvable.",
    "Vérifiez l'identifiant de connexion du professionnel.",
)
PRACTICE_SPECIALTY_TOO_LONG = define(
    "PRA-004", 400,
    "Spécialité trop longue (100 caractères au plus).",
    "Abrégez le libellé de la spécialité.",
)

REAUTH_REQUIRED = define(
    "REAUTH-001", 401,
    "Confirmez votre identité : saisissez à nouveau votre mot de passe.",
    "Pour signer et envoyer, le mot de passe est demandé à nouveau au-delà de quelques minutes.",
)
