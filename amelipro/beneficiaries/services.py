"""Use cases of the beneficiaries file, in one import for the pages, the API and the other
packages. Each lives in the module of its role:

- :mod:`.patient_file`: reading the file (``PatientFile`` and its adapters, ``find_rights``);
- :mod:`.lookups`: rights lookups by professionals, recorded and throttled;
- :mod:`.importing`: CSV import and export (only the imports commit);
- :mod:`.parsing`: NIR, dates and rank as typed or read;
- :mod:`.demo`: the demo file.
"""

from __future__ import annotations

from amelipro.beneficiaries.demo import (
    DEMO_EHPAD_FINESS,
    DEMO_EHPAD_NAME,
    demo_beneficiaries,
    nir_with_key,
    seed_demo,
)
from amelipro.beneficiaries.importing import import_csv, parse_csv, to_csv
from amelipro.beneficiaries.lookups import (
    LookupPolicy,
    UnknownPatientError,
    lookup_json,
    lookup_rights,
    recorded_lookup,
)
from amelipro.beneficiaries.parsing import format_nir, normalize_nir
from amelipro.beneficiaries.patient_file import (
    find_rights,
    find_rights_many,
    patient_file,
    to_rights,
)

_nir = nir_with_key  # the name FSE tests and benchmarks import (files of other owners)

__all__ = [
    "DEMO_EHPAD_FINESS", "DEMO_EHPAD_NAME", "LookupPolicy", "UnknownPatientError", "_nir",
    "demo_beneficiaries", "find_rights", "find_rights_many", "format_nir", "import_csv",
    "lookup_json", "lookup_rights", "nir_with_key", "normalize_nir", "parse_csv", "patient_file",
    "recorded_lookup", "seed_demo", "to_csv", "to_rights",
]
