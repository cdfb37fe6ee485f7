"""`make test` on a fresh machine installs Chromium itself (as .ci/run does) and says so,
and then requires the browser tests to run rather than skipping them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make absent")
@pytest.mark.parametrize("target", ["test-sqlite", "test-postgresql"])
def test_make_test_installs_a_missing_chromium_then_requires_the_browser_tests(target):
    dry = subprocess.run(["make", "-n", target, "CHROMIUM=/nonexistent/chromium"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    install = dry.index("apt-get install")
    assert "chromium" in dry[install:install + 200]
    assert "Chromium absent" in dry and "Chromium installé" in dry  # it says what it does
    pytest_line = next(line for line in dry.splitlines() if "pytest" in line)
    assert dry.index(pytest_line) > install
    assert "AMELIPRO_REQUIRE_BROWSER=1" in pytest_line and "AMELIPRO_CHROMIUM=/nonexistent/chromium" in pytest_line
