"""Stable codes of the XML core: safe parsing (XML-), schema validation (XSD-), lot envelope
(LOT-) and signatures (FSE-SIG-). Declared once; never renumbered or reused.

``tests/unit/test_xmlcore_codes.py`` pins the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from amelipro.codes import REGISTRY, AmeliproError, ErrorCode, define
from amelipro.issues import Issue

# --- safe parsing: any of these stops the reading of the document at once -------------------
EMPTY = define("XML-001", 400, "Document vide.", "Envoyez le fichier XML du lot, non vide.")
TOO_LARGE = define(
    "XML-002", 413, "Document XML trop volumineux.",
    "Découpez le lot en plusieurs lots plus petits.",
)
MALFORMED = define(
    "XML-003", 400, "Document XML mal formé (illisible).",
    "Vérifiez que le fichier est un XML complet, en UTF-8, produit par votre logiciel.",
)
DOCTYPE = define(
    "XML-004", 400, "Déclaration DOCTYPE refusée.",
    "Retirez la déclaration <!DOCTYPE ...> : la passerelle n'accepte pas de DTD.",
)
ENTITY = define(
    "XML-005", 400, "Déclaration ou référence d'entité refusée.",
    "Retirez les entités (<!ENTITY ...>, &nom;) : écrivez le texte directement.",
)
EXTERNAL = define(
    "XML-006", 400, "Référence à une ressource externe (DTD ou entité externe) refusée.",
    "Le document doit être autonome : aucune référence SYSTEM ou PUBLIC.",
)
PROCESSING_INSTRUCTION = define(
    "XML-007", 400, "Instruction de traitement refusée.",
    "Retirez les instructions <?...?> autres que la déclaration XML.",
)
TOO_DEEP = define(
    "XML-008", 400, "Document XML trop profondément imbriqué.",
    "Un lot de FSE n'a que quelques niveaux d'imbrication : vérifiez le fichier produit.",
)
XINCLUDE = define(
    "XML-009", 400, "Inclusion XInclude refusée.",
    "Retirez les éléments xi:include : le document doit être autonome.",
)
UNEXPECTED_ROOT = define(
    "XML-010", 422, "Type de document inattendu.",
    "Envoyez un lot (urn:amelipro:lot:1) ou une FSE (urn:amelipro:fse:1).",
)

# --- schema validation: all errors of a document are reported together -------------------
XSD_UNEXPECTED = define(
    "XSD-001", 422, "Élément inattendu à cet endroit.",
    "Vérifiez l'ordre et le nom des éléments selon le schéma publié.",
)
XSD_MISSING = define(
    "XSD-002", 422, "Élément obligatoire manquant.",
    "Ajoutez l'élément attendu (voir le détail) selon le schéma publié.",
)
XSD_VALUE = define(
    "XSD-003", 422, "Valeur invalide pour ce champ.",
    "Corrigez la valeur (type attendu : voir le détail).",
)
XSD_PATTERN = define(
    "XSD-004", 422, "Format de la valeur incorrect.",
    "Corrigez la valeur selon le format attendu (voir le détail).",
)
XSD_ENUMERATION = define(
    "XSD-005", 422, "Valeur hors de la liste autorisée.",
    "Choisissez une des valeurs autorisées (voir le détail).",
)
XSD_LENGTH = define("XSD-006", 422, "Longueur de la valeur incorrecte.", "Corrigez la longueur du texte.")
XSD_RANGE = define(
    "XSD-007", 422, "Valeur hors des bornes autorisées.",
    "Corrigez la valeur (bornes : voir le détail).",
)
XSD_DECIMALS = define(
    "XSD-008", 422, "Nombre de décimales incorrect.",
    "Les montants s'écrivent en euros avec deux décimales et un point (ex. 30.00).",
)
XSD_ATTRIBUTE_MISSING = define(
    "XSD-009", 422, "Attribut obligatoire manquant.", "Ajoutez l'attribut attendu (voir le détail)."
)
XSD_ATTRIBUTE_UNEXPECTED = define(
    "XSD-010", 422, "Attribut non autorisé.", "Retirez l'attribut non prévu par le schéma."
)
XSD_DUPLICATE_ID = define(
    "XSD-011", 422, "Identifiant (Id) en double dans le document.",
    "Chaque attribut Id doit être unique dans le document.",
)
XSD_INVALID = define(
    "XSD-012", 422, "Document non conforme au schéma.", "Voir le détail de l'erreur."
)

# --- lot envelope ------------------------------------------------------------------------
LOT_COUNT = define(
    "LOT-001", 422, "Le nombre de FSE annoncé ne correspond pas au contenu du lot.",
    "Corrigez Entete/NombreFSE : il doit égaler le nombre d'éléments FSE du lot.",
)
LOT_NOT_FSE = define(
    "LOT-002", 422, "Le lot contient un élément qui n'est pas une FSE.",
    "Un lot ne contient, après son en-tête, que des éléments fse:FSE.",
)

# --- signatures (each FSE signed by its professional) -------------------------------------
SIG_MISSING = define(
    "FSE-SIG-001", 422, "FSE non signée.",
    "Signez chaque FSE avec la carte CPS du professionnel (amelipro client sign).",
)
SIG_MULTIPLE = define(
    "FSE-SIG-002", 422, "La FSE contient plus d'une signature.",
    "Une FSE porte exactement une signature, celle de son professionnel.",
)
SIG_TAMPERED = define(
    "FSE-SIG-003", 422, "Le contenu de la FSE a été modifié après signature.",
    "Re-signez la FSE après toute modification ; ne modifiez pas un fichier signé.",
)
SIG_INVALID = define(
    "FSE-SIG-004", 422, "Signature cryptographiquement invalide.",
    "La valeur de signature ne correspond pas au certificat : re-signez la FSE.",
)
SIG_UNKNOWN_CA = define(
    "FSE-SIG-005", 422, "Certificat émis par une autorité non reconnue.",
    "Signez avec un certificat de l'IGC-Santé (carte CPS ou e-CPS).",
)
SIG_EXPIRED = define(
    "FSE-SIG-006", 422, "Certificat expiré à la date de signature.",
    "Renouvelez la carte CPS et re-signez la FSE.",
)
SIG_NOT_YET_VALID = define(
    "FSE-SIG-007", 422, "Certificat pas encore valide à la date de signature.",
    "Vérifiez l'horloge du poste de signature et re-signez la FSE.",
)
SIG_REVOKED = define(
    "FSE-SIG-008", 422, "Certificat révoqué.",
    "La carte CPS a été révoquée : contactez l'ANS pour une nouvelle carte.",
)
SIG_WEAK_ALGORITHM = define(
    "FSE-SIG-009", 422, "Algorithme de signature ou d'empreinte interdit.",
    "Utilisez RSA ou ECDSA avec SHA-256 ou plus fort (SHA-1 est refusé).",
)
SIG_HMAC = define(
    "FSE-SIG-010", 422, "Signature HMAC (clé partagée) refusée.",
    "Signez avec la clé privée du certificat du professionnel (RSA ou ECDSA).",
)
SIG_LOCATION = define(
    "FSE-SIG-011", 422, "Signature mal placée.",
    "La signature (ds:Signature) doit être le dernier enfant direct de l'élément FSE.",
)
SIG_WRAPPING = define(
    "FSE-SIG-012", 422, "La signature ne couvre pas exactement cette FSE (élément déplacé ou substitué).",
    "La signature doit avoir une seule référence, URI=\"#Id\" de la FSE elle-même.",
)
SIG_DUPLICATE_ID = define(
    "FSE-SIG-013", 422, "Identifiant (Id) en double : la référence signée est ambiguë.",
    "Chaque attribut Id doit être unique dans le lot.",
)
SIG_RPPS_MISMATCH = define(
    "FSE-SIG-014", 422, "Le certificat de signature n'est pas celui du professionnel de la FSE.",
    "Chaque FSE est signée par la carte CPS du professionnel qui la facture.",
)
SIG_TOKEN_MISMATCH = define(
    "FSE-SIG-015", 403, "La FSE est celle d'un autre professionnel que le titulaire du jeton d'API.",
    "Envoyez les FSE de chaque professionnel avec son propre jeton d'API.",
)
SIG_CERT_USAGE = define(
    "FSE-SIG-016", 422, "Certificat impropre à la signature (usage ou identifiant RPPS absent).",
    "Utilisez le certificat de signature de la carte CPS (il porte le RPPS).",
)
SIG_TIME = define(
    "FSE-SIG-017", 422, "Date de signature absente, invalide, future ou trop ancienne.",
    "L'attribut dateSignature de la FSE donne l'heure de signature (UTC) : re-signez la FSE.",
)
SIG_NO_CERTIFICATE = define(
    "FSE-SIG-018", 422, "Certificat du signataire absent ou illisible.",
    "La signature doit contenir le certificat (ds:KeyInfo/ds:X509Data/ds:X509Certificate).",
)
SIG_MALFORMED = define(
    "FSE-SIG-019", 422, "Signature mal formée ou transformation non autorisée.",
    "Signature enveloppée, canonicalisation C14N exclusive ou inclusive, sans autre transformation.",
)
SIG_REVOCATION_UNKNOWN = define(
    "FSE-SIG-020", 422, "Statut de révocation du certificat inconnu (liste de révocation absente).",
    "La passerelle n'a pas la liste de révocation de cette autorité : contactez l'exploitant.",
)

CODES: tuple[ErrorCode, ...] = tuple(
    v for v in list(globals().values()) if isinstance(v, ErrorCode)
)


class XmlError(AmeliproError):
    """Root of the XML core's errors; carries ``path`` and ``line`` where known."""

    def __init__(
        self, error: ErrorCode, detail: str = "", *, path: str | None = None,
        line: int | None = None, **extra: Any,
    ) -> None:
        if path is not None:
            extra["path"] = path
        if line is not None:
            extra["line"] = line
        super().__init__(error, detail, **extra)
        self.path = path
        self.line = line


class UnsafeXmlError(XmlError):
    """The bytes were refused by the safe parser (XML-0xx). Stop at once."""


class SignatureError(XmlError):
    """A signature rule failed (FSE-SIG-0xx). Stop checking that signature at once."""


class LotError(XmlError):
    """The lot as a whole is refused (negative ARL); ``issues`` lists every reason
    (``errors``: their dict forms)."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        first = issues[0]
        super().__init__(REGISTRY[first.code], first.detail, path=first.path, line=first.line)
        self.issues = tuple(issues)
        self.errors = [i.as_dict() for i in self.issues]
