"""The wheel works outside the checkout: built, installed in a fresh virtual environment,
it migrates a database and validates a lot with the schemas it ships (package data).

Slow (it builds a wheel), but part of ``make test``. The fresh environment installs the wheel
without dependencies and borrows the current environment's site-packages through a ``.pth``
line: a directory added that way has its own ``.pth`` files ignored, so the checkout's
editable install stays out and ``import amelipro`` can only find the installed wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.fixtures_pki import RPPS_MEDECIN, signed_fse, signed_lot_bytes

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

VALIDATE = """
import json, sys
from pathlib import Path

import amelipro
from amelipro.fse.document import read_lot_document
from amelipro.xmlcore.errors import LotError
from amelipro.xmlcore.schemas import default_xsd_dir
from amelipro.xmlcore.signature import TrustStore, VerifyPolicy

lot, bad, trust = map(Path, sys.argv[1:4])
policy = VerifyPolicy(TrustStore.load(trust))
doc = read_lot_document(lot.read_bytes(), policy)
try:
    read_lot_document(bad.read_bytes(), policy)
    refused = []
except LotError as exc:
    refused = [e["code"] for e in exc.errors]
print(json.dumps({
    "package": amelipro.__file__,
    "xsd": str(default_xsd_dir()),
    "ok": [d.ok for d in doc.documents],
    "invoices": [d.sheet.invoice_number for d in doc.documents],
    "refused": refused,
}))
"""


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv (outside the checkout) with the freshly built wheel installed."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"  # built from a copy: parallel runs never share build/ directories
    shutil.copytree(ROOT / "amelipro", source / "amelipro",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "pyproject.toml", source / "pyproject.toml")
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], base)
    (wheel,) = dist.glob("amelipro-*.whl")

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          "--no-index", str(wheel)], base)
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     base).strip())
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "borrowed-dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    return venv


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AMELIPRO_"))}
    return env


def test_installed_wheel_validates_a_lot(installed, pki, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    lot = signed_lot_bytes([signed_fse(pki.medecin, 1), signed_fse(pki.medecin, 2)])
    (work / "lot.xml").write_bytes(lot)
    bad = lot.replace(f"<RPPS>{RPPS_MEDECIN}</RPPS>".encode(), b"<RPPS>ABC</RPPS>", 1)
    assert bad != lot
    (work / "bad.xml").write_bytes(bad)

    out = _run([str(installed / "bin" / "python"), "-c", VALIDATE, "lot.xml", "bad.xml",
                str(pki.trust_dir)], work, _env())
    result = json.loads(out)

    assert Path(result["package"]).is_relative_to(installed)  # the wheel, not the checkout
    assert Path(result["xsd"]).is_relative_to(installed)
    assert (Path(result["xsd"]) / "fse" / "1" / "fse.xsd").is_file()
    assert result["ok"] == [True, True]
    assert result["invoices"] == ["2026-000001", "2026-000002"]
    assert result["refused"] and all(code.startswith("XSD-") for code in result["refused"])


def test_installed_command_migrates_a_database(installed, tmp_path):
    env = _env() | {"AMELIPRO_DATABASE_URL": f"sqlite:///{tmp_path / 'wheel.sqlite3'}"}
    out = _run([str(installed / "bin" / "amelipro"), "db", "upgrade"], tmp_path, env)
    assert "Base de données à jour." in out
    assert (tmp_path / "wheel.sqlite3").stat().st_size > 0
