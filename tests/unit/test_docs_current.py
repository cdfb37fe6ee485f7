"""docs/errors.md is the output of ``python -m amelipro.docs errors``: regenerate it with
``.venv/bin/python -m amelipro.docs errors docs/errors.md`` when a code is added."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from amelipro.docs import error_modules

ROOT = Path(__file__).resolve().parents[2]


def test_errors_md_is_current():
    # A fresh interpreter: only the codes the package declares, none a test may add.
    result = subprocess.run([sys.executable, "-m", "amelipro.docs", "errors"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert committed == result.stdout, (
        "docs/errors.md is stale: run `.venv/bin/python -m amelipro.docs errors docs/errors.md`"
    )


def test_every_code_is_declared_in_a_module_the_generator_reads():
    collected = {name.replace(".", "/") + ".py" for name in error_modules()}
    declaring = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "amelipro").rglob("*.py")
        if re.search(r"\bdefine\(\s*\"", path.read_text(encoding="utf-8"))
    }
    assert declaring <= collected, declaring - collected


def test_errors_md_lists_every_family():
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    for code in ("GEN-000", "XML-001", "FSE-SIG-001", "FSE-R-017", "TP-STA-002", "AUTH-001"):
        assert f"| `{code}` |" in text
