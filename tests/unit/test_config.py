from amelipro import create_app
from amelipro.config import load_settings


def test_environment_overrides_defaults(tmp_path):
    settings = load_settings(tmp_path, {"AMELIPRO_LOGIN_MAX_FAILURES": "3", "AMELIPRO_DATABASE_URL": "sqlite:///x"})
    assert settings["LOGIN_MAX_FAILURES"] == 3
    assert settings["DATABASE_URL"] == "sqlite:///x"
    assert load_settings(tmp_path, {})["DATABASE_URL"] == f"sqlite:///{tmp_path / 'amelipro.sqlite3'}"


def test_settings_read_in_factory_not_at_import(tmp_path, monkeypatch):
    monkeypatch.setenv("AMELIPRO_LOGIN_LOCK_MINUTES", "42")
    monkeypatch.setenv("AMELIPRO_DATABASE_URL", f"sqlite:///{tmp_path / 'a.sqlite3'}")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["LOGIN_LOCK_MINUTES"] == 42
    assert (tmp_path / "secret_key").exists()  # generated once, kept under instance/
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"] == app.config["SECRET_KEY"]
    app.extensions["amelipro.engine"].dispose()


def test_sqlite_pragmas(app):
    with app.extensions["amelipro.engine"].connect() as conn:
        if conn.dialect.name != "sqlite":
            return
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
