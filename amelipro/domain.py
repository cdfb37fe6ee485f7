"""Domain values shared by the pure core (rules, pricing) and the models: no Flask, no database.

``amelipro.auth.models`` re-exports :class:`Profession` so existing imports keep working.
"""

from __future__ import annotations

import enum


class Profession(enum.StrEnum):
    MEDECIN_GENERALISTE = "medecin_generaliste"
    MEDECIN_SPECIALISTE = "medecin_specialiste"
    PHARMACIEN = "pharmacien"
    INFIRMIER = "infirmier"
    MASSEUR_KINESITHERAPEUTE = "masseur_kinesitherapeute"
    SAGE_FEMME = "sage_femme"
    CHIRURGIEN_DENTISTE = "chirurgien_dentiste"

    @property
    def label(self) -> str:
        return PROFESSION_LABELS[self]


PROFESSION_LABELS = {
    Profession.MEDECIN_GENERALISTE: "Médecin généraliste",
    Profession.MEDECIN_SPECIALISTE: "Médecin spécialiste",
    Profession.PHARMACIEN: "Pharmacien",
    Profession.INFIRMIER: "Infirmier",
    Profession.MASSEUR_KINESITHERAPEUTE: "Masseur-kinésithérapeute",
    Profession.SAGE_FEMME: "Sage-femme",
    Profession.CHIRURGIEN_DENTISTE: "Chirurgien-dentiste",
}
