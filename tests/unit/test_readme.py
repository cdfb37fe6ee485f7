"""The README stays short and opens with the two commands; the rest lives in docs/."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
    assert lines[0] == "# amelipro"
    assert lines[3].startswith("make run ") and lines[4].startswith("make test ")

