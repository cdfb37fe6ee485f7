"""Writes the small LPP releases in the official CNAM layout (lpp_fiche_tot / lpp_histo_tot
dBase files) used by the tests. Values are invented for the tests; the columns are those of
the CNAM release (CODE_TIPS, NOM_COURT, DATE_FIN, ARBO*, DEBUTVALID, FINHISTO, TARIF,
QTE_MAX, MT_MAX, PUREGLEMEN...). Run: python tests/data/reference/make_lpp_official.py
"""

from datetime import date
from decimal import Decimal as D
from pathlib import Path

from amelipro.reference.parsing import DbfField, write_dbf

HERE = Path(__file__).resolve().parent / "lpp_official"

FICHE = [DbfField("CODE_TIPS", "C", 13), DbfField("NOM_COURT", "C", 100), DbfField("DATE_FIN", "D", 8),
         DbfField("TYPE_PREST", "C", 1), DbfField("ARBO1", "C", 10), DbfField("ARBO2", "C", 10)]
HISTO = [DbfField("CODE_TIPS", "C", 13), DbfField("DEBUTVALID", "D", 8), DbfField("FINHISTO", "D", 8),
         DbfField("NAT_PREST", "C", 3), DbfField("ENTENTE", "C", 1), DbfField("ARRETE", "D", 8),
         DbfField("JO", "D", 8), DbfField("PUDEVIS", "N", 10, 2), DbfField("TARIF", "N", 10, 2),
         DbfField("QTE_MAX", "N", 6, 0), DbfField("MT_MAX", "N", 10, 2), DbfField("PUREGLEMEN", "N", 10, 2)]

CODES = [
    {"CODE_TIPS": "1241763", "NOM_COURT": "LIT MEDICAL, LIT STANDARD, LOCATION HEBDOMADAIRE", "TYPE_PREST": "L",
     "ARBO1": "TITRE I", "ARBO2": "CHAP 1"},
    {"CODE_TIPS": "1322792", "NOM_COURT": "PANSEMENT HYDROCOLLOIDE 25-50 CM2, BOITE DE 5", "TYPE_PREST": "A",
     "ARBO1": "TITRE I", "ARBO2": "CHAP 3"},
    {"CODE_TIPS": "1999990", "NOM_COURT": "CODE DE TEST SANS TARIF", "TYPE_PREST": "A", "ARBO1": "TITRE I"},
]


def histo(release: int) -> list[dict]:
    rows = [
        {"CODE_TIPS": "1241763", "DEBUTVALID": date(2019, 1, 1), "FINHISTO": date(2023, 12, 31),
         "TARIF": D("12.00"), "NAT_PREST": "LOC"},
        {"CODE_TIPS": "1241763", "DEBUTVALID": date(2024, 1, 1),
         "FINHISTO": date(2026, 8, 31) if release >= 901 else None, "TARIF": D("12.50"), "NAT_PREST": "LOC"},
        {"CODE_TIPS": "1322792", "DEBUTVALID": date(2016, 12, 31), "TARIF": D("3.25"), "PUREGLEMEN": D("4.87"),
         "QTE_MAX": D("10"), "NAT_PREST": "ACH"},
        {"CODE_TIPS": "1999990", "DEBUTVALID": date(2020, 1, 1), "TARIF": D("0"), "NAT_PREST": "ACH"},
        {"CODE_TIPS": "1888880", "DEBUTVALID": date(2020, 1, 1), "TARIF": D("5.00"), "NAT_PREST": "ACH"},
    ]
    if release >= 901:
        rows.append({"CODE_TIPS": "1241763", "DEBUTVALID": date(2026, 9, 1), "TARIF": D("13.00"),
                     "NAT_PREST": "LOC"})
    return rows


def main() -> None:
    for release in (900, 901):
        target = HERE / f"v{release}"
        target.mkdir(parents=True, exist_ok=True)
        write_dbf(target / f"lpp_fiche_tot{release}.dbf", FICHE, CODES)
        write_dbf(target / f"lpp_histo_tot{release}.dbf", HISTO, histo(release))


if __name__ == "__main__":
    main()
