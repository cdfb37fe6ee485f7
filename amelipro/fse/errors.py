"""Stable codes of the FSE billing rules (``FSE-R-``), each with a French message and hint.

Signature and XML codes live in ``amelipro.xmlcore``; lot codes in ``amelipro.fse.lot_errors``.
Never renumber or reuse a code: retire it in ``amelipro.errors.RETIRED``.
``tests/unit/test_fse_rules.py`` pins this list. Where the situation matches a real CPAM
reject, the violation carries it as ``cpam_code`` (e.g. ``0250 050``).
"""

from amelipro.codes import define

_S = 422

NIR_INVALID = define(
    "FSE-R-001", _S,
    "NIR du patient invalide (format ou clé).",
    "Relisez le NIR sur la carte Vitale ou l'attestation de droits : 13 caractères et une clé de 2 chiffres.",
)
CARE_DATE_FUTURE = define(
    "FSE-R-002", _S,
    "Date de soins dans le futur.",
    "Corrigez la date de soins : on ne facture que des soins déjà réalisés.",
)
CARE_DATE_TOO_OLD = define(
    "FSE-R-003", _S,
    "Date de soins trop ancienne : le délai de facturation est dépassé.",
    "Au-delà du délai (deux ans par défaut), les soins ne sont plus remboursables ; vérifiez la date de soins.",
)
INVOICE_BEFORE_CARE = define(
    "FSE-R-004", _S,
    "Date de facture antérieure à une date de soins.",
    "La facture est établie le jour des soins ou après : corrigez la date de facture ou de soins.",
)
INVOICE_DATE_FUTURE = define(
    "FSE-R-005", _S,
    "Date de facture dans le futur.",
    "Corrigez la date de facture (au plus tard aujourd'hui).",
)
PATIENT_UNKNOWN = define(
    "FSE-R-006", _S,
    "Patient inconnu de la caisse.",
    "Vérifiez le NIR et le rang avec la carte Vitale ou l'attestation de droits du patient.",
)
PATIENT_MISMATCH = define(
    "FSE-R-007", _S,
    "La date de naissance ne correspond pas au fichier de la caisse.",
    "Relisez la date de naissance du bénéficiaire sur la carte Vitale (attention aux rangs gémellaires).",
)
RIGHTS_CLOSED = define(
    "FSE-R-008", _S,
    "Droits du patient fermés à la date des soins.",
    "Consultez « Droits du patient » à la date des soins ; demandez au patient de mettre à jour sa carte Vitale.",
)
EXEMPTION_NOT_IN_FILE = define(
    "FSE-R-009", _S,
    "Exonération absente du fichier de la caisse à la date des soins.",
    "Facturez sans cette exonération, ou demandez au patient de régulariser sa situation auprès de sa caisse.",
)
NATURE_INCOMPATIBLE = define(
    "FSE-R-010", _S,
    "Nature d'assurance incompatible avec l'exonération ou la situation du patient.",
    "Choisissez la nature d'assurance qui correspond (maternité 30, AT/MP 41, Alsace-Moselle 13, maladie 10).",
)
ACT_UNKNOWN = define(
    "FSE-R-011", _S,
    "Code d'acte inconnu à la date des soins (NGAP ou CCAM).",
    "Vérifiez le code dans le référentiel NGAP/CCAM en vigueur à la date des soins.",
)
MEDICINE_UNKNOWN = define(
    "FSE-R-012", _S,
    "Code CIP13 inconnu à la date des soins.",
    "Scannez à nouveau la boîte : un CIP13 a 13 chiffres, commence par 3400 et a une clé EAN-13 valide.",
)
LPP_UNKNOWN = define(
    "FSE-R-013", _S,
    "Code LPP inconnu à la date des soins.",
    "Vérifiez le code LPP (7 chiffres) dans la liste en vigueur à la date des soins.",
)
NOT_REIMBURSABLE = define(
    "FSE-R-014", _S,
    "Produit ou acte non remboursable à la date des soins.",
    "Retirez la ligne de la feuille de soins ou facturez-la hors remboursement au patient.",
)
LINE_AMOUNTS = define(
    "FSE-R-015", _S,
    "Montants de la ligne différents du calcul de la passerelle.",
    "Mettez à jour les tarifs de votre logiciel : le détail donne la base, le taux et la part AMO attendus.",
)
TOTALS = define(
    "FSE-R-016", _S,
    "Totaux de la feuille de soins différents de la somme des lignes.",
    "Recalculez les totaux : ils doivent être la somme des montants des lignes.",
)
EHPAD_PACKAGE = define(
    "FSE-R-017", _S,
    "Dispositif compris dans le forfait soins de l'EHPAD où réside le patient.",
    "Ne facturez pas ce dispositif à l'Assurance Maladie : il est à la charge de l'EHPAD (arrêté du 26 avril 1999, annexe).",
)
INVOICE_DUPLICATE = define(
    "FSE-R-018", _S,
    "Numéro de facture déjà utilisé par ce professionnel.",
    "Donnez un nouveau numéro de facture ; si c'est un renvoi, ne renvoyez pas une facture déjà acceptée.",
)
KIND_NOT_ALLOWED = define(
    "FSE-R-019", _S,
    "Cette profession ne peut pas facturer ce type de ligne.",
    "Les médicaments et dispositifs LPP sont facturés par le pharmacien ; les actes par le professionnel qui les réalise.",
)
KEY_NOT_ALLOWED = define(
    "FSE-R-020", _S,
    "Lettre clé NGAP réservée à une autre profession.",
    "Utilisez la lettre clé de votre profession (par exemple AMI pour un infirmier, AMK pour un kinésithérapeute).",
)
PRESCRIBER_MISSING = define(
    "FSE-R-021", _S,
    "Prescripteur absent alors que la ligne exige une prescription.",
    "Renseignez le RPPS du prescripteur figurant sur l'ordonnance.",
)
PRESCRIPTION_DATE_MISSING = define(
    "FSE-R-022", _S,
    "Date de prescription absente alors que la ligne exige une prescription.",
    "Renseignez la date de l'ordonnance.",
)
PRESCRIPTION_AFTER_CARE = define(
    "FSE-R-023", _S,
    "Date de prescription postérieure à la date des soins.",
    "L'ordonnance doit précéder les soins : corrigez la date de prescription ou la date de soins.",
)
PRESCRIBER_INVALID = define(
    "FSE-R-024", _S,
    "RPPS du prescripteur invalide.",
    "Le RPPS a 11 chiffres et une clé de Luhn : relisez-le sur l'ordonnance.",
)
ABOVE_PLV = define(
    "FSE-R-025", _S,
    "Prix facturé supérieur au prix limite de vente (PLV) du dispositif.",
    "Facturez au plus le PLV multiplié par la quantité.",
)
QUANTITY_INVALID = define(
    "FSE-R-026", _S,
    "Quantité ou coefficient invalide.",
    "La quantité est un entier positif ; le coefficient NGAP est positif.",
)
QUANTITY_ABOVE_MAX = define(
    "FSE-R-027", _S,
    "Quantité supérieure au maximum autorisé pour ce code LPP.",
    "Réduisez la quantité au maximum indiqué dans le détail, ou répartissez sur plusieurs délivrances.",
)
AMOUNTS_MISSING = define(
    "FSE-R-028", _S,
    "Montants absents sur une ligne.",
    "Chaque ligne porte le montant facturé, la base de remboursement, le taux et la part AMO.",
)
NO_LINES = define(
    "FSE-R-029", _S,
    "Feuille de soins sans ligne.",
    "Ajoutez au moins un acte, un médicament ou un dispositif.",
)
TIERS_PAYANT_FLAGS = define(
    "FSE-R-030", _S,
    "Tiers payant sur la part complémentaire sans tiers payant sur la part obligatoire.",
    "Cochez le tiers payant AMO, ou retirez le tiers payant AMC.",
)
PROFESSION_UNKNOWN = define(
    "FSE-R-031", _S,
    "Profession du professionnel inconnue : la feuille ne peut pas être tarifée.",
    "Renseignez la spécialité du professionnel (par exemple medecin_generaliste, pharmacien, infirmier).",
)
MAJORATION_WITHOUT_ACT = define(
    "FSE-R-032", _S,
    "Majoration sans consultation ni visite à laquelle l'ajouter le même jour.",
    "Une majoration fait partie d'une consultation ou d'une visite : facturez-la sur la même feuille, le même jour que l'acte (le détail donne les actes admis).",
)
MAJORATION_AGE = define(
    "FSE-R-033", _S,
    "Majoration enfant (MEG) pour un patient qui n'a pas l'âge requis à la date des soins.",
    "La MEG ne s'applique qu'aux enfants de moins de 6 ans le jour des soins : retirez-la, ou vérifiez la date de naissance du patient.",
)
MAJORATION_DAY = define(
    "FSE-R-034", _S,
    "Majoration de dimanche ou jour férié (F) pour des soins un autre jour.",
    "La majoration F ne s'applique que le dimanche et les jours fériés : retirez-la, ou corrigez la date des soins.",
)
MAJORATION_TIME_MISSING = define(
    "FSE-R-035", _S,
    "Heure des soins absente : la majoration de nuit en a besoin.",
    "Indiquez l'heure des soins sur la ligne (format de FSE version 2) ; sans heure, la majoration de nuit ne peut pas être vérifiée.",
)
MAJORATION_TIME = define(
    "FSE-R-036", _S,
    "Majoration de nuit pour des soins hors de ses heures.",
    "MN : de 20 h à minuit et de 6 h à 8 h ; MM : de minuit à 6 h. Choisissez la majoration de l'heure des soins, ou retirez-la.",
)
MAJORATION_HOME_VISIT = define(
    "FSE-R-037", _S,
    "Majoration de déplacement (MD) sans visite à domicile le même jour.",
    "La MD accompagne une visite (VG) justifiée : facturez la visite sur la même feuille, ou retirez la MD.",
)
MAJORATION_PATHWAY = define(
    "FSE-R-038", _S,
    "Majoration de coordination (MCG) hors parcours de soins coordonnés.",
    "La MCG suppose un patient adressé par son médecin traitant : cochez le parcours de soins s'il l'est, sinon retirez-la.",
)
MAJORATION_VALUE_UNKNOWN = define(
    "FSE-R-039", _S,
    "Valeur de la majoration inconnue à la date des soins.",
    "La passerelle ne connaît pas de valeur pour cette majoration à cette date : rien ne dit qu'elle n'est pas remboursable. Contactez le support de la passerelle pour faire ajouter la valeur, puis renvoyez la feuille.",
)
DUPLICATE_CARE = define(
    "FSE-R-040", _S,
    "Soins déjà facturés sous un autre numéro de facture (même patient, même jour, même acte).",
    "S'il s'agit d'un renvoi, ne facturez pas deux fois : si ces soins ont réellement été payés deux fois, déposez une réclamation auprès de la caisse. S'il s'agit d'un second acte distinct le même jour et que la nomenclature le permet, signalez-le sur la ligne (indicateur « second acte » de la FSE version 2).",
)
ABOVE_PRICE = define(
    "FSE-R-041", _S,
    "Prix facturé supérieur au prix du médicament à la date des soins.",
    "Un médicament remboursable ne peut pas être vendu au-dessus de son prix (prix de la boîte et honoraire de dispensation) : facturez au plus le prix indiqué dans le détail.",
)
LPP_NO_TARIFF = define(
    "FSE-R-042", _S,
    "Tarif absent du référentiel chargé.",
    "Ce code LPP existe, mais la liste chargée dans la passerelle ne donne pas son tarif à cette date : gardez la feuille et signalez le code au support de la passerelle pour qu'il charge le tarif, puis renvoyez-la.",
)

# Every rule code of this module, in order (the list a test pins).
RULE_CODES: tuple[str, ...] = tuple(
    value.code for name, value in sorted(globals().items())
    if name.isupper() and hasattr(value, "code") and value.code.startswith("FSE-R-")
)
RULE_CODES = tuple(sorted(RULE_CODES))

# Real CPAM reject codes (DOMAIN.md) attached to the matching violations.
CPAM_UNKNOWN_INSURED = "0250 050"
CPAM_EXEMPTION_NOT_IN_FILE = "0450 072"
CPAM_FORBIDDEN_AT_DATE = "0470 049"
CPAM_NATURE_INCOMPATIBLE = "0317 051"
