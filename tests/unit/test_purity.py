"""The pure core imports neither Flask nor SQLAlchemy (nor their companions).

Each module is imported in a fresh interpreter where a meta-path finder refuses the web and
database packages, so a new ``from flask import ...`` anywhere on a pure module's import
chain (the module itself, ``amelipro/__init__.py``, an error module...) fails this test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BLOCKED = ("flask", "flask_login", "flask_wtf", "werkzeug", "sqlalchemy", "alembic", "psycopg")

PURE_MODULES = [
    "amelipro.codes",
    "amelipro.domain",
    "amelipro.issues",
    "amelipro.xmlcore.errors",
    "amelipro.xmlcore.safe",
    "amelipro.xmlcore.schemas",
    "amelipro.xmlcore.pki",
    "amelipro.xmlcore.signature",
    "amelipro.xmlcore.signature_policy",
    "amelipro.xmlcore.signature_signxml",
    "amelipro.xmlcore.signature_strict",
    "amelipro.xmlcore.signature_trust",
    "amelipro.xmlcore.lot",
    "amelipro.xmlcore.arl",
    "amelipro.fse.domain",
    "amelipro.fse.charges",
    "amelipro.fse.errors",
    "amelipro.fse.rules",
    "amelipro.fse.rules.amounts",
    "amelipro.fse.rules.codes",
    "amelipro.fse.rules.core",
    "amelipro.fse.rules.dates",
    "amelipro.fse.rules.duplicates",
    "amelipro.fse.rules.ehpad",
    "amelipro.fse.rules.patient",
    "amelipro.fse.rules.profession",
    "amelipro.fse.pricing",
    "amelipro.fse.document",
    "amelipro.fse.client",
    "amelipro.reference.facts",
    "amelipro.reference.parsing",
    "amelipro.beneficiaries.domain",
    "amelipro.thirdparty.errors",
    "amelipro.thirdparty.states",
    "amelipro.thirdparty.calendar",
    "amelipro.thirdparty.decision",
    "amelipro.thirdparty.rsp",
]

BLOCKER = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"pure module imported {{name}}")
        return None
sys.meta_path.insert(0, Blocker())
import importlib
importlib.import_module({module!r})
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, leaked
"""


def _import_blocked(module: str) -> subprocess.CompletedProcess:
    code = BLOCKER.format(blocked=BLOCKED, module=module)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_no_web_or_database_code(module):
    result = _import_blocked(module)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_blocker_really_blocks():
    """A module that needs SQLAlchemy fails under the blocker: the test above can fail."""
    result = _import_blocked("amelipro.auth.models")
    assert result.returncode != 0
    assert "pure module imported sqlalchemy" in result.stderr
