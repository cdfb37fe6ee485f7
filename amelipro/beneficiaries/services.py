"""Use cases of the beneficiaries file, in one import for the pages, the API and the CLI.

Each lives in the module of its role:

- :mod:`.patient_file`: reading the file (``PatientFile`` and its adapters, ``find_rights``);
- :mod:`.lookups`: rights lookups by professionals, recorded and throttled;
- :mod:`.importing`: CSV import and export (only the imports commit);
- :mod:`.parsing`: NIR, dates and rank as typed or read;
- :mod:`.demo`: the demo file.
"""

from __future__ import annotations

from amelipro.beneficiaries import errors
from amelipro.beneficiaries.demo import (
    DEMO_EHPAD_FINESS,
    DEMO_EHPAD_NAME,
    demo_beneficiaries,
    nir_with_key,
    seed_demo,
)
from amelipro.beneficiaries.importing import (
    CSV_COLUMNS,
    ImportProblem,
    ImportResult,
    import_beneficiaries,
    import_csv,
    parse_csv,
    to_csv,
)
from amelipro.beneficiaries.lookups import (
    BillingRights,
    LookupPolicy,
    RightsLookup,
    UnknownPatientError,
    lookup_json,
    lookup_rights,
    recorded_lookup,
)
from amelipro.beneficiaries.parsing import format_nir, normalize_nir, parse_birth_date, parse_rank
from amelipro.beneficiaries.patient_file import (
    PatientFile,
    find_rights,
    find_rights_many,
    patient_file,
    to_rights,
)

_nir = nir_with_key  # the name the FSE tests and benchmarks import (not owned here)

__all__ = [
    "CSV_COLUMNS", "DEMO_EHPAD_FINESS", "DEMO_EHPAD_NAME", "BillingRights", "ImportProblem",
    "ImportResult", "LookupPolicy", "PatientFile", "RightsLookup", "UnknownPatientError", "_nir",
    "demo_beneficiaries", "errors", "find_rights", "find_rights_many", "format_nir",
    "import_beneficiaries", "import_csv", "lookup_json", "lookup_rights", "nir_with_key",
    "normalize_nir", "parse_birth_date", "parse_csv", "parse_rank", "patient_file",
    "recorded_lookup", "seed_demo", "to_csv", "to_rights",
]
