"""`amelipro reference import` and `runs`: demo fallback, idempotency, bad options."""

from amelipro.reference import models as m


def test_import_without_reference_dir_loads_the_demo_set_twice_safely(app, runner, db_session):
    assert app.config["REFERENCE_DIR"] == ""
    first = runner.invoke(args=["reference", "import"])
    assert first.exit_code == 0, first.output
    assert "jeu de démonstration" in first.output
    assert "Index de recherche : " in first.output
    count = db_session.query(m.MedicinePrice).count()
    assert count > 0
    second = runner.invoke(args=["reference", "import"])
    assert second.exit_code == 0, second.output
    assert "0 créés, 0 modifiés, 0 clos" in second.output
    assert "Index de recherche inchangé." in second.output
    assert db_session.query(m.MedicinePrice).count() == count
    runs = runner.invoke(args=["reference", "runs", "--anomalies"])
    assert "29/11/2924" in runs.output


def test_import_bad_options(runner, tmp_path):
    missing = runner.invoke(args=["reference", "import", "--source", str(tmp_path / "absent")])
    assert missing.exit_code != 0 and "introuvable" in missing.output
    bad_only = runner.invoke(args=["reference", "import", "--only", "bdpm,xyz"])
    assert bad_only.exit_code != 0 and "xyz" in bad_only.output
    bad_date = runner.invoke(args=["reference", "import", "--effective", "2026-13-01"])
    assert bad_date.exit_code != 0 and "AAAA-MM-JJ" in bad_date.output


def test_unreadable_file_is_a_clean_cli_error(runner, tmp_path):
    import shutil

    from amelipro.reference.importers import DEMO_DIR

    shutil.copytree(DEMO_DIR, tmp_path / "r")
    (tmp_path / "r" / "ccam" / "ccam.csv").write_bytes(b"\xff\xfe\x00garbage")
    result = runner.invoke(args=["reference", "import", "--source", str(tmp_path / "r"), "--only", "lpp"])
    assert result.exit_code == 0, result.output
    (tmp_path / "r" / "lpp" / "lpp.json").write_text("[", encoding="utf-8")
    result = runner.invoke(args=["reference", "import", "--source", str(tmp_path / "r"), "--only", "lpp"])
    assert result.exit_code == 1
    assert "illisible" in result.output and "Traceback" not in result.output
