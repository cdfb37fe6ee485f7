"""Importers of the reference files into the dated tables: one module per dataset.

* ``files``: where a release's files are, and the one reader of its text files;
* ``release``: the record of an import run and how read rows are applied to the stored ones;
* ``bdpm``, ``ccam``, ``ngap``, ``lpp``, ``ehpad``: each reads its dataset's files and
  reports every skipped or defective line.

``IMPORTERS`` is the table the ``import_reference`` service runs, in ``DATASETS`` order (one
transaction per dataset, audited there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from amelipro.reference.importers import bdpm, ccam, ehpad, lpp, ngap
from amelipro.reference.importers.ehpad import EHPAD_RULES, ehpad_match, parse_ehpad_annex
from amelipro.reference.importers.files import DEMO_DIR
from amelipro.reference.importers.lpp import LPP_STREAMS
from amelipro.reference.importers.release import ImportContext

__all__ = ["DATASETS", "DEMO_DIR", "EHPAD_RULES", "IMPORTERS", "LPP_STREAMS", "ImportContext", "Importer",
           "available_datasets", "ehpad_match", "parse_ehpad_annex"]


@dataclass(frozen=True)
class Importer:
    present: Callable[[Path], bool]  # are the dataset's files in this source directory?
    run: Callable[[ImportContext, Path, date | None], None]  # (context, source, effective date)


IMPORTERS: dict[str, Importer] = {
    "bdpm": Importer(bdpm.present, bdpm.import_bdpm),
    "ccam": Importer(ccam.present, ccam.import_ccam),
    "ngap": Importer(ngap.present, ngap.import_ngap),
    "lpp": Importer(lpp.present, lpp.import_lpp),
    "ehpad": Importer(ehpad.present, ehpad.import_ehpad),
}
DATASETS = tuple(IMPORTERS)


def available_datasets(source: Path) -> tuple[str, ...]:
    return tuple(d for d in DATASETS if IMPORTERS[d].present(source))
