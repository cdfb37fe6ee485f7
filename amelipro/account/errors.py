"""Error codes of the account package (pinned in tests/unit/test_account_errors.py)."""

from amelipro.errors import define

INVALID_SIGNUP = define("ACC-001", 400, "Données d'inscription invalides.",
                        "Corrigez les champs signalés et recommencez.")
WEAK_PASSWORD = define("ACC-002", 400, "Mot de passe trop faible.",
                       "Choisissez une phrase de passe longue, sans votre nom ni mots courants.")
LINK_INVALID = define("ACC-003", 400, "Ce lien n'est pas valide ou a déjà été utilisé.",
                      "Demandez un nouveau lien.")
LINK_EXPIRED = define("ACC-004", 400, "Ce lien a expiré.", "Demandez un nouveau lien.")
WRONG_PASSWORD = define("ACC-005", 400, "Mot de passe actuel incorrect.")
TOTP_INVALID = define("ACC-006", 400, "Code de vérification incorrect ou déjà utilisé.",
                      "Saisissez le code à 6 chiffres affiché maintenant par votre application, "
                      "ou un code de secours.")
TOTP_THROTTLED = define("ACC-007", 429, "Trop de codes erronés. Réessayez dans quelques minutes.")
TOTP_REQUIRED = define("ACC-008", 403, "Cette action demande la double authentification.",
                       "Activez-la dans « Mon compte », « Double authentification ».")
STEP_UP_REQUIRED = define("ACC-009", 403, "Confirmez votre identité pour continuer.",
                          "Saisissez votre mot de passe et votre code de vérification.")
INVALID_BANK_ACCOUNT = define("ACC-010", 400, "Coordonnées bancaires invalides.")
INVALID_DETAILS = define("ACC-011", 400, "Coordonnées professionnelles invalides.")
NOT_FOUND = define("ACC-404", 404, "Compte ou élément introuvable.")
BAD_STATE = define("ACC-012", 409, "Action impossible dans l'état actuel du compte.")
REASON_REQUIRED = define("ACC-013", 400, "Motif obligatoire.", "Indiquez le motif (500 caractères au plus).")
INVALID_EMAIL = define("ACC-014", 400, "Adresse e-mail invalide.")
